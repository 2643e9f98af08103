#if canImport(Glibc)
    import Glibc
#endif

/// Deciding what the end of a segment, and of the log, means: a clean end, a torn tail, or damage.
extension WALReader {
    /// After a segment's records: the file must still have its allocated size, a stop in the records must be a
    /// torn tail (or zeros), every record the header calls acknowledged must have been read, and the last
    /// segment must not name a successor (nor be one written before segment headers, in a headed directory).
    func checkSegmentEnd(
        _ segment: Segment, header: WALSegment.Header, isLegacy: Bool, bytes: UnsafeRawBufferPointer, stop: Int,
        isLast: Bool, state: inout ScanState
    ) throws(LedgerError) {
        precondition(stop >= (isLegacy ? 0 : WALSegment.recordsStart), "records stop after the segment's header")
        let last = state.lastSequence
        let acknowledged = Self.acknowledgedText(header)
        guard Int64(bytes.count) >= header.segmentBytes else {
            let allocated = isLegacy ? Self.legacyAllocationText : " but was allocated \(header.segmentBytes)"
            throw .damagedLog(
                file: segment.path, offset: Int64(min(stop, bytes.count)),
                reason: "the file is \(bytes.count) bytes\(allocated): cut short; its records end at sequence \(last) "
                    + "(offset \(stop))\(acknowledged)")
        }
        // A served log's last segment was read up to its acknowledged mark: what follows is being written.
        if !(live && isLast) {
            state.tornTail = try classifyStop(
                segment, bytes: bytes, stop: stop, isLast: isLast, expected: last + 1, header: header)
        }
        if isLegacy { try checkLegacyEnd(segment, stop: stop, isLast: isLast, state: state) }
        guard last >= header.acknowledgedSequence else {
            throw .damagedLog(
                file: segment.path, offset: Int64(stop),
                reason: "acknowledged records are missing: the segment's records end at sequence \(last) (offset "
                    + "\(stop))\(acknowledged)")
        }
        if isLast && header.nextFirstSequence != 0 {
            let name = WALSegment.fileName(firstSequence: header.nextFirstSequence)
            // A read-only scan (`ledger verify`, a view, a standby) of a directory a switch serves lists the
            // segments once, and the writer may rotate after that: a successor that exists on a second look was
            // created after the listing, and the scan has verified the log up to here. Absent, it is damage.
            if readOnly && !directory.isEmpty && access(directory + "/" + name, F_OK) == 0 { return }
            throw .damagedLog(
                file: segment.path, offset: Int64(stop),
                reason: "the log continues in \(name) (sequences from \(header.nextFirstSequence)), which is "
                    + "missing; this segment ends at sequence \(last)")
        }
    }

    /// ", but its header says sequences through N were acknowledged (ending at offset E)", or "" when none were.
    static func acknowledgedText(_ header: WALSegment.Header) -> String {
        guard header.acknowledgedSequence >= header.firstSequence else { return "" }
        return ", but its header says sequences through \(header.acknowledgedSequence) were acknowledged "
            + "(ending at offset \(header.acknowledgedEnd))"
    }

    /// After the last segment: a log must exist, and it must reach the snapshot.
    func checkEnd(_ segments: [Segment], state: ScanState) throws(LedgerError) {
        if segments.isEmpty && directoryHasSegmentHeaders {
            throw .damagedLog(
                file: directory, offset: 0,
                reason: "no log segment (every shard keeps at least one): the log after the snapshot's sequence "
                    + "\(state.afterSequence) was deleted")
        }
        guard state.lastSequence >= state.afterSequence else {
            throw .damagedLog(
                file: state.sound?.path ?? directory, offset: state.sound?.end ?? 0,
                reason: "the log ends at sequence \(state.lastSequence) but the snapshot covers sequences through "
                    + "\(state.afterSequence)")
        }
        precondition(state.verified >= state.replayed, "records replayed were verified")
    }

    /// Where the records stop: zeros are a clean end; anything else is a torn tail only in the last segment,
    /// past the acknowledged mark, with no intact batch after it. Zeros at the stop followed by records of
    /// sequences before it are a clean end too: the writer's end mark, then an older segment's records in a
    /// recycled file (`Snapshot.dropCovered`).
    func classifyStop(
        _ segment: Segment, bytes: UnsafeRawBufferPointer, stop: Int, isLast: Bool, expected: UInt64,
        header: WALSegment.Header
    ) throws(LedgerError) -> TornTail? {
        let dataEnd = lastNonZero(bytes, from: stop)
        precondition(dataEnd >= stop, "data ends at or after the stop")
        if dataEnd == stop { return nil }
        if Self.holdsEndMark(bytes, at: stop),
            lastValidRecord(bytes, after: stop, before: dataEnd, sequenceAtLeast: expected) == nil
        {
            return nil
        }
        let reason = "the record of sequence \(expected) fails its checksum or framing"
        guard isLast else {
            throw .damagedLog(file: segment.path, offset: Int64(stop), reason: reason + " (not the last segment)")
        }
        guard expected > header.acknowledgedSequence else {
            throw .damagedLog(
                file: segment.path, offset: Int64(stop), reason: reason + Self.acknowledgedText(header))
        }
        if let lastValid = lastValidRecord(bytes, after: stop, before: dataEnd, sequenceAtLeast: expected),
            lastValid.batchFirstSequence > expected
        {
            throw .damagedLog(
                file: segment.path, offset: Int64(stop),
                reason: reason + "; later batches from sequence \(lastValid.batchFirstSequence) are intact")
        }
        precondition(isLast && dataEnd > stop, "a torn tail is a non-empty end of the last segment")
        return TornTail(file: segment.path, offset: Int64(stop), bytesDiscarded: Int64(dataEnd - stop))
    }

    /// Whether the writer's end mark (`WALWriter.endMarkBytes` zeros) lies at `offset`.
    static func holdsEndMark(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        precondition(offset >= 0 && offset % 8 == 0, "records are 8-byte aligned")
        guard offset + WALWriter.endMarkBytes <= bytes.count else { return false }
        return (0..<(WALWriter.endMarkBytes / 8)).allSatisfy {
            bytes.loadUnaligned(fromByteOffset: offset + $0 * 8, as: UInt64.self) == 0
        }
    }

    /// One past the last non-zero byte at or after `start` (`start` when all are zero). Scans backwards, so a
    /// clean end of a mostly empty segment costs one pass over its unused part.
    func lastNonZero(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        precondition(start >= 0, "a scan starts inside the file")
        var end = bytes.count
        while end > start && end % 8 != 0 {
            if bytes[end - 1] != 0 { return end }
            end -= 1
        }
        while end - 8 >= start {
            if bytes.loadUnaligned(fromByteOffset: end - 8, as: UInt64.self) != 0 { break }
            end -= 8
        }
        while end > start {
            if bytes[end - 1] != 0 { return end }
            end -= 1
        }
        precondition(end <= start || end == 0, "every byte after the start is zero")
        return start
    }

    /// The last record at an 8-byte aligned offset after `stop` that passes its checksum and belongs after
    /// the records already read. Only bytes before `dataEnd` can hold one (zeros follow); bounded by it.
    private func lastValidRecord(
        _ bytes: UnsafeRawBufferPointer, after stop: Int, before dataEnd: Int, sequenceAtLeast: UInt64
    ) -> WALRecord.Header? {
        precondition(stop >= 0 && sequenceAtLeast >= 1, "a search after the stop")
        var found: WALRecord.Header?
        var offset = (stop + 8) & ~7
        while offset + WALRecord.headerBytes <= min(bytes.count, dataEnd) {
            if let header = validRecord(bytes, at: offset), header.sequence >= sequenceAtLeast {
                found = header
                offset += WALRecord.alignedLength(bodyLength: header.bodyLength)
            } else {
                offset += 8
            }
        }
        return found
    }

    /// Overwrites the torn tail with zeros and syncs: the file keeps its allocated size (a shorter file would
    /// read as cut short), and a crash during the repair leaves a torn tail that the next open repairs again.
    func repair(_ torn: TornTail) throws(LedgerError) {
        precondition(!readOnly, "a read-only scan never repairs")
        precondition(torn.offset >= 0 && torn.bytesDiscarded > 0, "a torn tail covers bytes")
        let descriptor = try FileIO.openFile(torn.file, flags: O_RDWR)
        defer { FileIO.closeFile(descriptor) }
        try FileIO.writeZeros(descriptor, range: torn.offset..<(torn.offset + torn.bytesDiscarded), path: torn.file)
        try FileIO.syncData(descriptor, path: torn.file)
    }
}
