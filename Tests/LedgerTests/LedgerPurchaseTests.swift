import Foundation
import Loyalty
import Testing

@testable import Ledger

/// Purchases decided by the loyalty rules on the shard: the decision is logged, so replay never asks the rules.
@Suite struct LedgerPurchaseTests {
    let directory = TemporaryDirectory()
    let clock = TestClock()
    var requests = RequestFactory()

    static func rules(version: Int64, pointsPer1000: Int64, creditBasisPoints: Int64 = 0) -> Loyalty.Program {
        let json = """
            {"version": \(version), "currency": 364,
             "earning": {"default": {"points": \(pointsPer1000), "perAmountMinor": 1000}},
             "storeCredit": {"default": {"steps": [{"fromAmountMinor": 0, "basisPoints": \(creditBasisPoints)}]}}}
            """
        return try! Loyalty.Program(json: Array(json.utf8))
    }

    static func purchase(_ amountMinor: Int64, merchant: String = "SHOP1") -> LedgerOperation {
        .purchase(
            transaction: Loyalty.Transaction(
                amountMinor: amountMinor, currencyCode: 364, merchantCategoryCode: 5411,
                merchant: ShortIdentifier(merchant)!, terminal: ShortIdentifier("T1")!, timeMs: 0),
            autoEnrol: true)
    }

    func open(_ program: Loyalty.Program?) throws -> Ledger {
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        if let program { ledger.setRules(program) }
        return ledger
    }

    func totals() throws -> LedgerTotals {
        try Ledger.inspect(directory: directory.data, configuration: testConfiguration(clock: clock))
    }

    @Test("a purchase earns what the rules decide (points and credit) and counts into the member's aggregates")
    mutating func purchaseEarnsByTheRules() throws {
        let ledger = try open(Self.rules(version: 1, pointsPer1000: 2, creditBasisPoints: 500))
        defer { directory.remove() }
        let reply = ledger.perform(requests.make(card(1), Self.purchase(25_500)))
        #expect(reply.status == .approved)
        #expect(reply.credited == AssetAmounts(points: 50, credit: 1275))
        #expect(reply.receipt == LoyaltyReceipt(isDecided: true, tier: 0, tierBefore: 0, rulesVersion: 1))
        _ = ledger.perform(requests.make(card(1), Self.purchase(1_000)))
        ledger.close()
        let totals = try totals()
        #expect(totals.loyaltyPurchases == 2 && totals.loyaltyVolumeMinor == 26_500)
        #expect(totals.balance == AssetAmounts(points: 52, credit: 1325))
    }

    @Test("after a crash, replay under other rules reproduces the balances and aggregates the old rules decided")
    mutating func replayAfterRulesChange() throws {
        var ledger = try open(Self.rules(version: 1, pointsPer1000: 2))
        defer {
            ledger.close()
            directory.remove()
        }
        let first = requests.make(card(1), Self.purchase(10_000))
        _ = ledger.perform(first)
        _ = ledger.perform(requests.make(card(2), Self.purchase(7_000)))
        ledger.close(snapshot: false)
        // Version 2 pays five times as much; the logged decisions of version 1 must stand.
        ledger = try open(Self.rules(version: 2, pointsPer1000: 10))
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 20)
        #expect(ledger.perform(requests.make(card(2), .balance)).balance.points == 14)
        let repeated = ledger.perform(first)
        #expect(repeated.isReplay && repeated.credited.points == 20 && repeated.receipt.rulesVersion == 1)
        let next = ledger.perform(requests.make(card(1), Self.purchase(1_000)))
        #expect(next.credited.points == 10 && next.receipt.rulesVersion == 2)
        ledger.close()
        ledger = try open(nil)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 30)
        ledger.close()
        let totals = try totals()
        #expect(totals.loyaltyPurchases == 3 && totals.loyaltyVolumeMinor == 18_000)
    }

    @Test("a reversal takes the purchase out of the aggregates; refunds lower the volume and the last one the count")
    mutating func reversalAndRefundUndoTheAggregates() throws {
        let ledger = try open(Self.rules(version: 1, pointsPer1000: 1))
        defer { directory.remove() }
        let kept = requests.make(card(1), Self.purchase(4_000))
        let reversed = requests.make(card(1), Self.purchase(9_000))
        let refunded = requests.make(card(1), Self.purchase(6_000))
        for request in [kept, reversed, refunded] { #expect(ledger.perform(request).status == .approved) }
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: reversed.key))).status == .approved)
        let part = ledger.perform(requests.make(card(1), .refund(originalKey: refunded.key, refundAmountMinor: 2_000)))
        #expect(part.status == .approved && part.debited.points == 2)
        ledger.close()
        var totals = try totals()
        #expect(totals.loyaltyPurchases == 2 && totals.loyaltyVolumeMinor == 8_000)
        #expect(totals.balance.points == 8)
        let reopened = try open(Self.rules(version: 1, pointsPer1000: 1))
        let rest = reopened.perform(
            requests.make(card(1), .refund(originalKey: refunded.key, refundAmountMinor: 4_000)))
        #expect(rest.status == .approved && rest.debited.points == 4)
        reopened.close(snapshot: false)
        totals = try self.totals()
        #expect(totals.loyaltyPurchases == 1 && totals.loyaltyVolumeMinor == 4_000 && totals.balance.points == 4)
    }
}
