import Foundation
import Testing

@testable import Ledger
import TestSupport

/// Admin API commands on the ledger: the stamp in the record, adjustments, inspections, commands by card hash.
@Suite struct LedgerAdminTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    func stamped(_ request: LedgerRequest, operation: UInt64, reason: UInt8 = 1) -> LedgerRequest {
        var request = request
        request.admin = AdminStamp(operation: operation, actor: 0xABCD, role: 1, reason: reason)
        return request
    }

    @Test("admin-stamped changes replay with their stamps (approved only); declines log nothing to repair")
    mutating func stampsReplay() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: testConfiguration(clock: clock))
        #expect(ledger.perform(stamped(requests.make(card(1), .enrol), operation: 10)).status == .approved)
        let again = ledger.perform(stamped(requests.make(card(1), .enrol), operation: 11))
        #expect(again.status == .notPermitted, "an admin enrolment of an enrolled card is refused")
        let plus = ledger.perform(stamped(requests.make(card(1), .adjust(asset: .points, amount: 70)), operation: 12))
        #expect(plus.status == .approved && plus.balance.points == 70 && plus.credited.points == 70)
        let below = ledger.perform(stamped(requests.make(card(1), .adjust(asset: .points, amount: -71)), operation: 13))
        #expect(below.status == .insufficientFunds && below.balance.points == 70)
        var byHash = requests.make(card(99), .block)
        byHash.cardHash = ledger.cardHash(of: card(1))
        let blocked = ledger.perform(stamped(byHash, operation: 14, reason: 2))
        #expect(blocked.status == .approved && blocked.card == card(1).masked, "the masked form comes from the shard")
        let minus = ledger.perform(stamped(requests.make(card(1), .adjust(asset: .points, amount: -20)), operation: 15))
        #expect(minus.status == .approved && minus.balance.points == 50, "a blocked card's member can be adjusted")
        ledger.close(snapshot: false)

        let reopened = try Ledger.open(directory: directory.path, configuration: testConfiguration(clock: clock))
        defer { reopened.close() }
        let records = reopened.recoveryReports.flatMap(\.adminRecords)
        #expect(records.map(\.stamp.operation) == [10, 12, 14, 15])
        #expect(
            records.map(\.change) == [
                .enrol, .adjust(asset: .points, amount: 70), .block,
                .adjust(asset: .points, amount: -20),
            ])
        #expect(records[2].stamp.reason == 2 && records[2].masked == card(1).masked)
        #expect(records.allSatisfy { $0.card == reopened.cardHash(of: card(1)) && $0.stamp.actor == 0xABCD })
        #expect(reopened.perform(requests.make(card(1), .balance)).status == .cardBlocked)
    }

    @Test("inspect reads the card and its member without logging; an unknown card is unknownCard")
    mutating func inspection() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: testConfiguration(clock: clock))
        _ = ledger.perform(requests.make(card(1), earn(40)))
        var inspect = requests.make(card(1), .inspect)
        inspect.tag = 777
        let reply = ledger.perform(inspect)
        #expect(reply.status == .approved && reply.balance.points == 40)
        let seen = try #require(ledger.takeInspection(tag: 777))
        #expect(seen.status == .active && seen.memberCards.count == 1 && seen.balance.points == 40)
        #expect(ledger.takeInspection(tag: 777) == nil, "taken once")
        var unknown = requests.make(card(2), .inspect)
        unknown.tag = 778
        #expect(ledger.perform(unknown).status == .unknownCard && ledger.takeInspection(tag: 778) == nil)
        ledger.close(snapshot: false)
        #expect(ledger.commitStatistics.map(\.records) == [1], "only the earn was logged")
    }
    @Test("link: another card of the member, one account, replayed; in use and unknown refused")
    mutating func linkCards() throws {
        let configuration = testConfiguration(shards: 2, clock: clock)
        var ledger = try Ledger.open(directory: directory.path, configuration: configuration)
        let (member, number) = card(onShard: 0, of: ledger, startingAt: 1)
        let (sameShard, _) = card(onShard: 0, of: ledger, startingAt: number + 1)
        let (otherShard, _) = card(onShard: 1, of: ledger, startingAt: 1)
        _ = ledger.perform(requests.make(member, earn(30)))
        let linked = ledger.perform(stamped(requests.make(member, .link(newCard: sameShard)), operation: 20))
        #expect(linked.status == .approved)
        #expect(ledger.perform(requests.make(sameShard, earn(12))).balance.points == 42, "one account")
        #expect(ledger.perform(requests.make(member, .link(newCard: sameShard))).status == .notPermitted)
        #expect(
            ledger.perform(requests.make(member, .link(newCard: otherShard))).status == .approved,
            "across shards: a forwarding card (LedgerForwardingTests)")
        #expect(ledger.perform(requests.make(card(999_999), .link(newCard: otherShard))).status == .unknownCard)
        ledger.close(snapshot: false)
        ledger = try Ledger.open(directory: directory.path, configuration: configuration)
        defer { ledger.close() }
        #expect(ledger.perform(requests.make(sameShard, .balance)).balance.points == 42, "the link replays")
        let records = ledger.recoveryReports.flatMap(\.adminRecords)
        #expect(records.map(\.change) == [.link(newCard: ledger.cardHash(of: sameShard), newMasked: sameShard.masked)])
    }
    @Test("a cross-shard replace the destination refused leaves no admin record for the audit repair (issue 13 bug)")
    mutating func refusedReplaceIsNotRepaired() throws {
        let configuration = testConfiguration(shards: 2, clock: clock)
        var ledger = try Ledger.open(directory: directory.path, configuration: configuration)
        let (old, number) = card(onShard: 0, of: ledger, startingAt: 1)
        let (inUse, _) = card(onShard: 1, of: ledger, startingAt: number + 1)
        let (fresh, _) = card(onShard: 1, of: ledger, startingAt: number + 5000)
        _ = ledger.perform(requests.make(old, earn(30)))
        _ = ledger.perform(requests.make(inUse, earn(7)))
        let refused = ledger.perform(stamped(requests.make(old, .replace(newCard: inUse)), operation: 31))
        #expect(refused.status == .notPermitted)
        let replaced = ledger.perform(stamped(requests.make(old, .replace(newCard: fresh)), operation: 32))
        #expect(replaced.status == .approved)
        #expect(ledger.perform(requests.make(old, .balance)).status == .cardBlocked, "acknowledged first")
        ledger.close(snapshot: false)
        ledger = try Ledger.open(directory: directory.path, configuration: configuration)
        defer { ledger.close() }
        let operations = ledger.recoveryReports.flatMap(\.adminRecords).map(\.stamp.operation)
        #expect(operations == [32], "only the replace the destination applied is repaired")
    }
}
