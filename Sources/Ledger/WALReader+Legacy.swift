/// Segments written before segment headers (log format 1): a data directory from an earlier build keeps opening,
/// verifying and serving, with the strongest checks its files allow.
///
/// Such a segment holds records from offset 0, has no acknowledged mark, and was allocated to
/// `legacySegmentBytes`. It is read under a header made up for it — its name's first sequence, that size, nothing
/// acknowledged — so the checks of every segment apply unchanged: the first record's sequence is the name's, the
/// segments' sequences join without a gap and reach the snapshot, a file shorter than its allocation was cut
/// short, and a bad record outside the last segment refuses. Only the last segment of a log that has not been
/// opened by this build yet keeps the old rule for its end (damage after the last good record is a torn tail):
/// nothing on disk can tell more.
///
/// The first open by this build starts a headed segment after them in every shard, then writes `segmentHeaders=1`
/// in `ledger.meta` (`Ledger.open`). From then on headerless segments may only come before the headed ones, so
/// deleting what was written after the upgrade is refused too; snapshots drop the headerless segments as they drop
/// any segment they cover.
extension WALReader {
    /// Every build before segment headers allocated its segments to 64 MiB (`LedgerConfiguration.segmentBytes`'s
    /// default, which the switch's configuration did not set) and gave a segment that size back after cutting a
    /// torn tail: a shorter one was cut short.
    static let legacySegmentBytes: Int64 = 64 << 20

    /// The header a segment without a valid one is read under, or nil when it cannot be a segment written before
    /// segment headers: one follows a headed segment, or it begins with a header's magic (a headed segment whose
    /// both slots are damaged).
    func legacyHeader(_ segment: Segment, bytes: UnsafeRawBufferPointer, state: ScanState) -> WALSegment.Header? {
        guard !state.hasReadHeadedSegment else { return nil }
        if bytes.count >= 4, UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)) == WALSegment.magic {
            return nil
        }
        guard segment.firstSequence >= 1 else { return nil }
        let header = WALSegment.Header(firstSequence: segment.firstSequence, segmentBytes: Self.legacySegmentBytes)
        precondition(
            header.firstSequence == segment.firstSequence && header.acknowledgedSequence < header.firstSequence,
            "a made-up header acknowledges nothing")
        return header
    }

    /// After a headerless segment's records: refused when it ends the log of a directory whose `ledger.meta` says
    /// every shard's log ends in headed segments — the segments written since the upgrade are gone.
    func checkLegacyEnd(_ segment: Segment, stop: Int, isLast: Bool, state: ScanState) throws(LedgerError) {
        precondition(stop >= 0, "records stop at an offset in the file")
        guard isLast && directoryHasSegmentHeaders else { return }
        throw .damagedLog(
            file: segment.path, offset: Int64(stop),
            reason: "this segment, written before segment headers, ends the log at sequence \(state.lastSequence), "
                + "but ledger.meta says segmentHeaders=1 (every shard's log ends in a segment with a header since the "
                + "upgrade): the segments written after sequence \(state.lastSequence) are missing")
    }

    /// ", but segments written before segment headers were allocated N" for the message of a file cut short.
    static var legacyAllocationText: String {
        " but segments written before segment headers were allocated \(legacySegmentBytes)"
    }
}
