#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Synchronization
import SystemCalls

/// What the history, sales and member-search indexers share: a read-only tail of every shard's log (`LogTail`,
/// never past the durable mark), a registered log consumer (so snapshots keep what the indexer still needs, up to
/// its bound), one thread that calls the indexer's step until stopped, and a count of failed reads (retried every
/// poll). The indexer hands in its step; what a step does with the records is the indexer's concern alone.
public final class LogConsumerLoop: @unchecked Sendable {
    /// What the step asks of the loop next.
    public enum Next: Sendable, Equatable {
        /// A read was full: step again at once.
        case now
        /// Caught up: wait `pollIntervalMs`.
        case poll
        /// Wait this many milliseconds (a view that could not be read yet).
        case after(milliseconds: Int)
    }

    /// One tail per shard, for the step (indexer thread only).
    public let tails: [LogTail]
    /// What the indexer holds of the shards' logs, and what snapshots released past its bound.
    public let consumer: LogConsumer
    public let pollIntervalMs: Int
    private let threadName: String
    private let log: @Sendable (String) -> Void
    private let stopping = Atomic<Bool>(false)
    private let running = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let failures = Atomic<UInt64>(0)

    /// Registers the log consumer `name` on `ledger` holding at most `holdRecordsMax` records per shard.
    public init(
        name: String, threadName: String, root: String, ledger: Ledger, holdRecordsMax: UInt64, pollIntervalMs: Int,
        log: @escaping @Sendable (String) -> Void
    ) {
        precondition(pollIntervalMs >= 1 && holdRecordsMax >= 1, "a log consumer polls and holds something")
        tails = (0..<ledger.shardCount).map { LogTail(root: root, shard: $0) }
        consumer = ledger.registerLogConsumer(name: name, recordsMax: holdRecordsMax)
        self.pollIntervalMs = pollIntervalMs
        self.threadName = threadName
        self.log = log
    }

    /// Failed reads since start (each logged and retried at the next step).
    public var readFailures: UInt64 { failures.load(ordering: .relaxed) }

    /// Counts a failure and logs why.
    public func failed(_ message: String) {
        failures.add(1, ordering: .relaxed)
        log(message)
    }

    /// Logs a line that is not a failure (a gap in the log, a view read again).
    public func note(_ message: String) { log(message) }

    /// Starts the thread that calls `step` until `stop()`; once only.
    public func start(_ step: @escaping @Sendable () -> Next) {
        precondition(!running.exchange(true, ordering: .relaxed), "a log consumer loop starts once")
        let thread = Thread { [self] in
            // Foundation's `name` does not reach the kernel from here: without this the indexers ran under the
            // name of the thread that started them ("audit-journal" in `top -H` and perf).
            setThreadName(threadName)
            while !stopping.load(ordering: .relaxed) {
                switch step() {
                case .now: continue
                case .poll: usleep(UInt32(pollIntervalMs * 1000))
                case .after(let milliseconds): usleep(UInt32(max(1, milliseconds) * 1000))
                }
            }
            finished.signal()
        }
        thread.name = threadName
        thread.start()
    }

    /// Durable records of every shard of `root`'s log past `through(shard)`, the last sequence a reader finished:
    /// a reader's lag, for a metrics scrape or the health answer.
    public static func recordsBehind(root: String, shardCount: Int, through: (Int) -> UInt64) -> UInt64 {
        var behind: UInt64 = 0
        for shard in 0..<shardCount {
            let durable = durableSequence(root: root, shard: shard)
            let finished = through(shard)
            if durable > finished { behind += durable - finished }
        }
        return behind
    }

    /// The last durable sequence of `shard`'s log: the highest acknowledged mark among its newest two segments
    /// (the newest may be made ahead, with nothing acknowledged yet). For a consumer's lag; 0 when unreadable.
    /// Costs a directory listing and up to two header reads: for a metrics scrape, not for every step.
    public static func durableSequence(root: String, shard: Int) -> UInt64 {
        let directory = DataDirectory.shardDirectory(root, shard: shard)
        guard let segments = try? WALReader.segments(in: directory) else { return 0 }
        var newest: UInt64 = 0
        for segment in segments.suffix(2) {
            guard let descriptor = try? FileIO.openFile(segment.path, flags: O_RDONLY) else { continue }
            defer { FileIO.closeFile(descriptor) }
            guard
                let bytes = try? FileIO.readBytes(
                    descriptor, count: WALSegment.headerBytesRead, offset: 0, path: segment.path),
                let header = bytes.withUnsafeBytes({ WALSegment.read($0) })
            else { continue }
            newest = max(newest, header.acknowledgedSequence)
        }
        return newest
    }

    /// Stops the thread after its current step and waits for it (returns at once when it never started).
    public func stop() {
        guard running.load(ordering: .relaxed) else { return }
        stopping.store(true, ordering: .relaxed)
        finished.wait()
    }
}
