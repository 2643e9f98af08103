import Foundation
import LoyaltyLedger
import TestSupport
import Testing

@testable import Ledger

/// Real SIGKILLs while a checkpoint is being written: the child (`ledger-crash-child … checkpoint`) earns on
/// 20,000 cards with a snapshot every 2,000 records; the test kills it the moment a `snapshot-*.snap.tmp` exists.
@Suite(.serialized) struct CheckpointCrashTests {
    static let cycles = 4
    static let cardCount: UInt64 = 20_000

    /// Must match the child's `crashCheckpointConfiguration(crashConfiguration())`.
    static func configuration() -> LedgerConfiguration {
        var configuration = LedgerCrashTests.configuration()
        configuration.membersPerShardMax = 1 << 15
        configuration.cardsPerShardMax = 1 << 15
        configuration.segmentBytes = 1 << 20
        configuration.snapshotIntervalRecords = 2000
        return configuration
    }

    static func checkpointBeingWritten(_ data: String) -> Bool {
        for shard in 0..<2 {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: data + "/shard-00\(shard)")) ?? []
            if names.contains(where: { $0.hasPrefix("snapshot-") && $0.hasSuffix(".snap.tmp") }) { return true }
        }
        return false
    }

    /// Runs the child until a checkpoint is being written (or 60 s), kills it. Returns the acknowledged keys and
    /// whether the kill landed while a checkpoint file was being written.
    static func runAndKill(directory: TemporaryDirectory, cycle: Int) throws -> ([UInt64], Bool) {
        let acknowledgements = directory.path + "/acks-\(cycle)"
        let process = try Spawned(
            LedgerCrashTests.childExecutable(),
            [directory.data, acknowledgements, String(cycle * 1_000_000), String(cardCount), "checkpoint"])
        let deadline = Date().addingTimeInterval(60)
        var duringCheckpoint = false
        while process.isRunning && Date() < deadline {
            if checkpointBeingWritten(directory.data) {
                duringCheckpoint = true
                break
            }
            usleep(200)
        }
        #expect(process.kill() == .signalled(SIGKILL))
        return (LedgerCrashTests.acknowledgedKeys(acknowledgements), duringCheckpoint)
    }

    @Test("SIGKILL while a checkpoint is written: the previous one and the log recover every acknowledged earn once; verify is clean")
    func killWhileWriting() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try #require(FileManager.default.isExecutableFile(atPath: LedgerCrashTests.childExecutable()))
        var acknowledged: [[UInt64]] = []
        var killsDuringCheckpoint = 0
        for cycle in 0..<Self.cycles {
            let (keys, during) = try Self.runAndKill(directory: directory, cycle: cycle)
            acknowledged.append(keys)
            if during { killsDuringCheckpoint += 1 }
        }
        #expect(killsDuringCheckpoint >= 1, "no kill landed while a checkpoint was being written")
        let verified = LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider())
        #expect(verified.isSound, "\(verified.error ?? "")")
        let totals = try Ledger.inspect(directory: directory.data, configuration: Self.configuration())
        #expect(totals.balance.points == totals.balance.credit, "an earn was half-applied")
        let ledger = try Ledger.open(directory: directory.data, configuration: Self.configuration())
        defer { ledger.close() }
        let present = LedgerCrashTests.countApplied(ledger, acknowledged: acknowledged, cardCount: Self.cardCount)
        #expect(present == totals.balance.points, "applied earns and balance disagree: something applied twice")
        #expect(present >= Int64(acknowledged.map(\.count).reduce(0, +)))
    }
}
