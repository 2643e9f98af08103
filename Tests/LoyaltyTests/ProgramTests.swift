import Foundation
import Testing

@testable import Loyalty

/// The evaluator (Program.swift): each rule alone, precedence, rounding, limits, and the brief's 300k-toman case.
/// Amounts are Iranian rials (currency 364) in minor units; expected numbers are worked out in the comments.
@Suite("Program evaluation")
struct ProgramTests {
    static func identifier(_ text: String) -> ShortIdentifier { ShortIdentifier(text)! }

    static func program(_ json: String) throws -> Program {
        try Program(json: Array(json.utf8))
    }

    static func purchase(
        _ amountMinor: Int64, merchant: String = "SHOP-A", category: UInt16 = 5999, serviceCode: UInt32? = nil,
        paidWithPointsMinor: Int64 = 0
    ) -> Transaction {
        Transaction(
            amountMinor: amountMinor, currencyCode: 364, merchantCategoryCode: category,
            merchant: identifier(merchant), terminal: identifier("TERM0001"), timeMs: 1_764_000_000_000,
            serviceCode: serviceCode, paidWithPointsAmountMinor: paidWithPointsMinor)
    }

    static let member = Member(purchaseCount: 3, lastPurchaseTimeMs: 1_763_000_000_000)

    /// Two merchants: SHOP-A in group CHAIN (branches) and MALL (coalition), SHOP-B with a rule of its own and
    /// in CHAIN too. Rates differ at every level so the rule that applied shows in the points.
    static let precedenceJSON = """
        {"version": 4, "currency": 364,
         "groups": [{"id": "CHAIN", "kind": "branches"}, {"id": "MALL", "kind": "coalition"}],
         "merchants": [{"id": "SHOP-A", "groups": ["MALL", "CHAIN"]}, {"id": "SHOP-B", "groups": ["CHAIN"]},
                       {"id": "SHOP-C"}],
         "earning": {
           "default": {"points": 1, "perAmountMinor": 10000},
           "byMerchantCategory": {"5411": {"points": 2, "perAmountMinor": 10000}},
           "byGroup": {"CHAIN": {"points": 3, "perAmountMinor": 10000}},
           "byMerchant": {"SHOP-B": {"points": 4, "perAmountMinor": 10000}}}}
        """

    @Test("the default rule alone: 1 point per whole 10,000, the remainder earns nothing")
    func defaultRuleFloorsPerWholeUnit() throws {
        let program = try Self.program(
            #"{"version": 1, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 10000}}}"#)
        // 129,999 = 12 whole units of 10,000 and 9,999 left over → 12 points.
        let decision = program.evaluate(transaction: Self.purchase(129_999, merchant: "UNKNOWN"), member: Self.member)
        #expect(decision.postings == Postings(pointsEarned: 12, creditEarnedMinor: 0))
        #expect(decision.explanation.pointsRule == .programDefault)
        #expect(program.evaluate(transaction: Self.purchase(9_999), member: Self.member).postings.pointsEarned == 0)
    }

    @Test("precedence: merchant beats group, group beats category, category beats default")
    func precedenceMerchantGroupCategoryDefault() throws {
        let program = try Self.program(Self.precedenceJSON)
        func points(_ merchant: String, _ category: UInt16) -> (Int64, RuleSource) {
            let decision = program.evaluate(
                transaction: Self.purchase(100_000, merchant: merchant, category: category), member: Self.member)
            return (decision.postings.pointsEarned, decision.explanation.pointsRule)
        }
        // 100,000 is 10 units: merchant rate 4 → 40, group 3 → 30, category 2 → 20, default 1 → 10.
        #expect(points("SHOP-B", 5411) == (40, .merchant(Self.identifier("SHOP-B"))))
        #expect(points("SHOP-A", 5411) == (30, .group(Self.identifier("CHAIN"))))
        #expect(points("SHOP-C", 5411) == (20, .merchantCategory(5411)))
        #expect(points("UNKNOWN", 5411) == (20, .merchantCategory(5411)))
        #expect(points("SHOP-C", 5999) == (10, .programDefault))
    }

    @Test("a merchant in several groups takes the first listed group that has a rule")
    func firstListedGroupWins() throws {
        let json = Self.precedenceJSON.replacingOccurrences(
            of: #""byGroup": {"CHAIN""#, with: #""byGroup": {"MALL": {"points": 5, "perAmountMinor": 10000}, "CHAIN""#)
        let program = try Self.program(json)
        // SHOP-A lists MALL before CHAIN → MALL's 5 per unit → 50.
        let decision = program.evaluate(transaction: Self.purchase(100_000, merchant: "SHOP-A"), member: Self.member)
        #expect(decision.postings.pointsEarned == 50)
        #expect(decision.explanation.pointsRule == .group(Self.identifier("MALL")))
    }

    @Test("no rule at any level earns nothing and says so")
    func noRuleEarnsNothing() throws {
        let program = try Self.program(#"{"version": 1, "currency": 364}"#)
        let decision = program.evaluate(transaction: Self.purchase(500_000), member: Self.member)
        #expect(decision.postings == Postings(pointsEarned: 0, creditEarnedMinor: 0))
        #expect(decision.explanation.pointsNote == .noRule)
        #expect(decision.explanation.description == "no points rule; no credit rule")
    }

    @Test("minimum purchase: one rial below earns nothing, the minimum itself earns")
    func minimumPurchase() throws {
        let program = try Self.program(
            #"""
            {"version": 1, "currency": 364, "earning": {"minimumPurchaseMinor": 50000,
             "default": {"points": 1, "perAmountMinor": 10000}}}
            """#)
        let below = program.evaluate(transaction: Self.purchase(49_999), member: Self.member)
        #expect(below.postings.pointsEarned == 0)
        #expect(below.explanation.pointsNote == .belowMinimumPurchase)
        #expect(program.evaluate(transaction: Self.purchase(50_000), member: Self.member).postings.pointsEarned == 5)
    }

    @Test("cap per transaction: the cap is posted and the uncapped points are explained")
    func capPerTransaction() throws {
        let program = try Self.program(
            #"""
            {"version": 1, "currency": 364, "earning": {"pointsPerTransactionMax": 500,
             "default": {"points": 1, "perAmountMinor": 1000}}}
            """#)
        // 1,234,000 / 1,000 = 1,234 points → capped at 500; 500,000 gives exactly 500, not capped.
        let capped = program.evaluate(transaction: Self.purchase(1_234_000), member: Self.member)
        #expect(capped.postings.pointsEarned == 500)
        #expect(capped.explanation.pointsNote == .cappedPerTransaction(uncappedPoints: 1_234))
        let exact = program.evaluate(transaction: Self.purchase(500_000), member: Self.member)
        #expect(exact.postings.pointsEarned == 500)
        #expect(exact.explanation.pointsNote == .awarded)
    }

    @Test("points per visit: the same points whatever the amount")
    func pointsPerVisit() throws {
        let program = try Self.program(
            #"""
            {"version": 1, "currency": 364, "merchants": [{"id": "CAFE"}],
             "earning": {"byMerchant": {"CAFE": {"pointsPerVisit": 10}}}}
            """#)
        for amountMinor: Int64 in [0, 1, 35_000, 9_000_000] {
            let decision = program.evaluate(
                transaction: Self.purchase(amountMinor, merchant: "CAFE", paidWithPointsMinor: amountMinor / 2),
                member: Self.member)
            #expect(decision.postings.pointsEarned == 10)
        }
    }

    @Test("the minimum purchase applies to visit points too")
    func minimumPurchaseAppliesToVisits() throws {
        let program = try Self.program(
            #"{"version": 1, "currency": 364, "earning": {"minimumPurchaseMinor": 20000, "default": {"pointsPerVisit": 10}}}"#
        )
        #expect(program.evaluate(transaction: Self.purchase(19_999), member: Self.member).postings.pointsEarned == 0)
        #expect(program.evaluate(transaction: Self.purchase(20_000), member: Self.member).postings.pointsEarned == 10)
    }

    @Test("points per service code win over the amount rule; an unknown service code falls back to it")
    func pointsPerServiceCode() throws {
        let program = try Self.program(
            #"""
            {"version": 1, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 10000},
             "byServiceCode": {"1001": 50}}}
            """#)
        let checkUp = program.evaluate(transaction: Self.purchase(2_000_000, serviceCode: 1001), member: Self.member)
        #expect(checkUp.postings.pointsEarned == 50)
        #expect(checkUp.explanation.pointsRule == .serviceCode(1001))
        let other = program.evaluate(transaction: Self.purchase(2_000_000, serviceCode: 7), member: Self.member)
        #expect(other.postings.pointsEarned == 200)
    }

    @Test("no points and no credit on the part paid with points")
    func noRewardOnPartPaidWithPoints() throws {
        let program = try Self.program(
            #"""
            {"version": 1, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 10000}},
             "storeCredit": {"default": {"steps": [{"fromAmountMinor": 0, "basisPoints": 1000}]}}}
            """#)
        // 250,000 bought, 120,000 paid with points → 130,000 in money: 13 points, 10% credit = 13,000.
        let decision = program.evaluate(
            transaction: Self.purchase(250_000, paidWithPointsMinor: 120_000), member: Self.member)
        #expect(decision.postings == Postings(pointsEarned: 13, creditEarnedMinor: 13_000))
        let allPoints = program.evaluate(
            transaction: Self.purchase(250_000, paidWithPointsMinor: 250_000), member: Self.member)
        #expect(allPoints.postings == Postings(pointsEarned: 0, creditEarnedMinor: 0))
    }

    /// The brief's example: 10% credit on one item's worth (300,000), 17% from twice that (600,000).
    static let storeCreditJSON = """
        {"version": 9, "currency": 364,
         "storeCredit": {"default": {"steps": [{"fromAmountMinor": 300000, "basisPoints": 1000},
                                               {"fromAmountMinor": 600000, "basisPoints": 1700}]}}}
        """

    @Test("300k-toman store credit: 300,000 → 30,000 (10%), 600,000 → 102,000 (17%), below the first step none")
    func storeCreditSteps() throws {
        let program = try Self.program(Self.storeCreditJSON)
        func credit(_ amountMinor: Int64) -> Int64 {
            program.evaluate(transaction: Self.purchase(amountMinor), member: Self.member).postings.creditEarnedMinor
        }
        #expect(credit(299_999) == 0)
        #expect(credit(300_000) == 30_000)  // 300,000 × 1000 / 10,000
        #expect(credit(599_999) == 59_999)  // 599,999 × 0.10 = 59,999.9 → floor 59,999
        #expect(credit(600_000) == 102_000)  // 600,000 × 1700 / 10,000
        #expect(credit(1_000_001) == 170_000)  // 170,000.17 → floor
        let decision = program.evaluate(transaction: Self.purchase(600_000), member: Self.member)
        #expect(decision.explanation.creditStep == CreditStep(fromAmountMinor: 600_000, basisPoints: 1700))
        #expect(
            decision.explanation.description
                == "no points rule; credit by program default at 1700 basis points from 600000")
    }

    @Test("credit step is chosen by the whole purchase, the rate applies to the money part")
    func creditStepByWholePurchase() throws {
        let program = try Self.program(Self.storeCreditJSON)
        // 600,000 reaches 17%; 100,000 paid with points leaves 500,000 in money → 85,000.
        let decision = program.evaluate(
            transaction: Self.purchase(600_000, paidWithPointsMinor: 100_000), member: Self.member)
        #expect(decision.postings.creditEarnedMinor == 85_000)
    }

    @Test("credit rules follow the same precedence: a group's steps beat the default")
    func creditPrecedence() throws {
        let program = try Self.program(
            #"""
            {"version": 1, "currency": 364, "groups": [{"id": "CHAIN", "kind": "branches"}],
             "merchants": [{"id": "SHOP-A", "groups": ["CHAIN"]}],
             "storeCredit": {"default": {"steps": [{"fromAmountMinor": 0, "basisPoints": 100}]},
                             "byGroup": {"CHAIN": {"steps": [{"fromAmountMinor": 0, "basisPoints": 500}]}}}}
            """#)
        #expect(
            program.evaluate(transaction: Self.purchase(100_000), member: Self.member).postings.creditEarnedMinor
                == 5_000)
        let other = program.evaluate(transaction: Self.purchase(100_000, merchant: "ELSEWHERE"), member: Self.member)
        #expect(other.postings.creditEarnedMinor == 1_000)
    }

    @Test("another currency, a negative amount, or more paid with points than bought earn nothing")
    func invalidTransactionsEarnNothing() throws {
        let program = try Self.program(Self.storeCreditJSON)
        var dollars = Self.purchase(600_000)
        dollars.currencyCode = 840
        #expect(program.evaluate(transaction: dollars, member: Self.member).explanation.outcome == .currencyMismatch)
        for transaction in [
            Self.purchase(-1), Self.purchase(600_000, paidWithPointsMinor: 600_001),
            Self.purchase(ProgramLimits.amountMinorMax + 1),
        ] {
            let decision = program.evaluate(transaction: transaction, member: Self.member)
            #expect(decision.postings == Postings(pointsEarned: 0, creditEarnedMinor: 0))
            #expect(decision.explanation.outcome == .invalidAmount)
        }
    }

    @Test("the largest amount at the largest rate does not overflow")
    func largestAmountAtLargestRate() throws {
        let program = try Self.program(
            #"""
            {"version": 1, "currency": 364, "earning": {"default": {"points": 1000000, "perAmountMinor": 1}},
             "storeCredit": {"default": {"steps": [{"fromAmountMinor": 0, "basisPoints": 10000}]}}}
            """#)
        let amountMinor = ProgramLimits.amountMinorMax
        let decision = program.evaluate(transaction: Self.purchase(amountMinor), member: Self.member)
        #expect(decision.postings == Postings(pointsEarned: amountMinor * 1_000_000, creditEarnedMinor: amountMinor))
    }

    @Test("deterministic: the same purchase and member give the same decision, stamped with the version")
    func deterministicAndVersioned() throws {
        let program = try Self.program(Self.precedenceJSON)
        let transaction = Self.purchase(345_678, merchant: "SHOP-A", category: 5411)
        let first = program.evaluate(transaction: transaction, member: Self.member)
        for _ in 0..<100 { #expect(program.evaluate(transaction: transaction, member: Self.member) == first) }
        let reloaded = try Self.program(Self.precedenceJSON)
        #expect(reloaded.evaluate(transaction: transaction, member: Self.member) == first)
        #expect(first.configurationVersion == 4)
        #expect(
            try Self.program(Self.storeCreditJSON).evaluate(transaction: transaction, member: Self.member)
                .configurationVersion == 9)
    }

    @Test("every rule at its largest at once does not overflow: clamps at 10^18, then bonuses add")
    func everyRuleAtItsLargest() throws {
        let json = """
            {"version": 1, "currency": 364,
             "earning": {"default": {"points": 1000000, "perAmountMinor": 1}},
             "storeCredit": {"default": {"steps": [{"fromAmountMinor": 0, "basisPoints": 10000}]}},
             "campaigns": [{"id": "MAX", "from": "2025-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z",
                            "pointsMultiplierPercent": 1000, "bonusPoints": 1000000}],
             "tiers": {"windowDays": 3660, "by": "volume", "levels": [
               {"id": "ONLY", "from": 0, "pointsMultiplierPercent": 1000, "creditBasisPointsBonus": 10000}]},
             "offers": [{"id": "MAX", "from": "2025-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z",
                         "trigger": {"purchaseAtLeastMinor": 0},
                         "reward": {"creditBasisPoints": 10000, "bonusPoints": 1000000}}],
             "events": {"enrolmentPoints": 1000000, "firstPurchasePoints": 1000000,
                        "referredFirstPurchasePoints": 1000000, "referrerPoints": 1000000}}
            """
        let program = try Program(json: Array(json.utf8))
        let amountMinor = ProgramLimits.amountMinorMax
        let decision = program.evaluate(transaction: Self.purchase(amountMinor), member: Member(isReferred: true))
        // ⌊(10^12 − 1) × 10^6 × 10⌋ clamped to 10^18, ×10 clamped again, + 10^6 campaign + 10^6 offer + 3 × 10^6.
        #expect(decision.postings.pointsEarned == ProgramLimits.pointsEarnedMax + 5_000_000)
        // 10,000 + 10,000 + 10,000 basis points clamped to 10,000: the whole money part.
        #expect(decision.postings.creditEarnedMinor == amountMinor)
        #expect(decision.referrerBonusPoints == 1_000_000)
        // Deterministic, and the same from a reloaded program.
        #expect(program.evaluate(transaction: Self.purchase(amountMinor), member: Member(isReferred: true)) == decision)
        let reloaded = try Program(json: Array(json.utf8))
        #expect(
            reloaded.evaluate(transaction: Self.purchase(amountMinor), member: Member(isReferred: true)) == decision)
    }

    @Test("hostile times (Int64.min, -1, Int64.max) with every rule on never trap, and their effects decode")
    func hostileTimesNeverTrap() throws {
        let json = """
            {"version": 1, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 10000},
               "pointsPerMemberPerDayMax": 100},
             "campaigns": [{"id": "C", "from": "2025-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z",
                            "pointsMultiplierPercent": 200}],
             "tiers": {"windowDays": 1, "by": "count", "levels": [{"id": "B", "from": 0}, {"id": "S", "from": 1}]},
             "offers": [{"id": "R", "from": "2025-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z",
                         "eligibility": {"daysSinceLastPurchaseMax": 5},
                         "trigger": {"returnWithinDays": 1}, "reward": {"bonusPoints": 5}}],
             "events": {"birthdayPoints": 5, "birthdayWindowDays": 30}}
            """
        let program = try Program(json: Array(json.utf8))
        var member = Member(birthMonth: 1, birthDay: 1)
        for time in [Int64.min, -1, 0, 1_764_000_000_000, Int64.max, Int64.min, 1_764_000_000_001] {
            var purchase = Self.purchase(100_000)
            purchase.timeMs = time
            let decision = program.evaluate(transaction: purchase, member: member)
            #expect(decision.memberAfter.isPlausible)
            var bytes = [UInt8](repeating: 0, count: PurchaseEffect.encodedByteCount)
            bytes.withUnsafeMutableBytes { decision.effect.encode(into: $0.baseAddress!) }
            #expect(bytes.withUnsafeBytes { PurchaseEffect(decoding: $0.baseAddress!) } == decision.effect)
            var memberBytes = [UInt8](repeating: 0, count: Member.encodedByteCount)
            memberBytes.withUnsafeMutableBytes { decision.memberAfter.encode(into: $0.baseAddress!) }
            #expect(memberBytes.withUnsafeBytes { Member(decoding: $0.baseAddress!) } == decision.memberAfter)
            #expect(program.undo(decision.effect, refundedMinor: 100_000, member: decision.memberAfter).isPlausible)
            _ = program.tier(of: decision.memberAfter, atTimeMs: time)
            member = decision.memberAfter
        }
        #expect(member.purchaseCount == 7)
    }

    @Test("undo: a refund in parts, the effect lowered after each, ends in a full undo; .none changes nothing")
    func undoInParts() throws {
        let program = try Self.program(Self.precedenceJSON)
        let first = program.evaluate(transaction: Self.purchase(100_000), member: .new)
        let second = program.evaluate(transaction: Self.purchase(300_000), member: first.memberAfter)
        var effect = second.effect
        var member = program.undo(effect, refundedMinor: 100_000, member: second.memberAfter)
        #expect(member.purchaseCount == 2)
        #expect(member.purchaseVolumeMinor == 300_000)
        effect.moneyMinor -= 100_000
        member = program.undo(effect, refundedMinor: 200_000, member: member)
        #expect(member.purchaseCount == 1)
        #expect(member.purchaseVolumeMinor == 100_000)
        #expect(member.lastPurchaseTimeMs == first.memberAfter.lastPurchaseTimeMs)
        #expect(program.undo(.none, refundedMinor: 5, member: member) == member)
        // Arguments out of range are clamped: never below zero.
        #expect(program.undo(first.effect, refundedMinor: Int64.max, member: .new) == .new)
    }
}
