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

    let directory: String
    /// The segment being read: its first sequence, descriptor and where the next record is.
    private var segmentFirst: UInt64 = 0
    private var descriptor: Int32 = -1
    private var offset: Int64 = 0
    /// The sequence the record at `offset` has (0: no position yet).
    private var nextSequence: UInt64 = 0
    private let buffer = UnsafeMutableRawBufferPointer.allocate(
        byteCount: WALRecord.recordBytesMax, alignment: 8)

    public init(directory: String) {
        self.directory = directory
    }

    /// The shard's log in the data directory `root`.
    public convenience init(root: String, shard: Int) {
        self.init(directory: DataDirectory.shardDirectory(root, shard: shard))
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        buffer.deallocate()
    }

    /// Up to `limit` durable records with sequences after `after`, in order; `gap` says what was skipped.
    func read(after: UInt64, limit: Int, gap: inout Gap) throws(LedgerError) -> [Entry] {
        precondition(limit > 0, "a read asks for records")
        var entries: [Entry] = []
        if nextSequence != after + 1 { try position(at: after + 1, gap: &gap) }
        // Skipped records (deleted segments) are passed over; otherwise the position must be exactly `after + 1`.
        guard nextSequence == after + 1 + gap.recordsSkipped || descriptor < 0 else { return [] }
        guard descriptor >= 0 else { return entries }
        // The mark as it stands now; a later one only lets the next read go further.
        var header = try segmentHeader()
        while entries.count < limit {
            if nextSequence > header.acknowledgedSequence {
                // Past this segment's durable mark: the next segment, once this one is sealed and fully read.
                guard header.nextFirstSequence == nextSequence else { break }
                try open(first: header.nextFirstSequence)
                header = try segmentHeader()
                continue
            }
            let count = try FileIO.readFully(descriptor, buffer, offset: offset, path: segmentPath)
            guard count >= WALRecord.headerBytes, let record = WALRecord.readHeader(buffer.baseAddress!),
                record.sequence == nextSequence, count >= WALRecord.headerBytes + record.bodyLength,
                WALRecord.checksum(buffer.baseAddress!, bodyLength: record.bodyLength) == record.crc
            else {
                throw .damagedLog(
                    file: segmentPath, offset: offset,
                    reason: "the outbox reader found no intact record of sequence \(nextSequence) below the mark")
            }
            if let body = WALRecord.decodeBody(
                buffer.baseAddress! + WALRecord.headerBytes, length: record.bodyLength)
            {
                entries.append(Entry(sequence: nextSequence, body: body))
            } else {
                gap.recordsUnreadable += 1
            }
            offset += Int64(WALRecord.alignedLength(bodyLength: record.bodyLength))
            nextSequence += 1
        }
        return entries
    }

    private var segmentPath: String { directory + "/" + WALSegment.fileName(firstSequence: segmentFirst) }

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
            let count = try FileIO.readFully(
                descriptor, UnsafeMutableRawBufferPointer(rebasing: buffer[0..<WALRecord.headerBytes]),
                offset: offset, path: segmentPath)
            guard count == WALRecord.headerBytes, let record = WALRecord.readHeader(buffer.baseAddress!),
                record.sequence == nextSequence
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
        segmentFirst = first
        descriptor = try FileIO.openFile(segmentPath, flags: O_RDONLY)
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
        let entries = try read(after: after, limit: recordsMax, gap: &gap)
        var batch = EventBatch(events: [], lastSequence: entries.last?.sequence ?? after, gap: gap, recordsWithoutEvents: 0)
        if entries.isEmpty && gap.recordsSkipped > 0 { batch.lastSequence = after + gap.recordsSkipped }
        for entry in entries {
            guard let events = WALRecord.events(of: entry.body, sequence: entry.sequence, decider: decider) else {
                batch.recordsWithoutEvents += 1
                continue
            }
            precondition(events.count <= LedgerEvent.perRecordMax, "a record yields at most perRecordMax events")
            batch.events += events
        }
        return batch
    }
}
