import Metrics
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What one shard shows to monitoring: its group commits (records per batch, time of the write and fdatasync),
/// its member count, and whether it has stopped. Written by the shard's thread only (one writer, no lock),
/// read from any thread: a metrics scrape or a health check never touches the shard's state or waits for it.
public final class ShardStatistics: Sendable {
    /// Records per group commit: powers of two up to the most a default batch buffer holds.
    public static let batchRecordBounds: [UInt64] = (0...13).map { 1 << $0 }
    /// Nanoseconds per group commit (one write and one fdatasync), 50 µs to 1 s.
    public static let commitNanosecondBounds: [UInt64] = [
        50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000,
        100_000_000, 250_000_000, 500_000_000, 1_000_000_000,
    ]

    public let batchRecords = Histogram(bounds: ShardStatistics.batchRecordBounds)
    public let commitNanoseconds = Histogram(bounds: ShardStatistics.commitNanosecondBounds)
    private let memberCount = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    /// Written once, before `stopped` is set (release), read after it is seen (acquire).
    private let stopReason = Mutex<String?>(nil)

    private let checkpoints = Atomic<Int>(0)
    private let checkpointsAbandoned = Atomic<Int>(0)
    private let lastCheckpointStall = Atomic<UInt64>(0)
    private let checkpointStallMax = Atomic<UInt64>(0)
    private let chunksSaved = Atomic<Int>(0)
    private let forwarded = Atomic<Int>(0)

    init() {}

    /// Checkpoints started and finished (written, failed or abandoned) since open.
    public var checkpointCount: Int { checkpoints.load(ordering: .relaxed) }
    /// Checkpoints abandoned because the shard's writes needed more saved chunks than the copy budget.
    public var checkpointAbandonedCount: Int { checkpointsAbandoned.load(ordering: .relaxed) }
    /// The longest time the shard thread spent in one batch on the latest checkpoint (starting it, saving chunks
    /// before writing them), and the longest over all checkpoints since open: the shard's stall a checkpoint costs.
    public var lastCheckpointStallNanoseconds: UInt64 { lastCheckpointStall.load(ordering: .relaxed) }
    public var checkpointStallNanosecondsMax: UInt64 { checkpointStallMax.load(ordering: .relaxed) }

    /// 512-byte chunks the shard saved before writing them while checkpoints were written, since open.
    public var checkpointChunksSaved: Int { chunksSaved.load(ordering: .relaxed) }

    /// Shard thread: a checkpoint finished; its longest stall per batch and the chunks the shard saved for it.
    func recordCheckpoint(stallNanoseconds: UInt64, abandoned: Bool, chunksSaved saved: Int) {
        checkpoints.add(1, ordering: .relaxed)
        chunksSaved.add(saved, ordering: .relaxed)
        if abandoned { checkpointsAbandoned.add(1, ordering: .relaxed) }
        lastCheckpointStall.store(stallNanoseconds, ordering: .relaxed)
        if stallNanoseconds > checkpointStallMax.load(ordering: .relaxed) {
            checkpointStallMax.store(stallNanoseconds, ordering: .relaxed)
        }
    }

    /// Members on the shard after its latest batch.
    public var members: Int { memberCount.load(ordering: .relaxed) }

    /// Why the shard stopped accepting work (its log could not be written), or nil while it accepts work.
    public var stoppedReason: String? {
        guard stopped.load(ordering: .acquiring) else { return nil }
        return stopReason.withLock { $0 }
    }

    /// Shard thread: one group commit of `records` records took `nanoseconds`.
    func recordCommit(records: Int, nanoseconds: UInt64) {
        precondition(records > 0, "a commit writes at least one record")
        batchRecords.observe(UInt64(records))
        commitNanoseconds.observe(nanoseconds)
    }

    /// Shard thread: the member count after a batch.
    /// Commands this shard handed to members' shards for cards that forward from here (ShardState+Forwarding).
    public var forwardedCount: Int { forwarded.load(ordering: .relaxed) }

    func recordForwards(_ count: Int) { forwarded.add(count, ordering: .relaxed) }

    func recordMembers(_ count: Int) {
        precondition(count >= 0, "a member count is not negative")
        memberCount.store(count, ordering: .relaxed)
    }

    /// Shard thread: the shard stopped for `reason`; said once, never cleared (only a restart recovers it).
    func recordStop(_ reason: String) {
        precondition(!stopped.load(ordering: .relaxed), "a shard stops once")
        stopReason.withLock { $0 = reason }
        stopped.store(true, ordering: .releasing)
    }

    /// Monotonic nanoseconds, for timing commits.
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}
