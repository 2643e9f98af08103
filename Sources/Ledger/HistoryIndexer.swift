import Foundation
import Synchronization

/// Tails every shard's log read-only (`LogTail`, never past the durable mark) and indexes what each record
/// changed into the history store, then releases the log (its `LogConsumer` "history"). Behind by more than the
/// hold's bound, a snapshot drops segments anyway: authorizations never wait for the history, and the records
/// given up are counted (`HistoryStore.Counters.recordsSkipped`, health and metrics).
public final class HistoryIndexer: @unchecked Sendable {
    public static let recordsPerReadMax = 4_096
    /// Each step that indexes costs an fdatasync and the mark's fsync and rename, on the disk the shards' group
    /// commits use: a step at most every 200 ms while the indexer keeps up (a full read goes on at once), so the
    /// history is at most ~0.2 s behind and costs the log at most five syncs of its own a second. At 10 ms the
    /// authorization p50 and p99 doubled on the loaded test machine (docs/history.md).
    public static let pollIntervalMs = 200

    public let store: HistoryStore
    /// The tails, the log consumer "history" and the thread.
    public let loop: LogConsumerLoop
    /// What the indexer holds of the shards' logs, and what snapshots released past its bound.
    public var consumer: LogConsumer { loop.consumer }
    private let nowMs: @Sendable () -> Int64
    private var lastRetentionMs: Int64 = 0

    /// An indexer of `ledger`'s logs under `root` into `store`; `holdRecordsMax` bounds what it holds back.
    public init(
        root: String, ledger: Ledger, store: HistoryStore, holdRecordsMax: UInt64,
        nowMs: @escaping @Sendable () -> Int64, log: @escaping @Sendable (String) -> Void
    ) {
        precondition(store.shardCount == ledger.shardCount, "one mark per shard")
        self.store = store
        loop = LogConsumerLoop(
            name: "history", threadName: "history-indexer", root: root, ledger: ledger,
            holdRecordsMax: holdRecordsMax, pollIntervalMs: Self.pollIntervalMs, log: log)
        self.nowMs = nowMs
        for shard in 0..<ledger.shardCount { consumer.advance(shard: shard, from: store.indexedSequences[shard] + 1) }
    }

    /// Read failures since start (a damaged or unreadable log or history file; retried every poll).
    public var readFailures: UInt64 { loop.readFailures }

    public func start() { loop.start { [self] in indexOnce() ? .now : .poll } }

    public func stop() { loop.stop() }

    /// One step over every shard, then the retention check (once a second); true when a shard had more records
    /// than one read takes (so the next step goes on at once).
    @discardableResult
    public func indexOnce() -> Bool {
        var moved = false
        for shard in loop.tails.indices {
            let after = store.indexedSequences[shard]
            do {
                let batch = try loop.tails[shard].changes(after: after, recordsMax: Self.recordsPerReadMax)
                guard batch.lastSequence > after else { continue }
                let skipped = batch.gap.recordsSkipped + batch.gap.recordsUnreadable
                try store.index(shard: shard, changes: batch.changes, through: batch.lastSequence, skipped: skipped)
                consumer.advance(shard: shard, from: batch.lastSequence + 1)
                if batch.lastSequence - after >= UInt64(Self.recordsPerReadMax) { moved = true }
                if skipped > 0 {
                    loop.note("history: \(skipped) records of shard \(shard)'s log were not indexed (deleted past history.logRecordsHeldMax, or unreadable): the history has a gap")
                }
            } catch {
                loop.failed("history: shard \(shard): cannot index the log: \(error)")
            }
        }
        let now = nowMs()
        if now - lastRetentionMs >= 1_000 {
            lastRetentionMs = now
            do { try store.dropExpired(nowMs: now) } catch { loop.failed("history: retention: \(error)") }
        }
        return moved
    }
}
