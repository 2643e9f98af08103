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
    private let tails: [LogTail]
    public let consumer: LogConsumer
    private let nowMs: @Sendable () -> Int64
    private let log: @Sendable (String) -> Void
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let failures = Atomic<UInt64>(0)
    private let recordsRead = Atomic<UInt64>(0)
    private var lastRetentionMs: Int64 = 0

    public init(
        root: String, ledger: Ledger, store: SalesStore, holdRecordsMax: UInt64,
        nowMs: @escaping @Sendable () -> Int64, log: @escaping @Sendable (String) -> Void
    ) {
        precondition(store.shardCount == ledger.shardCount, "one mark per shard")
        self.store = store
        tails = (0..<ledger.shardCount).map { LogTail(root: root, shard: $0) }
        consumer = ledger.registerLogConsumer(name: "sales", recordsMax: holdRecordsMax)
        self.nowMs = nowMs
        self.log = log
        for shard in 0..<ledger.shardCount { consumer.advance(shard: shard, from: store.indexedSequences[shard] + 1) }
    }

    /// Read failures since start (retried every poll) and log records read.
    public var readFailures: UInt64 { failures.load(ordering: .relaxed) }
    public var recordsIndexed: UInt64 { recordsRead.load(ordering: .relaxed) }

    public func start() {
        let thread = Thread { [self] in
            while !stopping.load(ordering: .relaxed) {
                if !indexOnce() { usleep(UInt32(Self.pollIntervalMs * 1000)) }
            }
            finished.signal()
        }
        thread.name = "sales-indexer"
        thread.start()
    }

    public func stop() {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
    }

    /// One step over every shard, then the retention check (once a minute); true when a shard had more records
    /// than one read takes.
    @discardableResult
    public func indexOnce() -> Bool {
        var moved = false
        for shard in tails.indices {
            let after = store.indexedSequences[shard]
            do {
                var gap = LogTail.Gap(recordsSkipped: 0, recordsUnreadable: 0)
                let entries = try tails[shard].read(after: after, limit: Self.recordsPerReadMax, gap: &gap)
                var last = entries.last?.sequence ?? after
                if entries.isEmpty && gap.recordsSkipped > 0 { last = after + gap.recordsSkipped }
                guard last > after else { continue }
                var sales: [(SaleEntry, [SaleLine])] = []
                // Sales of this read, for a reversal in the same read (the store learns them when appended).
                var fresh: [IdempotencyKey: (SaleEntry.Kind, Int64)] = [:]
                for entry in entries {
                    guard
                        let sale = SaleEntry.from(
                            entry.body, shard: shard, sequence: entry.sequence,
                            original: { fresh[$0] ?? store.original($0) })
                    else { continue }
                    if sale.kind == .purchase || sale.kind == .payment { fresh[sale.key] = (sale.kind, sale.amountMinor) }
                    sales.append((sale, entry.body.sale?.lines ?? []))
                }
                let skipped = gap.recordsSkipped + gap.recordsUnreadable
                try store.append(shard: shard, sales, through: last, skipped: skipped)
                consumer.advance(shard: shard, from: last + 1)
                recordsRead.add(UInt64(entries.count), ordering: .relaxed)
                if last - after >= UInt64(Self.recordsPerReadMax) { moved = true }
                if skipped > 0 {
                    log("sales: \(skipped) records of shard \(shard)'s log were not indexed (deleted past sales.logRecordsHeldMax, or unreadable): the sales store has a gap")
                }
            } catch {
                failures.add(1, ordering: .relaxed)
                log("sales: shard \(shard): cannot index the log: \(error)")
            }
        }
        let now = nowMs()
        if now - lastRetentionMs >= 60_000 {
            lastRetentionMs = now
            do { try store.dropExpired(nowMs: now) } catch {
                failures.add(1, ordering: .relaxed)
                log("sales: retention: \(error)")
            }
        }
        return moved
    }
}
