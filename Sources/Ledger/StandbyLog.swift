#if canImport(Glibc)
    import Glibc
#endif

/// A standby's copy of one shard's log (docs/replication.md): the primary's batches appended byte for byte, at the
/// same offsets of segments with the same names and sizes. Each append is made durable (fdatasync) before the
/// segment header's acknowledged mark names it, exactly as the primary's `WALWriter` does, so the copy is a log
/// like any other: `ledger verify` reads it and `serve --data STANDBY` (a promotion) continues it.
///
/// Why the same offsets: a batch then needs no re-framing (its records' checksums, chain and batch fields are the
/// primary's), and a difference in layout is caught at once as damage instead of surfacing at promotion.
final class StandbyLog {
    let directory: String
    private var descriptor: Int32 = -1
    private(set) var segmentPath = ""
    /// The current segment's header as last written.
    private(set) var header: WALSegment.Header
    /// Where the next batch goes in the current segment.
    private(set) var offset: Int64
    private(set) var nextSequence: UInt64
    /// The checksum of the last record: the next batch's first record must chain to it.
    private(set) var lastCRC: UInt32
    private var isMarkUnsynced = false
    private(set) var recordsAppended: UInt64 = 0
    private(set) var batchesAppended: UInt64 = 0

    /// Opens the copy where its acknowledged mark ends, after checking it as recovery does (snapshot, segments,
    /// records, chain). Records past the mark (a follower killed between a batch's write and its mark) are cut off:
    /// the mark always ends a whole batch, and the primary still holds what follows.
    init(directory: String) throws(LedgerError) {
        precondition(!directory.isEmpty, "a standby's log lives in a directory")
        self.directory = directory
        let snapshot = try Self.newestSnapshotHeader(in: directory)
        let reader = WALReader(directory: directory, readOnly: true)
        let outcome = try reader.scan(afterSequence: snapshot?.sequence ?? 0, snapshotCRC: snapshot?.lastCRC) { _, _, _ in }
        let position = outcome.position
        guard let path = position.segmentPath, let found = position.segmentHeader else {
            throw .damagedLog(file: directory, offset: 0, reason: "the standby's log has no segment to continue")
        }
        descriptor = try FileIO.openFile(path, flags: O_RDWR)
        segmentPath = path
        header = found
        offset = position.segmentOffset
        nextSequence = position.nextSequence
        lastCRC = position.lastCRC
        try cutToMark(tornEnd: outcome.tornTail.map { $0.offset + $0.bytesDiscarded })
        // The seed's copy of the newest segment is sparse: its blocks are allocated now, so a promoted standby's
        // appends meet a full disk before a batch (declined), not in the middle of one.
        try FileIO.allocate(descriptor, bytes: header.segmentBytes, path: segmentPath)
        precondition(nextSequence == header.acknowledgedSequence + 1, "the copy continues at its mark")
    }

    deinit { close() }

    /// Makes the last mark durable and closes the segment.
    func close() {
        if descriptor >= 0 {
            try? syncMark()
            FileIO.closeFile(descriptor)
        }
        descriptor = -1
    }

    /// The snapshot the copy starts from (nil: none, the log starts at sequence 1).
    static func newestSnapshotHeader(in directory: String) throws(LedgerError) -> Snapshot.Header? {
        guard let path = try Snapshot.newest(in: directory) else { return nil }
        let descriptor = try FileIO.openFile(path, flags: O_RDONLY)
        defer { FileIO.closeFile(descriptor) }
        let bytes = try FileIO.readBytes(descriptor, count: Snapshot.headerBytes, offset: 0, path: path)
        guard let header = bytes.withUnsafeBytes({ Snapshot.decodeHeader($0.baseAddress!, count: $0.count) }) else {
            throw .damagedSnapshot(file: path, reason: "its header is not understood")
        }
        return header
    }

    /// Zeroes whatever lies past the acknowledged mark (whole records of an unacknowledged batch, or a torn one).
    private func cutToMark(tornEnd: Int64?) throws(LedgerError) {
        let markEnd = header.acknowledgedEnd
        let dataEnd = max(offset, tornEnd ?? 0)
        guard dataEnd > markEnd else { return }
        if nextSequence - 1 > header.acknowledgedSequence {
            // The first record past the mark chains to the last one under it.
            let bytes = try FileIO.readBytes(descriptor, count: WALRecord.headerBytes, offset: markEnd, path: segmentPath)
            guard let first = bytes.withUnsafeBytes({ WALRecord.readHeader($0.baseAddress!) }) else {
                throw .damagedLog(file: segmentPath, offset: markEnd, reason: "no record header past the mark")
            }
            lastCRC = first.previousCRC
        }
        precondition(markEnd >= Int64(WALSegment.recordsStart) && markEnd < dataEnd, "the cut follows the header")
        try FileIO.writeZeros(descriptor, range: markEnd..<dataEnd, path: segmentPath)
        try FileIO.syncData(descriptor, path: segmentPath)
        offset = markEnd
        nextSequence = header.acknowledgedSequence + 1
        precondition(nextSequence >= header.firstSequence, "the copy continues in its segment")
    }

    /// Appends one read of whole batches (`chunk` says where the primary holds them) and makes it durable.
    func append(_ bytes: UnsafeRawBufferPointer, _ chunk: LogBatchChunk) throws(LedgerError) {
        precondition(bytes.count == chunk.byteCount && chunk.byteCount > 0, "a chunk holds records")
        precondition(chunk.firstSequence == nextSequence, "batches are appended in order")
        if chunk.segmentFirstSequence != header.firstSequence {
            try startSegment(firstSequence: chunk.segmentFirstSequence, segmentBytes: chunk.segmentBytes)
        }
        guard chunk.offset == offset, offset + Int64(bytes.count) <= header.segmentBytes else {
            throw .damagedLog(
                file: segmentPath, offset: offset,
                reason: "the primary holds sequence \(chunk.firstSequence) at offset \(chunk.offset) of a segment of "
                    + "\(chunk.segmentBytes) bytes, the standby's copy would put it at offset \(offset) of "
                    + "\(header.segmentBytes) bytes: not the same log")
        }
        try FileIO.writeAll(descriptor, bytes, offset: offset, path: segmentPath)
        try FileIO.syncData(descriptor, path: segmentPath)
        offset += Int64(bytes.count)
        nextSequence = chunk.lastSequence + 1
        lastCRC = chunk.lastCRC
        recordsAppended += chunk.lastSequence - chunk.firstSequence + 1
        batchesAppended += UInt64(chunk.batchCount)
        header.acknowledgedSequence = chunk.lastSequence
        header.acknowledgedEnd = offset
        header.generation += 1
        precondition(
            offset <= header.segmentBytes && nextSequence == header.acknowledgedSequence + 1,
            "the mark names the records appended")
        try WALSegment.writeSlot(header, descriptor: descriptor, path: segmentPath)
        isMarkUnsynced = true
    }

    /// The primary went on in a new segment: the same one is made here (allocated, its header synced, renamed
    /// in), then the current one sealed naming it, as the primary's writer does.
    private func startSegment(firstSequence: UInt64, segmentBytes: Int64) throws(LedgerError) {
        guard firstSequence == nextSequence, firstSequence > header.firstSequence,
            segmentBytes >= Int64(WALSegment.recordsStart + WALRecord.recordBytesMax)
        else {
            throw .damagedLog(
                file: segmentPath, offset: offset,
                reason: "the primary starts a segment at sequence \(firstSequence) (\(segmentBytes) bytes) where "
                    + "the standby's log continues at \(nextSequence)")
        }
        let temporaryPath = directory + "/" + WALWriter.fallbackName
        let made = try SegmentReserve.makeFile(path: temporaryPath, bytes: Int(segmentBytes), zeroFill: false)
        let published: (path: String, header: WALSegment.Header)
        do throws(LedgerError) {
            published = try WALWriter.publish(
                made, temporaryPath: temporaryPath, directory: directory, firstSequence: firstSequence,
                segmentBytes: Int(segmentBytes))
            try FileIO.syncDirectory(directory)
        } catch {
            FileIO.closeFile(made)
            throw error
        }
        var sealed = header
        sealed.nextFirstSequence = firstSequence
        sealed.generation += 1
        _ = try WALSegment.writeBothSlots(sealed, descriptor: descriptor, path: segmentPath)
        try FileIO.syncData(descriptor, path: segmentPath)
        FileIO.closeFile(descriptor)
        descriptor = made
        segmentPath = published.path
        header = published.header
        offset = Int64(WALSegment.recordsStart)
        isMarkUnsynced = false
        precondition(header.firstSequence == nextSequence, "the new segment starts at the next sequence")
    }

    /// Makes the last mark durable (when the follower is idle, and at stop).
    func syncMark() throws(LedgerError) {
        guard isMarkUnsynced else { return }
        isMarkUnsynced = false
        try FileIO.syncData(descriptor, path: segmentPath)
    }
}
