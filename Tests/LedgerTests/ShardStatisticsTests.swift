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

    @Test("a shard whose log cannot be written shows why it stopped, and only that shard")
    func stopReason() throws {
        defer { directory.remove() }
        var configuration = testConfiguration(shards: 2)
        configuration.prepareSpareSegments = false
        var requests = RequestFactory()
        // The first segment of shard 0 is /dev/full: its first commit fails with ENOSPC.
        try FileManager.default.createDirectory(atPath: directory.data, withIntermediateDirectories: true)
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        let blocked = directory.data + "/shard-000/" + WALWriter.segmentName(firstSequence: 1)
        try FileManager.default.createSymbolicLink(atPath: blocked, withDestinationPath: "/dev/full")
        let onShard0 = (0..<100).map(card).first { ledger.shardIndex(of: $0) == 0 }!
        let onShard1 = (0..<100).map(card).first { ledger.shardIndex(of: $0) == 1 }!
        #expect(ledger.perform(requests.make(onShard0, earn(1))).status == .systemError)
        #expect(ledger.perform(requests.make(onShard1, earn(1))).status == .approved)
        #expect(ledger.shardStatistics[0].stoppedReason?.hasPrefix("log commit failed:") == true)
        #expect(ledger.shardStatistics[1].stoppedReason == nil)
        ledger.close()
    }
}
