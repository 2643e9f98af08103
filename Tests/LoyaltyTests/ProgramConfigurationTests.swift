import Testing

@testable import Loyalty

/// The JSON format (ProgramConfiguration+JSON.swift) and the checks every configuration passes
/// (ProgramConfiguration+Validation.swift): a full file reads as expected, and each kind of mistake is an error
/// that names its key path.
@Suite("Program configuration")
struct ProgramConfigurationTests {
    static func error(_ json: String) -> ProgramConfigurationError? {
        do {
            _ = try ProgramConfiguration.fromJSON(Array(json.utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test("a file with every section reads into the expected configuration")
    func readsEverySection() throws {
        let json = """
            {"version": 2, "currency": 364,
             "groups": [{"id": "CHAIN", "kind": "branches"}],
             "merchants": [{"id": "MERCHANT0000001", "groups": ["CHAIN"]}],
             "earning": {"minimumPurchaseMinor": 1000, "pointsPerTransactionMax": 99,
                         "default": {"points": 1, "perAmountMinor": 10000},
                         "byMerchantCategory": {"0742": {"pointsPerVisit": 7}},
                         "byServiceCode": {"1001": 50}},
             "storeCredit": {"byGroup": {"CHAIN": {"steps": [{"fromAmountMinor": 300000, "basisPoints": 1000}]}}}}
            """
        let configuration = try ProgramConfiguration.fromJSON(Array(json.utf8))
        let chain = ShortIdentifier("CHAIN")!
        let expected = ProgramConfiguration(
            version: 2, currencyCode: 364,
            groups: [MerchantGroup(identifier: chain, kind: .branches)],
            merchants: [Merchant(identifier: ShortIdentifier("MERCHANT0000001")!, groupIdentifiers: [chain])],
            earning: Earning(
                minimumPurchaseMinor: 1000, pointsPerTransactionMax: 99,
                rules: ScopedRules(
                    programDefault: .perAmount(points: 1, amountMinor: 10000),
                    byMerchantCategory: [742: .perVisit(points: 7)]),
                pointsByServiceCode: [1001: 50]),
            storeCredit: ScopedRules(byGroup: [
                chain: CreditRule(steps: [CreditStep(fromAmountMinor: 300_000, basisPoints: 1000)])
            ]))
        #expect(configuration == expected)
    }

    @Test(
        "errors name the key path of the offending value",
        arguments: [
            (#"{"currency": 364}"#, "version: is missing"),
            (#"{"version": true, "currency": 364}"#, "version: must be a whole number"),
            (#"{"version": 1.5, "currency": 364}"#, "version: must be a whole number"),
            (#"{"version": 0, "currency": 364}"#, "version: must be at least 1"),
            (#"{"version": 1, "currency": 70000}"#, "currency: must be 0...65535"),
            (#"{"version": 1, "currency": 364, "earnings": {}}"#, "earnings: unknown key"),
            (
                #"{"version": 1, "currency": 364, "groups": [{"id": "G", "kind": "club"}]}"#,
                "groups[0].kind: must be one of"
            ),
            (
                #"{"version": 1, "currency": 364, "merchants": [{"id": "M"}, {"id": "M"}]}"#,
                "merchants[1].id: duplicate merchant M"
            ),
            (
                #"{"version": 1, "currency": 364, "merchants": [{"id": "M", "groups": ["NOPE"]}]}"#,
                "merchants[0].groups[0]: unknown group NOPE"
            ),
            (
                #"{"version": 1, "currency": 364, "merchants": [{"id": "THIS-ID-IS-TOO-LONG"}]}"#,
                "merchants[0].id: must be 1...16"
            ),
            (
                #"{"version": 1, "currency": 364, "earning": {"byMerchant": {"M001": {"points": 1, "perAmountMinor": 100}}}}"#,
                "earning.byMerchant.M001: unknown merchant"
            ),
            (
                #"{"version": 1, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 0}}}"#,
                "earning.default.perAmountMinor: must be 1...999999999999"
            ),
            (
                #"{"version": 1, "currency": 364, "earning": {"byMerchantCategory": {"5411": {"points": -1, "perAmountMinor": 1}}}}"#,
                "earning.byMerchantCategory.5411.points: must be 0...1000000"
            ),
            (
                #"{"version": 1, "currency": 364, "earning": {"byMerchantCategory": {"541": {"pointsPerVisit": 1}}}}"#,
                "earning.byMerchantCategory.541: merchant category codes are 4 digits"
            ),
            (
                #"{"version": 1, "currency": 364, "earning": {"default": {"pointsPerVisit": 1, "points": 2}}}"#,
                "earning.default.points: unknown key"
            ),
            (
                #"{"version": 1, "currency": 364, "earning": {"byServiceCode": {"1001": "fifty"}}}"#,
                "earning.byServiceCode.1001: points must be a whole number"
            ),
            (
                #"{"version": 1, "currency": 364, "storeCredit": {"default": {"steps": []}}}"#,
                "storeCredit.default.steps: must hold 1...16 steps"
            ),
            (
                #"{"version": 1, "currency": 364, "storeCredit": {"default": {"steps": [{"fromAmountMinor": 600000, "basisPoints": 1700}, {"fromAmountMinor": 300000, "basisPoints": 1000}]}}}"#,
                "storeCredit.default.steps[1].fromAmountMinor: steps must be in increasing order"
            ),
            (
                #"{"version": 1, "currency": 364, "storeCredit": {"default": {"steps": [{"fromAmountMinor": 0, "basisPoints": 10001}]}}}"#,
                "storeCredit.default.steps[0].basisPoints: must be 0...10000"
            ),
            ("[1]", "top level must be an object"),
            ("{", "not valid JSON"),
        ])
    func errorsNameTheKeyPath(json: String, expectedPrefix: String) {
        let error = Self.error(json)
        #expect(error?.description.hasPrefix(expectedPrefix) == true, "\(json) → \(String(describing: error))")
    }

    @Test("credit steps at the limit load; one more is refused")
    func creditStepsLimit() {
        func rule(steps count: Int) -> String {
            let steps = (0..<count).map { #"{"fromAmountMinor": \#($0 * 1000), "basisPoints": 100}"# }
            return
                #"{"version": 1, "currency": 364, "storeCredit": {"default": {"steps": [\#(steps.joined(separator: ","))]}}}"#
        }
        #expect(Self.error(rule(steps: ProgramLimits.creditStepsMax)) == nil)
        #expect(Self.error(rule(steps: ProgramLimits.creditStepsMax + 1))?.keyPath == "storeCredit.default.steps")
    }

    @Test("a configuration built in code is checked the same way when loaded")
    func codeBuiltConfigurationIsValidated() {
        var configuration = ProgramConfiguration(version: 1, currencyCode: 364)
        configuration.earning.rules.byGroup[ShortIdentifier("GHOST")!] = .perVisit(points: 1)
        #expect(throws: ProgramConfigurationError(keyPath: "earning.byGroup.GHOST", problem: "unknown group")) {
            try Program(configuration: configuration)
        }
    }

    /// The example at the top of docs/loyalty-rules.md, copied verbatim (keep the two in step).
    static let documentedExample = """
            {
              "version": 12,
              "currency": 364,
              "groups": [
                {"id": "KOUROSH", "kind": "branches"},
                {"id": "VALIASR-MALL", "kind": "coalition"}
              ],
              "merchants": [
                {"id": "MERCHANT0000001", "groups": ["KOUROSH", "VALIASR-MALL"]},
                {"id": "DENTIST01"}
              ],
              "earning": {
                "minimumPurchaseMinor": 10000,
                "pointsPerTransactionMax": 5000,
                "default": {"points": 1, "perAmountMinor": 10000},
                "byMerchantCategory": {"5411": {"points": 2, "perAmountMinor": 10000}, "5812": {"pointsPerVisit": 10}},
                "byGroup": {"KOUROSH": {"points": 3, "perAmountMinor": 10000}},
                "byMerchant": {"DENTIST01": {"pointsPerVisit": 20}},
                "byServiceCode": {"1001": 50}
              },
              "storeCredit": {
                "default": {"steps": [{"fromAmountMinor": 300000, "basisPoints": 1000},
                                      {"fromAmountMinor": 600000, "basisPoints": 1700}]},
                "byGroup": {"KOUROSH": {"steps": [{"fromAmountMinor": 0, "basisPoints": 200}]}}
              },
              "campaigns": [
                {"id": "NOROOZ", "from": "2026-03-20T00:00:00Z", "until": "2026-04-02T00:00:00Z",
                 "scope": {"groups": ["KOUROSH"]}, "pointsMultiplierPercent": 200},
                {"id": "LUNCH", "from": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z",
                 "daysOfWeek": [1, 2, 3, 4, 5], "hours": {"from": 10, "until": 14},
                 "scope": {"merchantCategories": ["5812"]}, "bonusPoints": 50}
              ],
              "tiers": {"windowDays": 365, "by": "volume", "levels": [
                {"id": "BRONZE", "from": 0},
                {"id": "SILVER", "from": 5000000, "pointsMultiplierPercent": 150, "creditBasisPointsBonus": 100},
                {"id": "GOLD", "from": 20000000, "pointsMultiplierPercent": 200, "creditBasisPointsBonus": 300}]},
              "offers": [
                {"id": "FREQUENT-SMALL", "from": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z",
                 "eligibility": {"purchasesAtLeast": 3, "averageTicketMaxMinor": 100000, "averageIntervalDaysMax": 14},
                 "trigger": {"purchaseAtLeastMinor": 200000}, "reward": {"creditBasisPoints": 2000}},
                {"id": "COME-BACK", "from": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z",
                 "eligibility": {"purchasesAtLeast": 2, "averageTicketMinMinor": 300000, "averageIntervalDaysMin": 30},
                 "trigger": {"returnWithinDays": 20}, "reward": {"creditBasisPoints": 2000}, "usesPerMemberMax": 3}
              ],
              "events": {"enrolmentPoints": 100, "firstPurchasePoints": 50, "birthdayPoints": 500, "birthdayWindowDays": 7,
                         "referrerPoints": 300, "referredFirstPurchasePoints": 200},
              "redemption": {"pointValueMinor": 10, "minimumBalancePoints": 1000, "maximumSharePercent": 50,
                             "creditBeforePoints": true, "partialApproval": true},
              "expiry": {"pointsLifeDays": 365, "creditLifeDays": 180}
            }
        """

    @Test("the documented example with every section loads, and each new section reads as written")
    func documentedExampleLoads() throws {
        let configuration = try ProgramConfiguration.fromJSON(Array(Self.documentedExample.utf8))
        let tiers = try #require(configuration.tiers)
        #expect(tiers.windowDays == 365 && tiers.basis == .volume)
        #expect(tiers.levels.map(\.from) == [0, 5_000_000, 20_000_000])
        #expect(
            tiers.levels[2]
                == TierLevel(
                    identifier: ShortIdentifier("GOLD")!, from: 20_000_000,
                    pointsMultiplierPercent: 200, creditBasisPointsBonus: 300))
        #expect(configuration.offers.count == 2)
        #expect(configuration.offers[1].trigger == .returnWithin(days: 20))
        #expect(
            configuration.offers[1].eligibility
                == OfferEligibility(
                    purchasesAtLeast: 2, averageTicketMinMinor: 300_000, averageIntervalDaysMin: 30))
        #expect(configuration.offers[0].usesPerMemberMax == 1)
        #expect(
            configuration.events
                == EventBonuses(
                    enrolmentPoints: 100, firstPurchasePoints: 50, birthdayPoints: 500, birthdayWindowDays: 7,
                    referrerPoints: 300, referredFirstPurchasePoints: 200))
        #expect(
            configuration.redemption
                == RedemptionPolicy(
                    pointValueMinor: 10, minimumBalancePoints: 1000, maximumSharePercent: 50, creditBeforePoints: true,
                    partialApproval: true))
        #expect(configuration.expiry == ExpiryPolicy(pointsLifeDays: 365, creditLifeDays: 180))
        let program = try Program(configuration: configuration)
        #expect(program.tierCount == 3)
        #expect(program.offerIdentifier(at: 1) == ShortIdentifier("COME-BACK"))
    }
}
