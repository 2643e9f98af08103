import Foundation
import Testing

@testable import Loyalty

/// Product rules (`earning.bySku`, `earning.byProductCategory`, Program+Products.swift): points per unit and per
/// amount of a basket line, SKU before category, date windows, rounding, how they meet the other rules, and the
/// strict configuration. Purchases are at 2025-11-24T16:00:00Z (`ProgramTests.purchase`).
@Suite("Product rules")
struct ProductRuleTests {
    static func line(_ sku: String, _ category: String? = nil, quantity: Int64 = 1, amount: Int64) -> BasketLine {
        BasketLine(
            sku: ShortIdentifier(sku)!, category: category.map { ShortIdentifier($0)! }, quantity: quantity,
            amountMinor: amount)
    }

    /// 1 point per 10,000 by default; MILK-1L 20 per unit, DAIRY 3 per 10,000 of the line, COFFEE both, and a
    /// BREAD rule only on 24 November 2025 (UTC).
    static let json = """
        {"version": 1, "currency": 364,
         "earning": {
           "default": {"points": 1, "perAmountMinor": 10000},
           "bySku": {"MILK-1L": {"pointsPerUnit": 20},
                     "COFFEE": {"pointsPerUnit": 5, "points": 1, "perAmountMinor": 1000},
                     "BREAD": {"pointsPerUnit": 7, "from": "2025-11-24T00:00:00Z", "until": "2025-11-25T00:00:00Z"},
                     "CAKE": {"pointsPerUnit": 9, "from": "2025-11-25T00:00:00Z"}},
           "byProductCategory": {"DAIRY": {"points": 3, "perAmountMinor": 10000},
                                 "BAKERY": {"pointsPerUnit": 1}}}}
        """

    static func program(_ json: String = Self.json) throws -> Program { try Program(json: Array(json.utf8)) }

    static func points(_ program: Program, _ basket: [BasketLine], amount: Int64 = 200_000, paid: Int64 = 0) -> Int64 {
        program.evaluate(
            transaction: ProgramTests.purchase(amount, paidWithPointsMinor: paid), member: ProgramTests.member,
            basket: basket
        ).postings.pointsEarned
    }

    @Test("per SKU: points per unit × quantity, on top of the base earn; a line without a rule adds nothing")
    func perSku() throws {
        let program = try Self.program()
        #expect(Self.points(program, []) == 20, "base: 200,000 / 10,000")
        #expect(Self.points(program, [Self.line("MILK-1L", quantity: 3, amount: 45_000)]) == 20 + 60)
        #expect(Self.points(program, [Self.line("SOAP", amount: 45_000)]) == 20)
        let decision = program.evaluate(
            transaction: ProgramTests.purchase(200_000), member: ProgramTests.member,
            basket: [Self.line("MILK-1L", quantity: 3, amount: 45_000), Self.line("SOAP", amount: 1)])
        #expect(decision.explanation.productPoints == 60 && decision.explanation.productLines == 1)
        #expect(decision.explanation.description.contains("products +60 on 1 lines"))
    }

    @Test("per category when the SKU has no rule in force; a SKU rule wins over its category's")
    func perCategoryAndPrecedence() throws {
        let program = try Self.program()
        // DAIRY: 3 per whole 10,000 of 59,999 = 5 × 3 = 15.
        #expect(Self.points(program, [Self.line("YOGURT", "DAIRY", amount: 59_999)]) == 20 + 15)
        #expect(Self.points(program, [Self.line("MILK-1L", "DAIRY", quantity: 2, amount: 59_999)]) == 20 + 40)
        // BREAD's rule is in force on the 24th: 7; CAKE's starts the 25th, so BAKERY's 1 per unit applies.
        #expect(Self.points(program, [Self.line("BREAD", "BAKERY", quantity: 2, amount: 10)]) == 20 + 14)
        #expect(Self.points(program, [Self.line("CAKE", "BAKERY", quantity: 2, amount: 10)]) == 20 + 2)
        #expect(Self.points(program, [Self.line("CAKE", amount: 10)]) == 20, "no category, rule not yet in force")
    }

    @Test("windows: from inclusive, until exclusive, in the program's calendar and offset")
    func windows() throws {
        let program = try Self.program()
        let bread = [Self.line("BREAD", quantity: 1, amount: 0)]
        func at(_ timeMs: Int64) -> Int64 {
            var purchase = ProgramTests.purchase(200_000)
            purchase.timeMs = timeMs
            return program.evaluate(transaction: purchase, member: ProgramTests.member, basket: bread)
                .explanation.productPoints
        }
        let day: Int64 = 1_763_942_400_000  // 2025-11-24T00:00:00Z
        #expect(at(day) == 7 && at(day + 86_399_999) == 7)
        #expect(at(day - 1) == 0 && at(day + 86_400_000) == 0)
        let tehran = try Self.program(
            #"{"version": 1, "currency": 364, "utcOffset": "+03:30", "earning": {"bySku": {"BREAD": "#
                + #"{"pointsPerUnit": 7, "from": "2025-11-24T00:00:00", "until": "2025-11-25T00:00:00"}}}}"#)
        var early = ProgramTests.purchase(200_000)
        early.timeMs = day - 3 * 3_600_000
        #expect(
            tehran.evaluate(transaction: early, member: ProgramTests.member, basket: bread).explanation.productPoints
                == 7, "21:00 UTC on the 23rd is 00:30 on the 24th in Tehran")
    }

    @Test("rounding: per line, floor per whole amount unit; the part paid with points earns none of it")
    func rounding() throws {
        let program = try Self.program()
        // COFFEE: 5 per unit + 1 per whole 1,000. 2 units for 12,999 = 10 + 12.
        #expect(Self.points(program, [Self.line("COFFEE", quantity: 2, amount: 12_999)]) == 20 + 22)
        // Two DAIRY lines of 9,999 each: floor per line, so 0 + 0, not 3 for the 19,998 together.
        let split = [Self.line("A", "DAIRY", amount: 9_999), Self.line("B", "DAIRY", amount: 9_999)]
        #expect(Self.points(program, split) == 20)
        // Half of 200,000 paid with points: COFFEE's 12,999 counts 6,499 → 6 (units are not scaled: 10).
        // Base: 100,000 / 10,000 = 10.
        #expect(Self.points(program, [Self.line("COFFEE", quantity: 2, amount: 12_999)], paid: 100_000) == 10 + 16)
    }

    @Test("product points respect the minimum purchase, the currency, and the caps, and need no base rule")
    func interplay() throws {
        let capped = try Self.program(
            #"{"version": 1, "currency": 364, "earning": {"minimumPurchaseMinor": 1000, "pointsPerTransactionMax": 50, "#
                + #""bySku": {"TV": {"pointsPerUnit": 40}}}}"#)
        #expect(Self.points(capped, [Self.line("TV", amount: 900)], amount: 999) == 0, "below the minimum")
        #expect(Self.points(capped, [Self.line("TV", amount: 900)], amount: 1_000) == 40, "no base rule needed")
        #expect(Self.points(capped, [Self.line("TV", quantity: 2, amount: 900)], amount: 1_000) == 50, "capped")
        var euro = ProgramTests.purchase(200_000)
        euro.currencyCode = 978
        let program = try Self.program()
        let decision = program.evaluate(
            transaction: euro, member: ProgramTests.member, basket: [Self.line("MILK-1L", amount: 1)])
        #expect(decision.postings.pointsEarned == 0 && decision.explanation.productPoints == 0)
    }

    @Test("the largest basket stays inside Int64: 12 lines at the limits")
    func limits() throws {
        let program = try Self.program(
            #"{"version": 1, "currency": 364, "earning": {"bySku": {"X": {"pointsPerUnit": 1000000, "#
                + #""points": 1000000, "perAmountMinor": 1}}}}"#)
        let lines = Array(repeating: Self.line("X", quantity: 9_999, amount: 83_333_333_333), count: 12)
        let points = program.productPoints(
            lines, amountMinor: 999_999_999_999, moneyMinor: 999_999_999_999, timeMs: 0)
        #expect(points.lines == 12)
        // 12 × (9,999 × 10^6 + 83,333,333,333 × 10^6) ≈ 1.00000012 × 10^18: clamped, never wrapped.
        #expect(points.points == ProgramLimits.pointsEarnedMax)
    }

    @Test(
        "configuration errors name the JSON path",
        arguments: [
            (#"{"bySku": {"A": {"pointsPerUnit": 1, "bonus": 2}}}"#, "earning.bySku.A.bonus"),
            (#"{"bySku": {"A": {}}}"#, "earning.bySku.A: must give points"),
            (#"{"bySku": {"A": {"points": 1}}}"#, "earning.bySku.A.perAmountMinor: is missing"),
            (#"{"bySku": {"A": {"perAmountMinor": 10}}}"#, "earning.bySku.A.points: is missing"),
            (#"{"bySku": {"A": {"points": 1, "perAmountMinor": 0}}}"#, "earning.bySku.A.perAmountMinor: must be 1"),
            (#"{"bySku": {"A": {"pointsPerUnit": -1}}}"#, "earning.bySku.A.pointsPerUnit: must be 0...1000000"),
            (#"{"bySku": {"A": {"pointsPerUnit": 1000001}}}"#, "earning.bySku.A.pointsPerUnit: must be 0...1000000"),
            (#"{"bySku": {"A": {"pointsPerUnit": 1.5}}}"#, "earning.bySku.A.pointsPerUnit: must be a whole number"),
            (#"{"bySku": {"MILK 1L": {"pointsPerUnit": 1}}}"#, "earning.bySku.MILK 1L: must be 1...16 printable"),
            (#"{"bySku": {"A;B": {"pointsPerUnit": 1}}}"#, "earning.bySku.A;B: must be 1...16 printable"),
            (#"{"bySku": {"ABCDEFGHIJKLMNOPQ": {"pointsPerUnit": 1}}}"#, "earning.bySku.ABCDEFGHIJKLMNOPQ: must be"),
            (#"{"bySku": {"A": 5}}"#, "earning.bySku.A: must be an object"),
            (#"{"bySku": []}"#, "earning.bySku: must be an object"),
            (
                #"{"byProductCategory": {"D": {"pointsPerUnit": 1, "from": "2026-01-02T00:00:00Z", "#
                    + #""until": "2026-01-01T00:00:00Z"}}}"#, "earning.byProductCategory.D.until: must be after from"
            ),
            (
                #"{"byProductCategory": {"D": {"pointsPerUnit": 1, "from": "2026-13-01"}}}"#,
                "earning.byProductCategory.D.from"
            ),
            (#"{"byCategory": {}}"#, "earning.byCategory"),
        ])
    func configurationErrors(earning: String, expectedPrefix: String) {
        let json = #"{"version": 1, "currency": 364, "earning": "# + earning + "}"
        #expect(throws: ProgramConfigurationError.self) { try Program(json: Array(json.utf8)) }
        do {
            _ = try Program(json: Array(json.utf8))
        } catch {
            #expect(error.description.hasPrefix(expectedPrefix), "\(error.description)")
        }
    }

    @Test("a code-built configuration is checked too, and the table limit holds")
    func codeBuiltLimits() {
        var earning = Earning()
        earning.pointsBySku[ShortIdentifier("A")!] = ProductRule(pointsPerUnit: 0)
        #expect(
            throws: ProgramConfigurationError(
                keyPath: "earning.bySku.A",
                problem: "must give points: pointsPerUnit, or points per perAmountMinor, above 0")
        ) {
            try ProgramConfiguration(version: 1, currencyCode: 364, earning: earning).validate()
        }
        earning.pointsBySku = [:]
        for index in 0...ProgramLimits.productRulesMax {
            earning.pointsByProductCategory[ShortIdentifier("C\(index)")!] = ProductRule(pointsPerUnit: 1)
        }
        #expect(
            throws: ProgramConfigurationError(keyPath: "earning.byProductCategory", problem: "more than 100000 rules")
        ) {
            try ProgramConfiguration(version: 1, currencyCode: 364, earning: earning).validate()
        }
    }
}
