import Testing

@testable import Loyalty

/// Tiers (Tier.swift, ProgramConfiguration+Tiers.swift): qualification in fixed windows, the crossing purchase
/// earning at the old tier, carry-over and downgrade at window end, skipped windows, the multiplier's place before
/// campaigns and the cap, the credit bonus, undo, and the configuration's errors and limits.
/// Base rules: 1 point per whole 10,000 rials, 1% credit (100 basis points) on every purchase.
@Suite("Tiers")
struct TierTests {
    static let dayMs: Int64 = 86_400_000
    /// Window k of 365 days starts at k × 365 days since the epoch; window 56 starts 2025-12-18T00:00:00Z.
    static func windowStart(_ window: Int64, days: Int64 = 365) -> Int64 { window * days * dayMs }

    static let tiersJSON = """
        "tiers": {"windowDays": 365, "by": "volume", "levels": [
          {"id": "BRONZE", "from": 0},
          {"id": "SILVER", "from": 5000000, "pointsMultiplierPercent": 150, "creditBasisPointsBonus": 100},
          {"id": "GOLD", "from": 20000000, "pointsMultiplierPercent": 200, "creditBasisPointsBonus": 300}]}
        """

    static func program(tiers: String = tiersJSON, extra: String = "") throws -> Program {
        let json = """
            {"version": 3, "currency": 364,
             "earning": {"default": {"points": 1, "perAmountMinor": 10000}\(extra)},
             "storeCredit": {"default": {"steps": [{"fromAmountMinor": 0, "basisPoints": 100}]}},
             \(tiers)}
            """
        return try Program(json: Array(json.utf8))
    }

    static func purchase(_ amountMinor: Int64, at timeMs: Int64) -> Transaction {
        Transaction(
            amountMinor: amountMinor, currencyCode: 364, merchantCategoryCode: 5999,
            merchant: ShortIdentifier("SHOP")!, terminal: ShortIdentifier("TERM0001")!, timeMs: timeMs)
    }

    /// Evaluates purchases in order, each on the member the previous one produced.
    static func run(_ program: Program, _ purchases: [(Int64, Int64)], from member: Member = .new) -> [Decision] {
        var member = member
        var decisions: [Decision] = []
        for (amount, time) in purchases {
            let decision = program.evaluate(transaction: purchase(amount, at: time), member: member)
            #expect(decision.memberAfter.isPlausible)
            member = decision.memberAfter
            decisions.append(decision)
        }
        return decisions
    }

    @Test("the purchase that crosses a threshold earns at the old tier; the upgrade shows in memberAfter")
    func crossingPurchaseEarnsAtOldTier() throws {
        let program = try Self.program()
        let start = Self.windowStart(56)
        let decisions = Self.run(
            program,
            [(3_000_000, start + Self.dayMs), (2_500_000, start + 2 * Self.dayMs), (1_000_000, start + 3 * Self.dayMs)])
        // 3,000,000: bronze, 300 points, 1% = 30,000.
        #expect(decisions[0].postings == Postings(pointsEarned: 300, creditEarnedMinor: 30_000))
        #expect(decisions[0].memberAfter.tier == 0)
        // 2,500,000 reaches 5,500,000 ≥ 5,000,000: earns at bronze (250, 25,000), member is SILVER after it.
        #expect(decisions[1].postings == Postings(pointsEarned: 250, creditEarnedMinor: 25_000))
        #expect(decisions[1].explanation.tier == 0)
        #expect(decisions[1].memberAfter.tier == 1)
        #expect(program.tierIdentifier(at: Int(decisions[1].memberAfter.tier)) == ShortIdentifier("SILVER"))
        // 1,000,000 at silver: ⌊100 × 150 ÷ 100⌋ = 150 points; 100 + 100 basis points = 2% → 20,000.
        #expect(decisions[2].postings == Postings(pointsEarned: 150, creditEarnedMinor: 20_000))
        #expect(decisions[2].explanation.tier == 1)
        #expect(decisions[2].explanation.description.contains("tiers.levels[1] ×150%"))
        #expect(decisions[2].memberAfter.tierWindowVolumeMinor == 6_500_000)
        #expect(decisions[2].memberAfter.tierWindowPurchaseCount == 3)
    }

    @Test("at a window's end the tier becomes what the ended window qualified for, then falls back")
    func windowEndCarriesThenDowngrades() throws {
        let program = try Self.program()
        let decisions = Self.run(
            program,
            [
                (5_000_000, Self.windowStart(56)),  // exactly the threshold: SILVER after it
                (100_000, Self.windowStart(57) + Self.dayMs),  // window 57: SILVER by window 56 → 15 points
                (100_000, Self.windowStart(58) + Self.dayMs),  // window 58: window 57 had 100,000 → BRONZE, 10
            ])
        #expect(decisions[0].memberAfter.tier == 1)
        #expect(decisions[1].explanation.tier == 1)
        #expect(decisions[1].postings.pointsEarned == 15)
        #expect(decisions[1].memberAfter.previousTierWindowVolumeMinor == 5_000_000)
        #expect(decisions[2].explanation.tier == 0)
        #expect(decisions[2].postings.pointsEarned == 10)
        #expect(decisions[2].memberAfter.tier == 0)
        // Without a purchase, the tier at a time: window 56 and 57 SILVER, 58 BRONZE (window 57 was empty).
        let member = decisions[0].memberAfter
        #expect(program.tier(of: member, atTimeMs: Self.windowStart(57) - 1) == 1)
        #expect(program.tier(of: member, atTimeMs: Self.windowStart(58) - 1) == 1)
        #expect(program.tier(of: member, atTimeMs: Self.windowStart(58)) == 0)
    }

    @Test("a member who skipped whole windows falls to what the last full window qualified: the base")
    func skippedWindowsFallToBase() throws {
        let program = try Self.program()
        let decisions = Self.run(program, [(25_000_000, Self.windowStart(56)), (100_000, Self.windowStart(59))])
        #expect(decisions[0].memberAfter.tier == 2)
        #expect(decisions[1].explanation.tier == 0)
        #expect(decisions[1].postings.pointsEarned == 10)
        #expect(decisions[1].memberAfter.previousTierWindowVolumeMinor == 0)
        #expect(decisions[1].memberAfter.tierWindowIndex == 59)
    }

    @Test("a purchase timed in the window before (an offline sale uploaded late) qualifies there; undo finds it")
    func latePurchaseCountsInItsWindow() throws {
        let program = try Self.program()
        let decisions = Self.run(program, [(3_000_000, Self.windowStart(57)), (6_000_000, Self.windowStart(56))])
        let after = decisions[1].memberAfter
        #expect(after.tierWindowIndex == 57 && after.tierWindowVolumeMinor == 3_000_000)
        #expect(after.previousTierWindowVolumeMinor == 6_000_000 && after.previousTierWindowPurchaseCount == 1)
        #expect(after.tier == 1, "the previous window's 6,000,000 qualifies for SILVER")
        #expect(decisions[1].effect.tierWindowIndex == 56)
        let undone = program.undo(decisions[1].effect, refundedMinor: 6_000_000, member: after)
        #expect(undone.previousTierWindowVolumeMinor == 0 && undone.previousTierWindowPurchaseCount == 0)
        #expect(undone.tier == 0 && undone.purchaseVolumeMinor == 3_000_000)
    }

    @Test("a purchase timed two windows back counts for the lifetime only: it can no longer move the tier")
    func veryLatePurchaseCountsInNoWindow() throws {
        let program = try Self.program()
        let decisions = Self.run(program, [(3_000_000, Self.windowStart(57)), (30_000_000, Self.windowStart(55))])
        let after = decisions[1].memberAfter
        #expect(after.tierWindowVolumeMinor == 3_000_000 && after.previousTierWindowVolumeMinor == 0)
        #expect(after.tier == 0 && after.purchaseVolumeMinor == 33_000_000 && after.purchaseCount == 2)
        #expect(decisions[1].effect.tierWindowDays == 0, "undo has no window to take it from")
        let undone = program.undo(decisions[1].effect, refundedMinor: 30_000_000, member: after)
        #expect(undone.tierWindowVolumeMinor == 3_000_000 && undone.purchaseVolumeMinor == 3_000_000)
    }

    @Test("qualification by count: the third purchase in the window reaches level 1")
    func qualificationByCount() throws {
        let tiers = """
            "tiers": {"windowDays": 30, "by": "count", "levels": [{"id": "NEW", "from": 0},
              {"id": "REGULAR", "from": 3, "pointsMultiplierPercent": 200}]}
            """
        let program = try Self.program(tiers: tiers)
        let start = Self.windowStart(700, days: 30)
        let decisions = Self.run(program, (0..<4).map { (10_000, start + Int64($0) * Self.dayMs) })
        #expect(decisions.map(\.memberAfter.tier) == [0, 0, 1, 1])
        #expect(decisions.map(\.postings.pointsEarned) == [1, 1, 1, 2])
    }

    @Test("order: rule points → tier multiplier → campaign multiplier and bonus → per-transaction cap")
    func tierMultiplierBeforeCampaignsAndCap() throws {
        let campaign = """
            , "campaigns": [{"id": "DOUBLE", "from": "2025-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z",
              "pointsMultiplierPercent": 200, "bonusPoints": 5}]
            """
        let silver = Member(tier: 1)
        var member = silver
        member.tierWindowDays = 365
        member.tierWindowIndex = 56
        member.tierWindowVolumeMinor = 5_000_000
        let uncapped = try Self.program(tiers: Self.tiersJSON + campaign)
        // 100,000 → 10 → ×150% = 15 → ×200% = 30 → +5 = 35.
        let time = Self.windowStart(56) + Self.dayMs
        #expect(
            uncapped.evaluate(transaction: Self.purchase(100_000, at: time), member: member).postings.pointsEarned == 35
        )
        // 70,000 → 7 → ⌊10.5⌋ = 10 → 20 → 25: the tier's floor comes first.
        #expect(
            uncapped.evaluate(transaction: Self.purchase(70_000, at: time), member: member).postings.pointsEarned == 25)
        let capped = try Self.program(tiers: Self.tiersJSON + campaign, extra: #", "pointsPerTransactionMax": 30"#)
        let decision = capped.evaluate(transaction: Self.purchase(100_000, at: time), member: member)
        #expect(decision.postings.pointsEarned == 30)
        #expect(decision.explanation.pointsNote == .cappedPerTransaction(uncappedPoints: 35))
    }

    @Test("the tier's credit bonus adds to the step rate, never past 100%")
    func creditBonusClampsAtWhole() throws {
        let json = """
            {"version": 3, "currency": 364,
             "storeCredit": {"default": {"steps": [{"fromAmountMinor": 0, "basisPoints": 9950}]}},
             "tiers": {"windowDays": 365, "by": "count", "levels": [{"id": "B", "from": 0},
               {"id": "S", "from": 1, "creditBasisPointsBonus": 100}]}}
            """
        let program = try Program(json: Array(json.utf8))
        let decisions = Self.run(program, [(100_000, Self.windowStart(56)), (100_000, Self.windowStart(56) + 1)])
        #expect(decisions[0].postings.creditEarnedMinor == 99_500)
        #expect(decisions[1].postings.creditEarnedMinor == 100_000)  // 10,050 basis points clamped to 10,000
    }

    @Test("undo recomputes the tier: reversing the upgrading purchase downgrades, a small refund does not")
    func undoRecomputesTier() throws {
        let program = try Self.program()
        let start = Self.windowStart(56)
        let decisions = Self.run(program, [(3_000_000, start), (2_500_000, start + Self.dayMs)])
        let silver = decisions[1].memberAfter
        let reversed = program.undo(decisions[1].effect, refundedMinor: 2_500_000, member: silver)
        #expect(reversed.tier == 0)
        #expect(reversed.tierWindowVolumeMinor == 3_000_000)
        #expect(reversed.tierWindowPurchaseCount == 1)
        #expect(reversed.purchaseCount == 1)
        #expect(program.undo(decisions[1].effect, refundedMinor: 500_000, member: silver).tier == 1)  // 5,000,000 left
        let refunded = program.undo(decisions[1].effect, refundedMinor: 500_001, member: silver)
        #expect(refunded.tier == 0)
        #expect(refunded.tierWindowPurchaseCount == 2)
        // In the next window the upgrading purchase sits in the previous window and still counts there.
        let next = Self.run(program, [(100_000, Self.windowStart(57))], from: silver)[0].memberAfter
        #expect(next.tier == 1)
        let undone = program.undo(decisions[1].effect, refundedMinor: 2_500_000, member: next)
        #expect(undone.previousTierWindowVolumeMinor == 3_000_000)
        #expect(undone.tier == 0)
    }

    @Test("a program with another window length starts the member's windows afresh")
    func windowLengthChangeRestarts() throws {
        let program = try Self.program()
        let silver = Self.run(program, [(6_000_000, Self.windowStart(56))])[0].memberAfter
        let monthly = try Self.program(tiers: Self.tiersJSON.replacingOccurrences(of: "365", with: "30"))
        #expect(monthly.tier(of: silver, atTimeMs: Self.windowStart(56)) == 0)
        let decision = monthly.evaluate(transaction: Self.purchase(100_000, at: Self.windowStart(56)), member: silver)
        #expect(decision.explanation.tier == 0)
        #expect(decision.memberAfter.tierWindowDays == 30)
        #expect(decision.memberAfter.tierWindowVolumeMinor == 100_000)
    }

    @Test("a program without tiers keeps every member at the base tier")
    func noTiersBase() throws {
        let program = try Self.program(tiers: #""groups": []"#)
        let decision = program.evaluate(transaction: Self.purchase(9_000_000, at: Self.windowStart(56)), member: .new)
        #expect(decision.memberAfter.tier == 0)
        #expect(decision.memberAfter.tierWindowDays == 0)
        #expect(program.tierCount == 0)
    }

    static func error(_ tiers: String) -> String? {
        do {
            _ = try program(tiers: tiers)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("tier errors name the key path; 8 levels load and 9 are refused")
    func configurationErrors() throws {
        func tiers(_ levels: String, window: String = "365", by: String = "volume") -> String {
            #""tiers": {"windowDays": \#(window), "by": "\#(by)", "levels": [\#(levels)]}"#
        }
        #expect(
            Self.error(tiers(#"{"id": "B", "from": 1}"#))
                == "tiers.levels[0].from: the first level is the base tier and must be from 0")
        #expect(
            Self.error(tiers(#"{"id": "B", "from": 0}, {"id": "S", "from": 0}"#))
                == "tiers.levels[1].from: levels must be in increasing order")
        #expect(
            Self.error(tiers(#"{"id": "B", "from": 0}, {"id": "B", "from": 5}"#))
                == "tiers.levels[1].id: duplicate tier B")
        #expect(
            Self.error(tiers(#"{"id": "B", "from": 0, "pointsMultiplierPercent": 1001}"#))
                == "tiers.levels[0].pointsMultiplierPercent: must be 0...1000")
        #expect(
            Self.error(tiers(#"{"id": "B", "from": 0, "creditBasisPointsBonus": 10001}"#))
                == "tiers.levels[0].creditBasisPointsBonus: must be 0...10000")
        #expect(
            Self.error(tiers(#"{"id": "B", "from": 0, "bonus": 1}"#))?.hasPrefix("tiers.levels[0].bonus: unknown key")
                == true)
        #expect(Self.error(tiers(#"{"id": "B", "from": 0}"#, window: "0")) == "tiers.windowDays: must be 1...3660")
        #expect(Self.error(tiers(#"{"id": "B", "from": 0}"#, window: "3661")) == "tiers.windowDays: must be 1...3660")
        #expect(Self.error(tiers(#"{"id": "B", "from": 0}"#, by: "amount")) == "tiers.by: must be one of volume, count")
        #expect(Self.error(tiers("")) == "tiers.levels: must hold 1...8 levels")
        #expect(
            Self.error(tiers(#"{"id": "B", "from": 0}, {"id": "S", "from": 4294967296}"#, by: "count"))
                == "tiers.levels[1].from: must be 0...4294967295")
        let eight = (0..<8).map { #"{"id": "L\#($0)", "from": \#($0 * 10)}"# }
        #expect(Self.error(tiers(eight.joined(separator: ", "))) == nil)
        let nine = (0..<9).map { #"{"id": "L\#($0)", "from": \#($0 * 10)}"# }
        #expect(Self.error(tiers(nine.joined(separator: ", "))) == "tiers.levels: must hold 1...8 levels")
        #expect(try Self.program().tierCount == 3)
    }
}
