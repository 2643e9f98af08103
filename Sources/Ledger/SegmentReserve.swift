import Foundation
import Synchronization
import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// The next log segment, made ahead of need: its space allocated (posix_fallocate) and its descriptor open, so
/// that starting a segment at a batch boundary needs neither disk space nor a descriptor. A full disk or a full
/// descriptor table then shows up here, where the shard can decline new work before applying any of it, instead
/// of in the middle of a batch it already applied in memory.
///
/// After each use a new one is prepared on a background thread, zero-filled as well: writing into blocks that
/// already hold zeros makes each batch's fdatasync cheaper than writing into unwritten (fallocated) extents, and
/// takes file creation off the shard's thread. The file is `wal-spare.tmp`: recovery reads only
/// `wal-<sequence>.log`, and a spare becomes one only by a rename after it has its segment header.
///
/// With `recyclesLogSegments` (on by default), segments a checkpoint no longer needs are kept as
/// `wal-recycled-<slot>.tmp` instead of deleted (`Snapshot.dropCovered`, at most `recycledSlots` of them), and
/// the next spare is one of those files, as PostgreSQL recycles its WAL segments: its blocks are allocated and
/// written already, so neither the zeros nor a journal commit per fdatasync (writes into unwritten extents). Its
/// old records stay in it until overwritten; the writer's end mark after every batch tells where the new ones end
/// (`WALWriter.endMarkBytes`).
final class SegmentReserve: @unchecked Sendable {
    let path: String
    /// The shard's directory: the spare and the recycled segments live in it.
    let directory: String
    let segmentBytes: Int

    enum State {
        case empty
        case preparing
        case ready(descriptor: Int32)
        /// The last preparation failed (the file is gone again); retried when the shard asks.
        case failed(LedgerError, atNs: UInt64)
    }

    private let state = Mutex<State>(.empty)
    /// Why the last preparation failed; kept while retries run, cleared only by a success, so a health check
    /// does not flap between attempts.
    private let lastProblem = Mutex<LedgerError?>(nil)
    /// 1 while no preparing thread runs.
    private let idle = DispatchSemaphore(value: 1)
    /// False: the background preparation only allocates (tests that count writes, the benchmark's A/B).
    let zeroFills: Bool

    init(directory: String, segmentBytes: Int, zeroFills: Bool) {
        precondition(segmentBytes >= WALSegment.recordsStart, "a segment holds at least its header")
        path = directory + "/" + Self.fileName
        self.directory = directory
        self.segmentBytes = segmentBytes
        self.zeroFills = zeroFills
    }

    static let fileName = "wal-spare.tmp"
    /// Covered segments kept for reuse per shard: about what the log writes between two checkpoints at 100k
    /// requests/s (2M records of ~160 bytes, five 64 MiB segments), with room. The rest are deleted.
    static let recycledSlots = 8
    static func recycledPath(directory: String, slot: Int) -> String {
        precondition(slot >= 0 && slot < recycledSlots, "a recycling slot")
        return directory + "/wal-recycled-\(slot).tmp"
    }
    /// The recycled segments waiting, by path.
    static func recycledFiles(directory: String) -> [String] {
        (0..<recycledSlots).map { recycledPath(directory: directory, slot: $0) }.filter(FileIO.exists)
    }

    deinit {
        if case .ready(let descriptor) = state.withLock({ $0 }) { FileIO.closeFile(descriptor) }
    }

    /// Prepares the reserve on the calling thread, allocation only (at open: a start without room for it is
    /// refused). Throws what the allocation met.
    func prepareNow() throws(LedgerError) {
        waitUntilIdle()
        let descriptor = try Self.obtainFile(path: path, directory: directory, bytes: segmentBytes, zeroFill: false)
        state.withLock { current in
            if case .ready(let old) = current { FileIO.closeFile(old) }
            current = .ready(descriptor: descriptor)
        }
        lastProblem.withLock { $0 = nil }
        precondition(isReady, "a reserve prepared now is ready")
    }

    /// Starts preparing a reserve on a background thread unless one is being prepared or waiting.
    func prepareInBackground() {
        let start = state.withLock { current -> Bool in
            switch current {
            case .preparing, .ready: return false
            case .empty, .failed:
                current = .preparing
                return true
            }
        }
        guard start else { return }
        idle.wait()
        let path = path
        let directory = directory
        let bytes = segmentBytes
        let zeroFill = zeroFills
        let thread = Thread { [self] in
            setThreadName("segment-reserve")
            // Made well before it is needed (a segment lasts seconds at any rate); at a shortage the shard makes
            // one itself.
            setThreadNice(10)
            let outcome: State
            do throws(LedgerError) {
                outcome = .ready(
                    descriptor: try Self.obtainFile(path: path, directory: directory, bytes: bytes, zeroFill: zeroFill))
            } catch {
                outcome = .failed(error, atNs: Self.monotonicNs())
            }
            state.withLock { $0 = outcome }
            lastProblem.withLock { problem in
                if case .failed(let error, _) = outcome { problem = error } else { problem = nil }
            }
            idle.signal()
        }
        thread.name = "segment-reserve"
        thread.start()
    }

    /// The prepared file's descriptor (the reserve is then empty), or nil when none is ready.
    func take() -> Int32? {
        let taken = state.withLock { current -> Int32? in
            guard case .ready(let descriptor) = current else { return nil }
            current = .empty
            return descriptor
        }
        precondition(taken.map { $0 >= 0 } ?? true, "a ready reserve is an open file")
        return taken
    }

    /// Why the last preparation failed, and when; nil unless it failed.
    var failure: (error: LedgerError, atNs: UInt64)? {
        state.withLock { current in
            guard case .failed(let error, let atNs) = current else { return nil }
            return (error, atNs)
        }
    }

    var isReady: Bool { state.withLock { if case .ready = $0 { true } else { false } } }

    /// Why the reserve could not be made, until one is made again (nil: it is ready or being made).
    var problem: LedgerError? { lastProblem.withLock { $0 } }

    /// Waits for a running preparation to end: called when the shard stops, and before a synchronous one.
    func waitUntilIdle() {
        idle.wait()
        idle.signal()
    }

    /// A file of `bytes` whose blocks are allocated (and, with `zeroFill`, written with zeros), synced, its
    /// descriptor open for reading and writing. On any error the file is removed again and the error thrown,
    /// so a failed attempt leaves nothing behind (no `File exists` on the retry, no space held).
    static func makeFile(path: String, bytes: Int, zeroFill: Bool) throws(LedgerError) -> Int32 {
        precondition(bytes >= WALSegment.recordsStart, "a segment file holds at least its header")
        let descriptor = try FileIO.openFile(path, flags: O_RDWR | O_CREAT | O_TRUNC)
        do throws(LedgerError) {
            try FileIO.allocate(descriptor, bytes: Int64(bytes), path: path)
            if zeroFill { try writeZeros(descriptor, bytes: bytes, path: path) }
            try FileIO.syncAll(descriptor, path: path)
        } catch {
            FileIO.closeFile(descriptor)
            try? FileIO.remove(path)
            throw error
        }
        precondition(descriptor >= 0, "a made file is open")
        return descriptor
    }

    /// A recycled segment as `path` when one waits, else a new file (`makeFile`).
    static func obtainFile(path: String, directory: String, bytes: Int, zeroFill: Bool) throws(LedgerError) -> Int32 {
        precondition(bytes >= WALSegment.recordsStart && path.hasPrefix(directory + "/"), "a segment-sized spare here")
        for recycled in recycledFiles(directory: directory) {
            if let descriptor = try takeRecycled(recycled, as: path, bytes: bytes) { return descriptor }
        }
        return try makeFile(path: path, bytes: bytes, zeroFill: zeroFill)
    }

    /// The recycled segment renamed to `path` and open, its pages asked into the page cache (a batch that ends
    /// inside a page not in the cache would wait for that page to be read first; most are still cached, the
    /// segment was written minutes ago); nil when there is none or it is not a segment's size (then removed).
    static func takeRecycled(_ recycled: String, as path: String, bytes: Int) throws(LedgerError) -> Int32? {
        guard FileIO.exists(recycled) else { return nil }
        try FileIO.rename(recycled, path)
        let descriptor = try FileIO.openFile(path, flags: O_RDWR)
        do throws(LedgerError) {
            guard try FileIO.fileSize(descriptor, path: path) == Int64(bytes) else {
                FileIO.closeFile(descriptor)
                try FileIO.remove(path)
                return nil
            }
        } catch {
            FileIO.closeFile(descriptor)
            try? FileIO.remove(path)
            throw error
        }
        // Advice only: without it the first write to each page reads it, which is slower but correct.
        _ = posix_fadvise(descriptor, 0, off_t(bytes), POSIX_FADV_WILLNEED)
        precondition(descriptor >= 0, "a recycled file is open")
        return descriptor
    }

    /// Pause between 1 MiB pieces of zeros: one big write-back at the end would hold the disk for ~100 ms and
    /// stall the shard's own fdatasync behind it (measured: p99.9 commit latency 35 ms instead of 3 ms).
    static let pausePerPieceMicroseconds: UInt32 = 500
    static let pieceBytes = 1 << 20

    /// Writes `bytes` zeros in 1 MiB pieces, pausing briefly between them: around the page cache and read back
    /// into it where it can (`DirectWrites.prepare`), so the shard's batches write into cached pages; through the
    /// cache (each piece synced) on tmpfs or at a size that is not whole pages.
    private static func writeZeros(_ descriptor: Int32, bytes: Int, path: String) throws(LedgerError) {
        if try DirectWrites.prepare(
            descriptor, path: path, range: 0..<Int64(bytes), pauseMicroseconds: pausePerPieceMicroseconds)
        {
            try FileIO.syncData(descriptor, path: path)
            return
        }
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: pieceBytes, alignment: 16)
        defer { piece.deallocate() }
        piece.initializeMemory(as: UInt8.self, repeating: 0)
        var offset = 0
        while offset < bytes {
            let count = min(pieceBytes, bytes - offset)
            try FileIO.writeAll(
                descriptor, UnsafeRawBufferPointer(rebasing: piece[0..<count]), offset: Int64(offset), path: path)
            try FileIO.syncData(descriptor, path: path)
            offset += count
            usleep(pausePerPieceMicroseconds)
        }
        precondition(offset == bytes, "every byte is zeroed")
    }

    static func monotonicNs() -> UInt64 { monotonicNanoseconds() }
}
