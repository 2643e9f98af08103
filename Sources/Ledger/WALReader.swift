#if canImport(Glibc)
    import Glibc
#endif

/// A torn tail found by recovery: the incomplete last batch, cut at `offset`.
public struct TornTail: Sendable, Equatable {
    public var file: String
    public var offset: Int64
    public var bytesDiscarded: Int64
}

/// Reads a shard's log segments in order, checks every record (checksum, sequence, chain, body) and hands
/// the ones after the snapshot to `apply`.
///
/// Damage is classified by where it is: in the last batch of the last segment it is a torn write (the batch
/// was never acknowledged) and is cut off; anywhere else it refuses, naming the file and offset.
struct WALReader {
    struct Segment {
        var firstSequence: UInt64
        var path: String
    }

    struct Outcome {
        var position: WALPosition
        var recordsReplayed: Int
        var recordsVerified: Int
        var tornTail: TornTail?
        /// The latest time of any record read, replayed or not (nil for an empty log): where the ledger's time
        /// stands, since a snapshot does not record it.
        var newestTimeMs: Int64?
    }

    /// Upper bound on a segment file we are willing to read into memory.
    static let segmentFileBytesMax = 1 << 30

    let directory: String
    /// True for `ledger verify`: report a torn tail, never modify files.
    let readOnly: Bool
    let segmentBytes: Int

    static func segments(in directory: String) throws(LedgerError) -> [Segment] {
        var found: [Segment] = []
        for name in try FileIO.listDirectory(directory) where name.hasPrefix("wal-") && name.hasSuffix(".log") {
            guard let first = UInt64(name.dropFirst(4).dropLast(4)) else { continue }
            found.append(Segment(firstSequence: first, path: directory + "/" + name))
        }
        return found.sorted { $0.firstSequence < $1.firstSequence }
    }

    /// Scans all segments. `afterSequence`/`snapshotCRC` describe the snapshot (0 and nil without one).
    func scan(
        afterSequence: UInt64, snapshotCRC: UInt32?, prefetch: (UnsafeRawPointer) -> Void = { _ in },
        apply: (WALRecord.Body, String, Int64) throws(LedgerError) -> Void
    ) throws(LedgerError) -> Outcome {
        let segments = try Self.segments(in: directory)
        var state = ScanState(
            expectedSequence: nil, lastCRC: nil, afterSequence: afterSequence, snapshotCRC: snapshotCRC)
        var tornTail: TornTail?
        var lastEnd: Int64 = 0
        for (index, segment) in segments.enumerated() {
            let isLast = index == segments.count - 1
            let mapped = try MappedFile(path: segment.path, bytesMax: Self.segmentFileBytesMax)
            let result = try withExtendedLifetime(mapped) { () throws(LedgerError) in
                try scanSegment(
                    segment, bytes: mapped.bytes, isLast: isLast, state: &state, prefetch: prefetch, apply: apply)
            }
            lastEnd = result.end
            tornTail = result.tornTail
        }
        if let tornTail, !readOnly { try truncate(tornTail) }
        let nextSequence = state.expectedSequence ?? (afterSequence + 1)
        guard nextSequence > afterSequence else {
            throw .damagedLog(
                file: segments.last?.path ?? directory, offset: lastEnd, reason: "log ends before the snapshot")
        }
        let position = WALPosition(
            segmentPath: segments.last?.path, segmentOffset: lastEnd, nextSequence: nextSequence,
            lastCRC: state.lastCRC ?? snapshotCRC ?? 0)
        return Outcome(
            position: position, recordsReplayed: state.replayed, recordsVerified: state.verified, tornTail: tornTail,
            newestTimeMs: state.newestTimeMs)
    }

    struct ScanState {
        var expectedSequence: UInt64?
        var lastCRC: UInt32?
        let afterSequence: UInt64
        let snapshotCRC: UInt32?
        var replayed = 0
        var verified = 0
        var newestTimeMs: Int64?
    }

    private func scanSegment(
        _ segment: Segment, bytes: UnsafeRawBufferPointer, isLast: Bool, state: inout ScanState,
        prefetch: (UnsafeRawPointer) -> Void, apply: (WALRecord.Body, String, Int64) throws(LedgerError) -> Void
    ) throws(LedgerError) -> (end: Int64, tornTail: TornTail?) {
        var offset = 0
        while let header = validRecord(bytes, at: offset) {
            let next = offset + WALRecord.alignedLength(bodyLength: header.bodyLength)
            if next + WALRecord.headerBytes + WALRecord.prefetchBytes <= bytes.count {
                prefetch(bytes.baseAddress! + next + WALRecord.headerBytes)
            }
            try checkContinuity(header, segment: segment, offset: offset, state: &state)
            let body = bytes.baseAddress! + offset + WALRecord.headerBytes
            let timeMs = Self.time(body, length: header.bodyLength)
            if header.sequence > state.afterSequence {
                guard let decoded = WALRecord.decodeBody(body, length: header.bodyLength) else {
                    throw .damagedLog(file: segment.path, offset: Int64(offset), reason: "malformed record body")
                }
                precondition(decoded.timeMs == timeMs, "WALRecord.timeOffset disagrees with the body layout")
                try apply(decoded, segment.path, Int64(offset))
                state.replayed += 1
            }
            if let timeMs { state.newestTimeMs = max(state.newestTimeMs ?? timeMs, timeMs) }
            state.verified += 1
            state.lastCRC = header.crc
            state.expectedSequence = header.sequence + 1
            offset = next
        }
        return try classifyStop(segment, bytes: bytes, stop: offset, isLast: isLast, state: state)
    }

    private func checkContinuity(
        _ header: WALRecord.Header, segment: Segment, offset: Int, state: inout ScanState
    ) throws(LedgerError) {
        let expected = state.expectedSequence ?? segment.firstSequence
        if offset == 0 && header.sequence != segment.firstSequence {
            throw .damagedLog(file: segment.path, offset: 0, reason: "first sequence does not match the file name")
        }
        guard header.sequence == expected else {
            throw .damagedLog(
                file: segment.path, offset: Int64(offset),
                reason: "sequence \(header.sequence) where \(expected) was expected (records missing)")
        }
        if state.expectedSequence == nil && header.sequence > state.afterSequence + 1 {
            throw .damagedLog(
                file: segment.path, offset: Int64(offset),
                reason: "log starts at \(header.sequence) but the snapshot ends at \(state.afterSequence)")
        }
        var expectedPrevious = state.lastCRC
        if header.sequence == state.afterSequence + 1, let snapshotCRC = state.snapshotCRC {
            expectedPrevious = snapshotCRC
        }
        if let expectedPrevious, header.previousCRC != expectedPrevious {
            throw .damagedLog(file: segment.path, offset: Int64(offset), reason: "checksum chain broken")
        }
    }

    /// The time a record was stamped with, read without decoding the rest (nil if the body is too short for it).
    static func time(_ body: UnsafeRawPointer, length: Int) -> Int64? {
        guard length >= WALRecord.timeOffset + 8 else { return nil }
        var reader = ByteReader(base: body + WALRecord.timeOffset, count: 8)
        return reader.get(Int64.self)
    }

    /// A header and body that fit in `bytes` and whose checksum matches; nil otherwise.
    func validRecord(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> WALRecord.Header? {
        guard offset + WALRecord.headerBytes <= bytes.count else { return nil }
        let base = bytes.baseAddress! + offset
        guard let header = WALRecord.readHeader(base) else { return nil }
        guard offset + WALRecord.headerBytes + header.bodyLength <= bytes.count else { return nil }
        guard WALRecord.checksum(base, bodyLength: header.bodyLength) == header.crc else { return nil }
        return header
    }
}

/// A whole file mapped read-only: recovery reads segments without copying them out of the page cache.
final class MappedFile {
    let bytes: UnsafeRawBufferPointer

    init(path: String, bytesMax: Int) throws(LedgerError) {
        let descriptor = try FileIO.openFile(path, flags: O_RDONLY)
        defer { FileIO.closeFile(descriptor) }
        let size = try FileIO.fileSize(descriptor, path: path)
        guard size <= Int64(bytesMax) else { throw .io(operation: "map (file too large)", path: path, errno: EFBIG) }
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, Int(size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, descriptor, 0)
        guard let address, address != MAP_FAILED else { throw .io(operation: "mmap", path: path, errno: errno) }
        _ = madvise(address, Int(size), MADV_SEQUENTIAL)
        bytes = UnsafeRawBufferPointer(start: address, count: Int(size))
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
