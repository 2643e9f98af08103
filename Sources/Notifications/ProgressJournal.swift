import Foundation
import Glibc
import Synchronization
import SystemCalls

/// A webhook's durable progress: `DATA/notifications/NAME.progress`, an append-only file of `ProgressRecord`s.
/// The webhook's loop hands records over (one lock per record, no I/O); the writer thread writes every journal's
/// records together, one write and one fdatasync per journal per group commit, so a loop never waits for a disk.
/// After a crash the file replays to what was committed: events acknowledged after the last commit are sent again
/// (at least once, same id), nothing acknowledged before it is.
final class ProgressJournal: @unchecked Sendable {
    /// The file is rewritten from its replayed state once it grows past this.
    static let compactionBytes = 1 << 20

    let path: String
    /// Set by the loop: the watermark as it stands, written with each group commit.
    let watermark = Atomic<UInt64>(0)
    let pending = Mutex<[ProgressRecord]>([])
    /// Group commits that failed to write or sync (the records stay pending and are tried again).
    let writeFailures = Atomic<UInt64>(0)
    /// The watermark as last made durable: what a source may release (the log behind it is no longer needed).
    let durableWatermark = Atomic<UInt64>(0)

    // Writer-thread state.
    private var descriptor: Int32
    private var fileBytes: Int
    private var committedWatermark: UInt64
    private(set) var state: ProgressState

    /// Opens (creating) the file and replays it. Throws with the path when it cannot be read or opened.
    init(path: String) throws(NotificationStartError) {
        self.path = path
        let bytes = FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
        var state = ProgressState()
        var offset = 0
        while let record = ProgressRecord.decode(bytes, at: &offset) { state.apply(record) }
        // A torn tail is cut, so new records follow the last whole one.
        if offset < bytes.count { truncate(path, off_t(offset)) }
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw NotificationStartError(message: "\(path): cannot open: \(String(cString: strerror(errno)))")
        }
        fileBytes = offset
        committedWatermark = state.watermark
        self.state = state
        watermark.store(state.watermark, ordering: .relaxed)
        durableWatermark.store(state.watermark, ordering: .relaxed)
    }

    deinit { close(descriptor) }

    /// Any thread (the webhook's loop, an admin request): queues a record for the next group commit.
    func append(_ record: ProgressRecord) {
        pending.withLock { $0.append(record) }
    }

    /// Writer thread: writes what is pending and the watermark, then syncs. False when the write or sync failed.
    func commit(durable: Bool) -> Bool {
        let records = pending.withLock { queued -> [ProgressRecord] in
            defer { queued.removeAll(keepingCapacity: true) }
            return queued
        }
        let current = watermark.load(ordering: .relaxed)
        guard !records.isEmpty || current != committedWatermark else { return true }
        var bytes: [UInt8] = []
        for record in records { record.encode(into: &bytes) }
        if current != committedWatermark { ProgressRecord.watermark(current).encode(into: &bytes) }
        guard Self.writeAll(descriptor, bytes), !durable || fdatasync(descriptor) == 0 else {
            writeFailures.add(1, ordering: .relaxed)
            pending.withLock { $0.insert(contentsOf: records, at: 0) }
            return false
        }
        fileBytes += bytes.count
        for record in records { state.apply(record) }
        state.apply(.watermark(current))
        committedWatermark = current
        durableWatermark.store(current, ordering: .releasing)
        if fileBytes > Self.compactionBytes { compact(durable: durable) }
        return true
    }

    /// Writer thread: rewrites the file as its replayed state (temporary file, sync, rename, directory sync).
    func compact(durable: Bool) {
        var bytes: [UInt8] = []
        for record in state.records { record.encode(into: &bytes) }
        let temporary = path + ".tmp"
        let output = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { return }
        guard Self.writeAll(output, bytes), !durable || fdatasync(output) == 0, rename(temporary, path) == 0 else {
            close(output)
            unlink(temporary)
            return
        }
        close(descriptor)
        descriptor = output
        lseek(descriptor, 0, SEEK_END)
        fileBytes = bytes.count
        if durable { Self.syncDirectory(of: path) }
    }

    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
        var written = 0
        while written < bytes.count {
            let result = retryingInterrupts {
                bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            }
            guard result > 0 else { return false }
            written += result
        }
        return true
    }

    static func syncDirectory(of path: String) {
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { return }
        fsync(directory)
        close(directory)
    }
}

/// The thread that group-commits every webhook's progress: every `intervalMs` it writes and syncs what the loops
/// handed over. One thread for all webhooks, never a loop thread.
final class ProgressWriter: @unchecked Sendable {
    let journals: [ProgressJournal]
    let intervalMs: Int
    let durable: Bool
    let log: (String) -> Void
    private let stopRequested = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)

    init(journals: [ProgressJournal], intervalMs: Int, durable: Bool, log: @escaping (String) -> Void) {
        precondition(intervalMs >= 1, "a group commit interval is positive")
        self.journals = journals
        self.intervalMs = intervalMs
        self.durable = durable
        self.log = log
    }

    func start() {
        let thread = Thread { [self] in
            setThreadName("notify-progress")
            while !stopRequested.load(ordering: .acquiring) {
                usleep(UInt32(intervalMs) * 1000)
                commitAll()
            }
            commitAll()
            finished.store(true, ordering: .releasing)
        }
        thread.name = "notify-progress"
        thread.start()
    }

    func commitAll() {
        for journal in journals where !journal.commit(durable: durable) {
            log("notifications: cannot write \(journal.path): \(String(cString: strerror(errno))); will try again")
        }
    }

    /// Commits what is pending and stops the thread (waits at most 5 s).
    func stop() {
        stopRequested.store(true, ordering: .releasing)
        let deadline = monotonicNanoseconds() + 5_000_000_000
        while !finished.load(ordering: .acquiring) && monotonicNanoseconds() < deadline { usleep(1000) }
    }
}

/// Notifications could not start: the message names the file or the webhook.
public struct NotificationStartError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
