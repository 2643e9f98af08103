import Foundation
import Loyalty
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// Regression tests from the review of the rules wiring (findings F1–F13 in the 2026-11-25 closing note): each
/// failed before its fix.
@Suite struct ReviewFindingsTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    static let referralRules = LedgerPurchaseTests.program(
        """
        "events": {"firstPurchasePoints": 100, "referrerPoints": 500, "referredFirstPurchasePoints": 200}
        """)

    func purchase(_ amountMinor: Int64, paidWithPoints: Int64 = 0) -> LedgerOperation {
        .purchase(
            transaction: Loyalty.Transaction(
                amountMinor: amountMinor, currencyCode: 364, merchantCategoryCode: 5411,
                merchant: ShortIdentifier("SHOP1")!, terminal: ShortIdentifier("T1")!, timeMs: 0,
                paidWithPointsAmountMinor: paidWithPoints),
            autoEnrol: true)
    }

    func totals() throws -> LedgerTotals {
        try Ledger.inspect(directory: directory.data, configuration: testConfiguration(clock: clock))
    }

    // F1: a purchase fully refunded and then reversed is undone twice.
    @Test("F1: reversing a fully refunded purchase takes nothing more: no second claw-back, no second un-count")
    mutating func reversalAfterFullRefund() throws {
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(Self.referralRules)
        defer { directory.remove() }
        _ = ledger.perform(requests.make(card(1), purchase(10_000)))  // referrer: 101
        _ = ledger.perform(requests.make(card(2), .profile(MemberProfile(referrer: card(1)))))
        let first = requests.make(card(2), purchase(20_000))
        #expect(ledger.perform(first).credited.points == 302)
        #expect(ledger.perform(requests.make(card(2), purchase(10_000))).credited.points == 1)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 601)
        let refund = ledger.perform(requests.make(card(2), .refund(originalKey: first.key, refundAmountMinor: 20_000)))
        #expect(refund.status == .approved && refund.debited.points == 302)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 101, "bonus taken back once")
        let reversal = ledger.perform(requests.make(card(2), .reverse(originalKey: first.key)))
        #expect(reversal.status == .approved && reversal.debited == .zero)
        // Correct: the referrer keeps 101 (the bonus was already taken back by the completing refund).
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 101, "bonus taken back twice")
        ledger.close()
        // card(1): 1 purchase; card(2): 1 purchase left (the second one).
        let purchases = try totals().loyaltyPurchases
        #expect(purchases == 2, "the purchase was taken out of the counts twice: \(purchases)")
    }

    // F2: a purchase whose money part is 0 (field 54 type 91 == field 4) is un-counted by every partial refund.
    @Test("F2: partial refunds of a purchase paid in full with points do not remove it from the counts")
    mutating func partialRefundOfPointsPaidPurchase() throws {
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(Self.referralRules)
        defer { directory.remove() }
        _ = ledger.perform(requests.make(card(1), purchase(10_000)))
        _ = ledger.perform(requests.make(card(1), purchase(10_000)))
        let paid = requests.make(card(1), purchase(30_000, paidWithPoints: 30_000))
        #expect(ledger.perform(paid).status == .approved)
        for _ in 0..<2 {
            let part = ledger.perform(requests.make(card(1), .refund(originalKey: paid.key, refundAmountMinor: 10_000)))
            #expect(part.status == .approved)
        }
        ledger.close()
        // Two partial refunds of a still not fully refunded purchase: all three purchases still count.
        let purchases = try totals().loyaltyPurchases
        #expect(purchases == 3, "counted: \(purchases)")
    }

    // F3: reversing a refund after the purchase itself was reversed gives the refunded points back.
    @Test("F3: purchase, partial refund, reversal of the purchase, reversal of the refund: the member ends at 0")
    mutating func refundReversalAfterPurchaseReversal() throws {
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(LedgerPurchaseTests.rules(version: 1, pointsPer1000: 1))
        defer {
            ledger.close()
            directory.remove()
        }
        let buy = requests.make(card(1), purchase(10_000))
        #expect(ledger.perform(buy).credited.points == 10)
        let refund = requests.make(card(1), .refund(originalKey: buy.key, refundAmountMinor: 5_000))
        #expect(ledger.perform(refund).debited.points == 5)
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: buy.key))).debited.points == 5)
        let undone = ledger.perform(requests.make(card(1), .reverse(originalKey: refund.key)))
        // The purchase no longer exists: nothing may come back (declined, or approved with nothing credited).
        #expect(
            ledger.perform(requests.make(card(1), .balance)).balance.points == 0, "\(undone.status) \(undone.credited)")
    }
}

/// Coalition origins.
@Suite struct ReviewCoalitionFindingsTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    func totals(_ configuration: LedgerConfiguration) throws -> LedgerTotals {
        try Ledger.inspect(directory: directory.data, configuration: configuration)
    }

    // F4: a reversed payment gives back all it took with the settled partner's origin (or none).
    @Test("F4: a reversed payment gives back KIOSK points as KIOSK points, not as BAKERY points")
    mutating func reversalKeepsEachOrigin() throws {
        let configuration = testConfiguration(clock: clock)
        var ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        ledger.setRules(LedgerCoalitionTests.rules)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(100_000, at: "BAKERY")))  // 100
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(50_000, at: "KIOSK")))  // 50
        let atFlorist = requests.make(card(1), LedgerCoalitionTests.pay(1_500, at: "FLORIST"))
        #expect(ledger.perform(atFlorist).debited.points == 150)
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: atFlorist.key))).status == .approved)
        // The 50 KIOSK points pay anywhere, GARAGE included.
        let garage = ledger.perform(requests.make(card(1), LedgerCoalitionTests.pay(500, at: "GARAGE")))
        #expect(garage.debited.points == 50, "KIOSK points became BAKERY points: \(garage.status)")
        ledger.close()
        ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        ledger.setRules(LedgerCoalitionTests.rules)
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.pay(1_500, at: "FLORIST")))
        ledger.close()
        // BAKERY issued 100 of the points spent at FLORIST: it owes 100 points (1,000), not more.
        let settlement = try totals(configuration).settlements
        #expect(settlement.first?.points == 100 && settlement.first?.valueMinor == 1_000, "\(settlement)")
    }

    // F4b: a reversed branch payment (nothing settled) returns BAKERY points untagged: they pay at GARAGE.
    @Test("F4b: a reversed payment at a branch gives BAKERY points back as BAKERY points")
    mutating func reversalOfUnsettledPayment() throws {
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(LedgerCoalitionTests.rules)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(100_000, at: "BAKERY")))
        let atBranch = requests.make(card(1), LedgerCoalitionTests.pay(1_000, at: "BAKERY2"))
        #expect(ledger.perform(atBranch).debited.points == 100)
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: atBranch.key))).status == .approved)
        let garage = ledger.perform(requests.make(card(1), LedgerCoalitionTests.pay(500, at: "GARAGE")))
        #expect(garage.status == .notPermittedAtMerchant, "BAKERY points paid at GARAGE: \(garage.debited)")
    }

    // F5: at lotsPerMemberMax, a credit joins the latest lot whatever its origin.
    @Test("F5: at the lot limit, FLORIST points do not become spendable at GARAGE")
    mutating func lotLimitMergesOrigins() throws {
        var configuration = testConfiguration(clock: clock)
        configuration.lotsPerMemberMax = 2
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        ledger.setRules(LedgerCoalitionTests.rules)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(100_000, at: "BAKERY")))  // 100
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(5_000, at: "KIOSK")))  // 5
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(50_000, at: "FLORIST")))  // 50
        let garage = ledger.perform(requests.make(card(1), LedgerCoalitionTests.pay(5_000, at: "GARAGE")))
        #expect(garage.debited.points == 5, "only the KIOSK points may pay at GARAGE, paid \(garage.debited.points)")
    }
}

@Suite struct ReviewReferralFindingsTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    // F6: a remote referrer unknown at the purchase (bonus refused) is charged the claw-back once it is enrolled.
    @Test("F6: a bonus the destination refused is not taken back later")
    mutating func clawBackOfRefusedBonus() throws {
        let ledger = try Ledger.open(
            directory: directory.data, configuration: testConfiguration(shards: 2, clock: clock))
        ledger.setRules(ReviewFindingsTests.referralRules)
        defer {
            ledger.close()
            directory.remove()
        }
        let (referrer, number) = card(onShard: 0, of: ledger, startingAt: 100)
        let (referred, _) = card(onShard: 1, of: ledger, startingAt: number + 1)
        #expect(
            ledger.perform(requests.make(referred, .profile(MemberProfile(referrer: referrer)))).status == .approved)
        let first = requests.make(referred, LedgerPurchaseTests.purchase(10_000))
        #expect(ledger.perform(first).credited.points == 301)
        usleep(200_000)  // the bonus transfer reaches shard 0: unknown card, refused
        #expect(ledger.perform(requests.make(referrer, .balance)).status == .unknownCard)
        #expect(ledger.perform(requests.make(referrer, LedgerPurchaseTests.purchase(10_000))).credited.points == 101)
        #expect(ledger.perform(requests.make(referred, .reverse(originalKey: first.key))).status == .approved)
        usleep(300_000)  // the claw-back transfer reaches shard 0
        #expect(
            ledger.perform(requests.make(referrer, .balance)).balance.points == 101,
            "charged for a bonus it never received")
    }
}

@Suite struct ReviewHoldFindingsTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    mutating func atMerchant(_ operation: LedgerOperation, _ merchant: String) -> LedgerRequest {
        var request = requests.make(card(1), operation)
        request.merchant = MerchantName(ShortIdentifier(merchant)!)
        return request
    }

    // F8: a hold reserves an amount, not the lots it was approved on; its capture then spends lots its merchant
    // may not take (GARAGE's points at FLORIST), settling nothing.
    @Test("F8: a capture at FLORIST never spends GARAGE points")
    mutating func holdDoesNotReserveItsLots() throws {
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(LedgerCoalitionTests.rules)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(100_000, at: "BAKERY")))  // 100
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(100_000, at: "GARAGE")))  // 100
        let hold = atMerchant(
            .hold(asset: .points, amount: 100, allowPartial: false, expiresAfterMs: 60_000), "FLORIST")
        #expect(ledger.perform(hold).status == .approved, "100 BAKERY points may pay at FLORIST")
        // Meanwhile the member pays at BAKERY2 (a branch): the only lots allowed there are the BAKERY ones, and
        // they are held, so nothing pays: the GARAGE points would, but not here (58).
        let atBranch = ledger.perform(requests.make(card(1), LedgerCoalitionTests.pay(1_000, at: "BAKERY2")))
        #expect(atBranch.status == .notPermittedAtMerchant && atBranch.debited == .zero)
        // The capture takes the held BAKERY points, never GARAGE ones, and settles them with FLORIST.
        let capture = ledger.perform(atMerchant(.capture(holdKey: hold.key, amount: 100), "FLORIST"))
        #expect(capture.status == .approved && capture.debited.points == 100)
        ledger.close()
        let settlement = try Ledger.inspect(directory: directory.data, configuration: testConfiguration(clock: clock))
        #expect(settlement.settlements.first?.points == 100, "BAKERY owes FLORIST for the 100 held points")
    }
}

@Suite struct ReviewExpiryFindingsTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()
    static let dayMs: Int64 = 86_400_000

    // F11: value given back by a reversal takes the ledger configuration's life (here: never), not the rules'.
    @Test("F11: points that live 30 days by the rules still expire after a payment of them is reversed")
    mutating func reversalKeepsRulesLife() throws {
        let rules = try! Loyalty.Program(
            json: Array(
                """
                {"version": 1, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 1000}},
                 "expiry": {"pointsLifeDays": 30}}
                """.utf8))
        clock.set(ms: 20_000 * Self.dayMs)
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(rules)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), LedgerPurchaseTests.purchase(10_000)))  // 10 points, 30 days
        let pay = requests.make(
            card(1), .pay(amountMinor: 10, policy: rules.redemption, merchant: ShortIdentifier("SHOP1")!))
        #expect(ledger.perform(pay).debited.points == 10)
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: pay.key))).credited.points == 10)
        clock.advance(byMs: 400 * Self.dayMs)
        #expect(
            ledger.perform(requests.make(card(1), .balance)).balance.points == 0,
            "pay + reversal turned 30-day points into points that never expire")
    }
}

extension ReviewFindingsTests {
    // F12: a refund's reversal restores one-off bonuses that a later purchase has already been paid again.
    @Test(
        "F12: the first-purchase and referral bonuses are paid once even when a refund of the first purchase is reversed"
    )
    mutating func bonusesPaidOnce() throws {
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(Self.referralRules)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), purchase(10_000)))  // referrer: 101
        _ = ledger.perform(requests.make(card(2), .profile(MemberProfile(referrer: card(1)))))
        let first = requests.make(card(2), purchase(20_000))
        #expect(ledger.perform(first).credited.points == 302)
        let refund = requests.make(card(2), .refund(originalKey: first.key, refundAmountMinor: 20_000))
        #expect(ledger.perform(refund).debited.points == 302)
        #expect(ledger.perform(requests.make(card(2), purchase(10_000))).credited.points == 301, "first again")
        // Counting the first purchase again would pay its bonuses a second time: the refund's reversal is refused
        // (57) and changes nothing.
        let reversal = ledger.perform(requests.make(card(2), .reverse(originalKey: refund.key)))
        #expect(reversal.status == .notPermitted && reversal.credited == .zero)
        let referrer = ledger.perform(requests.make(card(1), .balance)).balance.points
        let referred = ledger.perform(requests.make(card(2), .balance)).balance.points
        // One referral bonus (500) and one set of first-purchase bonuses (100 + 200) in total.
        #expect(referrer == 601, "referrer holds \(referrer)")
        #expect(referred == 1 + 300, "referred holds \(referred)")
    }
}

extension ReviewCoalitionFindingsTests {
    // F4c: reversing a KIOSK purchase takes BAKERY points (oldest first) and leaves the KIOSK points.
    @Test("F4c: after the KIOSK purchase is reversed, nothing pays at GARAGE")
    mutating func earnReversalTakesOldestOrigin() throws {
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(LedgerCoalitionTests.rules)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(100_000, at: "BAKERY")))  // 100
        let kiosk = requests.make(card(1), LedgerCoalitionTests.purchase(50_000, at: "KIOSK"))  // 50
        _ = ledger.perform(kiosk)
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: kiosk.key))).debited.points == 50)
        let garage = ledger.perform(requests.make(card(1), LedgerCoalitionTests.pay(500, at: "GARAGE")))
        #expect(garage.status == .notPermittedAtMerchant, "BAKERY points turned into KIOSK points: \(garage.debited)")
    }
}

@Suite struct ReviewRecordSizeTests {
    @Test("the largest record bodies")
    func largestBodies() {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: WALRecord.bodyBytesMax, alignment: 16)
        defer { buffer.deallocate() }
        var purchase = PurchaseRecordTests.decidedPurchase()
        purchase.options.formUnion([.hasReference, .hasTerminalReference, .hasLotTerms])
        purchase.reference = IdempotencyKey(word0: 1, word1: 2)
        purchase.terminalReference = IdempotencyKey(word0: 3, word1: 4)
        purchase.lotTerms = LotTerms(pointsExpiresOnDay: 5, creditExpiresOnDay: 6, origin: 7)
        let purchaseBytes = WALRecord.encodeBody(
            WALRecord.Body(command: purchase, timeMs: 1, status: .approved, balanceAfter: .zero), at: buffer)
        var refund = ShardCommand(kind: .refund, key: IdempotencyKey(word0: 9, word1: 9))
        refund.options = [.decided, .hasTerminalReference]
        refund.terminalReference = IdempotencyKey(word0: 3, word1: 4)
        let refundBytes = WALRecord.encodeBody(
            WALRecord.Body(command: refund, timeMs: 1, status: .approved, balanceAfter: .zero), at: buffer)
        var capture = ShardCommand(kind: .capture, key: IdempotencyKey(word0: 9, word1: 9))
        capture.options = [.spending, .hasTerminalReference]
        capture.terminalReference = IdempotencyKey(word0: 3, word1: 4)
        let captureBytes = WALRecord.encodeBody(
            WALRecord.Body(command: capture, timeMs: 1, status: .approved, balanceAfter: .zero), at: buffer)
        var pay = ShardCommand(kind: .redeem, key: IdempotencyKey(word0: 9, word1: 9))
        pay.options = [.pay, .spending, .hasTerminalReference]
        pay.terminalReference = IdempotencyKey(word0: 3, word1: 4)
        let payBytes = WALRecord.encodeBody(
            WALRecord.Body(command: pay, timeMs: 1, status: .approved, balanceAfter: .zero), at: buffer)
        var reverse = ShardCommand(kind: .reverse, key: IdempotencyKey(word0: 9, word1: 9))
        reverse.options = [.decided, .hasLotTerms]
        reverse.lotTerms = LotTerms(pointsExpiresOnDay: 5, creditExpiresOnDay: 6, origin: 7)
        let reverseBytes = WALRecord.encodeBody(
            WALRecord.Body(command: reverse, timeMs: 1, status: .approved, balanceAfter: .zero), at: buffer)
        // Pinned: a larger body is a format change (and the purchase must keep its headroom under the maximum).
        let sizes: [Int] = [purchaseBytes, refundBytes, captureBytes, payBytes, reverseBytes]
        #expect(sizes == [396, 312, 220, 222, 292], "purchase, refund, capture, pay, reverse")
        #expect(WALRecord.bodyBytesMax - purchaseBytes >= 100, "room for the next field")
    }
}

extension ReviewCoalitionFindingsTests {
    // F13: lowering settlementPairsPerShardMax below the pairs in use is not refused by changeLimits; the meta is
    // rewritten and the directory then opens under neither the new nor the old limit.
    @Test("F13: a settlement limit below the pairs in use is refused and leaves the directory usable")
    mutating func settlementLimitChange() throws {
        let configuration = testConfiguration(clock: clock)
        var ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        ledger.setRules(LedgerCoalitionTests.rules)
        defer { directory.remove() }
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(100_000, at: "BAKERY")))
        _ = ledger.perform(requests.make(card(2), LedgerCoalitionTests.purchase(100_000, at: "FLORIST")))
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.pay(100, at: "FLORIST")))
        _ = ledger.perform(requests.make(card(2), LedgerCoalitionTests.pay(100, at: "BAKERY")))
        ledger.close()
        var smaller = configuration
        smaller.settlementPairsPerShardMax = 1
        var firstError = "none"
        do {
            ledger = try Ledger.open(directory: directory.data, configuration: smaller)
            ledger.close()
        } catch { firstError = "\(error)" }
        var reopenError = "none"
        do {
            ledger = try Ledger.open(directory: directory.data, configuration: configuration)
            ledger.close()
        } catch { reopenError = "\(error)" }
        #expect(reopenError == "none", "smaller: \(firstError); original limits again: \(reopenError)")
    }
}

extension ReviewHoldFindingsTests {
    // F8b: two holds at FLORIST are both approved on the same 100 BAKERY points (the allowed lots are not
    // reduced by what other holds reserve).
    @Test("F8b: FLORIST cannot hold the same 100 BAKERY points twice")
    mutating func twoHoldsOnOneLot() throws {
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(LedgerCoalitionTests.rules)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(100_000, at: "BAKERY")))  // 100
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(100_000, at: "GARAGE")))  // 100
        let hold = LedgerOperation.hold(asset: .points, amount: 100, allowPartial: false, expiresAfterMs: 60_000)
        let first = atMerchant(hold, "FLORIST")
        let second = atMerchant(hold, "FLORIST")
        #expect(ledger.perform(first).status == .approved)
        #expect(ledger.perform(second).status == .notPermittedAtMerchant, "both holds approved on 100 spendable points")
    }
}

extension ReviewFindingsTests {
    // F2b: the same, money side: a partial refund of a first purchase paid with points makes the one-off bonuses
    // (and the referrer's) payable again.
    @Test("F2b: after a partial refund of a points-paid first purchase, the next purchase is not a first purchase")
    mutating func partialRefundReopensBonuses() throws {
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(Self.referralRules)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), purchase(10_000)))  // referrer: 101
        _ = ledger.perform(requests.make(card(2), .profile(MemberProfile(referrer: card(1)))))
        let first = requests.make(card(2), purchase(20_000, paidWithPoints: 20_000))
        #expect(ledger.perform(first).credited.points == 300)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 601)
        _ = ledger.perform(requests.make(card(2), .refund(originalKey: first.key, refundAmountMinor: 2_000)))
        let next = ledger.perform(requests.make(card(2), purchase(10_000)))
        #expect(next.credited.points == 1, "first-purchase bonuses paid again: \(next.credited.points)")
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 601, "referrer paid twice")
    }
}

extension ReviewCoalitionFindingsTests {
    @Test("a smaller spentLotPartsPerShardMax keeps the newest parts and the directory opens under both limits")
    mutating func smallerSpentLotRing() throws {
        let configuration = testConfiguration(clock: clock)
        var ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        ledger.setRules(LedgerCoalitionTests.rules)
        defer { directory.remove() }
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(100_000, at: "BAKERY")))
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(50_000, at: "KIOSK")))
        _ = ledger.perform(requests.make(card(1), LedgerCoalitionTests.pay(200, at: "BAKERY")))
        let last = requests.make(card(1), LedgerCoalitionTests.pay(1_200, at: "FLORIST"))
        #expect(ledger.perform(last).debited.points == 120)
        ledger.close()
        var smaller = configuration
        smaller.spentLotPartsPerShardMax = 1
        ledger = try Ledger.open(directory: directory.data, configuration: smaller)
        ledger.setRules(LedgerCoalitionTests.rules)
        // The FLORIST payment took 80 BAKERY and 40 KIOSK points (two parts); a ring of one keeps the newest part.
        // The reversal gives that part back with its origin and the rest with the reversal's own terms.
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: last.key))).status == .approved)
        ledger.close()
        ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 130)
        ledger.close()
    }
}
