import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One shard's checkpoint pinned for a report: its file stays readable through `descriptor` however many newer
/// checkpoints replace it meanwhile, so the report reads one complete state in place (`Ledger.shardView(checkpoint:)`)
/// while the shard serves on and writes later records after it.
public final class ReportCheckpoint: @unchecked Sendable {
    public let shard: Int
    public let shardCount: Int
    /// The last record the checkpoint holds: the report's rows are the shard's state after it.
    public let sequence: UInt64
    /// The shard's clock when the checkpoint was started (or refreshed, when no record followed it).
    public let timeMs: Int64
    let path: String
    let descriptor: Int32

    init(shard: Int, shardCount: Int, durable: CheckpointRequests.Durable, descriptor: Int32) {
        self.shard = shard
        self.shardCount = shardCount
        sequence = durable.sequence
        timeMs = durable.timeMs
        path = durable.path
        self.descriptor = descriptor
    }

    deinit { FileIO.closeFile(descriptor) }
}

extension Ledger {
    /// Every shard's checkpoint for a report of the serving ledger: one that its shard started at most
    /// `reuseAgeMs` before now (written or being written: concurrent reports share it), else a new one, which the
    /// shard starts between two batches and a checkpoint thread writes beside it (a shard with no record after its
    /// newest checkpoint only refreshes that one's time). All shards are asked at once, then waited for. Nil when
    /// they are not all durable within `waitMs` (the caller answers "try again"; the checkpoints still complete).
    public func reportCheckpoints(reuseAgeMs: Int, waitMs: Int) throws(LedgerError) -> [ReportCheckpoint]? {
        precondition(reuseAgeMs >= 0 && waitMs >= 0, "a reuse age and a wait bound, not negative")
        let nowNs = ShardStatistics.now()
        // At least 1: a checkpoint found at open (started at 0, its age unknown) is only reused once refreshed.
        let notBeforeNs = max(1, nowNs - min(nowNs, UInt64(reuseAgeMs) * 1_000_000))
        let deadline = Date(timeIntervalSinceNow: Double(waitMs) / 1000)
        for shard in shards where shard.checkpointRequests.request(notBeforeNs: notBeforeNs) { shard.queue.wake() }
        var pinned: [ReportCheckpoint] = []
        for shard in shards {
            guard
                let (durable, descriptor) = try shard.checkpointRequests.pin(
                    notBeforeNs: notBeforeNs, deadline: deadline, wake: { shard.queue.wake() })
            else { return nil }
            pinned.append(
                ReportCheckpoint(shard: shard.index, shardCount: shards.count, durable: durable, descriptor: descriptor))
        }
        return pinned
    }

    /// Checkpoints the shards started because a report asked (not the periodic ones), since open.
    public var checkpointsStartedForReports: Int {
        shards.reduce(0) { $0 + $1.checkpointRequests.startedForReports.load(ordering: .relaxed) }
    }

    /// A pinned checkpoint read in place (flat memory, whatever the shard's size and the records after it).
    public static func shardView(
        checkpoint: ReportCheckpoint, configuration: LedgerConfiguration
    ) throws(LedgerError) -> LedgerShardView {
        let walk = try Snapshot.Walk(
            path: checkpoint.path, descriptor: checkpoint.descriptor, shard: checkpoint.shard,
            shardCount: checkpoint.shardCount, giftsMax: configuration.giftCardsPerShardMax)
        guard walk.header.sequence == checkpoint.sequence else {
            throw .damagedSnapshot(file: checkpoint.path, reason: "sequence differs from its name")
        }
        return LedgerShardView(walk: walk, decisions: configuration.decider, newestRecordTimeMs: checkpoint.timeMs)
    }
}
