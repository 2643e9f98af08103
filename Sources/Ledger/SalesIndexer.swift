import Foundation
import Synchronization

/// Keeps the sales store from the log: each approved record that carries a sale is appended to it, then the log is
/// released (its `LogConsumer` "sales"). A view fed by the switch's `LogViewReader`, modelled on the history's:
/// behind by more than the hold's bound, snapshots drop segments anyway (authorizations never wait for the sales
/// store) and the records given up are counted.
public final class SalesIndexer: LogView, @unchecked Sendable {
    public let store: SalesStore
    let registration: LogViewRegistration
    public var consumer: LogConsumer { registration.consumer }
    private let nowMs: @Sendable () -> Int64
    private let recordsRead = Atomic<UInt64>(0)
    private var lastRetentionMs: Int64 = 0
    /// The sales of the read in progress (reader thread only).
    private var batch = SalesBatch()

    public init(
        ledger: Ledger, store: SalesStore, holdRecordsMax: UInt64, nowMs: @escaping @Sendable () -> Int64,
        log: @escaping @Sendable (String) -> Void
    ) {
        precondition(store.shardCount == ledger.shardCount, "one mark per shard")
        self.store = store
        registration = LogViewRegistration(name: "sales", ledger: ledger, holdRecordsMax: holdRecordsMax, log: log)
        self.nowMs = nowMs
        for shard in 0..<ledger.shardCount { consumer.advance(shard: shard, from: store.indexedSequences[shard] + 1) }
    }

    /// Read failures since start (retried every step) and log records read.
    public var readFailures: UInt64 { registration.readFailures }
    public var recordsIndexed: UInt64 { recordsRead.load(ordering: .relaxed) }

    func beginStep() -> Bool { true }

    func mark(shard: Int) -> UInt64 { store.indexedSequences[shard] }

    func take(shard: Int, sequence: UInt64, body: borrowing WALRecord.Body) throws(LedgerError) {
        batch.records += 1
        try batch.take(shard: shard, sequence: sequence, body: body, store: store)
    }

    func endRead(shard: Int, through: UInt64, skipped: UInt64, unreadable: UInt64) throws(LedgerError) {
        precondition(through > store.indexedSequences[shard], "a read ends past the mark")
        let gap = skipped + unreadable
        try store.add(
            shard: shard, batch.sales, lines: batch.lines, through: through, skipped: gap, names: batch.names)
        recordsRead.add(batch.records, ordering: .relaxed)
        batch.removeAll()
        if gap > 0 {
            registration.note("sales: \(gap) records of shard \(shard)'s log were not indexed (deleted past sales.logRecordsHeldMax, or unreadable): the sales store has a gap")
        }
    }

    func abandonRead(shard: Int) { batch.removeAll() }

    /// Makes the sales added durable and releases the log they came from.
    func commit() { registration.commit("sales") { () throws(LedgerError) in try store.commit() } }

    /// The retention check, once a minute.
    func endStep() {
        let now = nowMs()
        guard now - lastRetentionMs >= 60_000 else { return }
        lastRetentionMs = now
        do { try store.dropExpired(nowMs: now) } catch { registration.failed("sales: retention: \(error)") }
    }

    /// What one read of a shard's log did.
    struct Step {
        /// The last sequence now indexed, records read, records never seen, and whether the read was full.
        var last: UInt64
        var records: UInt64
        var skipped: UInt64
        var isFull: Bool
    }

    /// Reads up to `LogViewReader.recordsPerReadMax` records of `shard`'s log after what `store` has and appends
    /// their sales, with a tail of its own (the CLI before a report, a standby's checkpoint).
    static func index(shard: Int, tail: LogTail, into store: SalesStore) throws(LedgerError) -> Step {
        let after = store.indexedSequences[shard]
        let limit = LogViewReader.recordsPerReadMax
        var gap = LogTail.Gap(recordsSkipped: 0, recordsUnreadable: 0)
        var batch = SalesBatch()
        let visited = try tail.visit(after: after, limit: limit, gap: &gap) { (sequence, body) throws(LedgerError) in
            try batch.take(shard: shard, sequence: sequence, body: body, store: store)
        }
        let last = visited.through(after: after, gap: gap)
        let skipped = gap.recordsSkipped + gap.recordsUnreadable
        guard last > after else { return Step(last: after, records: 0, skipped: 0, isFull: false) }
        try store.append(
            shard: shard, batch.sales, lines: batch.lines, through: last, skipped: skipped, names: batch.names)
        return Step(
            last: last, records: UInt64(visited.records), skipped: skipped, isFull: last - after >= UInt64(limit))
    }

    /// Brings the store of a directory no switch serves up to the end of every shard's durable log (the CLI, before
    /// a report): reads until a read is not full. Bounded: at most the log's records, one read's worth at a time.
    /// Returns the records read.
    public static func catchUp(root: String, store: SalesStore) throws(LedgerError) -> UInt64 {
        var records: UInt64 = 0
        for shard in 0..<store.shardCount {
            let tail = LogTail(root: root, shard: shard)
            while true {
                let step = try index(shard: shard, tail: tail, into: store)
                records += step.records
                if !step.isFull { break }
            }
        }
        return records
    }
}

/// The sales of one read of a shard's log, before they are appended to the store. A reversal, and a refund of the
/// whole amount, take the original's basket lines, so the items report nets them out (a partial refund does not
/// say which goods came back: it changes no item figure).
struct SalesBatch: ~Copyable {
    /// The sales, and each one's basket lines beside them (a sale read from the batch then retains no basket).
    var sales: [SaleEntry] = []
    var lines: [[SaleLine]] = []
    /// Each sale's other names (its retrieval and terminal references), for the store's map of originals.
    var names: [SaleNames] = []
    /// Purchases and payments of this read by their names (their place in `sales`), for a reversal in the same
    /// read (the store learns them when appended).
    var fresh = KeyMap<IdempotencyKey, Int>(countMax: 3 * LogViewReader.recordsPerReadMax)
    /// Records taken (with or without a sale).
    var records: UInt64 = 0

    mutating func removeAll() {
        sales.removeAll(keepingCapacity: true)
        lines.removeAll(keepingCapacity: true)
        names.removeAll(keepingCapacity: true)
        if fresh.count > 0 { fresh.clear() }
        records = 0
    }

    /// The original a refund or reversal names: from this read, else from the store.
    func original(_ key: IdempotencyKey, store: SalesStore) -> (SaleEntry.Kind, Int64)? {
        fresh[key].map { (sales[$0].kind, sales[$0].amountMinor) } ?? store.original(key)
    }

    mutating func take(
        shard: Int, sequence: UInt64, body: borrowing WALRecord.Body, store: SalesStore
    ) throws(LedgerError) {
        precondition(sales.count == names.count && sales.count == lines.count, "one name entry and basket per sale")
        guard
            let sale = SaleEntry.from(
                body, shard: shard, sequence: sequence, original: { self.original($0, store: store) })
        else { return }
        var basket = body.sale?.lines ?? []
        // A refund may name its original by the retrieval reference, a reversal by the terminal reference.
        let otherNames = SaleNames(reference: body.command.reference, terminalReference: body.command.terminalReference)
        if sale.kind == .purchase || sale.kind == .payment {
            if sale.key != .zero { fresh.set(sale.key, sales.count) }
            if otherNames.reference != .zero { fresh.set(otherNames.reference, sales.count) }
            if otherNames.terminalReference != .zero { fresh.set(otherNames.terminalReference, sales.count) }
        }
        if basket.isEmpty && sale.kind != .purchase && sale.kind != .payment && sale.kind != .expiry {
            // A reversal, or a refund of the whole amount (a refund carries no basket of its own).
            let originalKey = body.command.originalKey
            if sale.kind != .refund || original(originalKey, store: store)?.1 == -sale.amountMinor {
                if let fromRead = fresh[originalKey] {
                    basket = lines[fromRead]
                } else {
                    basket = try store.originalLines(originalKey)
                }
            }
        }
        sales.append(sale)
        lines.append(basket)
        names.append(otherNames)
    }
}
