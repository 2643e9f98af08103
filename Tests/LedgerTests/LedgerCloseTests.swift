import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Ledger

/// `Ledger.close` lets go of the directory: when it returns, the same process can open the directory again at
/// once, whatever children other threads were spawning and whatever the shards had in flight.
@Suite struct LedgerCloseTests {
    let directory = TemporaryDirectory()
    var requests = RequestFactory()

    @Test("close returns only once no child holds a copy of the lock: the reopen right after it succeeds")
    mutating func closeWaitsForChildrenHoldingTheLock() throws {
        defer { directory.remove() }
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration())
        #expect(ledger.perform(requests.make(card(1), earn(7))).status == .approved)
        // A child that keeps the lock's open file, as a child spawned by another thread does until its exec.
        let child = try ChildProcess.startHolding(descriptor: ledger.lock, "/bin/sleep", ["0.3"])
        ledger.close(snapshot: false)
        var status: Int32 = 0
        #expect(waitpid(child, &status, WNOHANG) == child, "close returned while the child still held the lock")
        let reopened = try Ledger.open(directory: directory.data, configuration: testConfiguration())
        defer { reopened.close() }
        #expect(reopened.perform(requests.make(card(1), .balance)).balance.points == 7)
    }

    @Test("reopening right after close, 30 times, with checkpoints and key-run merges in flight and children spawning")
    mutating func reopenRightAfterCloseUnderSpawns() throws {
        defer { directory.remove() }
        var configuration = testConfiguration()
        configuration.snapshotIntervalRecords = 64
        configuration.keyBufferEntriesMax = 16
        let spawning = Atomic<Bool>(true)
        let spawner = Thread {
            while spawning.load(ordering: .relaxed) { _ = try? ChildProcess.run("/bin/true", []) }
        }
        spawner.start()
        defer { spawning.store(false, ordering: .relaxed) }
        var expectedPoints: Int64 = 0
        for cycle in 0..<30 {
            let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
            let sink = RecordingSink()
            let batch = (0..<100).map { _ in requests.make(card(1), earn(1)) }
            #expect(ledger.submit(batch, to: sink).isEmpty)
            sink.waitFor(count: batch.count)
            expectedPoints += 100
            // Closed at once after the last reply: a checkpoint or a merge of the many small key runs is still
            // being written, and close waits for it (and for the lock) before it returns.
            ledger.close(snapshot: cycle % 2 == 0)
        }
        let reopened = try Ledger.open(directory: directory.data, configuration: configuration)
        defer { reopened.close() }
        #expect(reopened.perform(requests.make(card(1), .balance)).balance.points == expectedPoints)
    }
}
