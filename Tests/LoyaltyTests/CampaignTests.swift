import Foundation
import Testing

@testable import Loyalty

/// Campaigns (Campaign.swift, CampaignTable.swift, ProgramConfiguration+Campaigns.swift): the time parser, the
/// date, weekday and hour windows at their boundaries, scope, multiplier and bonus, how several combine, the cap,
/// the JSON errors and determinism. Base rule everywhere: 1 point per whole 10,000 rials, so 100,000 → 10 points.
@Suite("Campaigns")
struct CampaignTests {
    /// 2026-03-20T00:00:00Z, a Friday (ISO 5); `date -u -d 2026-03-20T00:00:00Z +%s` = 1773964800.
    static let norooz: Int64 = 1_773_964_800_000
    /// 2026-04-02T00:00:00Z.
    static let noroozEnd: Int64 = 1_775_088_000_000
    static let hourMs: Int64 = 3_600_000
    static let dayMs: Int64 = 86_400_000

    static func program(_ campaigns: String, earning: String? = nil) throws -> Program {
        let json = """
            {"version": 7, "currency": 364,
             "groups": [{"id": "CHAIN", "kind": "branches"}],
             "merchants": [{"id": "SHOP-A", "groups": ["CHAIN"]}, {"id": "SHOP-B"}],
             "earning": \(earning ?? #"{"default": {"points": 1, "perAmountMinor": 10000}}"#),
             "storeCredit": {"default": {"steps": [{"fromAmountMinor": 0, "basisPoints": 1000}]}},
             "campaigns": [\(campaigns)]}
            """
        return try Program(json: Array(json.utf8))
    }

    static func campaign(_ id: String, _ extra: String) -> String {
        #"{"id": "\#(id)", "from": "2026-03-20T00:00:00Z", "until": "2026-04-02T00:00:00Z", \#(extra)}"#
    }

    static func decide(
        _ program: Program, at timeMs: Int64 = norooz + 12 * hourMs, amountMinor: Int64 = 100_000,
        merchant: String = "SHOP-B", category: UInt16 = 5999
    ) -> Decision {
        let purchase = Transaction(
            amountMinor: amountMinor, currencyCode: 364, merchantCategoryCode: category,
            merchant: ShortIdentifier(merchant)!, terminal: ShortIdentifier("TERM0001")!, timeMs: timeMs)
        return program.evaluate(transaction: purchase, member: Member())
    }

    static func points(
        _ program: Program, at timeMs: Int64 = norooz + 12 * hourMs, merchant: String = "SHOP-B",
        category: UInt16 = 5999
    ) -> Int64 {
        decide(program, at: timeMs, merchant: merchant, category: category).postings.pointsEarned
    }

    static func error(_ campaigns: String) -> String? {
        do {
            _ = try program(campaigns)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("the time parser reads YYYY-MM-DDTHH:MM:SSZ to the values `date -u` gives, leap days included")
    func parsesStrictUTCTimes() {
        #expect(CampaignTime.epochMilliseconds("1970-01-01T00:00:00Z") == 0)
        #expect(CampaignTime.epochMilliseconds("2026-03-20T00:00:00Z") == Self.norooz)
        #expect(CampaignTime.epochMilliseconds("2024-02-29T12:34:56Z") == 1_709_210_096_000)
        #expect(CampaignTime.epochMilliseconds("2000-03-01T00:00:00Z") == 951_868_800_000)
        #expect(CampaignTime.epochMilliseconds("9999-12-31T23:59:59Z") == 253_402_300_799_000)
    }

    @Test("the time parser refuses every other shape and impossible dates")
    func refusesMalformedTimes() {
        for text in [
            "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z",
            "2026-03-20T24:00:00Z", "2026-03-20T10:60:00Z", "2026-03-20T10:00:60Z", "1969-12-31T23:59:59Z",
            "2026-03-20T00:00:00", "2026-03-20T00:00:00+03:30", "2026-03-20 00:00:00Z", "2026-03-20T00:00:00.000Z",
            "2026-3-20T00:00:00Z", "+026-03-20T00:00:00Z", "2026-03-00T00:00:00Z", "", "٢٠٢٦-03-20T00:00:00Z",
        ] {
            #expect(CampaignTime.epochMilliseconds(text) == nil, "\(text)")
        }
    }

    @Test("the date window includes `from` and excludes `until`, to the millisecond")
    func dateWindowBoundaries() throws {
        let program = try Self.program(Self.campaign("NOROOZ", #""pointsMultiplierPercent": 200"#))
        #expect(Self.points(program, at: Self.norooz - 1) == 10)
        #expect(Self.points(program, at: Self.norooz) == 20)
        #expect(Self.points(program, at: Self.noroozEnd - 1) == 20)
        #expect(Self.points(program, at: Self.noroozEnd) == 10)
        #expect(Self.points(program, at: 0) == 10)
        #expect(Self.points(program, at: -Self.dayMs) == 10)
    }

    @Test("daysOfWeek keeps only the listed ISO weekdays, in UTC, over two whole weeks")
    func weekdayFilter() throws {
        // Friday (5) and Sunday (7). 2026-03-20 is a Friday, so day offsets 0, 2, 7, 9 match.
        let program = try Self.program(
            Self.campaign("WEEKEND", #""daysOfWeek": [5, 7], "bonusPoints": 5"#)
                .replacingOccurrences(of: "2026-04-02", with: "2026-05-01"))
        for offset in Int64(0)..<14 {
            let expected: Int64 = [0, 2, 7, 9].contains(offset) ? 15 : 10
            #expect(Self.points(program, at: Self.norooz + offset * Self.dayMs) == expected, "day \(offset)")
            // The last millisecond of the day still belongs to it; the first of the next does not.
            #expect(Self.points(program, at: Self.norooz + (offset + 1) * Self.dayMs - 1) == expected)
        }
    }

    @Test("hours keeps from ≤ hour < until in UTC: 10:00 in, 13:59:59.999 in, 14:00 out")
    func hourFilter() throws {
        let program = try Self.program(Self.campaign("LUNCH", #""hours": {"from": 10, "until": 14}, "bonusPoints": 7"#))
        let day = Self.norooz + 3 * Self.dayMs
        #expect(Self.points(program, at: day + 10 * Self.hourMs - 1) == 10)
        #expect(Self.points(program, at: day + 10 * Self.hourMs) == 17)
        #expect(Self.points(program, at: day + 14 * Self.hourMs - 1) == 17)
        #expect(Self.points(program, at: day + 14 * Self.hourMs) == 10)
        let allDay = try Self.program(Self.campaign("LATE", #""hours": {"from": 23, "until": 24}, "bonusPoints": 7"#))
        #expect(Self.points(allDay, at: day + Self.dayMs - 1) == 17)
        #expect(Self.points(allDay, at: day + Self.dayMs) == 10)
    }

    @Test("scope: a listed merchant, a merchant of a listed group, or a listed MCC; nothing else")
    func scopeByMerchantGroupCategory() throws {
        let byMerchant = try Self.program(Self.campaign("M", #""scope": {"merchants": ["SHOP-B"]}, "bonusPoints": 1"#))
        #expect(Self.points(byMerchant, merchant: "SHOP-B") == 11)
        #expect(Self.points(byMerchant, merchant: "SHOP-A") == 10)
        #expect(Self.points(byMerchant, merchant: "UNKNOWN") == 10)
        let byGroup = try Self.program(Self.campaign("G", #""scope": {"groups": ["CHAIN"]}, "bonusPoints": 2"#))
        #expect(Self.points(byGroup, merchant: "SHOP-A") == 12)
        #expect(Self.points(byGroup, merchant: "SHOP-B") == 10)
        let byCategory = try Self.program(
            Self.campaign("C", #""scope": {"merchantCategories": ["5411", "0742"]}, "bonusPoints": 3"#))
        #expect(Self.points(byCategory, merchant: "UNKNOWN", category: 5411) == 13)
        #expect(Self.points(byCategory, merchant: "SHOP-A", category: 742) == 13)
        #expect(Self.points(byCategory, merchant: "SHOP-A", category: 5999) == 10)
        #expect(Self.points(byCategory, merchant: "SHOP-A", category: 65_535) == 10)
        // Any one list suffices; an empty scope (or none) is everywhere, unknown merchants included.
        let either = try Self.program(
            Self.campaign("E", #""scope": {"merchants": ["SHOP-B"], "merchantCategories": ["5411"]}, "bonusPoints": 4"#)
        )
        #expect(Self.points(either, merchant: "SHOP-B") == 14)
        #expect(Self.points(either, merchant: "SHOP-A", category: 5411) == 14)
        #expect(Self.points(either, merchant: "SHOP-A") == 10)
        let everywhere = try Self.program(Self.campaign("ALL", #""scope": {}, "bonusPoints": 5"#))
        #expect(Self.points(everywhere, merchant: "UNKNOWN", category: 65_535) == 15)
    }

    @Test("the multiplier scales the rule's points with floor, the bonus is added after it, credit is untouched")
    func multiplierAndBonus() throws {
        let program = try Self.program(Self.campaign("X", #""pointsMultiplierPercent": 150, "bonusPoints": 50"#))
        // 150,000 → 15 points × 150% = 22.5 → 22, + 50 = 72. Credit stays 10% of 150,000.
        let decision = Self.decide(program, amountMinor: 150_000)
        #expect(decision.postings == Postings(pointsEarned: 72, creditEarnedMinor: 15_000))
        #expect(decision.configurationVersion == 7)
        #expect(decision.explanation.campaigns.multiplierPercent == 150)
        #expect(decision.explanation.campaigns.bonusPoints == 50)
        #expect(decision.explanation.description.contains("campaigns[0] ×150% +50"))
        let zero = try Self.program(Self.campaign("OFF", #""pointsMultiplierPercent": 0"#))
        #expect(Self.points(zero) == 0)
    }

    @Test("several campaigns: the highest multiplier wins (no compounding), every bonus adds up")
    func combinationRule() throws {
        let program = try Self.program(
            [
                Self.campaign("BONUS-ONLY", #""bonusPoints": 10"#),
                Self.campaign("DOUBLE", #""pointsMultiplierPercent": 200, "bonusPoints": 5"#),
                Self.campaign("TRIPLE", #""pointsMultiplierPercent": 300, "scope": {"groups": ["CHAIN"]}"#),
                Self.campaign("HALF", #""pointsMultiplierPercent": 50"#),
            ].joined(separator: ", "))
        // SHOP-A: all four match → 10 × 300% + (10 + 5) = 45.
        let chain = Self.decide(program, merchant: "SHOP-A")
        #expect(chain.postings.pointsEarned == 45)
        #expect(
            chain.explanation.campaigns
                == CampaignEffect(
                    matchedCount: 4, firstCampaignIndex: 0, multiplierCampaignIndex: 2, multiplierPercent: 300,
                    bonusPoints: 15))
        #expect(chain.explanation.description.contains("4 campaigns from campaigns[0], ×300% by campaigns[2], +15"))
        // SHOP-B: TRIPLE is out of scope → 10 × 200% + 15 = 35; a bonus-only campaign never lowers the multiplier.
        #expect(Self.points(program, merchant: "SHOP-B") == 35)
        // Alone, a multiplier below 100% does apply: 10 × 50% = 5.
        #expect(try Self.points(Self.program(Self.campaign("HALF", #""pointsMultiplierPercent": 50"#))) == 5)
        // Ties: the first in file order is named.
        let tie = try Self.program(
            Self.campaign("A", #""pointsMultiplierPercent": 200"#) + ", "
                + Self.campaign("B", #""pointsMultiplierPercent": 200"#))
        #expect(Self.decide(tie).explanation.campaigns.multiplierCampaignIndex == 0)
        #expect(tie.campaignIdentifier(at: 1) == ShortIdentifier("B"))
    }

    @Test("the cap applies after campaigns; the minimum purchase and a missing rule are never bypassed")
    func capMinimumAndNoRule() throws {
        let earning =
            #"{"minimumPurchaseMinor": 50000, "pointsPerTransactionMax": 25, "#
            + #""byMerchant": {"SHOP-B": {"points": 1, "perAmountMinor": 10000}}}"#
        let program = try Self.program(
            Self.campaign("X", #""pointsMultiplierPercent": 200, "bonusPoints": 10"#), earning: earning)
        // 10 × 200% + 10 = 30 → capped at 25; the explanation keeps 30.
        let capped = Self.decide(program)
        #expect(capped.postings.pointsEarned == 25)
        #expect(capped.explanation.pointsNote == .cappedPerTransaction(uncappedPoints: 30))
        // 60,000 → 6 × 200% + 10 = 22, under the cap.
        #expect(Self.decide(program, amountMinor: 60_000).postings.pointsEarned == 22)
        let below = Self.decide(program, amountMinor: 49_999)
        #expect(below.postings.pointsEarned == 0)
        #expect(below.explanation.campaigns == .none)
        let noRule = Self.decide(program, merchant: "SHOP-A")
        #expect(noRule.postings.pointsEarned == 0)
        #expect(noRule.explanation.campaigns == .none)
    }

    @Test("the multiplier cannot overflow: 10^18 points × 1000% clamps at pointsEarnedMax, then adds the bonus")
    func multiplierClampsInsteadOfOverflowing() {
        var effect = CampaignEffect.none
        effect.multiplierPercent = Int16(ProgramLimits.campaignMultiplierPercentMax)
        effect.bonusPoints = Int32(256 * ProgramLimits.campaignBonusPointsMax)
        #expect(effect.apply(to: ProgramLimits.pointsEarnedMax) == ProgramLimits.pointsEarnedMax + 256_000_000)
        #expect(effect.apply(to: Int64.max) == ProgramLimits.pointsEarnedMax + 256_000_000)
        effect.multiplierPercent = 333
        effect.bonusPoints = 0
        #expect(effect.apply(to: 7) == 23)  // 23.31 → 23
    }

    @Test("every mistake in a campaign is an error naming its key path")
    func errorsNameKeyPaths() {
        let ok = #""bonusPoints": 1"#
        let cases: [(String, String)] = [
            (
                Self.campaign("X", ok).replacingOccurrences(of: "2026-03-20T", with: "2026-03-20 "),
                "campaigns[0].from: "
            ),
            (Self.campaign("X", ok).replacingOccurrences(of: "2026-04-02", with: "2026-03-20"), "campaigns[0].until: "),
            (#"{"id": "X", "from": "2026-03-20T00:00:00Z", "bonusPoints": 1}"#, "campaigns[0].until: is missing"),
            (Self.campaign("X", #""daysOfWeek": [1, 8], "bonusPoints": 1"#), "campaigns[0].daysOfWeek[1]: "),
            (Self.campaign("X", #""daysOfWeek": [1, 1], "bonusPoints": 1"#), "campaigns[0].daysOfWeek[1]: duplicate"),
            (Self.campaign("X", #""daysOfWeek": ["mon"], "bonusPoints": 1"#), "campaigns[0].daysOfWeek[0]: "),
            (
                Self.campaign("X", #""hours": {"from": 14, "until": 10}, "bonusPoints": 1"#),
                "campaigns[0].hours.until: "
            ),
            (Self.campaign("X", #""hours": {"from": 24, "until": 24}, "bonusPoints": 1"#), "campaigns[0].hours.from: "),
            (Self.campaign("X", #""hours": {"from": 1, "to": 2}, "bonusPoints": 1"#), "campaigns[0].hours.to: unknown"),
            (
                Self.campaign("X", #""scope": {"merchants": ["NOPE"]}, "bonusPoints": 1"#),
                "campaigns[0].scope.merchants[0]: unknown merchant NOPE"
            ),
            (
                Self.campaign("X", #""scope": {"groups": ["NOPE"]}, "bonusPoints": 1"#),
                "campaigns[0].scope.groups[0]: unknown group NOPE"
            ),
            (
                Self.campaign("X", #""scope": {"merchantCategories": ["541"]}, "bonusPoints": 1"#),
                "campaigns[0].scope.merchantCategories[0]: "
            ),
            (
                Self.campaign("X", #""scope": {"merchantCategories": [5411]}, "bonusPoints": 1"#),
                "campaigns[0].scope.merchantCategories[0]: "
            ),
            (Self.campaign("X", #""scope": {"mcc": []}, "bonusPoints": 1"#), "campaigns[0].scope.mcc: unknown"),
            (
                Self.campaign("X", #""pointsMultiplierPercent": 1001"#),
                "campaigns[0].pointsMultiplierPercent: must be 0...1000"
            ),
            (Self.campaign("X", #""pointsMultiplierPercent": 1.5"#), "campaigns[0].pointsMultiplierPercent: "),
            (Self.campaign("X", #""bonusPoints": 1000001"#), "campaigns[0].bonusPoints: must be 0...1000000"),
            (Self.campaign("X", #""bonusPoints": -1"#), "campaigns[0].bonusPoints: "),
            (Self.campaign("X", #""bonusPoints": 0"#), "campaigns[0]: must set"),
            (Self.campaign("X", #""bonus": 1"#), "campaigns[0].bonus: unknown key"),
            (Self.campaign("X", ok) + ", " + Self.campaign("X", ok), "campaigns[1].id: duplicate campaign X"),
            (Self.campaign("SEVENTEEN-LETTERS", ok), "campaigns[0].id: "),
            (#""not an object""#, "campaigns[0]: must be an object"),
        ]
        for (campaigns, expected) in cases {
            let message = Self.error(campaigns)
            #expect(message?.hasPrefix(expected) == true, "\(campaigns) → \(message ?? "accepted")")
        }
    }

    @Test("at most campaignsMax campaigns: 256 load and all apply, 257 are refused at `campaigns`")
    func campaignCountLimit() throws {
        func campaigns(_ count: Int) -> String {
            (0..<count).map { Self.campaign("C\($0)", #""bonusPoints": 1"#) }.joined(separator: ", ")
        }
        let full = try Self.program(campaigns(ProgramLimits.campaignsMax))
        let decision = Self.decide(full)
        #expect(decision.postings.pointsEarned == 10 + 256)
        #expect(decision.explanation.campaigns.matchedCount == 256)
        #expect(Self.error(campaigns(ProgramLimits.campaignsMax + 1)) == "campaigns: more than 256")
    }

    @Test("deterministic: two loads of the same file decide every purchase of a fortnight identically")
    func deterministic() throws {
        let campaigns = [
            Self.campaign("A", #""daysOfWeek": [1, 3], "pointsMultiplierPercent": 200"#),
            Self.campaign("B", #""hours": {"from": 8, "until": 20}, "bonusPoints": 3, "scope": {"groups": ["CHAIN"]}"#),
            Self.campaign("C", #""pointsMultiplierPercent": 125, "scope": {"merchantCategories": ["5411"]}"#),
        ].joined(separator: ", ")
        let first = try Self.program(campaigns)
        let second = try Self.program(campaigns)
        for step in Int64(0)..<(14 * 24) {
            for (merchant, category) in [("SHOP-A", UInt16(5411)), ("SHOP-B", 5999), ("UNKNOWN", 5411)] {
                let time = Self.norooz + step * Self.hourMs + 1_234
                let decision = Self.decide(first, at: time, merchant: merchant, category: category)
                #expect(decision == Self.decide(first, at: time, merchant: merchant, category: category))
                #expect(decision == Self.decide(second, at: time, merchant: merchant, category: category))
            }
        }
    }
}
