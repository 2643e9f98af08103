import Foundation
import Testing

@testable import Ledger

/// What a shard shows to health checks and metrics, read from another thread without touching the shard.
@Suite struct ShardStatisticsTests {
    let directory = TemporaryDirectory()

    @Test("every durable record is counted in one group commit, each commit is timed, and members are counted")
    func commitsAndMembers() throws {
        defer { directory.remove() }
        var requests = RequestFactory()
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration())
        for index in 0..<20 { #expect(ledger.perform(requests.make(card(index % 5), earn(1))).status == .approved) }
        let statistics = ledger.shardStatistics[0]
        let batches = statistics.batchRecords.snapshot()
        #expect(batches.sum == 20, "records across commits")
        #expect(statistics.commitNanoseconds.snapshot().count == batches.count, "one timing per commit")
        #expect(statistics.members == 5 && statistics.stoppedReason == nil)
        ledger.close()
        let reopened = try Ledger.open(directory: directory.data, configuration: testConfiguration())
        #expect(reopened.shardStatistics[0].members == 5, "recovered members are counted before any request")
        reopened.close()
    }
}
