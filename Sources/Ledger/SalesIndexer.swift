import Foundation
import Synchronization

/// Tails every shard's log read-only (`LogTail`, never past the durable mark) and appends each approved record
/// that carries a sale to the sales store, then releases the log (its `LogConsumer` "sales"). Modelled on the
/// history indexer: behind by more than the hold's bound, snapshots drop segments anyway (authorizations never
/// wait for the sales store) and the records given up are counted.
public final class SalesIndexer: @unchecked Sendable {
    public static let recordsPerReadMax = 4_096
    /// As the history's: each step costs two fdatasyncs and the mark's rename on the log's disk.
    public static let pollIntervalMs = 200

    public let store: SalesStore
    /// The tails, the log consumer "sales" and the thread.
    public let loop: LogConsumerLoop
    public var consumer: LogConsumer { loop.consumer }
    private let nowMs: @Sendable () -> Int64
    private let recordsRead = Atomic<UInt64>(0)
    private var lastRetentionMs: Int64 = 0

    public init(
        root: String, ledger: Ledger, store: SalesStore, holdRecordsMax: UInt64,
        nowMs: @escaping @Sendable () -> Int64, log: @escaping @Sendable (String) -> Void
    ) {
        precondition(store.shardCount == ledger.shardCount, "one mark per shard")
        self.store = store
        loop = LogConsumerLoop(
            name: "sales", threadName: "sales-indexer", root: root, ledger: ledger, holdRecordsMax: holdRecordsMax,
            pollIntervalMs: Self.pollIntervalMs, log: log)
        self.nowMs = nowMs
        for shard in 0..<ledger.shardCount { consumer.advance(shard: shard, from: store.indexedSequences[shard] + 1) }
    }

    /// Read failures since start (retried every poll) and log records read.
    public var readFailures: UInt64 { loop.readFailures }
    public var recordsIndexed: UInt64 { recordsRead.load(ordering: .relaxed) }

    public func start() { loop.start { [self] in indexOnce() ? .now : .poll } }

    public func stop() { loop.stop() }

    /// One step over every shard, then the retention check (once a minute); true when a shard had more records
    /// than one read takes.
    @discardableResult
    public func indexOnce() -> Bool {
        var moved = false
        for shard in loop.tails.indices {
            do {
                let step = try Self.index(shard: shard, tail: loop.tails[shard], into: store)
                consumer.advance(shard: shard, from: step.last + 1)
                recordsRead.add(step.records, ordering: .relaxed)
                moved = moved || step.isFull
                if step.skipped > 0 {
                    loop.note("sales: \(step.skipped) records of shard \(shard)'s log were not indexed (deleted past sales.logRecordsHeldMax, or unreadable): the sales store has a gap")
                }
            } catch {
                loop.failed("sales: shard \(shard): cannot index the log: \(error)")
            }
        }
        let now = nowMs()
        if now - lastRetentionMs >= 60_000 {
            lastRetentionMs = now
            do { try store.dropExpired(nowMs: now) } catch { loop.failed("sales: retention: \(error)") }
        }
        return moved
    }

    /// What one read of a shard's log did.
    struct Step {
        /// The last sequence now indexed, records read, records never seen, and whether the read was full.
        var last: UInt64
        var records: UInt64
        var skipped: UInt64
        var isFull: Bool
    }

    /// Reads up to `recordsPerReadMax` records of `shard`'s log after what `store` has and appends their sales.
    /// A reversal, and a refund of the whole amount, take the original's basket lines, so the items report nets
    /// them out (a partial refund does not say which goods came back: it changes no item figure).
    static func index(shard: Int, tail: LogTail, into store: SalesStore) throws(LedgerError) -> Step {
        let after = store.indexedSequences[shard]
        var gap = LogTail.Gap(recordsSkipped: 0, recordsUnreadable: 0)
        var sales: [(SaleEntry, [SaleLine])] = []
        var names: [SaleNames] = []
        names.reserveCapacity(recordsPerReadMax)
        sales.reserveCapacity(recordsPerReadMax)
        // Purchases and payments of this read by their names (their place in `sales`), for a reversal in the same
        // read (the store learns them when appended).
        var fresh: [IdempotencyKey: Int] = [:]
        fresh.reserveCapacity(recordsPerReadMax)
        let visited = try tail.visit(after: after, limit: recordsPerReadMax, gap: &gap) {
            (sequence, body) throws(LedgerError) in
            func original(_ key: IdempotencyKey) -> (SaleEntry.Kind, Int64)? {
                fresh[key].map { (sales[$0].0.kind, sales[$0].0.amountMinor) } ?? store.original(key)
            }
            guard let sale = SaleEntry.from(body, shard: shard, sequence: sequence, original: original) else { return }
            var lines = body.sale?.lines ?? []
            // A refund may name its original by the retrieval reference, a reversal by the terminal reference.
            let otherNames = SaleNames(
                reference: body.command.reference, terminalReference: body.command.terminalReference)
            if sale.kind == .purchase || sale.kind == .payment {
                fresh[sale.key] = sales.count
                if otherNames.reference != .zero { fresh[otherNames.reference] = sales.count }
                if otherNames.terminalReference != .zero { fresh[otherNames.terminalReference] = sales.count }
            }
            if lines.isEmpty && sale.kind != .purchase && sale.kind != .payment && sale.kind != .expiry {
                // A reversal, or a refund of the whole amount (a refund carries no basket of its own).
                let originalKey = body.command.originalKey
                if sale.kind != .refund || original(originalKey)?.1 == -sale.amountMinor {
                    if let fromRead = fresh[originalKey] { lines = sales[fromRead].1 } else { lines = try store.originalLines(originalKey) }
                }
            }
            sales.append((sale, lines))
            names.append(otherNames)
        }
        let last = visited.through(after: after, gap: gap)
        let skipped = gap.recordsSkipped + gap.recordsUnreadable
        guard last > after else { return Step(last: after, records: 0, skipped: 0, isFull: false) }
        try store.append(shard: shard, sales, through: last, skipped: skipped, names: names)
        return Step(
            last: last, records: UInt64(visited.records), skipped: skipped,
            isFull: last - after >= UInt64(recordsPerReadMax))
    }

    /// Brings the store of a directory no switch serves up to the end of every shard's durable log (the CLI, before
    /// a report): reads until a read is not full. Bounded: at most the log's records, `recordsPerReadMax` a read.
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
