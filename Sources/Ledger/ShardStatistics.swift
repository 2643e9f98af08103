import SystemCalls
import Metrics
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a shard thread is doing: waiting for commands, applying them, writing and syncing its log (one group
/// commit), or its upkeep between cycles (checkpoints, the segment reserve, sweeps).
public enum ShardPhase: UInt8, Sendable, CustomStringConvertible {
    case waiting, applying, committing, upkeep

    public var description: String {
        switch self {
        case .waiting: "waiting for commands"
        case .applying: "applying commands"
        case .committing: "writing and syncing its log"
        case .upkeep: "on upkeep (checkpoint, log segments, sweeps)"
        }
    }
}

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

    /// Nanoseconds per commit group (its first command to its replies delivered), 10 µs to ~2 s by factors of 1.5.
    public static let batchNanosecondBounds: [UInt64] = (0..<32).map { UInt64(10_000 * pow(1.5, Double($0))) }

    /// Nanoseconds the shard spent on a checkpoint in one commit group, 10 µs to 100 ms: 1 ms is a bound, so the
    /// groups over the "~1 ms" are counted exactly.
    public static let checkpointStallBounds: [UInt64] = [
        10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000,
        50_000_000, 100_000_000,
    ]

    public let batchRecords = Histogram(bounds: ShardStatistics.batchRecordBounds)
    /// Each commit group's wall time and thread CPU time (a batch, or part of one: `checkpointSavesPerCommitMax`),
    /// apart for groups during which a checkpoint was being written (what a checkpoint costs is the difference).
    public let batchNanoseconds = Histogram(bounds: ShardStatistics.batchNanosecondBounds)
    public let batchNanosecondsCheckpointing = Histogram(bounds: ShardStatistics.batchNanosecondBounds)
    public let batchCPUNanoseconds = Histogram(bounds: ShardStatistics.batchNanosecondBounds)
    public let batchCPUNanosecondsCheckpointing = Histogram(bounds: ShardStatistics.batchNanosecondBounds)
    public let commitNanoseconds = Histogram(bounds: ShardStatistics.commitNanosecondBounds)
    /// Per batch the shard took from its queue: how long its oldest command had waited there (behind the group
    /// before it, or for the shard thread to get a core). With the group's own time, what a request's ledger wait is.
    public let queueWaitNanoseconds = Histogram(bounds: ShardStatistics.batchNanosecondBounds)
    /// Each commit group's time on a checkpoint (starting one, saving chunks before writing them), for the groups
    /// that spent any: where `checkpointStallNanosecondsMax` gives the worst group, this gives how rare it is.
    public let checkpointStallNanoseconds = Histogram(bounds: ShardStatistics.checkpointStallBounds)
    private let memberCount = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    /// Written once, before `stopped` is set (release), read after it is seen (acquire).
    private let stopReason = Mutex<String?>(nil)

    private let checkpoints = Atomic<Int>(0)
    private let checkpointsAbandoned = Atomic<Int>(0)
    private let lastCheckpointStall = Atomic<UInt64>(0)
    private let checkpointStallMax = Atomic<UInt64>(0)
    private let checkpointStartMax = Atomic<UInt64>(0)
    private let chunksSaved = Atomic<Int>(0)
    private let pacedNanoseconds = Atomic<UInt64>(0)
    private let forwarded = Atomic<Int>(0)
    private let chunksSavedPerBatchMaxValue = Atomic<Int>(0)
    private let batchMax = Atomic<UInt64>(0)
    private let batchCheckpointingMax = Atomic<UInt64>(0)
    /// When the shard's current cycle began (monotonic ns; 0 while it waits for commands) and what it is doing:
    /// a request answered 91 says whether its shard was busy and with what (`activity`).
    private let cycleBeganNs = Atomic<UInt64>(0)
    private let phaseValue = Atomic<UInt8>(ShardPhase.waiting.rawValue)

    init() {}

    /// Any thread: what the shard thread is doing now, and since when its current cycle runs (nil: it waits for
    /// commands). Two relaxed loads, read apart: good enough to say where a missed budget went, not more.
    public var activity: (phase: ShardPhase, cycleBeganNs: UInt64)? {
        let began = cycleBeganNs.load(ordering: .relaxed)
        let phase = ShardPhase(rawValue: phaseValue.load(ordering: .relaxed)) ?? .waiting
        guard began > 0, phase != .waiting else { return nil }
        return (phase, began)
    }

    /// Shard thread: the shard went to `phase`; a cycle begins when it leaves `.waiting` and ends when it returns.
    func recordPhase(_ phase: ShardPhase) {
        let previous = ShardPhase(rawValue: phaseValue.load(ordering: .relaxed)) ?? .waiting
        if phase == .waiting {
            cycleBeganNs.store(0, ordering: .relaxed)
        } else if previous == .waiting {
            cycleBeganNs.store(monotonicNanoseconds(), ordering: .relaxed)
        }
        phaseValue.store(phase.rawValue, ordering: .relaxed)
        precondition(phase == .waiting || cycleBeganNs.load(ordering: .relaxed) > 0, "a busy shard has a cycle start")
    }

    /// Checkpoints started and finished (written, failed or abandoned) since open.
    public var checkpointCount: Int { checkpoints.load(ordering: .relaxed) }
    /// Checkpoints abandoned because the shard's writes needed more saved chunks than the copy budget.
    public var checkpointAbandonedCount: Int { checkpointsAbandoned.load(ordering: .relaxed) }
    /// The longest time the shard thread spent in one batch on the latest checkpoint (starting it, saving chunks
    /// before writing them), and the longest over all checkpoints since open: the shard's stall a checkpoint costs.
    public var lastCheckpointStallNanoseconds: UInt64 { lastCheckpointStall.load(ordering: .relaxed) }
    public var checkpointStallNanosecondsMax: UInt64 { checkpointStallMax.load(ordering: .relaxed) }
    /// The longest start of a checkpoint on the shard thread since open (part of the stall above): the two apart
    /// tell whether a stall is the start or one group's saved chunks.
    public var checkpointStartNanosecondsMax: UInt64 { checkpointStartMax.load(ordering: .relaxed) }

    /// Nanoseconds checkpoint threads waited for their writing pace (`checkpointBytesPerSecondMax`) since open.
    public var checkpointPacedNanoseconds: UInt64 { pacedNanoseconds.load(ordering: .relaxed) }

    /// Checkpoint thread: a checkpoint's writes waited `nanoseconds` for their pace.
    func recordCheckpointPace(nanoseconds: UInt64) { pacedNanoseconds.add(nanoseconds, ordering: .relaxed) }

    /// 512-byte chunks the shard saved before writing them while checkpoints were written, since open.
    public var checkpointChunksSaved: Int { chunksSaved.load(ordering: .relaxed) }

    /// The most chunks the shard saved in one commit group since open.
    public var checkpointChunksSavedPerBatchMax: Int { chunksSavedPerBatchMaxValue.load(ordering: .relaxed) }
    /// The longest commit group (wall time) since open, without and with a checkpoint being written.
    public var batchNanosecondsMax: UInt64 { batchMax.load(ordering: .relaxed) }
    public var batchNanosecondsCheckpointingMax: UInt64 { batchCheckpointingMax.load(ordering: .relaxed) }

    /// Shard thread: one commit group took `nanoseconds` of wall time and `cpuNanoseconds` of the thread's CPU;
    /// `checkpointing` when a checkpoint was being written meanwhile, which saved `chunksSaved` chunks.
    func recordBatch(nanoseconds: UInt64, cpuNanoseconds: UInt64, checkpointing: Bool, chunksSaved saved: Int) {
        precondition(saved == 0 || checkpointing, "chunks are saved only while a checkpoint is written")
        (checkpointing ? batchNanosecondsCheckpointing : batchNanoseconds).observe(nanoseconds)
        (checkpointing ? batchCPUNanosecondsCheckpointing : batchCPUNanoseconds).observe(cpuNanoseconds)
        if checkpointing {
            if nanoseconds > batchCheckpointingMax.load(ordering: .relaxed) {
                batchCheckpointingMax.store(nanoseconds, ordering: .relaxed)
            }
        } else if nanoseconds > batchMax.load(ordering: .relaxed) {
            batchMax.store(nanoseconds, ordering: .relaxed)
        }
        if saved > chunksSavedPerBatchMaxValue.load(ordering: .relaxed) {
            chunksSavedPerBatchMaxValue.store(saved, ordering: .relaxed)
        }
    }

    /// Shard thread: one commit group spent `nanoseconds` on a checkpoint (none: not recorded).
    func recordCheckpointStall(nanoseconds: UInt64) {
        precondition(nanoseconds > 0, "a group that spent time on a checkpoint")
        checkpointStallNanoseconds.observe(nanoseconds)
    }

    /// Shard thread: a checkpoint started, in `nanoseconds` of the shard's time.
    func recordCheckpointStart(nanoseconds: UInt64) {
        if nanoseconds > checkpointStartMax.load(ordering: .relaxed) {
            checkpointStartMax.store(nanoseconds, ordering: .relaxed)
        }
    }

    /// Shard thread: a checkpoint finished; its longest stall per batch and the chunks the shard saved for it.
    func recordCheckpoint(stallNanoseconds: UInt64, abandoned: Bool, chunksSaved saved: Int) {
        precondition(saved >= 0, "a count of chunks")
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

    func recordForwards(_ count: Int) {
        precondition(count >= 0, "a count of forwarded commands")
        forwarded.add(count, ordering: .relaxed)
    }

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

    /// This thread's CPU time in nanoseconds (a system call: once per commit group, never per command).
    static func threadCPUNow() -> UInt64 { threadCPUNanoseconds() }

    /// Monotonic nanoseconds, for timing commits.
    static func now() -> UInt64 { monotonicNanoseconds() }
}
