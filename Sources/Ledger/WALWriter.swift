#if canImport(Glibc)
    import Glibc
#endif

/// Appends records of one shard to preallocated segment files, one write and one fdatasync per batch.
///
/// Segment files are named `wal-<first sequence, 20 digits>.log` and begin with a `WALSegment` header. A batch
/// never spans two segments (it is committed early where its segment ends), and a new segment is started only
/// between batches (`makeRoomForBatch`), from a
/// reserve made ahead: so the only failures left inside a batch are write and sync errors, which stop the shard,
/// while a shortage of space or descriptors is met before any of a batch is applied, and declines it.
final class WALWriter {
    let directory: String
    /// The size of the segments this writer creates (the current one keeps the size it was created with).
    let segmentBytes: Int
    let skipSync: Bool
    /// Batch buffer: `batchBytesMax` bytes, reused.
    private let buffer: UnsafeMutableRawPointer
    let batchBytesMax: Int
    private var bufferUsed = 0
    private var segmentDescriptor: Int32 = -1
    private(set) var segmentPath = ""
    /// The current segment's header as last written.
    private var header = WALSegment.Header(firstSequence: 1, segmentBytes: Int64(WALSegment.recordsStart))
    private var segmentOffset: Int64 = 0
    private(set) var nextSequence: UInt64
    private(set) var lastCRC: UInt32
    private var batchFirstSequence: UInt64 = 0
    private(set) var recordsInBatch = 0
    /// The next segment, made ahead.
    let reserve: SegmentReserve
    /// The shard directory, open for fsync: starting a segment needs no new descriptor.
    private(set) var directoryDescriptor: Int32
    /// The header's acknowledged mark was written and not yet synced.
    private(set) var isMarkUnsynced = false
    /// The last shortage met while starting a segment, and when: a new attempt waits `retryIntervalNs`.
    var shortage: LedgerError?
    var shortageAtNs: UInt64 = 0
    let retryIntervalNs: UInt64
    /// Counters for the benchmark and `verify`.
    private(set) var recordsWritten = 0
    private(set) var syncCount = 0
    private(set) var segmentsStarted = 0

    /// Name of the file a segment is made under when no reserve is ready (then renamed like the reserve).
    static let fallbackName = "wal-next.tmp"

    /// Continues the log after recovery at `position`, or in a new segment when it has none; reserves the next
    /// segment. Throws `noRoomForLog` when either cannot be allocated: a start without that room is refused.
    init(
        directory: String, segmentBytes: Int, batchBytesMax: Int, skipSync: Bool, zeroFillsReserve: Bool,
        retryIntervalMs: Int, position: WALPosition
    ) throws(LedgerError) {
        precondition(segmentBytes >= WALSegment.recordsStart + batchBytesMax, "a segment holds a whole batch")
        precondition(retryIntervalMs > 0, "retryIntervalMs must be positive")
        self.directory = directory
        self.segmentBytes = segmentBytes
        self.batchBytesMax = batchBytesMax
        self.skipSync = skipSync
        retryIntervalNs = UInt64(retryIntervalMs) * 1_000_000
        nextSequence = position.nextSequence
        lastCRC = position.lastCRC
        buffer = UnsafeMutableRawPointer.allocate(byteCount: batchBytesMax + Self.endMarkBytes, alignment: 4096)
        reserve = SegmentReserve(directory: directory, segmentBytes: segmentBytes, zeroFills: zeroFillsReserve)
        directoryDescriptor = try FileIO.openFile(directory, flags: O_RDONLY | O_DIRECTORY)
        try removeTemporaryFiles()
        if let path = position.segmentPath, let header = position.segmentHeader {
            segmentDescriptor = try FileIO.openFile(path, flags: O_RDWR)
            segmentPath = path
            self.header = header
            segmentOffset = position.segmentOffset
            try acknowledgeRecovered()
        }
        try reserveAtOpen()
        precondition(
            nextSequence >= 1 && segmentDescriptor >= 0 && directoryDescriptor >= 0, "an open writer has its segment")
    }

    /// Records recovery read past the mark (a crash between a batch's sync and its mark, or before a sync that
    /// the page cache outlived) are the log now: later records chain after them. So they are synced and the mark
    /// moved past them before anything is appended.
    private func acknowledgeRecovered() throws(LedgerError) {
        precondition(header.acknowledgedSequence <= nextSequence - 1, "recovery stopped before the mark")
        guard header.acknowledgedSequence < nextSequence - 1 || header.acknowledgedEnd != segmentOffset else { return }
        try FileIO.syncData(segmentDescriptor, path: segmentPath)
        try writeMark()
        try syncMark()
        precondition(
            header.acknowledgedSequence == nextSequence - 1 && header.acknowledgedEnd == segmentOffset,
            "the mark covers what recovery read")
    }

    deinit {
        buffer.deallocate()
        close()
    }

    /// Closes the writer's files (the shard has stopped): the current segment, the directory, the reserve.
    func close() {
        reserve.waitUntilIdle()
        if let descriptor = reserve.take() { FileIO.closeFile(descriptor) }
        if segmentDescriptor >= 0 { FileIO.closeFile(segmentDescriptor) }
        if directoryDescriptor >= 0 { FileIO.closeFile(directoryDescriptor) }
        segmentDescriptor = -1
        directoryDescriptor = -1
        precondition(segmentDescriptor < 0 && directoryDescriptor < 0, "a closed writer holds no descriptor")
    }

    /// Leftovers of an earlier run (a reserve, a half-made segment): never log, so removed before new ones.
    private func removeTemporaryFiles() throws(LedgerError) {
        try FileIO.remove(reserve.path)
        try FileIO.remove(directory + "/" + Self.fallbackName)
    }

    /// The reserve, and a first segment when the log has none: both or a refusal naming what is missing.
    private func reserveAtOpen() throws(LedgerError) {
        do throws(LedgerError) {
            try reserve.prepareNow()
            if segmentDescriptor < 0 {
                guard let descriptor = reserve.take() else { preconditionFailure("reserve prepared but not ready") }
                try install(descriptor, temporaryPath: reserve.path)
                try reserve.prepareNow()
            }
        } catch {
            guard error.isShortage else { throw error }
            throw .noRoomForLog(directory: directory, segmentBytes: segmentBytes, reason: error.description)
        }
    }

    static func segmentName(firstSequence: UInt64) -> String { WALSegment.fileName(firstSequence: firstSequence) }

    /// Room for one more record of the largest size in the batch buffer and, after the batch, in the segment:
    /// when there is none, the caller commits first (a batch ends where its segment does).
    var hasRoomForRecord: Bool {
        batchBytesMax - bufferUsed >= WALRecord.recordBytesMax
            && segmentOffset + Int64(bufferUsed + WALRecord.recordBytesMax + Self.endMarkBytes) <= header.segmentBytes
    }

    /// Zeros written after every batch (the next batch writes over them): where a segment's records end even in a
    /// recycled file, whose older records lie beyond (`Snapshot.dropCovered`, `WALReader.classifyStop`).
    static let endMarkBytes = WALRecord.headerBytes
    var isBatchEmpty: Bool { recordsInBatch == 0 }

    /// Encodes one record into the batch. The caller checked `hasRoomForRecord`, and `makeRoomForBatch` before
    /// the first record of the batch.
    func append(_ body: WALRecord.Body) { append(body.command, body.facts) }

    /// `append` from a command and the rest of its record, without a `Body` (the shard's path).
    func append(_ command: ShardCommand, _ facts: WALRecord.Facts) {
        precondition(hasRoomForRecord, "WAL batch buffer full: commit first")
        if recordsInBatch == 0 {
            precondition(hasRoomInSegment, "a batch started without room in its segment")
            batchFirstSequence = nextSequence
        }
        let record = buffer + bufferUsed
        let bodyLength = WALRecord.encodeBody(command, facts, at: record + WALRecord.headerBytes)
        precondition(bodyLength > 0 && bodyLength <= WALRecord.bodyBytesMax, "record body out of bounds")
        assert(
            Self.bodyRoundTrips(record + WALRecord.headerBytes, length: bodyLength),
            "a log record must decode to what was encoded (recovery replays what it reads)")
        let aligned = WALRecord.alignedLength(bodyLength: bodyLength)
        (record + WALRecord.headerBytes + bodyLength).initializeMemory(
            as: UInt8.self, repeating: 0, count: aligned - WALRecord.headerBytes - bodyLength)
        let header = WALRecord.Header(
            crc: 0, bodyLength: bodyLength, sequence: nextSequence, previousCRC: lastCRC,
            recordType: WALRecord.recordTypeCommand, batchFirstSequence: batchFirstSequence)
        WALRecord.writeHeader(header, at: record)
        lastCRC = record.load(as: UInt32.self)
        nextSequence += 1
        bufferUsed += aligned
        recordsInBatch += 1
        precondition(bufferUsed <= batchBytesMax && nextSequence == header.sequence + 1, "the record is in the batch")
    }

    /// Debug builds, every record: the body decodes, and encoding what was decoded gives the same bytes, so the
    /// reading side of the log boundary (replay, followers, the history) sees exactly what the shard applied.
    private static func bodyRoundTrips(_ body: UnsafeRawPointer, length: Int) -> Bool {
        guard let decoded = WALRecord.decodeBody(body, length: length) else { return false }
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: WALRecord.bodyBytesMax, alignment: 16)
        defer { scratch.deallocate() }
        let again = WALRecord.encodeBody(decoded, at: scratch)
        return again == length && memcmp(scratch, body, length) == 0
    }

    /// True when a record of the largest size fits in the current segment: a batch can start in it.
    var hasRoomInSegment: Bool {
        segmentDescriptor >= 0
            && segmentOffset + Int64(WALRecord.recordBytesMax + Self.endMarkBytes) <= header.segmentBytes
    }

    /// Makes the batch durable: one pwrite, one fdatasync, then the acknowledged mark in the segment's header
    /// (written, not synced: the next batch's fdatasync, or the shard's idle `syncMark`, makes it durable). Every
    /// error here comes after the batch was applied in memory, so the caller stops the shard.
    func commit() throws(LedgerError) {
        guard recordsInBatch > 0 else { return }
        precondition(
            segmentOffset + Int64(bufferUsed + Self.endMarkBytes) <= header.segmentBytes, "batch overruns its segment")
        (buffer + bufferUsed).initializeMemory(as: UInt8.self, repeating: 0, count: Self.endMarkBytes)
        try FileIO.writeAll(
            segmentDescriptor, UnsafeRawBufferPointer(start: buffer, count: bufferUsed + Self.endMarkBytes),
            offset: segmentOffset, path: segmentPath)
        if !skipSync { try FileIO.syncData(segmentDescriptor, path: segmentPath) }
        syncCount += 1
        segmentOffset += Int64(bufferUsed)
        recordsWritten += recordsInBatch
        bufferUsed = 0
        recordsInBatch = 0
        try writeMark()
        precondition(
            segmentOffset <= header.segmentBytes && header.acknowledgedSequence == nextSequence - 1,
            "a committed batch is acknowledged inside its segment")
    }

    /// Records in the header that everything written so far is acknowledged (only ever after its fdatasync).
    private func writeMark() throws(LedgerError) {
        precondition(segmentDescriptor >= 0 && bufferUsed == 0, "a mark names only written records")
        header.acknowledgedSequence = nextSequence - 1
        header.acknowledgedEnd = segmentOffset
        header.generation += 1
        try WALSegment.writeSlot(header, descriptor: segmentDescriptor, path: segmentPath)
        isMarkUnsynced = true
    }

    /// Records in the current segment's header that the log continues in a segment starting at `successor`, and
    /// syncs it. Without a current segment (a log that had none) there is nothing to seal.
    func sealCurrentSegment(successor: UInt64) throws(LedgerError) {
        guard segmentDescriptor >= 0 else { return }
        precondition(successor == header.acknowledgedSequence + 1, "sealed with unacknowledged records")
        var sealed = header
        sealed.nextFirstSequence = successor
        sealed.generation += 1
        header = try WALSegment.writeBothSlots(sealed, descriptor: segmentDescriptor, path: segmentPath)
        try FileIO.syncData(segmentDescriptor, path: segmentPath)
        isMarkUnsynced = false
        precondition(header.nextFirstSequence == successor, "the sealed segment names its successor")
    }

    /// The new segment becomes the current one; the old one's descriptor is closed.
    func replaceSegment(descriptor: Int32, path: String, header newHeader: WALSegment.Header) {
        precondition(newHeader.firstSequence == nextSequence, "a segment starts at the next sequence")
        precondition(
            descriptor >= 0 && newHeader.acknowledgedSequence + 1 == newHeader.firstSequence && isBatchEmpty,
            "a fresh segment, between batches")
        if segmentDescriptor >= 0 { FileIO.closeFile(segmentDescriptor) }
        segmentDescriptor = descriptor
        segmentPath = path
        header = newHeader
        segmentOffset = Int64(WALSegment.recordsStart)
        segmentsStarted += 1
    }

    /// Makes the last mark durable (when the shard is idle, and on stop).
    func syncMark() throws(LedgerError) {
        guard isMarkUnsynced else { return }
        isMarkUnsynced = false
        if !skipSync { try FileIO.syncData(segmentDescriptor, path: segmentPath) }
    }
}

/// Where the log continues after recovery.
struct WALPosition {
    var segmentPath: String?
    /// The header of `segmentPath` as read.
    var segmentHeader: WALSegment.Header?
    var segmentOffset: Int64
    var nextSequence: UInt64
    var lastCRC: UInt32
}
