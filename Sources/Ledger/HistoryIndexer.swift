import Foundation
import Synchronization

/// Keeps the movements history from the log: what each durable record changed becomes movements in the history
/// store, then the log is released (its `LogConsumer` "history"). A view fed by the switch's `LogViewReader`.
/// Behind by more than the hold's bound, a snapshot drops segments anyway: authorizations never wait for the
/// history, and the records given up are counted (`HistoryStore.Counters.recordsSkipped`, health and metrics).
public final class HistoryIndexer: LogView, @unchecked Sendable {
    public let store: HistoryStore
    let registration: LogViewRegistration
    /// What the indexer holds of the shards' logs, and what snapshots released past its bound.
    public var consumer: LogConsumer { registration.consumer }
    private let nowMs: @Sendable () -> Int64
    private var lastRetentionMs: Int64 = 0
    /// The changes of the read in progress (reader thread only); its room is kept from read to read.
    private var changes: [RecordChange] = []

    /// An indexer of `ledger`'s logs into `store`; `holdRecordsMax` bounds what it holds back.
    public init(
        ledger: Ledger, store: HistoryStore, holdRecordsMax: UInt64, nowMs: @escaping @Sendable () -> Int64,
        log: @escaping @Sendable (String) -> Void
    ) {
        precondition(store.shardCount == ledger.shardCount, "one mark per shard")
        self.store = store
        registration = LogViewRegistration(name: "history", ledger: ledger, holdRecordsMax: holdRecordsMax, log: log)
        self.nowMs = nowMs
        for shard in 0..<ledger.shardCount { consumer.advance(shard: shard, from: store.indexedSequences[shard] + 1) }
    }

    /// Read failures since start (a damaged or unreadable log or history file; retried every step).
    public var readFailures: UInt64 { registration.readFailures }

    func beginStep() -> Bool { true }

    func mark(shard: Int) -> UInt64 { store.indexedSequences[shard] }

    func take(shard: Int, sequence: UInt64, body: borrowing WALRecord.Body) {
        precondition(changes.last.map { $0.sequence < sequence } ?? true, "records come in sequence order")
        if let change = WALRecord.change(of: body, sequence: sequence) { changes.append(change) }
    }

    func endRead(shard: Int, through: UInt64, skipped: UInt64, unreadable: UInt64) throws(LedgerError) {
        precondition(through > store.indexedSequences[shard], "a read ends past the mark")
        let gap = skipped + unreadable
        try store.add(shard: shard, changes: changes, through: through, skipped: gap)
        changes.removeAll(keepingCapacity: true)
        if gap > 0 {
            registration.note("history: \(gap) records of shard \(shard)'s log were not indexed (deleted past history.logRecordsHeldMax, or unreadable): the history has a gap")
        }
    }

    func abandonRead(shard: Int) { changes.removeAll(keepingCapacity: true) }

    /// Makes the movements added durable and releases the log they came from.
    func commit() { registration.commit("movements") { () throws(LedgerError) in try store.commit() } }

    /// The retention check, once a second.
    func endStep() {
        let now = nowMs()
        guard now - lastRetentionMs >= 1_000 else { return }
        lastRetentionMs = now
        do { try store.dropExpired(nowMs: now) } catch { registration.failed("history: retention: \(error)") }
    }
}
