import Foundation
import Synchronization
import SystemCalls

/// Keeps in the primary's log what a standby (`ledger follow`, docs/replication.md) has not copied yet: a log
/// consumer named "standby" whose place in each shard is read from the standby's own log (its newest segment's
/// acknowledged mark), so the follower, another process, needs no channel to the switch and a stopped follower
/// still holds its place. Bounded like every consumer: a snapshot drops at most `recordsMax` records behind
/// it anyway (authorizations never wait for a standby), and a follower that finds them gone stops, naming them.
public final class StandbyHold: @unchecked Sendable {
    /// How often the standby's marks are read: its place only needs to be known before the next snapshot.
    public static let pollIntervalMs = 1_000

    public let directory: String
    public let consumer: LogConsumer
    private let shardCount: Int
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let failures = Atomic<UInt64>(0)

    /// Registers the hold and reads the standby's place once, before any snapshot of this run can drop it. A
    /// shard whose place cannot be read yet (a standby not seeded) is held from its first record: a standby
    /// seeded later learns its place only at the next poll, and a snapshot in between dropped what it needed
    /// without a count (a hold with no place holds nothing).
    public init(standby directory: String, ledger: Ledger, recordsMax: UInt64) {
        self.directory = directory
        shardCount = ledger.shardCount
        consumer = ledger.registerLogConsumer(name: "standby", recordsMax: recordsMax)
        refresh()
        for shard in 0..<shardCount where consumer.firstNeeded(shard: shard) == 0 {
            consumer.advance(shard: shard, from: 1)
        }
        precondition(
            (0..<shardCount).allSatisfy { consumer.firstNeeded(shard: $0) >= 1 }, "every shard's place is held")
    }

    /// Reads of the standby's log that failed: its directory missing or unlistable (not seeded yet); retried every
    /// poll. A newest segment whose header cannot be read reads as 0, like a shard with nothing yet, and is not
    /// counted (`LogFollower.acknowledgedSequence`).
    public var readFailures: UInt64 { failures.load(ordering: .relaxed) }

    /// Durable records of the primary (every shard of `root`) the standby has not acknowledged: for health and
    /// metrics, a few header reads per shard. A shard whose standby mark was never read counts all of its records.
    public func recordsBehind(root: String) -> UInt64 {
        LogViewReader.recordsBehind(root: root, shardCount: shardCount) { shard in
            let needed = consumer.firstNeeded(shard: shard)
            return needed == 0 ? 0 : needed - 1
        }
    }

    /// Moves the hold to the record after each shard's standby mark (never back: `LogConsumer.advance`).
    public func refresh() {
        for shard in 0..<shardCount {
            let shardDirectory = DataDirectory.shardDirectory(directory, shard: shard)
            guard let sequence = try? LogFollower.acknowledgedSequence(shardDirectory) else {
                failures.add(1, ordering: .relaxed)
                continue
            }
            // 0: the standby holds nothing of this shard yet (a shard with no traffic): nothing to move, no failure.
            if sequence > 0 { consumer.advance(shard: shard, from: sequence + 1) }
        }
    }

    public func start() {
        let thread = Thread { [self] in
            setThreadName("standby-hold")
            var waitedMs = 0
            while !stopping.load(ordering: .relaxed) {
                usleep(10_000)
                waitedMs += 10
                if waitedMs >= Self.pollIntervalMs {
                    refresh()
                    waitedMs = 0
                }
            }
            finished.signal()
        }
        thread.name = "standby-hold"
        thread.start()
    }

    public func stop() {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
    }
}
