import Foundation
import LoyaltyLedger
import Synchronization
import TestSupport
import Testing

@testable import Ledger

/// `ledger verify` (`Ledger.inspect`) on a directory a ledger is writing: snapshots delete the segments they cover
/// and key-run merges delete the runs they replace while the verify reads. What it listed must stay readable to it:
/// a served directory verifies OK however often its checkpoints run.
@Suite struct LiveVerifyTests {
    static func configuration() -> LedgerConfiguration {
        var configuration = LedgerCrashTests.configuration()
        configuration.shardCount = 1
        configuration.idempotencyKeysPerShardMax = 1024
        configuration.keyBufferEntriesMax = 1024
        configuration.segmentBytes = 64 << 10
        configuration.snapshotIntervalRecords = 400
        return configuration
    }

    @Test("verify while eight writers checkpoint every 400 records and merge key runs: OK every time (it failed on a deleted segment and on a batch half written)")
    func verifyDuringCheckpoints() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = Self.configuration()
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        defer { ledger.close() }
        let stop = Atomic<Bool>(false)
        let written = Atomic<Int>(0)
        // Eight writers, so group commits carry several earns each and checkpoints come often. Bounded: at most
        // 100,000 earns each, or until the test says stop.
        let finished = DispatchSemaphore(value: 0)
        for worker in 0..<8 {
            Thread {
                defer { finished.signal() }
                var requests = RequestFactory(startingAt: UInt64(worker * 100_000 + 1))
                for index in 0..<100_000 where !stop.load(ordering: .relaxed) {
                    _ = ledger.perform(requests.make(card(worker * 60 + index % 60), earn(1, credit: 1)))
                    written.add(1, ordering: .relaxed)
                }
            }.start()
        }
        defer {
            // The writers end before the ledger closes.
            stop.store(true, ordering: .relaxed)
            for _ in 0..<8 { finished.wait() }
        }
        var verified = 0
        var failures: [String] = []
        let deadline = Date().addingTimeInterval(6)
        while Date() < deadline && failures.count < 3 {
            do throws(LedgerError) {
                _ = try Ledger.inspect(directory: directory.data, configuration: configuration)
                verified += 1
            } catch {
                failures.append("\(error)")
            }
        }
        #expect(failures.isEmpty, "\(failures)")
        #expect(verified >= 3 && written.load(ordering: .relaxed) > 2_000, "verified \(verified) times")
    }

    @Test("a checkpoint that drops the segments after the snapshot a verify chose, before the verify reads the log, on every try: OK (the segments were pinned first)")
    func checkpointBetweenSnapshotAndLog() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = Self.configuration()
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        defer { ledger.close() }
        var requests = RequestFactory()
        for index in 0..<1_000 { _ = ledger.perform(requests.make(card(index % 60), earn(1, credit: 1))) }
        var plays = 0
        var dropped = 0
        let root = directory.data
        ShardRecovery.afterSnapshotChosen = { shardDirectory, snapshotSequence in
            // Other suites' live recoveries may run meanwhile: only this directory's is played with.
            guard shardDirectory.hasPrefix(root + "/") else { return }
            plays += 1
            // Earns until a newer checkpoint is durable and the segments right after the chosen snapshot are gone.
            for index in 0..<20_000 {
                let first = (try? WALReader.segments(in: shardDirectory).first?.firstSequence) ?? 0
                if first > snapshotSequence + 1 {
                    dropped += 1
                    return
                }
                _ = ledger.perform(requests.make(card(index % 60), earn(1, credit: 1)))
            }
        }
        defer { ShardRecovery.afterSnapshotChosen = nil }
        // Before the pins, each of the verify's ten tries lost this race: "sequences … are missing".
        #expect(throws: Never.self) { _ = try Ledger.inspect(directory: directory.data, configuration: configuration) }
        #expect(plays >= 1 && dropped == plays, "\(dropped) of \(plays) tries saw the segments dropped")
    }
}
