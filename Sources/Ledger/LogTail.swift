#if canImport(Glibc)
    import Glibc
#endif

/// Reads one shard's write-ahead log from outside the shard, read-only, never ahead of what is durable: only
/// records at or below a segment header's acknowledged mark, which the writer sets only after the batch's
/// fdatasync returned (WALSegment.swift). The member-notification outbox is this log: a record's decision already
/// says what it did, so the events of a change are exactly as durable as the change.
///
/// Not thread-safe: one reader thread owns a tail. Never touches the writer's files other than by `pread`.
public final class LogTail {
    /// One record read back: its sequence and what it says.
    struct Entry {
        var sequence: UInt64
        var body: WALRecord.Body
    }

    /// What one `read` found besides records.
    public struct Gap: Equatable, Sendable {
        /// Records the reader wanted whose segment was deleted (a snapshot dropped it past the retention bound).
        public var recordsSkipped: UInt64
        /// Durable records that do not decode (a kind this build does not know): counted, skipped.
        public var recordsUnreadable: UInt64
    }

    /// Bytes read from the segment at once: one `pread` serves a few hundred records. One `pread` of a record's
    /// whole room (1 KiB) per record, in each of three readers, was much of the 44 % of the switch's CPU the
    /// readers took at saturation (benchmarks/RESULTS.md, "The log readers read a chunk at a time").
    static let chunkBytes = 256 << 10

    let directory: String
    /// The segment being read: its first sequence, descriptor, path and where the next record is.
    private var segmentFirst: UInt64 = 0
    private var descriptor: Int32 = -1
    private var segmentPath = ""
    private var offset: Int64 = 0
    /// The sequence the record at `offset` has (0: no position yet).
    private var nextSequence: UInt64 = 0
    /// The segment's bytes from file offset `chunkStart`, `chunkCount` of them. Only records up to
    /// `chunkTrusted` may be taken from it: the acknowledged mark read before the `pread` that filled it (bytes
    /// past the mark may have been read before the writer wrote them).
    private let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: LogTail.chunkBytes, alignment: 8)
    private var chunkStart: Int64 = 0
    private var chunkCount = 0
    private var chunkTrusted: UInt64 = 0

    public init(directory: String) {
        self.directory = directory
    }

    /// The shard's log in the data directory `root`.
    public convenience init(root: String, shard: Int) {
        self.init(directory: DataDirectory.shardDirectory(root, shard: shard))
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        chunk.deallocate()
    }

    /// Up to `limit` durable records with sequences after `after`, in order; `gap` says what was skipped. An array
    /// of copies, for tests that look at whole records; the indexers use `visit`.
    func read(after: UInt64, limit: Int, gap: inout Gap) throws(LedgerError) -> [Entry] {
        var entries: [Entry] = []
        try visit(after: after, limit: limit, gap: &gap) { sequence, body in
            entries.append(Entry(sequence: sequence, body: copy body))
        }
        return entries
    }

    /// What `visit` went over: the records given to its body, and the last one's sequence.
    struct Visited {
        var records = 0
        var lastSequence: UInt64?

        /// Where the next read starts after: the last record visited, else past what was skipped, else `after`.
        func through(after: UInt64, gap: Gap) -> UInt64 {
            if let lastSequence { return lastSequence }
            return gap.recordsSkipped > 0 ? after + gap.recordsSkipped : after
        }
    }

    /// Calls `body` with each of up to `limit` durable records after `after`, in order, decoded straight from
    /// the chunk (the views take what they need of each record without an array of copies of them); `gap`
    /// says what was skipped, and `unreadable` is told the sequence of each record that did not decode.
    @discardableResult
    func visit(
        after: UInt64, limit: Int, gap: inout Gap, unreadable: (UInt64) -> Void = { _ in },
        _ body: (UInt64, borrowing WALRecord.Body) throws(LedgerError) -> Void
    ) throws(LedgerError) -> Visited {
        precondition(limit > 0, "a read asks for records")
        var visited = Visited()
        if nextSequence != after + 1 { try position(at: after + 1, gap: &gap) }
        // Skipped records (deleted segments) are passed over; otherwise the position must be exactly `after + 1`.
        guard nextSequence == after + 1 + gap.recordsSkipped || descriptor < 0 else { return visited }
        guard descriptor >= 0 else { return visited }
        // The mark as it stands now; a later one only lets the next read go further.
        var header = try segmentHeader()
        // One body for the whole read, decoded into in place (a Body with its command is about 1 KB).
        var decoded = WALRecord.Body(
            command: ShardCommand(kind: .none, key: .zero), timeMs: 0, status: .approved, balanceAfter: .zero)
        while visited.records < limit {
            if nextSequence > header.acknowledgedSequence {
                // Past this segment's durable mark: the next segment, once this one is sealed and fully read.
                guard header.nextFirstSequence == nextSequence else { break }
                try open(first: header.nextFirstSequence)
                header = try segmentHeader()
                continue
            }
            guard let (bytes, record) = try recordAtOffset(trusted: header.acknowledgedSequence, end: header.acknowledgedEnd),
                WALRecord.checksum(bytes, bodyLength: record.bodyLength) == record.crc
            else {
                throw .damagedLog(
                    file: segmentPath, offset: offset,
                    reason: "the outbox reader found no intact record of sequence \(nextSequence) below the mark")
            }
            let sequence = nextSequence
            offset += Int64(WALRecord.alignedLength(bodyLength: record.bodyLength))
            nextSequence += 1
            if WALRecord.decodeBody(bytes + WALRecord.headerBytes, length: record.bodyLength, into: &decoded) {
                visited.records += 1
                visited.lastSequence = sequence
                try body(sequence, decoded)
            } else {
                gap.recordsUnreadable += 1
                unreadable(sequence)
            }
        }
        return visited
    }

    /// The record at `offset`, whole in the chunk (read again from `offset` when it is not, or when it lies past
    /// what the chunk may be trusted for), with its header; nil when no record of sequence `nextSequence` is
    /// there. `trusted`: the acknowledged mark read before this call, so a refill may trust records up to it;
    /// `end`: where the records through it end, so a refill reads no further (whole pages, at least one). A
    /// reader that keeps up with the writer refills after every few records, and read the whole chunk each time:
    /// mostly prepared zeros past the mark (benchmarks/RESULTS.md, "The log readers read only what is acknowledged").
    private func recordAtOffset(
        trusted: UInt64, end: Int64
    ) throws(LedgerError) -> (UnsafeRawPointer, WALRecord.Header)? {
        if let found = recordInChunk() { return found }
        let page = Int64(DirectWrites.alignment)
        let wanted = min(Int64(chunk.count), max(page, (end - offset + page - 1) / page * page))
        precondition(wanted > 0 && wanted <= Int64(chunk.count), "a refill reads a part of the chunk")
        let count = try FileIO.readFully(
            descriptor, UnsafeMutableRawBufferPointer(rebasing: chunk[0..<Int(wanted)]), offset: offset,
            path: segmentPath)
        chunkStart = offset
        chunkCount = count
        chunkTrusted = trusted
        return recordInChunk()
    }

    /// The record at `offset` when the chunk holds all of it and may be trusted for its sequence.
    private func recordInChunk() -> (UnsafeRawPointer, WALRecord.Header)? {
        guard nextSequence <= chunkTrusted, offset >= chunkStart else { return nil }
        let start = Int(offset - chunkStart)
        guard start + WALRecord.headerBytes <= chunkCount else { return nil }
        let bytes = UnsafeRawPointer(chunk.baseAddress! + start)
        guard let record = WALRecord.readHeader(bytes), record.sequence == nextSequence,
            start + WALRecord.headerBytes + record.bodyLength <= chunkCount
        else { return nil }
        return (bytes, record)
    }

    private func segmentHeader() throws(LedgerError) -> WALSegment.Header {
        let bytes = try FileIO.readBytes(descriptor, count: WALSegment.headerBytesRead, offset: 0, path: segmentPath)
        guard let header = bytes.withUnsafeBytes({ WALSegment.read($0) }), header.firstSequence == segmentFirst else {
            throw .damagedLog(file: segmentPath, offset: 0, reason: "the outbox reader found no valid segment header")
        }
        return header
    }

    /// Finds the segment holding `sequence` (or the first one after it, counting the records deleted before it)
    /// and walks to the record.
    private func position(at sequence: UInt64, gap: inout Gap) throws(LedgerError) {
        let segments = try WALReader.segments(in: directory)
        guard let first = segments.first else { return }
        let holding = segments.last { $0.firstSequence <= sequence }
        if holding == nil { gap.recordsSkipped += first.firstSequence - sequence }
        try open(first: holding?.firstSequence ?? first.firstSequence)
        let header = try segmentHeader()
        while nextSequence < sequence {
            guard nextSequence <= header.acknowledgedSequence else { return }
            guard let (_, record) = try recordAtOffset(trusted: header.acknowledgedSequence, end: header.acknowledgedEnd)
            else {
                throw .damagedLog(
                    file: segmentPath, offset: offset,
                    reason: "the outbox reader found no record of sequence \(nextSequence) below the mark")
            }
            offset += Int64(WALRecord.alignedLength(bodyLength: record.bodyLength))
            nextSequence += 1
        }
    }

    private func open(first: UInt64) throws(LedgerError) {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        chunkCount = 0
        chunkTrusted = 0
        segmentFirst = first
        segmentPath = directory + "/" + WALSegment.fileName(firstSequence: first)
        descriptor = try FileIO.openSegmentLeased(segmentPath)
        offset = Int64(WALSegment.recordsStart)
        nextSequence = first
    }
}

extension LogTail {
    /// What a read of events returns: the events of the records read, and the last sequence read (so the next
    /// read starts after it even when those records had no events).
    public struct EventBatch: Sendable {
        public var events: [LedgerEvent]
        public var lastSequence: UInt64
        public var gap: Gap
        /// Records of kinds that give no event by design (an inspection, an unknown internal kind).
        public var recordsWithoutEvents: UInt64
    }

    /// The events of up to `recordsMax` durable records after sequence `after`, in order. `decider` reads the
    /// decisions purchases carry (tier before and after, offers, bonuses); without it a purchase gives only
    /// `points.earned`.
    public func events(after: UInt64, recordsMax: Int, decider: Decider?) throws(LedgerError) -> EventBatch {
        var gap = Gap(recordsSkipped: 0, recordsUnreadable: 0)
        var events: [LedgerEvent] = []
        var withoutEvents: UInt64 = 0
        let visited = try visit(after: after, limit: recordsMax, gap: &gap) { sequence, body in
            guard let recordEvents = WALRecord.events(of: body, sequence: sequence, decider: decider) else {
                withoutEvents += 1
                return
            }
            precondition(recordEvents.count <= LedgerEvent.perRecordMax, "a record yields at most perRecordMax events")
            events += recordEvents
        }
        return EventBatch(
            events: events, lastSequence: visited.through(after: after, gap: gap), gap: gap,
            recordsWithoutEvents: withoutEvents)
    }
}
