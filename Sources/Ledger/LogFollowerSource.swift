#if canImport(Glibc)
    import Glibc
#endif

/// Where a read of whole batches lies in the primary's log.
struct LogBatchChunk: Equatable {
    var segmentFirstSequence: UInt64
    var segmentBytes: Int64
    /// The offset of the first record in its segment.
    var offset: Int64
    var byteCount: Int
    var firstSequence: UInt64
    var lastSequence: UInt64
    var lastCRC: UInt32
    var batchCount: Int
}

/// Reads one shard's log on the primary, read-only, in whole batches and never past a segment header's
/// acknowledged mark (the writer moves the mark only after a batch's fdatasync returned, and only ever to a
/// batch's end: WALSegment.swift). Every record is checked before it leaves: checksum, sequence (a gap is
/// damage, never skipped as `LogTail` skips for the outbox), the chain to the record before, and the batch
/// fields; damage throws naming the primary's file, offset and sequences.
///
/// The segment being read stays open: a checkpoint that deletes it meanwhile does not take it away.
final class LogFollowerSource {
    let directory: String
    private var segmentFirst: UInt64 = 0
    private var descriptor: Int32 = -1
    private var offset: Int64 = 0
    /// The next sequence to read, and the checksum its record must chain to.
    private(set) var nextSequence: UInt64
    private(set) var lastCRC: UInt32

    init(directory: String, nextSequence: UInt64, lastCRC: UInt32) {
        precondition(nextSequence >= 1, "sequences start at 1")
        self.directory = directory
        self.nextSequence = nextSequence
        self.lastCRC = lastCRC
    }

    deinit { if descriptor >= 0 { FileIO.closeFile(descriptor) } }

    private var segmentPath: String { directory + "/" + WALSegment.fileName(firstSequence: segmentFirst) }

    /// Reads the next whole batches the primary made durable, at most `buffer.count` bytes and within one segment;
    /// nil when nothing new is durable yet.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(LedgerError) -> LogBatchChunk? {
        precondition(buffer.count >= WALRecord.recordBytesMax, "a read holds the largest record")
        if descriptor < 0 {
            guard try position() else { return nil }
        }
        var header = try segmentHeader()
        if nextSequence > header.acknowledgedSequence {
            guard header.nextFirstSequence == nextSequence else { return nil }
            try open(first: nextSequence, after: header)
            header = try segmentHeader()
            guard nextSequence <= header.acknowledgedSequence else { return nil }
        }
        let wanted = Int(min(Int64(buffer.count), header.acknowledgedEnd - offset))
        let count = try FileIO.readFully(
            descriptor, UnsafeMutableRawBufferPointer(rebasing: buffer[0..<max(wanted, 0)]), offset: offset,
            path: segmentPath)
        guard wanted > 0, count == wanted else {
            throw .damagedLog(
                file: segmentPath, offset: offset + Int64(max(count, 0)),
                reason: "the header says sequences through \(header.acknowledgedSequence) were acknowledged, ending "
                    + "at offset \(header.acknowledgedEnd), but the file ends before them")
        }
        let chunk = try check(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), header: header)
        precondition(
            chunk.byteCount > 0 && chunk.byteCount <= count && chunk.firstSequence == nextSequence
                && chunk.lastSequence >= chunk.firstSequence, "a checked chunk of whole batches")
        offset += Int64(chunk.byteCount)
        nextSequence = chunk.lastSequence + 1
        lastCRC = chunk.lastCRC
        precondition(offset <= header.acknowledgedEnd, "never past the acknowledged mark")
        return chunk
    }

    /// Checks the records read and keeps the whole batches among them: a batch ends where the next record starts
    /// a batch (its `batchFirstSequence` is its own sequence) or at the acknowledged mark.
    private func check(_ bytes: UnsafeRawBufferPointer, header: WALSegment.Header) throws(LedgerError) -> LogBatchChunk {
        var chunk = LogBatchChunk(
            segmentFirstSequence: segmentFirst, segmentBytes: header.segmentBytes, offset: offset, byteCount: 0,
            firstSequence: nextSequence, lastSequence: nextSequence - 1, lastCRC: lastCRC, batchCount: 0)
        var position = 0
        var sequence = nextSequence
        var crc = lastCRC
        // Every read starts where a batch starts, except the first after a seed cut inside one (0: unknown).
        var batch: UInt64 = 0
        while position + WALRecord.headerBytes <= bytes.count {
            let base = bytes.baseAddress! + position
            let at = offset + Int64(position)
            guard let record = WALRecord.readHeader(base) else {
                throw damage(at: at, "no valid record header for sequence \(sequence)")
            }
            let length = WALRecord.alignedLength(bodyLength: record.bodyLength)
            guard position + length <= bytes.count else { break }
            guard WALRecord.checksum(base, bodyLength: record.bodyLength) == record.crc else {
                throw damage(at: at, "the record of sequence \(sequence) fails its checksum (CRC32C)")
            }
            guard record.sequence == sequence else {
                throw damage(at: at, "sequence \(record.sequence) where \(sequence) was expected (a gap)")
            }
            guard record.previousCRC == crc else {
                throw damage(
                    at: at, "the record of sequence \(sequence) does not chain to the one before (sequence "
                        + "\(sequence - 1)): not the log the standby holds")
            }
            let startsBatch = record.batchFirstSequence == sequence
            guard startsBatch || batch == 0 || record.batchFirstSequence == batch else {
                throw damage(
                    at: at, "the record of sequence \(sequence) names batch \(record.batchFirstSequence) inside batch "
                        + "\(batch)")
            }
            if startsBatch && sequence > chunk.firstSequence {
                chunk.batchCount += 1
                chunk.byteCount = position
                chunk.lastSequence = sequence - 1
                chunk.lastCRC = crc
            }
            batch = record.batchFirstSequence
            crc = record.crc
            sequence += 1
            position += length
        }
        if offset + Int64(position) == header.acknowledgedEnd {
            // The mark ends a batch: the last one read is whole.
            guard sequence - 1 == header.acknowledgedSequence else {
                throw damage(
                    at: offset + Int64(position), "the records end at sequence \(sequence - 1) where the header says "
                        + "\(header.acknowledgedSequence) were acknowledged")
            }
            chunk.batchCount += 1
            chunk.byteCount = position
            chunk.lastSequence = sequence - 1
            chunk.lastCRC = crc
        }
        guard chunk.byteCount > 0 else {
            let reachesMark = offset + Int64(bytes.count) == header.acknowledgedEnd
            throw damage(
                at: offset,
                reachesMark
                    ? "the record of sequence \(nextSequence) runs past the acknowledged end (offset \(header.acknowledgedEnd))"
                    : "a batch from sequence \(nextSequence) is larger than a read (\(bytes.count) bytes)")
        }
        precondition(chunk.batchCount >= 1 && chunk.lastSequence >= chunk.firstSequence, "whole batches were read")
        return chunk
    }

    private func damage(at offset: Int64, _ reason: String) -> LedgerError {
        .damagedLog(file: segmentPath, offset: offset, reason: "the follower read: " + reason)
    }

    private func segmentHeader() throws(LedgerError) -> WALSegment.Header {
        let bytes = try FileIO.readBytes(descriptor, count: WALSegment.headerBytesRead, offset: 0, path: segmentPath)
        guard let header = bytes.withUnsafeBytes({ WALSegment.read($0) }), header.firstSequence == segmentFirst else {
            throw .damagedLog(file: segmentPath, offset: 0, reason: "the follower found no valid segment header")
        }
        return header
    }

    /// Opens the segment holding `nextSequence` and walks to its record; false when that record is not yet
    /// acknowledged (a standby seeded from records the primary had written but not yet synced: it waits).
    private func position() throws(LedgerError) -> Bool {
        let segments = try WALReader.segments(in: directory)
        guard let holding = segments.last(where: { $0.firstSequence <= nextSequence }) else {
            let oldest = segments.first.map { "its oldest segment starts at sequence \($0.firstSequence)" } ?? "it has none"
            throw .damagedLog(
                file: directory, offset: 0,
                reason: "the primary's log no longer holds sequence \(nextSequence) (\(oldest)): deleted by a "
                    + "checkpoint before the follower read it; seed the standby again")
        }
        segmentFirst = holding.firstSequence
        descriptor = try FileIO.openSegmentLeased(segmentPath)
        offset = Int64(WALSegment.recordsStart)
        let header = try segmentHeader()
        guard nextSequence <= header.acknowledgedSequence + 1 else {
            FileIO.closeFile(descriptor)
            descriptor = -1
            return false
        }
        var sequence = holding.firstSequence
        while sequence < nextSequence {
            let bytes = try FileIO.readBytes(descriptor, count: WALRecord.headerBytes, offset: offset, path: segmentPath)
            guard let record = bytes.withUnsafeBytes({ WALRecord.readHeader($0.baseAddress!) }),
                record.sequence == sequence
            else { throw damage(at: offset, "no record of sequence \(sequence) below the mark") }
            offset += Int64(WALRecord.alignedLength(bodyLength: record.bodyLength))
            sequence += 1
        }
        precondition(sequence == nextSequence && offset >= Int64(WALSegment.recordsStart), "at the next record")
        return true
    }

    /// Moves to the segment a sealed one names; its absence is damage (the log continues in a deleted file).
    private func open(first: UInt64, after sealed: WALSegment.Header) throws(LedgerError) {
        precondition(first >= 1 && first == sealed.nextFirstSequence, "the segment a sealed one names")
        let previous = segmentPath
        FileIO.closeFile(descriptor)
        descriptor = -1
        segmentFirst = first
        do throws(LedgerError) {
            descriptor = try FileIO.openSegmentLeased(segmentPath)
        } catch {
            throw .damagedLog(
                file: previous, offset: sealed.acknowledgedEnd,
                reason: "the log continues in \(WALSegment.fileName(firstSequence: first)) (sequences from \(first)), "
                    + "which cannot be opened: \(error)")
        }
        offset = Int64(WALSegment.recordsStart)
    }
}
