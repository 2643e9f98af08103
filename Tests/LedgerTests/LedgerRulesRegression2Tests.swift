import Foundation
import Loyalty
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// Regression tests from the second review (R2-1…R2-3 in the 2026-11-25 closing note): each failed before its fix.
@Suite struct LedgerRulesRegression2Tests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    // R2-1: giveBackSpentLots calls addToLots without canFormLots; at lotsPerMemberMax a part whose origin has no
    // lot falls back to `last` and joins another origin's lot.
    @Test("R2-1: a reversal at the lot limit that would mix origins is declined, not mixed")
    mutating func reversalAtLotLimitMixesOrigins() throws {
        var configuration = testConfiguration(clock: clock)
        configuration.lotsPerMemberMax = 2
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        ledger.setRules(LedgerCoalitionTests.rules)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(100_000, at: "BAKERY")))  // 100
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(50_000, at: "KIOSK")))  // 50
        let atFlorist = requests.make(card(1), LedgerCoalitionTests.pay(1_500, at: "FLORIST"))
        #expect(ledger.perform(atFlorist).debited.points == 150)
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(50_000, at: "FLORIST")))  // 50
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(10_000, at: "KIOSK")))  // 10
        // Giving the BAKERY part back would need a third lot (BAKERY has none left, the limit is 2): the reversal is
        // declined (96) and changes nothing, rather than mixing the BAKERY points into another origin's lot.
        let reversal = ledger.perform(requests.make(card(1), .reverse(originalKey: atFlorist.key)))
        #expect(reversal.status == .capacityExceeded && reversal.credited == .zero)
        // Only the 10 KIOSK points may pay at GARAGE.
        let garage = ledger.perform(requests.make(card(1), LedgerCoalitionTests.pay(5_000, at: "GARAGE")))
        #expect(garage.debited.points == 10, "paid \(garage.debited.points)")
    }

    // R2-2: a refund's claw-back takes BAKERY points (takeBackFromOrigin); reversing the refund gives them back with
    // the reversal's own origin (0, spendable anywhere), so they pay at GARAGE.
    @Test("R2-2: reversing a refund gives BAKERY points back as anywhere points")
    mutating func refundReversalLosesOrigin() throws {
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(LedgerCoalitionTests.rules)
        defer {
            ledger.close()
            directory.remove()
        }
        let purchase = requests.make(card(1), LedgerCoalitionTests.purchase(100_000, at: "BAKERY"))  // 100
        #expect(ledger.perform(purchase).credited.points == 100)
        let refund = requests.make(card(1), .refund(originalKey: purchase.key, refundAmountMinor: 50_000))
        #expect(ledger.perform(refund).debited.points == 50)
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: refund.key))).status == .approved)
        let garage = ledger.perform(requests.make(card(1), LedgerCoalitionTests.pay(5_000, at: "GARAGE")))
        #expect(garage.debited.points == 0, "BAKERY points paid at GARAGE: \(garage.debited.points)")
    }

    static let coalitionReferral = try! Loyalty.Program(
        json: Array(
            """
            {"version": 1, "currency": 364,
             "groups": [{"id": "MALL", "kind": "coalition"}, {"id": "BAKERY-CO", "kind": "branches"}],
             "merchants": [{"id": "BAKERY", "groups": ["BAKERY-CO", "MALL"]}, {"id": "FLORIST", "groups": ["MALL"]},
                           {"id": "KIOSK"}],
             "earning": {"default": {"points": 1, "perAmountMinor": 1000}},
             "events": {"firstPurchasePoints": 100, "referrerPoints": 500, "referredFirstPurchasePoints": 200},
             "redemption": {"pointValueMinor": 10, "partialApproval": true}}
            """.utf8))

    // R2-3: reversing the completing refund pays the referrer again (redoDecision -> payReferrer), but a refusal
    // there (here: the referrer is at lotsPerMemberMax with no lot of the reversal's origin) is ignored, so
    // referrerBonusPoints stays and the next completing refund claws back a bonus that was never paid again.
    @Test("R2-3: a referrer bonus refused on a refund reversal is still clawed back by the next full refund")
    mutating func refusedRedoBonusClawedBack() throws {
        var configuration = testConfiguration(clock: clock)
        configuration.lotsPerMemberMax = 1
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        ledger.setRules(Self.coalitionReferral)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(10_000, at: "BAKERY")))
        let start = ledger.perform(requests.make(card(1), .balance)).balance.points
        #expect(ledger.perform(requests.make(card(2), .profile(MemberProfile(referrer: card(1))))).status == .approved)
        let first = requests.make(card(2), LedgerCoalitionTests.purchase(10_000, at: "BAKERY"))
        #expect(ledger.perform(first).status == .approved)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == start + 500, "bonus paid")
        let refund = requests.make(card(2), .refund(originalKey: first.key, refundAmountMinor: 10_000))
        #expect(ledger.perform(refund).status == .approved)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == start, "bonus taken back")
        #expect(ledger.perform(requests.make(card(2), .reverse(originalKey: refund.key))).status == .approved)
        let afterRedo = ledger.perform(requests.make(card(1), .balance)).balance.points
        let again = ledger.perform(
            requests.make(card(2), .refund(originalKey: first.key, refundAmountMinor: 10_000)))
        #expect(again.status == .approved)
        let end = ledger.perform(requests.make(card(1), .balance)).balance.points
        #expect(end == afterRedo - (afterRedo - start), "redo paid \(afterRedo - start); full refund left \(end)")
        #expect(end >= start, "referrer charged for a bonus it never got back: start \(start), end \(end)")
    }
}
