#if canImport(Glibc)
    import Glibc
#endif

/// A torn tail found by recovery: the incomplete last batch, cut at `offset`.
public struct TornTail: Sendable, Equatable {
    public var file: String
    public var offset: Int64
    public var bytesDiscarded: Int64
}

/// Reads a shard's log segments in order, checks every segment (header, size, sequences across files) and every
/// record (checksum, sequence, chain, body), and hands the records after the snapshot to `apply`.
///
/// Damage is classified by where it is: in the last batch of the last segment, past what the segment's header
/// says was acknowledged, it is a torn write (the batch was never acknowledged) and is cut off; anything else —
/// a bad record before it, a gap in sequences, a segment cut short, a missing segment, a log that ends before its
/// headers or the snapshot say it did — refuses, naming the file, the offset and the sequences. With
/// `acceptsDamage` (the operator's override) the log is kept up to the damage instead (WALReader+Damage.swift).
/// Segments written before segment headers are read as WALReader+Legacy.swift says.
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
        /// With `acceptsDamage`: the damage the log was cut at, and what was set aside (nil: the log is sound).
        var acceptedDamage: AcceptedLogDamage?
    }

    /// Upper bound on a segment file we are willing to read into memory.
    static let segmentFileBytesMax = 1 << 30

    let directory: String
    /// True for `ledger verify`: report a torn tail, never modify files.
    let readOnly: Bool
    /// The operator's `--accept-log-damage`: keep the sound part of a damaged log, set the rest aside.
    var acceptsDamage = false
    /// `ledger.meta` says `segmentHeaders=1`: every shard has a segment, and its newest one has a header. False
    /// for a directory not yet opened by a build with segment headers: a shard without any segment is then an
    /// empty one rather than a deleted log, and a headerless last segment ends as the old rule says.
    var directoryHasSegmentHeaders = true
    /// Read-only, of a directory a writer serves (`ledger verify`, a report's view while the switch runs): the
    /// last segment listed is read only up to its header's acknowledged mark, read before its records. Bytes past
    /// the mark may be a batch the writer is writing at this moment (a read of them saw a record half written and
    /// an intact one after it, and called it damage); what is acknowledged is final and fully checked.
    var live = false
    /// A live scan's segments opened before its snapshot was chosen (`SegmentPins`).
    var pins: SegmentPins?

    init(
        directory: String, readOnly: Bool, acceptsDamage: Bool = false, directoryHasSegmentHeaders: Bool = true
    ) {
        precondition(!(readOnly && acceptsDamage), "a read-only scan never repairs")
        self.directory = directory
        self.readOnly = readOnly
        self.acceptsDamage = acceptsDamage
        self.directoryHasSegmentHeaders = directoryHasSegmentHeaders
    }

    static func segments(in directory: String) throws(LedgerError) -> [Segment] {
        var found: [Segment] = []
        for name in try FileIO.listDirectory(directory) where name.hasPrefix("wal-") && name.hasSuffix(".log") {
            guard let first = UInt64(name.dropFirst(4).dropLast(4)) else { continue }
            found.append(Segment(firstSequence: first, path: directory + "/" + name))
        }
        let sorted = found.sorted { $0.firstSequence < $1.firstSequence }
        assert(zip(sorted, sorted.dropFirst()).allSatisfy { $0.firstSequence <= $1.firstSequence }, "segments in order")
        return sorted
    }

    /// The segments to read: those listed now, and with `pins` the pinned ones too (a pinned segment a checkpoint
    /// deleted since is still read through its descriptor), in sequence order, each once.
    private func listedSegments() throws(LedgerError) -> [Segment] {
        let listed = try Self.segments(in: directory)
        guard let pins else { return listed }
        var byName: [UInt64: Segment] = [:]
        for segment in pins.segments + listed { byName[segment.firstSequence] = segment }
        let merged = byName.values.sorted { $0.firstSequence < $1.firstSequence }
        precondition(merged.count >= listed.count, "every listed segment is read")
        return merged
    }

    /// Scans all segments. `afterSequence`/`snapshotCRC` describe the snapshot (0 and nil without one).
    func scan(
        afterSequence: UInt64, snapshotCRC: UInt32?, prefetch: (UnsafeRawPointer) -> Void = { _ in },
        apply: (WALRecord.Body, String, Int64) throws(LedgerError) -> Void
    ) throws(LedgerError) -> Outcome {
        let segments = try listedSegments()
        var state = ScanState(afterSequence: afterSequence, snapshotCRC: snapshotCRC)
        do throws(LedgerError) {
            for index in segments.indices {
                try scanSegment(index, of: segments, state: &state, prefetch: prefetch, apply: apply)
            }
            try checkEnd(segments, state: state)
        } catch {
            guard acceptsDamage, case .damagedLog = error else { throw error }
            return try keepSoundPart(cutAt: error, segments: segments, state: state)
        }
        if let tornTail = state.tornTail, !readOnly { try repair(tornTail) }
        let result = outcome(state)
        precondition(
            result.position.nextSequence >= 1 && result.position.nextSequence > afterSequence,
            "the log continues after the snapshot")
        return result
    }

    struct ScanState {
        var expectedSequence: UInt64?
        var lastCRC: UInt32?
        let afterSequence: UInt64
        let snapshotCRC: UInt32?
        var replayed = 0
        var verified = 0
        var newestTimeMs: Int64?
        var tornTail: TornTail?
        /// Where the sound log ends so far: after the last good record, or at the start of the last good segment.
        var sound: SoundPoint?
        /// A segment with a header was read: a headerless one after it is damaged, not one from an older build.
        var hasReadHeadedSegment = false

        init(afterSequence: UInt64, snapshotCRC: UInt32?) {
            self.afterSequence = afterSequence
            self.snapshotCRC = snapshotCRC
        }

        /// The last sequence of the sound log (the snapshot's when no segment was read).
        var lastSequence: UInt64 { (expectedSequence ?? afterSequence + 1) - 1 }
    }

    struct SoundPoint {
        var segmentIndex: Int
        var path: String
        var header: WALSegment.Header
        var end: Int64
        /// Written before segment headers: never appended to (the writer starts a headed segment after it).
        var isLegacy: Bool
    }

    func outcome(_ state: ScanState) -> Outcome {
        precondition(state.replayed >= 0 && state.replayed <= state.verified, "records replayed were verified")
        let appendable = state.sound.flatMap { $0.isLegacy ? nil : $0 }
        let position = WALPosition(
            segmentPath: appendable?.path, segmentHeader: appendable?.header,
            segmentOffset: appendable?.end ?? Int64(WALSegment.recordsStart), nextSequence: state.lastSequence + 1,
            lastCRC: state.lastCRC ?? state.snapshotCRC ?? 0)
        precondition(
            position.segmentOffset >= Int64(WALSegment.recordsStart) && (position.segmentPath == nil)
                == (position.segmentHeader == nil), "the log continues after a segment's header, or in a new one")
        return Outcome(
            position: position, recordsReplayed: state.replayed, recordsVerified: state.verified,
            tornTail: state.tornTail, newestTimeMs: state.newestTimeMs, acceptedDamage: nil)
    }

    private func scanSegment(
        _ index: Int, of segments: [Segment], state: inout ScanState, prefetch: (UnsafeRawPointer) -> Void,
        apply: (WALRecord.Body, String, Int64) throws(LedgerError) -> Void
    ) throws(LedgerError) {
        precondition(index >= 0 && index < segments.count, "a segment of the log")
        let segment = segments[index]
        let mapped: MappedFile
        if let pinned = pins?.descriptor(of: segment.path) {
            mapped = try MappedFile(pinned: pinned, path: segment.path, bytesMax: Self.segmentFileBytesMax)
        } else {
            mapped = try MappedFile(path: segment.path, bytesMax: Self.segmentFileBytesMax, leased: true)
        }
        try withExtendedLifetime(mapped) { () throws(LedgerError) in
            let (header, isLegacy) = try checkHeader(segment, bytes: mapped.bytes, state: &state)
            let recordsStart = isLegacy ? 0 : WALSegment.recordsStart
            state.sound = SoundPoint(
                segmentIndex: index, path: segment.path, header: header, end: Int64(recordsStart), isLegacy: isLegacy)
            let isLast = index == segments.count - 1
            let through = live && isLast ? header.acknowledgedSequence : UInt64.max
            let stop = try scanRecords(
                segment, from: recordsStart, through: through, bytes: mapped.bytes, state: &state,
                prefetch: prefetch, apply: apply)
            try checkSegmentEnd(
                segment, header: header, isLegacy: isLegacy, bytes: mapped.bytes, stop: stop, isLast: isLast,
                state: &state)
        }
    }

    /// The segment's header must be readable and agree with its name and with where the log stands; a segment
    /// written before segment headers gets one made up for it (`isLegacy`).
    private func checkHeader(
        _ segment: Segment, bytes: UnsafeRawBufferPointer, state: inout ScanState
    ) throws(LedgerError) -> (header: WALSegment.Header, isLegacy: Bool) {
        let header: WALSegment.Header
        let isLegacy: Bool
        if bytes.count >= WALSegment.recordsStart, let read = WALSegment.read(bytes) {
            header = read
            isLegacy = false
        } else if let legacy = legacyHeader(segment, bytes: bytes, state: state) {
            header = legacy
            isLegacy = true
        } else if bytes.count < WALSegment.recordsStart {
            throw .damagedLog(
                file: segment.path, offset: Int64(bytes.count),
                reason: "the file is \(bytes.count) bytes, shorter than a segment's header: cut short (sequences from "
                    + "\(segment.firstSequence) are missing)")
        } else {
            throw .damagedLog(
                file: segment.path, offset: 0,
                reason: "no valid segment header (damaged: a segment without a header can only be one written before "
                    + "segment headers, and those come before every segment with a header)")
        }
        try checkJoin(header, segment: segment, state: &state)
        state.hasReadHeadedSegment = state.hasReadHeadedSegment || !isLegacy
        return (header, isLegacy)
    }

    /// The segment starts where its name says, right after the log before it, and no later than the snapshot.
    private func checkJoin(
        _ header: WALSegment.Header, segment: Segment, state: inout ScanState
    ) throws(LedgerError) {
        guard header.firstSequence == segment.firstSequence else {
            throw .damagedLog(
                file: segment.path, offset: 0,
                reason: "the header says the segment starts at sequence \(header.firstSequence), its name says "
                    + "\(segment.firstSequence)")
        }
        if let expected = state.expectedSequence {
            guard header.firstSequence == expected else {
                let previous = state.sound.map { " (\($0.path) ends at sequence \(expected - 1), offset \($0.end))" }
                throw .damagedLog(
                    file: segment.path, offset: 0,
                    reason: "sequences \(expected)…\(header.firstSequence - 1) are missing: the log before this "
                        + "segment ends at sequence \(expected - 1)\(previous ?? ""), this one starts at "
                        + "\(header.firstSequence)")
            }
        } else {
            guard header.firstSequence <= state.afterSequence + 1 else {
                throw .damagedLog(
                    file: segment.path, offset: 0,
                    reason: "the log starts at sequence \(header.firstSequence) but the snapshot ends at "
                        + "\(state.afterSequence): sequences \(state.afterSequence + 1)…\(header.firstSequence - 1) "
                        + "are missing")
            }
            state.expectedSequence = header.firstSequence
        }
        precondition(state.expectedSequence == header.firstSequence, "the segment continues the log")
    }

    /// Reads records from `start` while they are valid and their sequences at most `through`; returns the offset
    /// where they stop. A valid record of a sequence before the segment's first is no record of this segment:
    /// an older segment's, left in a recycled file where a batch was torn (`SegmentReserve`); the records stop
    /// there, and what the stop means is judged as for any stop (`classifyStop`).
    private func scanRecords(
        _ segment: Segment, from start: Int, through: UInt64, bytes: UnsafeRawBufferPointer, state: inout ScanState,
        prefetch: (UnsafeRawPointer) -> Void, apply: (WALRecord.Body, String, Int64) throws(LedgerError) -> Void
    ) throws(LedgerError) -> Int {
        var offset = start
        // One body for the whole segment, decoded into in place (about 1 KB: not built and copied per record).
        var decoded = WALRecord.Body(
            command: ShardCommand(kind: .none, key: .zero), timeMs: 0, status: .approved, balanceAfter: .zero)
        while let header = validRecord(bytes, at: offset), header.sequence <= through,
            header.sequence >= segment.firstSequence
        {
            let next = offset + WALRecord.alignedLength(bodyLength: header.bodyLength)
            precondition(next > offset && (next - offset) % 8 == 0, "records advance by whole 8-byte units")
            if next + WALRecord.headerBytes + WALRecord.prefetchBytes <= bytes.count {
                prefetch(bytes.baseAddress! + next + WALRecord.headerBytes)
            }
            try checkContinuity(header, segment: segment, offset: offset, state: state)
            let body = bytes.baseAddress! + offset + WALRecord.headerBytes
            let timeMs = Self.time(body, length: header.bodyLength)
            if header.sequence > state.afterSequence {
                guard WALRecord.decodeBody(body, length: header.bodyLength, into: &decoded) else {
                    throw .damagedLog(
                        file: segment.path, offset: Int64(offset),
                        reason: "malformed body of the record of sequence \(header.sequence)")
                }
                precondition(decoded.timeMs == timeMs, "WALRecord.timeOffset disagrees with the body layout")
                precondition(decoded.command.kind != .none, "a decoded record names a command")
                try apply(decoded, segment.path, Int64(offset))
                state.replayed += 1
            }
            if let timeMs { state.newestTimeMs = max(state.newestTimeMs ?? timeMs, timeMs) }
            state.verified += 1
            state.lastCRC = header.crc
            state.expectedSequence = header.sequence + 1
            precondition(state.expectedSequence! > header.sequence, "sequences strictly increase")
            state.sound?.end = Int64(next)
            offset = next
        }
        precondition(offset >= start, "records are read forward")
        return offset
    }

    private func checkContinuity(
        _ header: WALRecord.Header, segment: Segment, offset: Int, state: ScanState
    ) throws(LedgerError) {
        let expected = state.expectedSequence ?? segment.firstSequence
        guard header.sequence == expected else {
            throw .damagedLog(
                file: segment.path, offset: Int64(offset),
                reason: "sequence \(header.sequence) where \(expected) was expected (records missing)")
        }
        precondition(header.sequence >= 1 && header.batchFirstSequence <= header.sequence, "a checked record header")
        var expectedPrevious = state.lastCRC
        if header.sequence == state.afterSequence + 1, let snapshotCRC = state.snapshotCRC {
            expectedPrevious = snapshotCRC
        }
        if let expectedPrevious, header.previousCRC != expectedPrevious {
            throw .damagedLog(
                file: segment.path, offset: Int64(offset),
                reason: "checksum chain broken at sequence \(header.sequence)")
        }
    }

    /// The time a record was stamped with, read without decoding the rest (nil if the body is too short for it).
    static func time(_ body: UnsafeRawPointer, length: Int) -> Int64? {
        precondition(length >= 0, "a body length")
        guard length >= WALRecord.timeOffset + 8 else { return nil }
        var reader = ByteReader(base: body + WALRecord.timeOffset, count: 8)
        let time = reader.get(Int64.self)
        precondition(time != nil, "eight bytes hold a time")
        return time
    }

    /// A header and body that fit in `bytes` and whose checksum matches; nil otherwise.
    func validRecord(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> WALRecord.Header? {
        guard offset + WALRecord.headerBytes <= bytes.count else { return nil }
        let base = bytes.baseAddress! + offset
        guard let header = WALRecord.readHeader(base) else { return nil }
        guard offset + WALRecord.headerBytes + header.bodyLength <= bytes.count else { return nil }
        guard WALRecord.checksum(base, bodyLength: header.bodyLength) == header.crc else { return nil }
        precondition(
            header.bodyLength > 0 && offset + WALRecord.headerBytes + header.bodyLength <= bytes.count,
            "a valid record lies inside its file")
        return header
    }
}

/// A whole file mapped read-only: recovery reads segments without copying them out of the page cache. A
/// segment is mapped under a lease held as long as the mapping (`leased`): a checkpoint of a served directory
/// would otherwise recycle it under a live verify's feet, and the mapping would show the new records.
final class MappedFile {
    let bytes: UnsafeRawBufferPointer
    /// The leased descriptor, closed with the mapping (-1: none kept).
    private let lease: Int32

    init(path: String, bytesMax: Int, leased: Bool = false) throws(LedgerError) {
        precondition(bytesMax > 0, "a mapping has a positive limit")
        let descriptor = leased ? try FileIO.openSegmentLeased(path) : try FileIO.openFile(path, flags: O_RDONLY)
        var keeps = false
        defer { if !keeps { FileIO.closeFile(descriptor) } }
        bytes = try Self.map(descriptor, path: path, bytesMax: bytesMax)
        keeps = leased
        lease = leased ? descriptor : -1
    }

    /// Maps a segment pinned open by its owner (`SegmentPins`, which keeps the descriptor and its lease).
    init(pinned descriptor: Int32, path: String, bytesMax: Int) throws(LedgerError) {
        precondition(descriptor >= 0 && bytesMax > 0, "an open file and a positive limit")
        bytes = try Self.map(descriptor, path: path, bytesMax: bytesMax)
        lease = -1
    }

    private static func map(_ descriptor: Int32, path: String, bytesMax: Int) throws(LedgerError) -> UnsafeRawBufferPointer {
        let bytes: UnsafeRawBufferPointer
        let size = try FileIO.fileSize(descriptor, path: path)
        guard size <= Int64(bytesMax) else { throw .io(operation: "map (file too large)", path: path, errno: EFBIG) }
        if size > 0 {
            let address = mmap(nil, Int(size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, descriptor, 0)
            guard let address, address != MAP_FAILED else { throw .io(operation: "mmap", path: path, errno: errno) }
            _ = madvise(address, Int(size), MADV_SEQUENTIAL)
            bytes = UnsafeRawBufferPointer(start: address, count: Int(size))
        } else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
        }
        precondition(bytes.count == Int(size) && bytes.count <= bytesMax, "the mapping covers the file")
        return bytes
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
        if lease >= 0 { FileIO.closeFile(lease) }
    }
}

/// The segments of a served log, opened under a lease before a read-only recovery (a live `ledger verify`) chooses
/// its snapshot. A checkpoint that becomes durable while the reader loads the snapshot it chose deletes the segments
/// right after that snapshot; listed only afterwards, they were missing, and under load every retry of the verify
/// lost the same race ("the log starts at sequence 30241 but the snapshot ends at 28827", CI, 2026-12-05). Opened
/// first, they stay readable: the first segment present then starts at most one past the snapshot durable then,
/// and the snapshot chosen later is that one or newer.
final class SegmentPins {
    let segments: [WALReader.Segment]
    private let descriptors: [String: Int32]

    /// Opens every segment listed in `directory`; one that went between listing and opening is left out (the
    /// snapshot chosen after this covers it).
    init(directory: String) throws(LedgerError) {
        var kept: [WALReader.Segment] = []
        var descriptors: [String: Int32] = [:]
        for segment in try WALReader.segments(in: directory) {
            do throws(LedgerError) {
                descriptors[segment.path] = try FileIO.openSegmentLeased(segment.path)
                kept.append(segment)
            } catch {
                guard case .io(_, _, let code) = error, code == ENOENT else {
                    for descriptor in descriptors.values { FileIO.closeFile(descriptor) }
                    throw error
                }
            }
        }
        segments = kept
        self.descriptors = descriptors
        precondition(segments.count == descriptors.count, "each pinned segment has its descriptor")
    }

    deinit { for descriptor in descriptors.values { FileIO.closeFile(descriptor) } }

    func descriptor(of path: String) -> Int32? { descriptors[path] }
}
