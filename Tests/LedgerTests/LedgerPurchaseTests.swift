import Foundation
import Loyalty
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// Purchases decided by the loyalty rules on the shard: the decision is logged, so replay never asks the rules.
@Suite struct LedgerPurchaseTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    static func rules(version: Int64, pointsPer1000: Int64, creditBasisPoints: Int64 = 0) -> Loyalty.Program {
        let json = """
            {"version": \(version), "currency": 364,
             "earning": {"default": {"points": \(pointsPer1000), "perAmountMinor": 1000}},
             "storeCredit": {"default": {"steps": [{"fromAmountMinor": 0, "basisPoints": \(creditBasisPoints)}]}}}
            """
        return try! Loyalty.Program(json: Array(json.utf8))
    }

    /// A program of version 1 in rials earning 1 point per whole 10,000, plus `sections` (JSON members).
    static func program(_ sections: String) -> Loyalty.Program {
        let json = """
            {"version": 1, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 10000}}, \(sections)}
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

/// The brief's scenarios through the ledger, on a clock the test moves: offers and tiers decided from the member's
/// own history, and a reversal that undoes exactly what its purchase did.
@Suite struct LedgerLoyaltyScenarioTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()
    static let dayMs: Int64 = 86_400_000

    /// 1 point per 10,000; tiers by volume over 365 days (SILVER from 400,000, ×2 points); the frequent small
    /// spender's offer: 20% credit on a purchase of at least 200,000 after 3 purchases averaging ≤ 100,000 at most
    /// 14 days apart.
    static let rules = LedgerPurchaseTests.program(
        """
        "tiers": {"windowDays": 365, "by": "volume", "levels": [{"id": "BRONZE", "from": 0},
                  {"id": "SILVER", "from": 400000, "pointsMultiplierPercent": 200}]},
        "offers": [{"id": "FREQUENT-SMALL", "from": "2020-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z",
          "eligibility": {"purchasesAtLeast": 3, "averageTicketMaxMinor": 100000, "averageIntervalDaysMax": 14},
          "trigger": {"purchaseAtLeastMinor": 200000}, "reward": {"creditBasisPoints": 2000}}]
        """)

    func purchase(_ amountMinor: Int64) -> LedgerOperation { LedgerPurchaseTests.purchase(amountMinor) }

    @Test(
        "50,000 every 10 days, then 250,000: 20% credit and SILVER on that purchase; its reversal (or full refund) undoes both",
        arguments: [false, true])
    mutating func reversalUndoesOfferAndTier(byRefund: Bool) throws {
        // Mid-window, so the 40 days below stay inside one 365-day tier window.
        clock.set(ms: 56 * 365 * Self.dayMs + 100 * Self.dayMs)
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(Self.rules)
        defer { directory.remove() }
        for _ in 0..<4 {
            #expect(ledger.perform(requests.make(card(1), purchase(50_000))).credited.points == 5)
            clock.advance(byMs: 10 * Self.dayMs)
        }
        let big = requests.make(card(1), purchase(250_000))
        let reply = ledger.perform(big)
        // 450,000 in the window crosses SILVER's 400,000: this purchase still earns at BRONZE (25 points).
        #expect(reply.credited == AssetAmounts(points: 25, credit: 50_000))
        #expect(reply.receipt.tierBefore == 0 && reply.receipt.tier == 1 && reply.receipt.offerAppliedHash != 0)
        #expect(ledger.perform(requests.make(card(1), .balance)).receipt.tier == 1)
        let undo: LedgerOperation =
            byRefund ? .refund(originalKey: big.key, refundAmountMinor: 250_000) : .reverse(originalKey: big.key)
        let reversal = ledger.perform(requests.make(card(1), undo))
        #expect(reversal.status == .approved && reversal.debited == AssetAmounts(points: 25, credit: 50_000))
        #expect(ledger.perform(requests.make(card(1), .balance)).receipt.tier == 0, "the upgrade is undone")
        // The offer's use was given back: the next qualifying purchase gets it (and the upgrade) again.
        let again = ledger.perform(requests.make(card(1), purchase(250_000)))
        #expect(again.credited == AssetAmounts(points: 25, credit: 50_000) && again.receipt.tier == 1)
        let after = ledger.perform(requests.make(card(1), purchase(100_000)))
        #expect(after.credited == AssetAmounts(points: 20, credit: 0), "SILVER doubles; the offer is used up")
        ledger.close()
        let totals = try Ledger.inspect(directory: directory.data, configuration: testConfiguration(clock: clock))
        #expect(totals.membersByTier == [0, 1] && totals.loyaltyPurchases == 6)
        #expect(totals.balance == AssetAmounts(points: 20 + 25 + 20, credit: 50_000))
    }

    @Test("500,000 every 45 days: offered 20% credit for coming back within 20 days; paid at day 15, not at day 25")
    mutating func returnOffer() throws {
        let rules = LedgerPurchaseTests.program(
            """
            "offers": [{"id": "COME-BACK", "from": "2020-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z",
              "eligibility": {"purchasesAtLeast": 2, "averageTicketMinMinor": 300000, "averageIntervalDaysMin": 30},
              "trigger": {"returnWithinDays": 20}, "reward": {"creditBasisPoints": 2000}, "usesPerMemberMax": 3}]
            """)
        clock.set(ms: 20_000 * Self.dayMs)
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(rules)
        defer {
            ledger.close()
            directory.remove()
        }
        var grants: [UInt32] = []
        for index in 0..<3 {
            if index > 0 { clock.advance(byMs: 45 * Self.dayMs) }
            let reply = ledger.perform(requests.make(card(3), purchase(500_000)))
            #expect(reply.credited.credit == 0)
            grants.append(reply.receipt.offerGrantedHash)
        }
        #expect(grants[0] == 0 && grants[1] == 0 && grants[2] != 0, "granted once the history shows the pattern")
        // Back 15 days after the grant (the ledger's time never goes backwards, so the clock only moves on).
        clock.advance(byMs: 15 * Self.dayMs)
        let back = ledger.perform(requests.make(card(3), purchase(100_000)))
        #expect(back.credited.credit == 20_000 && back.receipt.offerAppliedHash == grants[2])
        // 45 days on, the pattern holds again and another grant comes; returning at day 25 gets nothing.
        clock.advance(byMs: 45 * Self.dayMs)
        let granted = ledger.perform(requests.make(card(3), purchase(500_000)))
        clock.advance(byMs: 25 * Self.dayMs)
        let late = ledger.perform(requests.make(card(3), purchase(100_000)))
        #expect(granted.receipt.offerGrantedHash != 0 && late.credited.credit == 0)
    }

    @Test("a SILVER member who does not requalify is BRONZE from the purchase after the next window ends")
    mutating func downgradeAtWindowEnd() throws {
        let windowMs = 365 * Self.dayMs
        clock.set(ms: 56 * windowMs + 10 * Self.dayMs)
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(Self.rules)
        defer {
            ledger.close()
            directory.remove()
        }
        #expect(ledger.perform(requests.make(card(2), purchase(500_000))).receipt.tier == 1)
        // Next window: SILVER carries over (it was earned in the window before) and doubles points.
        clock.set(ms: 57 * windowMs + 10 * Self.dayMs)
        let carried = ledger.perform(requests.make(card(2), purchase(100_000)))
        #expect(carried.receipt.tier == 1 && carried.credited.points == 20)
        // The window after: 100,000 did not requalify, so the member is BRONZE again — an inquiry shows it at once.
        clock.set(ms: 58 * windowMs + 10 * Self.dayMs)
        let inquiry = requests.make(card(2), .balance)
        #expect(ledger.perform(inquiry).receipt.tier == 0)
        let downgraded = ledger.perform(requests.make(card(2), purchase(100_000)))
        // The receipt shows the change (SILVER before, BRONZE now); the purchase earns at BRONZE.
        #expect(downgraded.receipt.tierBefore == 1 && downgraded.receipt.tier == 0 && downgraded.credited.points == 10)
    }
}

/// Enrolment with a birthday and a referrer, and the event bonuses they unlock (the referrer's across shards).
@Suite struct LedgerReferralTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()
    static let dayMs: Int64 = 86_400_000

    /// 1 point per 10,000; 100 for the first purchase, 500 for the referrer, 200 for the referred member's first
    /// purchase, 300 on a birthday (within 3 days either side).
    static let rules = LedgerPurchaseTests.program(
        """
        "events": {"firstPurchasePoints": 100, "referrerPoints": 500, "referredFirstPurchasePoints": 200,
                   "birthdayPoints": 300, "birthdayWindowDays": 3}
        """)

    func purchase(_ amountMinor: Int64) -> LedgerOperation { LedgerPurchaseTests.purchase(amountMinor) }

    func open(shards: Int) throws -> Ledger {
        let ledger = try Ledger.open(
            directory: directory.data, configuration: testConfiguration(shards: shards, clock: clock))
        ledger.setRules(Self.rules)
        return ledger
    }

    @Test("a profile is set once: the same values again change nothing, others are refused; no self-referral")
    mutating func profileIsSetOnce() throws {
        let ledger = try open(shards: 1)
        defer {
            ledger.close()
            directory.remove()
        }
        let march15 = MemberProfile(birthMonth: 3, birthDay: 15, referrer: card(2))
        #expect(ledger.perform(requests.make(card(1), .profile(march15))).status == .approved, "enrols the card")
        #expect(ledger.perform(requests.make(card(1), .profile(march15))).status == .approved)
        #expect(
            ledger.perform(requests.make(card(1), .profile(MemberProfile(birthMonth: 3, birthDay: 16)))).status
                == .notPermitted)
        #expect(
            ledger.perform(requests.make(card(1), .profile(MemberProfile(referrer: card(3))))).status
                == .notPermitted)
        #expect(
            ledger.perform(requests.make(card(4), .profile(MemberProfile(referrer: card(4))))).status
                == .notPermitted)
        #expect(
            ledger.perform(requests.make(card(4), .profile(MemberProfile(birthMonth: 2, birthDay: 32)))).status
                == .invalidAmount)
        // A referrer named after the first purchase earns nothing: refused.
        _ = ledger.perform(requests.make(card(5), purchase(10_000)))
        #expect(
            ledger.perform(requests.make(card(5), .profile(MemberProfile(referrer: card(2))))).status
                == .notPermitted)
    }

    @Test("the referred member's first purchase pays the referrer on another shard; its reversal takes it back")
    mutating func referralAcrossShards() throws {
        var ledger = try open(shards: 2)
        defer {
            ledger.close()
            directory.remove()
        }
        let (referrer, number) = card(onShard: 0, of: ledger, startingAt: 100)
        let (referred, _) = card(onShard: 1, of: ledger, startingAt: number + 1)
        #expect(ledger.perform(requests.make(referrer, purchase(10_000))).credited.points == 101)
        #expect(
            ledger.perform(requests.make(referred, .profile(MemberProfile(referrer: referrer)))).status == .approved)
        let first = requests.make(referred, purchase(10_000))
        // 1 + 100 (first purchase) + 200 (referred); the referrer's 500 travel to shard 0.
        #expect(ledger.perform(first).credited.points == 301)
        #expect(waitForPoints(ledger, referrer, 601))
        #expect(ledger.perform(requests.make(referred, purchase(10_000))).credited.points == 1, "only the first")
        #expect(ledger.perform(requests.make(referred, .reverse(originalKey: first.key))).debited.points == 301)
        #expect(waitForPoints(ledger, referrer, 101))
        ledger.close(snapshot: false)
        ledger = try open(shards: 2)
        #expect(ledger.perform(requests.make(referrer, .balance)).balance.points == 101)
        #expect(ledger.perform(requests.make(referred, .balance)).balance.points == 1)
    }

    @Test("a first purchase refunded in two parts takes the referral bonus back at the part that completes it")
    mutating func refundTakesReferralBack() throws {
        let ledger = try open(shards: 1)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), purchase(10_000)))
        _ = ledger.perform(requests.make(card(2), .profile(MemberProfile(referrer: card(1)))))
        let first = requests.make(card(2), purchase(20_000))
        #expect(ledger.perform(first).credited.points == 302)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 601)
        _ = ledger.perform(requests.make(card(2), .refund(originalKey: first.key, refundAmountMinor: 10_000)))
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 601, "a part keeps the bonus")
        _ = ledger.perform(requests.make(card(2), .refund(originalKey: first.key, refundAmountMinor: 10_000)))
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 101)
        #expect(ledger.perform(requests.make(card(2), .balance)).balance.points == 0)
    }

    @Test("reversing the refund of a first purchase counts it again: tier, bonuses paid once, the referrer paid again")
    mutating func refundReversalCountsAgain() throws {
        let rules = LedgerPurchaseTests.program(
            """
            "tiers": {"windowDays": 365, "by": "count", "levels": [{"id": "BRONZE", "from": 0},
                      {"id": "SILVER", "from": 2, "pointsMultiplierPercent": 200}]},
            "events": {"firstPurchasePoints": 100, "referrerPoints": 500, "referredFirstPurchasePoints": 200}
            """)
        var ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(rules)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), purchase(10_000)))
        _ = ledger.perform(requests.make(card(2), .profile(MemberProfile(referrer: card(1)))))
        let first = requests.make(card(2), purchase(20_000))
        #expect(ledger.perform(first).credited.points == 302)
        #expect(ledger.perform(requests.make(card(2), purchase(10_000))).receipt.tier == 1)
        let refund = requests.make(card(2), .refund(originalKey: first.key, refundAmountMinor: 20_000))
        #expect(ledger.perform(refund).debited.points == 302)
        #expect(ledger.perform(requests.make(card(2), .balance)).receipt.tier == 0, "one purchase left: BRONZE")
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 101, "bonus taken back")
        let reversal = ledger.perform(requests.make(card(2), .reverse(originalKey: refund.key)))
        #expect(reversal.status == .approved && reversal.credited.points == 302)
        #expect(ledger.perform(requests.make(card(2), .balance)).receipt.tier == 1, "counted again: SILVER")
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 601, "the referrer paid again")
        // The bonuses stay paid: the next purchase earns only its rate, doubled by SILVER.
        #expect(ledger.perform(requests.make(card(2), purchase(10_000))).credited.points == 2)
        ledger.close(snapshot: false)
        ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        #expect(ledger.perform(requests.make(card(2), .balance)).balance.points == 302 + 1 + 2)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 601)
    }

    @Test("a referrer on the same shard is paid in the same record; a referrer nobody knows gets nothing")
    mutating func referralOnOneShard() throws {
        let ledger = try open(shards: 1)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), purchase(10_000)))
        _ = ledger.perform(requests.make(card(2), .profile(MemberProfile(referrer: card(1)))))
        _ = ledger.perform(requests.make(card(3), .profile(MemberProfile(referrer: card(99)))))
        #expect(ledger.perform(requests.make(card(2), purchase(10_000))).credited.points == 301)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 601)
        #expect(ledger.perform(requests.make(card(3), purchase(10_000))).credited.points == 301)
        #expect(ledger.perform(requests.make(card(99), .balance)).status == .unknownCard, "not enrolled by a bonus")
    }

    @Test("the birthday bonus: a purchase within 3 days of the birthday gets 300, once a year")
    mutating func birthdayBonus() throws {
        // 2026-03-13T12:00:00Z, two days before a 15 March birthday.
        clock.set(ms: 1_773_403_200_000)
        let ledger = try open(shards: 1)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), purchase(10_000)))
        _ = ledger.perform(requests.make(card(1), .profile(MemberProfile(birthMonth: 3, birthDay: 15))))
        #expect(ledger.perform(requests.make(card(1), purchase(10_000))).credited.points == 301)
        #expect(ledger.perform(requests.make(card(1), purchase(10_000))).credited.points == 1, "once a year")
    }

    /// Bonus transfers arrive after the purchase's reply: polls the balance (at most 2 s).
    func waitForPoints(_ ledger: Ledger, _ card: CardNumber, _ points: Int64) -> Bool {
        var requests = RequestFactory(startingAt: 900_000)
        for _ in 0..<200 {
            if ledger.perform(requests.make(card, .balance)).balance.points == points { return true }
            usleep(10_000)
        }
        return false
    }
}

/// The rules' `expiry` section decides how long a purchase's points and credit live; the log keeps the days.
@Suite struct LedgerRulesExpiryTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()
    static let dayMs: Int64 = 86_400_000

    static func rules(version: Int64, pointsLifeDays: Int) -> Loyalty.Program {
        try! Loyalty.Program(
            json: Array(
                """
                {"version": \(version), "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 1000}},
                 "storeCredit": {"default": {"steps": [{"fromAmountMinor": 0, "basisPoints": 1000}]}},
                 "expiry": {"pointsLifeDays": \(pointsLifeDays), "creditLifeDays": 90}}
                """.utf8))
    }

    @Test("points live 30 days and credit 90 by the rules; the oldest lot expires first; replay keeps the old lives")
    mutating func rulesDecideLives() throws {
        clock.set(ms: 20_000 * Self.dayMs + 10 * 3_600_000)
        var ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(Self.rules(version: 1, pointsLifeDays: 30))
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), LedgerPurchaseTests.purchase(10_000)))  // 10 points, 1,000 credit
        clock.advance(byMs: 10 * Self.dayMs)
        _ = ledger.perform(requests.make(card(1), LedgerPurchaseTests.purchase(5_000)))  // 5 points, 500 credit
        // Day 30 after the first purchase, past 10:00: its points are gone, the second purchase's are not.
        clock.advance(byMs: 21 * Self.dayMs)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance == AssetAmounts(points: 5, credit: 1_500))
        ledger.close(snapshot: false)
        // Version 2 would keep points a year; the second purchase's lot keeps its recorded 30 days.
        ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(Self.rules(version: 2, pointsLifeDays: 365))
        clock.advance(byMs: 10 * Self.dayMs)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance == AssetAmounts(points: 0, credit: 1_500))
        clock.advance(byMs: 60 * Self.dayMs)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance == .zero, "credit lives 90 days")
        ledger.close()
        let totals = try Ledger.inspect(directory: directory.data, configuration: testConfiguration(clock: clock))
        #expect(totals.lotCounters.first?.expired == AssetAmounts(points: 15, credit: 1_500))
    }
}

/// The decision a purchase record carries, across the log boundary: written, read back equal, and refused when
/// its bytes say something a writer never writes (by the record reader when the record's shape is wrong, by the
/// decider before replay when the decider's own bytes are).
@Suite struct PurchaseRecordTests {
    static func decidedPurchase() -> ShardCommand {
        var command = ShardCommand(kind: .earn, key: IdempotencyKey(word0: 7, word1: 8))
        command.options = [.purchase, .decided, .autoEnrol]
        command.amounts = AssetAmounts(points: 12, credit: 300)
        command.amountMinor = 120_000
        command.rulesVersion = 9
        command.memberAfter = LoggedMemberState(Loyalty.Member(purchaseCount: 3, purchaseVolumeMinor: 360_000, tier: 1))
        command.purchaseEffect = LoggedPurchaseEffect(
            PurchaseEffect(moneyMinor: 120_000, timeMs: 1_767_225_600_000, tierBefore: 0))
        command.referrerBonusPoints = 500
        return command
    }

    func roundTrip(_ command: ShardCommand, mutate: (UnsafeMutableRawPointer, Int) -> Int = { $1 }) -> ShardCommand? {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: WALRecord.bodyBytesMax, alignment: 8)
        defer { buffer.deallocate() }
        let body = WALRecord.Body(command: command, timeMs: 1, status: .approved, balanceAfter: .zero)
        let length = mutate(buffer, WALRecord.encodeBody(body, at: buffer))
        return WALRecord.decodeBody(buffer, length: length)?.command
    }

    @Test("a decided purchase reads back with its version, member after, effect and referrer bonus")
    func readsBack() throws {
        let command = Self.decidedPurchase()
        let decoded = try #require(roundTrip(command))
        #expect(decoded.rulesVersion == 9 && decoded.memberAfter == command.memberAfter)
        #expect(decoded.purchaseEffect == command.purchaseEffect && decoded.referrerBonusPoints == 500)
        #expect(decoded.options == command.options && decoded.amounts == command.amounts)
    }

    @Test("refused: a cut decision, a negative effect amount, a negative bonus, a decision on a kind without one")
    func refusesWhatNoWriterWrites() {
        let command = Self.decidedPurchase()
        #expect(roundTrip(command) { _, length in length - 1 } == nil, "cut by one byte")
        // The effect's money part is the 8 bytes before the bonus (the body's last 8 bytes): make it negative. The
        // record reads back (the ledger does not read the decider's bytes); the decider refuses it before replay.
        let negativeMoney = roundTrip(command) { base, length in
            (base + length - 8 - PurchaseEffect.encodedByteCount + 7).storeBytes(of: 0x80, as: UInt8.self)
            return length
        }
        #expect(negativeMoney != nil && LoyaltyDecider().purchaseEffect(decoding: negativeMoney!.purchaseEffect) == nil)
        let state = ShardState(shardIndex: 0, shardCount: 1, limits: testConfiguration())
        #expect(ShardRecovery.unreadableDecision(negativeMoney!, state) == "malformed purchase effect")
        #expect(ShardRecovery.unreadableDecision(command, state) == nil)
        #expect(
            roundTrip(command) { base, length in
                (base + length - 1).storeBytes(of: 0x80, as: UInt8.self)
                return length
            } == nil, "negative referrer bonus")
        let block = ShardCommand(kind: .block, key: IdempotencyKey(word0: 1, word1: 2))
        #expect(
            roundTrip(block) { base, length in
                (base + 1).storeBytes(of: UInt8(CommandOptions.decided.rawValue), as: UInt8.self)
                return length
            } == nil, "a block carries no decision")
    }
}

/// Across recovery: a purchase record whose checksum is sound but whose member state no decider writes is
/// refused before replay, naming the file and the record's offset, and the log is left as it was.
@Suite struct PurchaseRecordRecoveryTests {
    let directory = TemporaryDirectory()
    var requests = RequestFactory()

    @Test("a sound checksum over a member state the decider refuses: open refuses, naming file and offset")
    mutating func implausibleMemberStateRefuses() throws {
        defer { directory.remove() }
        let configuration = testConfiguration()
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        ledger.setRules(LedgerPurchaseTests.rules(version: 1, pointsPer1000: 10))
        for index in 0..<3 { _ = ledger.perform(requests.make(card(index), LedgerPurchaseTests.purchase(10_000))) }
        ledger.close(snapshot: false)
        let segment = try #require(try SegmentFile.paths(in: directory.data + "/shard-000").last)
        var bytes = [UInt8](FileManager.default.contents(atPath: segment)!)
        let offsets = SegmentFile.records(bytes).map(\.offset)
        try #require(offsets.count == 3)
        // The member's flags byte (member offset 7) after the 104-byte prefix, the amounts and reference (24) and
        // the rules version (8): a flag no writer sets. Then every checksum from there on is made sound again.
        bytes[offsets[0] + WALRecord.headerBytes + 104 + 24 + 8 + 7] |= 0x80
        bytes.withUnsafeMutableBytes { buffer in
            var previous: UInt32? = nil
            for offset in offsets {
                let base = buffer.baseAddress! + offset
                if let previous { base.storeBytes(of: previous.littleEndian, toByteOffset: 16, as: UInt32.self) }
                let bodyLength = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
                let crc = WALRecord.checksum(base, bodyLength: bodyLength)
                base.storeBytes(of: crc.littleEndian, as: UInt32.self)
                previous = crc
            }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        #expect(throws: LedgerError.damagedLog(file: segment, offset: Int64(offsets[0]), reason: "malformed member state")) {
            try Ledger.inspect(directory: directory.data, configuration: configuration)
        }
        #expect([UInt8](FileManager.default.contents(atPath: segment)!) == bytes, "refusal must not modify the log")
    }
}
