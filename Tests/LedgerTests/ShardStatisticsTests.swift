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

    @Test("a shard's activity: none while it waits, a cycle's start kept through its phases, cleared when it waits")
    func activityFollowsTheCycle() throws {
        let statistics = ShardStatistics()
        #expect(statistics.activity == nil, "a new shard waits")
        statistics.recordPhase(.applying)
        let began = try #require(statistics.activity)
        #expect(began.phase == .applying && began.cycleBeganNs > 0)
        statistics.recordPhase(.committing)
        #expect(statistics.activity?.phase == .committing && statistics.activity?.cycleBeganNs == began.cycleBeganNs)
        statistics.recordPhase(.upkeep)
        #expect(statistics.activity?.cycleBeganNs == began.cycleBeganNs, "one cycle until the shard waits again")
        statistics.recordPhase(.waiting)
        #expect(statistics.activity == nil)
        statistics.recordPhase(.upkeep)
        #expect((statistics.activity?.cycleBeganNs ?? 0) >= began.cycleBeganNs, "the next cycle starts anew")
    }

    @Test("an idle ledger's shard is seen waiting for commands from another thread")
    func idleShardWaits() throws {
        defer { directory.remove() }
        var requests = RequestFactory()
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration())
        defer { ledger.close() }
        #expect(ledger.perform(requests.make(card(1), earn(1))).status == .approved)
        // The reply is delivered before the cycle's upkeep ends: give the shard a moment to go back to waiting.
        let deadline = Date().addingTimeInterval(5)
        while ledger.statistics(ofShard: 0).activity != nil && Date() < deadline { usleep(1_000) }
        #expect(ledger.statistics(ofShard: 0).activity == nil)
    }
}
