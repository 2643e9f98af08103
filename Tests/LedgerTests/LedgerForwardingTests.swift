import Foundation
import Testing

@testable import Ledger
import TestSupport

/// Cards linked to a member of another shard: the forwarding record on the card's shard, the member's shard
/// deciding, the two records written as a transfer's halves (ShardState+Forwarding.swift).
@Suite struct LedgerForwardingTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    /// A member on shard 0 and a card whose hash places it on shard 1.
    func memberAndForeignCard(_ ledger: Ledger) -> (member: CardNumber, card: CardNumber) {
        (card(onShard: 0, of: ledger, startingAt: 100).0, card(onShard: 1, of: ledger, startingAt: 100).0)
    }

    mutating func inspect(_ ledger: Ledger, _ number: CardNumber, tag: UInt64) throws -> CardInspection {
        var request = requests.make(number, .inspect)
        request.tag = tag
        #expect(ledger.perform(request).status == .approved)
        return try #require(ledger.takeInspection(tag: tag))
    }

    @Test("a card of another shard links: its purchases are decided and logged on the member's shard, once")
    mutating func linkAcrossShards() throws {
        defer { directory.remove() }
        let configuration = testConfiguration(shards: 2, clock: clock)
        var ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        let (member, linked) = memberAndForeignCard(ledger)
        _ = ledger.perform(requests.make(member, earn(30)))
        #expect(ledger.perform(requests.make(member, .link(newCard: linked, kind: .bank))).status == .approved)
        let purchase = requests.make(linked, earn(12))
        let paid = ledger.perform(purchase)
        #expect(paid.status == .approved && paid.balance.points == 42, "one account, on the member's shard")
        #expect(paid.card == linked.masked, "answered with the card the terminal sent")
        let again = ledger.perform(purchase)
        #expect(again.isReplay && again.balance.points == 42, "a repeat through the forwarding is answered once")
        #expect(ledger.perform(requests.make(member, .balance)).balance.points == 42)
        #expect(ledger.shardStatistics[1].forwardedCount == 2 && ledger.shardStatistics[0].forwardedCount == 0)
        let seen = try inspect(ledger, linked, tag: 901)
        #expect(seen.kind == .bank && seen.memberCards.map(\.kind) == [.loyalty, .bank] && seen.balance.points == 42)
        ledger.close(snapshot: false)
        ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(ledger.perform(purchase).balance.points == 42, "replayed from both logs: still once")
        #expect(ledger.perform(requests.make(linked, earn(8))).balance.points == 50)
        ledger.close()
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
        #expect(totals.members == 1 && totals.cards == 3 && totals.cardsForwarded == 1 && totals.balance.points == 50)
        ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        defer { ledger.close() }
        #expect(try inspect(ledger, linked, tag: 902).kind == .bank, "the kind survives a snapshot")
        #expect(ledger.perform(requests.make(linked, .block)).status == .approved, "blocked on the member's shard")
        #expect(ledger.perform(requests.make(linked, earn(1))).status == .cardBlocked)
        #expect(
            ledger.perform(requests.make(member, earn(1))).balance.points == 51, "the member's own card still earns")
    }

    @Test("a card in use on its shard is refused (409) and the member's copy is unlinked; a replay agrees")
    mutating func linkRefusedWhenInUse() throws {
        defer { directory.remove() }
        let configuration = testConfiguration(shards: 2, clock: clock)
        var ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        let (member, taken) = memberAndForeignCard(ledger)
        _ = ledger.perform(requests.make(member, earn(30)))
        _ = ledger.perform(requests.make(taken, earn(5)))
        #expect(ledger.perform(requests.make(member, .link(newCard: taken))).status == .notPermitted)
        #expect(ledger.perform(requests.make(taken, earn(1))).balance.points == 6, "the card stays its own member's")
        #expect(try inspect(ledger, member, tag: 903).memberCards.count == 1)
        ledger.close(snapshot: false)
        ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        defer { ledger.close() }
        #expect(try inspect(ledger, member, tag: 904).memberCards.count == 1)
        #expect(ledger.perform(requests.make(member, .balance)).balance.points == 30)
    }

    @Test("a crash between the two records: recovery completes the link, whether the card's half was written or not")
    mutating func crashBetweenHalves() throws {
        defer { directory.remove() }
        let configuration = testConfiguration(shards: 2, clock: clock)
        for cardHalfWritten in [false, true] {
            let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
            let (member, linked) = memberAndForeignCard(ledger)
            _ = ledger.perform(requests.make(member, earn(30)))
            #expect(ledger.perform(requests.make(member, .link(newCard: linked))).status == .approved)
            // Queued behind the acknowledgement, so the member's shard has logged transferDone once this returns;
            // an inspection logs nothing, so transferDone is the last record there.
            _ = try inspect(ledger, member, tag: 905)
            ledger.close(snapshot: false)
            try directory.dropLastRecords(shard: 0, count: 1)
            if !cardHalfWritten { try directory.dropLastRecords(shard: 1, count: 1) }
            #expect(try Ledger.inspect(directory: directory.data, configuration: configuration).pendingTransfers == 1)
            let reopened = try Ledger.open(directory: directory.data, configuration: configuration)
            let paid = reopened.perform(requests.make(linked, earn(4)))
            #expect(paid.status == .approved && paid.balance.points == 34, "decided on the member's shard")
            reopened.close()
            let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
            #expect(totals.pendingTransfers == 0 && totals.members == 1 && totals.cardsForwarded == 1)
            try FileManager.default.removeItem(atPath: directory.data)
        }
    }

    @Test("reissue across shards: the member stays (its first card, hence its id), the new card forwards to it")
    mutating func reissueKeepsMember() throws {
        defer { directory.remove() }
        let configuration = testConfiguration(shards: 2, clock: clock)
        var ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        let (old, new) = memberAndForeignCard(ledger)
        let taken = card(onShard: 1, of: ledger, startingAt: 5000).0
        _ = ledger.perform(requests.make(old, earn(30)))
        _ = ledger.perform(requests.make(taken, earn(5)))
        #expect(ledger.perform(requests.make(old, .reissue(newCard: taken))).status == .notPermitted)
        #expect(ledger.perform(requests.make(old, earn(1))).balance.points == 31, "the old card is given back")
        #expect(ledger.perform(requests.make(old, .reissue(newCard: new))).status == .approved)
        #expect(ledger.perform(requests.make(old, earn(1))).status == .cardBlocked)
        #expect(ledger.perform(requests.make(new, earn(4))).balance.points == 35, "decided on the member's shard")
        let seen = try inspect(ledger, new, tag: 906)
        #expect(seen.memberCards.first?.hash == ledger.cardHash(of: old), "the member's id is its first card")
        #expect(seen.memberCards.map(\.status) == [.replaced, .active])
        ledger.close(snapshot: false)
        ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(ledger.perform(requests.make(new, .balance)).balance.points == 35)
        #expect(try inspect(ledger, old, tag: 907).memberCards.count == 2, "the old id still reads the member")
        ledger.close()
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
        #expect(totals.members == 2 && totals.cardsForwarded == 1 && totals.pendingTransfers == 0)
        #expect(totals.cardsReplaced == 1 && totals.balance.points == 40)
    }

    @Test("the card's kind and home shard sit in the record's former tail padding: 32 bytes, snapshots still load")
    func cardRecordLayout() {
        #expect(MemoryLayout<CardRecord>.stride == 32 && MemoryLayout<CardRecord>.size == 32)
        #expect(MemoryLayout<CardRecord>.offset(of: \CardRecord.status) == 28)
        #expect(MemoryLayout<CardRecord>.offset(of: \CardRecord.kind) == 29)
        #expect(MemoryLayout<CardRecord>.offset(of: \CardRecord.homeShard) == 30)
    }
}
