import CCRC32C
import Synchronization
import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// A snapshot (format 7) of a shard's state at one log sequence, written by a checkpoint thread while the shard
/// keeps applying commands.
///
/// Why copy-on-write of the tables' chunks (`CheckpointRegion`), and not the alternatives:
/// - copying the whole state on the shard thread (formats up to 6) stalls it for the copy: tens of milliseconds
///   at 1M members, and more with every member;
/// - `fork()` (Redis) lets the kernel copy pages on write, but fork itself copies the page tables on the calling
///   thread (about 10 ms per GB of memory, again growing with the state) and is unsafe in a threaded process;
/// - a fuzzy checkpoint replayed from its start sequence needs records that can be applied twice, and ours are
///   not (an earn applied to a member copied after it would count twice); TigerBeetle avoids it with immutable
///   LSM blocks, which our in-place tables are not.
/// Starting a checkpoint costs the shard a few small allocations and the header (no loop over the state); each
/// later write saves its 512-byte chunk at most once per checkpoint (tens of nanoseconds), and the chunks it saves
/// are bounded by the copy budget: beyond it the checkpoint is abandoned, never waited for.
final class Checkpoint: @unchecked Sendable {
    /// Where a part's bytes come from: a table's region (tracked) or its memory as it is (nobody writes it).
    struct Source {
        let base: UnsafeRawPointer
        let region: CheckpointRegion?
        /// Keeps the table's memory alive while the checkpoint thread reads it.
        let owner: AnyObject

        func copy(offset: Int, count: Int, to destination: UnsafeMutableRawPointer) -> Bool {
            precondition(offset >= 0 && count >= 0, "a checkpoint copies a range at a non-negative offset")
            guard count > 0 else { return true }
            if let region { return region.copy(offset: offset, count: count, to: destination) }
            destination.copyMemory(from: base + offset, byteCount: count)
            return true
        }
    }

    enum Part {
        case bytes([UInt8])
        case table(Source, offset: Int, count: Int)
        /// The key store's filling buffer, one `Snapshot.keyRecordBytes` record per slot.
        case keyRecords(entries: Source, positions: Source, amendments: Source, count: Int)
    }

    let sequence: UInt64
    /// When the shard started it (monotonic nanoseconds) and its state's time (the batch's wall clock), for the
    /// reports that read it (CheckpointRequests).
    var startedNs: UInt64 = 0
    var timeMs: Int64 = 0
    private(set) var parts: [Part] = []
    /// The file's length, checksum included.
    private(set) var fileBytes = 0
    let budget: CheckpointCopyBudget?
    private var regions: [CheckpointRegion] = []
    /// The bytes the shard could ever save for this checkpoint: every region's, once.
    var savableBytes: Int { regions.reduce(0) { $0 + $1.chunkCount * CheckpointRegion.chunkBytes } }
    private var detachers: [() -> Void] = []
    private let finished = Atomic<Bool>(false)

    /// Shard thread (or a thread that owns the state): takes the header and counts now; with a budget, every
    /// table in the file is copied on write from here on, until `end`.
    init(_ state: ShardState, sequence: UInt64, lastCRC: UInt32, budget: CheckpointCopyBudget?) {
        self.sequence = sequence
        self.budget = budget
        let ring = state.idempotency
        precondition(ring.count <= ring.capacity, "the idempotency ring's count fits its capacity")
        precondition(state.holds.activeCount <= state.holds.records.count, "active holds are among the records")
        let header = Snapshot.Header(
            shardIndex: UInt32(state.shardIndex), shardCount: UInt32(state.shardCount), sequence: sequence,
            lastCRC: lastCRC, memberCount: state.members.count, cardCount: state.cards.count,
            holdCount: state.holds.records.count, freeHoldHead: state.holds.freeHead,
            activeHoldCount: state.holds.activeCount,
            idempotencyNextPosition: ring.nextPosition, idempotencyCount: ring.count, outboxCount: state.outbox.count,
            ringCapacity: ring.capacity)
        var headerBytes = [UInt8](repeating: 0, count: Snapshot.headerBytes)
        headerBytes.withUnsafeMutableBytes { Snapshot.encodeHeader(header, into: $0.baseAddress!) }
        append(.bytes(headerBytes))
        appendTable(state.members.records, elements: state.members.count)
        appendTable(state.cards.cards, elements: state.cards.count)
        appendTable(state.holds.records, elements: state.holds.records.count)
        appendRing(ring.entries, pieces: Self.storagePieces(start: ring.ringIndex(ring.oldestPosition), count: ring.count, capacity: ring.capacity))
        appendTable(state.outbox, elements: state.outbox.count)
        append(.bytes(Snapshot.sectionHeader(count: state.gifts.accounts.count)))
        appendTable(state.gifts.accounts, elements: state.gifts.accounts.count)
        append(.bytes(Snapshot.encodeLotSectionHeader(state.lots)))
        appendTable(state.lots.heads, elements: state.lots.heads.count)
        appendTable(state.lots.records, elements: state.lots.records.count)
        append(.bytes(Snapshot.sectionHeader(count: state.settlements.records.count)))
        appendTable(state.settlements.records, elements: state.settlements.records.count)
        let spent = state.spentLots
        append(.bytes(Snapshot.sectionHeader(count: spent.count, start: spent.start, capacity: spent.capacity)))
        appendRing(spent.storage, pieces: Self.storagePieces(start: spent.start, count: spent.count, capacity: spent.capacity))
        append(.bytes(Snapshot.sectionHeader(count: state.engagements.records.count)))
        appendTable(state.engagements.records, elements: state.engagements.records.count)
        append(.bytes(Snapshot.noticeSection()))
        appendKeySection(state.idempotency.store)
        fileBytes += 4
        precondition(fileBytes >= Snapshot.headerBytes + Snapshot.keyTrailerBytes + 4, "a checkpoint's minimum size")
        assert(
            fileBytes == 4 + parts.reduce(0) { total, part in
                switch part {
                case .bytes(let bytes): total + bytes.count
                case .table(_, _, let count): total + count
                case .keyRecords(_, _, _, let count): total + count * Snapshot.keyRecordBytes
                }
            }, "a checkpoint's length is the sum of its parts")
    }

    /// The live part of a ring in storage order: one range, or two when it wraps (the newest first in the file).
    static func storagePieces(start: Int, count: Int, capacity: Int) -> [Range<Int>] {
        precondition(count >= 0 && count <= capacity && start >= 0 && start < max(capacity, 1), "ring bounds")
        guard count > 0 else { return [] }
        if start + count <= capacity { return [start..<(start + count)] }
        let pieces = [0..<(start + count - capacity), start..<capacity]
        precondition(pieces[0].count + pieces[1].count == count, "a ring's two pieces hold its count")
        return pieces
    }

    private func append(_ part: Part) {
        precondition(!isFinished, "parts are added before the checkpoint thread starts")
        switch part {
        case .bytes(let bytes): fileBytes += bytes.count
        case .table(_, _, let count): fileBytes += count
        case .keyRecords(_, _, _, let count): fileBytes += count * Snapshot.keyRecordBytes
        }
        parts.append(part)
    }

    private func source<Element>(_ storage: FixedStorage<Element>, elements: Int) -> Source {
        precondition(elements >= 0 && elements <= storage.capacity, "a table's elements fit its storage")
        guard let budget else { return Source(base: UnsafeRawPointer(storage.base), region: nil, owner: storage) }
        let region = storage.beginCheckpoint(elements: elements, budget: budget)
        regions.append(region)
        detachers.append { storage.endCheckpoint() }
        return Source(base: UnsafeRawPointer(storage.base), region: region, owner: storage)
    }

    private func appendTable<Element>(_ storage: FixedStorage<Element>, elements: Int) {
        precondition(elements >= 0 && elements <= storage.capacity, "a table's elements fit its storage")
        let stride = MemoryLayout<Element>.stride
        append(.table(source(storage, elements: elements), offset: 0, count: elements * stride))
    }

    private func appendRing<Element>(_ storage: FixedStorage<Element>, pieces: [Range<Int>]) {
        let stride = MemoryLayout<Element>.stride
        let covered = pieces.last?.upperBound ?? 0
        precondition(covered <= storage.capacity && pieces.count <= 2, "a ring's pieces lie in its storage")
        let source = source(storage, elements: covered)
        for piece in pieces {
            append(.table(source, offset: piece.lowerBound * stride, count: piece.count * stride))
        }
    }

    private func appendKeySection(_ store: KeyStore?) {
        if let buffer = store?.filling, buffer.count > 0 {
            append(
                .keyRecords(
                    entries: source(buffer.entries, elements: buffer.count),
                    positions: source(buffer.positions, elements: buffer.count),
                    amendments: source(buffer.isAmendment, elements: buffer.count), count: buffer.count))
        }
        append(
            .bytes(
                Snapshot.keyTrailer(
                    runsFirstSequence: store?.runsFirstSequence ?? 1, runsThrough: store?.runsThrough ?? 0,
                    count: store?.filling.count ?? 0)))
    }

    // MARK: Both threads

    /// True once the checkpoint thread no longer reads the state (written, failed or abandoned).
    var isFinished: Bool { finished.load(ordering: .acquiring) }

    /// Shard thread, after `isFinished`: writes stop copying chunks; the budget is empty again.
    func end() {
        precondition(isFinished || budget == nil, "a checkpoint ends after its thread is done with the state")
        for detach in detachers { detach() }
        detachers = []
        budget?.reset()
        precondition(budget == nil || budget!.used == 0, "an ended checkpoint holds no budget")
    }

    // MARK: Checkpoint thread

    /// The checkpoint will not be written (its thread lets go of the state without reading it).
    func abandon() { finish() }

    /// Checksums and writes the file durably (temp file, fsync, rename, fsync directory). Returns its path, or nil
    /// when the copy budget ran out (the temp file is removed; the previous snapshot and the log stay valid).
    /// `pace`: a bytes-per-second cap on the writes (nil: the disk's speed).
    func write(directory: String, pace: CopyPace? = nil) throws(LedgerError) -> String? {
        precondition(!directory.isEmpty, "a checkpoint is written into a directory")
        precondition(!isFinished, "a checkpoint is written once")
        defer { finish() }
        let name = Snapshot.fileName(sequence: sequence)
        let temporary = directory + "/" + name + ".tmp"
        let descriptor = try FileIO.openFile(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        let stream = CheckpointStream(descriptor: descriptor, path: temporary, pace: pace)
        let complete: Bool
        do {
            complete = try writeParts(into: stream)
            if complete {
                try stream.finish()
                precondition(stream.offset == fileBytes, "checkpoint length")
                try FileIO.syncAll(descriptor, path: temporary)
            }
        } catch {
            FileIO.closeFile(descriptor)
            try? FileIO.remove(temporary)
            throw error
        }
        FileIO.closeFile(descriptor)
        guard complete else {
            try FileIO.remove(temporary)
            return nil
        }
        try FileIO.rename(temporary, directory + "/" + name)
        try FileIO.syncDirectory(directory)
        return directory + "/" + name
    }

    /// The parts in order; false when a chunk was lost.
    private func writeParts(into stream: CheckpointStream) throws(LedgerError) -> Bool {
        for part in parts {
            switch part {
            case .bytes(let bytes):
                try stream.append(bytes)
            case .table(let source, let offset, let count):
                var done = 0
                while done < count {
                    let length = min(count - done, CheckpointStream.reservationMax)
                    let destination = try stream.reserve(length)
                    guard source.copy(offset: offset + done, count: length, to: destination) else { return false }
                    done += length
                }
            case .keyRecords(let entries, let positions, let amendments, let count):
                guard try writeKeyRecords(entries, positions, amendments, count: count, into: stream) else {
                    return false
                }
            }
        }
        return true
    }

    private func writeKeyRecords(
        _ entries: Source, _ positions: Source, _ amendments: Source, count: Int, into stream: CheckpointStream
    ) throws(LedgerError) -> Bool {
        let stride = MemoryLayout<IdempotencyEntry>.stride
        precondition(count >= 1 && 16 + stride <= Snapshot.keyRecordBytes, "a key record holds its entry")
        for slot in 0..<count {
            let record = try stream.reserve(Snapshot.keyRecordBytes)
            record.initializeMemory(as: UInt8.self, repeating: 0, count: Snapshot.keyRecordBytes)
            var amendment: UInt8 = 0
            guard positions.copy(offset: slot * 8, count: 8, to: record),
                withUnsafeMutableBytes(of: &amendment, { amendments.copy(offset: slot, count: 1, to: $0.baseAddress!) }),
                entries.copy(offset: slot * stride, count: stride, to: record + 16)
            else { return false }
            record.storeBytes(of: UInt64(amendment != 0 ? 1 : 0).littleEndian, toByteOffset: 8, as: UInt64.self)
        }
        return true
    }

    /// Nothing reads the state any more: untouched chunks are claimed, so the shard stops saving them.
    private func finish() {
        for region in regions { region.claimRest() }
        finished.store(true, ordering: .releasing)
    }
}

/// Buffered sequential writing of a checkpoint file with a running CRC32C: each full buffer around the page cache
/// (`DirectWrites`: nothing reads a snapshot but a recovery or a backup), the rest written behind (hundreds of
/// megabytes at 1M members: left dirty until the fsync they would hold up the log's fdatasync).
final class CheckpointStream {
    static let bufferBytes = 1 << 20
    /// The most one reservation takes: what fits after a flush, which may leave less than a page behind.
    static let reservationMax = bufferBytes - DirectWrites.alignment
    let descriptor: Int32
    let path: String
    private let buffer = UnsafeMutableRawBufferPointer.allocate(
        byteCount: bufferBytes, alignment: DirectWrites.alignment)
    private var used = 0
    private(set) var offset = 0
    private var crc: UInt32 = 0
    private var writeBehind: WriteBehind
    private var direct: DirectWrites
    private let pace: CopyPace?

    init(descriptor: Int32, path: String, pace: CopyPace? = nil) {
        precondition(descriptor >= 0, "a checkpoint stream writes an open file")
        self.descriptor = descriptor
        self.path = path
        self.pace = pace
        writeBehind = WriteBehind(descriptor: descriptor)
        direct = DirectWrites(path: path)
    }

    /// Room for `count` bytes at the end of the buffer (flushing first when it has none), to be filled now.
    func reserve(_ count: Int) throws(LedgerError) -> UnsafeMutableRawPointer {
        precondition(count >= 0 && count <= Self.reservationMax, "a reservation fits the buffer after a flush")
        if used + count > Self.bufferBytes { try flush(final: false) }
        precondition(used + count <= Self.bufferBytes, "a reservation fits after a flush")
        defer { used += count }
        return buffer.baseAddress! + used
    }

    func append(_ bytes: [UInt8]) throws(LedgerError) {
        precondition(bytes.count <= Self.reservationMax, "a part of bytes fits the buffer")
        guard !bytes.isEmpty else { return }
        let destination = try reserve(bytes.count)
        bytes.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// Writes what is buffered (whole pages only unless `final`; the rest moves to the buffer's start).
    private func flush(final: Bool) throws(LedgerError) {
        precondition(used >= 0 && used <= Self.bufferBytes, "the buffer's use is inside it")
        let count = direct.writable(used, final: final)
        guard count > 0 else { return }
        crc = ccrc32c_update(crc, buffer.baseAddress, count)
        pace?.take(count)
        try direct.write(
            UnsafeRawBufferPointer(rebasing: buffer[0..<count]), offset: Int64(offset), through: descriptor,
            writeBehind: &writeBehind)
        offset += count
        used -= count
        if used > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + count, byteCount: used) }
        precondition(offset > 0 && used < DirectWrites.alignment && (used == 0 || !final), "a flush writes")
    }

    /// Writes what is buffered and the checksum of everything before it.
    func finish() throws(LedgerError) {
        try flush(final: true)
        try reserve(4).storeBytes(of: crc.littleEndian, as: UInt32.self)
        try flush(final: true)
        precondition(used == 0 && offset >= 4, "a finished stream holds nothing unwritten")
    }

    deinit {
        direct.close()
        buffer.deallocate()
    }
}
