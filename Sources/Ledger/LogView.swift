import Synchronization

/// A view of the ledger kept from its log (the movements history, the sales store, the member search): it takes
/// each durable record after its own mark, shard by shard, from a `LogViewReader` that reads and decodes every
/// record once for all the views it feeds. One reader thread calls every method but the counters.
protocol LogView: AnyObject {
    /// The view's log consumer, failure count and log lines.
    var registration: LogViewRegistration { get }
    /// Called before a step's reads; false: the view takes nothing in this step (its start-up could not be read
    /// yet) and the reader does not read for it.
    func beginStep() -> Bool
    /// The last sequence of `shard`'s log the view has: it is given only the records after it.
    func mark(shard: Int) -> UInt64
    /// One durable record of `shard` after the mark, in sequence order.
    func take(shard: Int, sequence: UInt64, body: borrowing WALRecord.Body) throws(LedgerError)
    /// The read of `shard` ended: every record through `through` (past the mark) was offered, except `skipped`
    /// records never seen (their segment was deleted) or that did not decode (`unreadable`). The view keeps what
    /// it took (durable at the next `commit`) and moves its mark to `through`.
    func endRead(shard: Int, through: UInt64, skipped: UInt64, unreadable: UInt64) throws(LedgerError)
    /// A read of `shard` failed (the log, or this view's `take`): forget what was taken since it began.
    func abandonRead(shard: Int)
    /// After every shard's read: the view's periodic work (retention).
    func endStep()
    /// Makes what the view kept durable and releases the log records before it (its consumer); failures are the
    /// view's to count and log. The reader calls it every `commitIntervalMs` and when it stops.
    func commit()
}

/// What a log view holds of the ledger besides its own store: its log consumer (snapshots keep what the view still
/// needs, up to its bound), its failed reads, and where its log lines go.
final class LogViewRegistration: Sendable {
    /// The view's name in log lines and in the ledger's consumers ("history", "sales", "search").
    let name: String
    /// What the view holds of the shards' logs, and what snapshots released past its bound.
    let consumer: LogConsumer
    private let log: @Sendable (String) -> Void
    private let failures = Atomic<UInt64>(0)

    /// Registers the log consumer `name` on `ledger`, holding at most `holdRecordsMax` records per shard.
    init(name: String, ledger: Ledger, holdRecordsMax: UInt64, log: @escaping @Sendable (String) -> Void) {
        precondition(!name.isEmpty && holdRecordsMax >= 1, "a log view has a name and holds something")
        self.name = name
        consumer = ledger.registerLogConsumer(name: name, recordsMax: holdRecordsMax)
        self.log = log
    }

    /// Failed reads since start (each logged and retried at the next step).
    var readFailures: UInt64 { failures.load(ordering: .relaxed) }

    /// Counts a failure and logs why.
    func failed(_ message: String) {
        failures.add(1, ordering: .relaxed)
        log(message)
    }

    /// Runs a view store's commit and releases the log through each shard's sequence it made durable; a failure
    /// is counted and logged naming `what` was not made durable.
    func commit(_ what: String, _ commit: () throws(LedgerError) -> [UInt64]) {
        do throws(LedgerError) {
            let durable = try commit()
            for shard in durable.indices { consumer.advance(shard: shard, from: durable[shard] + 1) }
        } catch {
            failed("\(name): cannot make the \(what) durable: \(error)")
        }
    }

    /// Logs a line that is not a failure (a gap in the log, a view read again).
    func note(_ message: String) { log(message) }
}
