#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Synchronization
import SystemCalls

/// Feeds the views kept from the log (history, sales, member search) from one read of each shard's log: a
/// read-only tail per shard (`LogTail`, never past the durable mark) that checks and decodes every record once and
/// hands it to each view whose mark it is past, and one thread that steps until stopped. Each view keeps its own
/// mark, log consumer and failures: one view failing, behind, or not yet loaded does not hold back the others
/// (they skip the records they already have). Three tails of their own read and decoded every record three times:
/// ~38 % of the switch's instructions per answer went to the views (benchmarks/RESULTS.md).
public final class LogViewReader: @unchecked Sendable {
    /// Records one read of a shard takes at most (for every view at once).
    public static let recordsPerReadMax = 4_096
    /// Each step that takes records costs the history and the sales store an fdatasync and a mark's rename each, on
    /// the disk the shards' group commits use: a step at most every 200 ms while the views keep up (a full read
    /// goes on at once), so a view is at most ~0.2 s behind. At 10 ms the authorization p50 and p99 doubled on the
    /// loaded test machine (docs/history.md).
    public static let pollIntervalMs = 200
    /// The reader's nice value: on busy cores the ISO loops and the shards come first, and the views, a fraction of
    /// a second behind, catch up in the gaps (at nice 0 a view's 4,096-record reads took the cores in bursts).
    static let threadNice: Int32 = 10
    /// How often the views make what they took durable (the history's and the sales store's syncs and marks): at
    /// every step they cost ~8 syncs and 2 renames per read, up to ~25 reads a second at 100k requests/s, each a
    /// journal commit the shards' group commits waited behind. A crash loses nothing: a view reads the log again
    /// from its durable mark (the log is held until then).
    public static let commitIntervalMs = 1_000
    /// How long a stopping reader goes on reading what the log holds before its last commit.
    static let stopCatchUpMs = 2_000

    /// One tail per shard (reader thread only).
    let tails: [LogTail]
    /// The views fed, in the order they were added (reader thread only once started).
    private var views: [any LogView] = []
    private let threadName: String
    private let commitIntervalNs: UInt64
    /// When the views last committed (monotonic ns; reader thread only). 0: never, so the first step commits.
    private var lastCommitNs: UInt64 = 0
    private let stopping = Atomic<Bool>(false)
    private let running = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// A reader of the `shardCount` shard logs under `root`, on a thread named `threadName` once started, whose
    /// views commit at most every `commitIntervalMs` (0: at every step).
    public init(
        root: String, shardCount: Int, threadName: String = "log-views", commitIntervalMs: Int = commitIntervalMs
    ) {
        precondition(shardCount >= 1 && commitIntervalMs >= 0, "a ledger has shards; an interval is not negative")
        tails = (0..<shardCount).map { LogTail(root: root, shard: $0) }
        self.threadName = threadName
        commitIntervalNs = UInt64(commitIntervalMs) * 1_000_000
    }

    /// Adds the history, the sales store or the member search; before `start` only.
    public func add(_ view: HistoryIndexer) { add(view as any LogView) }
    public func add(_ view: SalesIndexer) { add(view as any LogView) }
    public func add(_ view: MemberSearchIndexer) { add(view as any LogView) }

    func add(_ view: any LogView) {
        precondition(!running.load(ordering: .relaxed), "views are added before the reader starts")
        precondition(!views.contains { $0 === view }, "a view is fed once")
        views.append(view)
    }

    /// The views fed.
    public var viewCount: Int { views.count }

    /// Starts the thread that steps until `stop()`, resting `pollIntervalMs` after a step whose reads were not
    /// full; once only.
    public func start() {
        precondition(!running.exchange(true, ordering: .relaxed), "a log view reader starts once")
        let thread = Thread { [self] in
            // Foundation's `name` does not reach the kernel from here: without this the reader ran under the
            // name of the thread that started it (`top -H`, perf).
            setThreadName(threadName)
            setThreadNice(Self.threadNice)
            while !stopping.load(ordering: .relaxed) {
                if !step() { usleep(UInt32(Self.pollIntervalMs * 1000)) }
            }
            // A graceful stop comes after the loops stopped: the views read what the log holds (for at most
            // `stopCatchUpMs`), so the last snapshot can delete the segments they read; at nice 10 on a busy
            // machine they could otherwise stop a segment behind.
            let catchUpEnd = monotonicNanoseconds() + UInt64(Self.stopCatchUpMs) * 1_000_000
            while step() && monotonicNanoseconds() < catchUpEnd {}
            commit()
            finished.signal()
        }
        thread.name = threadName
        thread.start()
    }

    /// Stops the thread after its current step, a catch-up read of what the log holds (bounded) and its views'
    /// last commit, and waits for it (returns at once when it never started).
    public func stop() {
        guard running.load(ordering: .relaxed) else { return }
        stopping.store(true, ordering: .relaxed)
        finished.wait()
    }

    /// One read of every shard for the views ready to take records, then each view's periodic work; true when a
    /// read was full (the next step should come at once).
    @discardableResult
    public func step() -> Bool {
        let ready = views.filter { $0.beginStep() }
        guard !ready.isEmpty else { return false }
        var more = false
        for shard in tails.indices where read(shard: shard, for: ready) { more = true }
        for view in ready { view.endStep() }
        let now = monotonicNanoseconds()
        if lastCommitNs == 0 || now - lastCommitNs >= commitIntervalNs { commit(now: now) }
        return more
    }

    /// Every view makes what it took durable (reader thread, or the caller of `step` when never started).
    func commit(now: UInt64 = monotonicNanoseconds()) {
        for view in views { view.commit() }
        lastCommitNs = max(now, 1)
    }

    /// Reads `shard`'s log once from the lowest of the views' marks and gives each view the records past its own;
    /// true when the read was full.
    private func read(shard: Int, for views: [any LogView]) -> Bool {
        let marks = views.map { $0.mark(shard: shard) }
        let after = marks.min()!
        var taking = [Bool](repeating: true, count: views.count)
        var gap = LogTail.Gap(recordsSkipped: 0, recordsUnreadable: 0)
        var unreadable: [UInt64] = []
        let visited: LogTail.Visited
        do {
            visited = try tails[shard].visit(
                after: after, limit: Self.recordsPerReadMax, gap: &gap, unreadable: { unreadable.append($0) }
            ) { sequence, body in
                for index in views.indices where taking[index] && sequence > marks[index] {
                    do throws(LedgerError) {
                        try views[index].take(shard: shard, sequence: sequence, body: body)
                    } catch {
                        taking[index] = false
                        Self.abandon(views[index], shard: shard, "cannot index the log: \(error)")
                    }
                }
            }
        } catch {
            for index in views.indices where taking[index] {
                Self.abandon(views[index], shard: shard, "cannot read the log: \(error)")
            }
            return false
        }
        let through = visited.through(after: after, gap: gap)
        precondition(through >= after, "a read never goes back")
        // Deleted segments come first in a read: the records skipped are those up to `after + recordsSkipped`.
        let skippedThrough = after + gap.recordsSkipped
        for index in views.indices where taking[index] && through > marks[index] {
            let mark = marks[index]
            let skipped = skippedThrough > mark ? skippedThrough - mark : 0
            let unread = UInt64(unreadable.count { $0 > mark })
            do throws(LedgerError) {
                try views[index].endRead(shard: shard, through: through, skipped: skipped, unreadable: unread)
            } catch {
                Self.abandon(views[index], shard: shard, "cannot index the log: \(error)")
            }
        }
        return through - after >= UInt64(Self.recordsPerReadMax)
    }

    private static func abandon(_ view: any LogView, shard: Int, _ reason: String) {
        view.abandonRead(shard: shard)
        view.registration.failed("\(view.registration.name): shard \(shard): \(reason)")
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
            guard let descriptor = try? FileIO.openSegmentLeased(segment.path) else { continue }
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
}
