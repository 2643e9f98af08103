import Foundation
import Ledger
import LoyaltyLedger
import Testing

/// The two ways a report reads a shard give the same rows: the checkpoint read in place (no log after it) and the
/// read-only recovery of the checkpoint and the log after it.
@Suite struct LedgerShardViewTests {
    let directory = NSTemporaryDirectory() + "shard-view-test-\(UInt32.random(in: 0...UInt32.max))"

    func configuration() -> LedgerConfiguration {
        var configuration = ReportsTests().configuration()
        configuration.giftCardsPerShardMax = 64
        return configuration
    }

    func earn(_ ledger: Ledger, card: Int, points: Int64, key: UInt64) {
        let requestKey = IdempotencyKey(word0: key, word1: 11)
        let reply = ledger.perform(
            LedgerRequest(
                tag: key, key: requestKey, digest: ContentDigest(high: 0, low: key), card: ReportsTests.card(card),
                operation: .earn(
                    amounts: AssetAmounts(points: points, credit: 1), purchaseAmountMinor: 500, autoEnrol: true)))
        #expect(reply.status == .approved)
    }

    /// Every member and card row of every shard, as one view reads them.
    func rows(reading: LedgerShardView.Reading) throws -> (members: [ReportMember], cards: [ReportCard?], inPlace: [Bool]) {
        var members: [ReportMember] = []
        var cards: [ReportCard?] = []
        var inPlace: [Bool] = []
        for shard in 0..<configuration().shardCount {
            let view = try Ledger.shardView(
                directory: directory, shard: shard, configuration: configuration(), reading: reading)
            members += (0..<view.memberCount).map(view.member)
            cards += (0..<view.cardCount).map(view.card)
            inPlace.append(view.isInPlace)
        }
        return (members, cards, inPlace)
    }

    @Test("after a clean close the checkpoint is read in place, row for row what the recovery view gives")
    func inPlaceEqualsRecovered() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ledger = try ReportsTests(directory: directory).writeBooks()
        ledger.close()
        let flat = try rows(reading: .rows)
        let recovered = try rows(reading: .totals)
        #expect(flat.inPlace == [true, true])
        #expect(recovered.inPlace == [false, false])
        #expect(flat.members.count == ReportsTests.cardCount)
        #expect(flat.members == recovered.members)
        #expect(flat.cards == recovered.cards)
        #expect(flat.cards.contains { $0?.status == .blocked })
    }

    @Test("with records after the checkpoint the rows come from the recovery view; after the next checkpoint in place")
    func logTailFallsBack() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try ReportsTests(directory: directory).writeBooks().close()
        let before = try rows(reading: .rows)
        var ledger = try Ledger.open(directory: directory, configuration: configuration())
        earn(ledger, card: 0, points: 5, key: 500)
        earn(ledger, card: 40, points: 7, key: 501)
        let tail = try rows(reading: .rows)
        #expect(tail.inPlace.contains(false), "a shard with a log tail is recovered")
        #expect(tail.members.count == before.members.count + 1)
        #expect(tail.members != before.members)
        ledger.close()
        let after = try rows(reading: .rows)
        #expect(after.inPlace == [true, true])
        #expect(after.members == tail.members && after.cards == tail.cards)
        ledger = try Ledger.open(directory: directory, configuration: configuration())
        ledger.close()
    }

    @Test("a checkpoint pinned for a report of the serving ledger reads in place what recovery gave at its sequence")
    func pinnedCheckpointEqualsRecoveredAtItsSequence() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try ReportsTests(directory: directory).writeBooks().close()
        let ledger = try Ledger.open(directory: directory, configuration: configuration())
        defer { ledger.close() }
        earn(ledger, card: 0, points: 5, key: 600)
        earn(ledger, card: 40, points: 9, key: 601)
        // Records follow the newest checkpoint: the directory alone gives the recovery view.
        let atPin = try rows(reading: .rows)
        #expect(atPin.inPlace.contains(false))
        let pinned = try #require(try ledger.reportCheckpoints(reuseAgeMs: 0, waitMs: 60_000))
        #expect(ledger.checkpointsStartedForReports >= 1)
        // Traffic after the checkpoint: the pinned views still read the state at its sequence, in place.
        for key in 602..<640 { earn(ledger, card: [0, 1, 2, 4, 5, 40][key % 6], points: 3, key: UInt64(key)) }
        var members: [ReportMember] = []
        var cards: [ReportCard?] = []
        for checkpoint in pinned {
            let view = try Ledger.shardView(checkpoint: checkpoint, configuration: configuration())
            #expect(view.isInPlace)
            #expect(view.lastSequence == checkpoint.sequence)
            members += (0..<view.memberCount).map(view.member)
            cards += (0..<view.cardCount).map(view.card)
        }
        #expect(members == atPin.members)
        #expect(cards == atPin.cards)
        #expect(try rows(reading: .rows).members != atPin.members, "the later earns are not in the pinned rows")
        // Within the reuse age the same checkpoints serve the next report, records after them or not.
        let reused = try #require(try ledger.reportCheckpoints(reuseAgeMs: 600_000, waitMs: 60_000))
        #expect(reused.map(\.sequence) == pinned.map(\.sequence))
    }

    @Test("a shard with no record after its newest checkpoint is refreshed, not written again")
    func quietShardIsRefreshed() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try ReportsTests(directory: directory).writeBooks().close()
        let ledger = try Ledger.open(directory: directory, configuration: configuration())
        defer { ledger.close() }
        let pinned = try #require(try ledger.reportCheckpoints(reuseAgeMs: 0, waitMs: 60_000))
        #expect(ledger.checkpointsStartedForReports == 0)
        let flat = try rows(reading: .rows)
        #expect(flat.inPlace == [true, true])
        #expect(pinned.map(\.sequence).count == 2)
        #expect(pinned.allSatisfy { $0.timeMs > 0 })
    }
}
