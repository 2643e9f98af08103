import Ledger
import Loyalty
import LoyaltyLedger
import Testing

/// `LoyaltyRules.decide(_:lines:timeMs:member:)`: a basket's lines reach the product rules with their codes
/// intact, the product points are in the decided amounts (the record keeps them; replay never decides again), and
/// rules without product rules decide a basket purchase exactly as one without.
@Suite struct LoyaltyRulesBasketTests {
    static let program = try! Program(
        json: Array(
            """
            {"version": 2, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 1000},
             "bySku": {"MILK-1L": {"pointsPerUnit": 20}, "ABCDEFGHIJKLMNOP": {"pointsPerUnit": 1}},
             "byProductCategory": {"DAIRY": {"points": 1, "perAmountMinor": 100}}}}
            """.utf8))

    static func code(_ text: String) -> SaleCode { SaleCode(ascii: Array(text.utf8))! }

    static func purchase(_ amountMinor: Int64) throws -> PurchaseRequest {
        let transaction = Transaction(
            amountMinor: amountMinor, currencyCode: 364, merchantCategoryCode: 5411,
            merchant: ShortIdentifier("SHOP-1")!, terminal: ShortIdentifier("T1")!, timeMs: 0)
        guard case .purchase(let request, _, _) = LedgerOperation.purchase(transaction: transaction, autoEnrol: true)
        else { throw BasketTestError.notAPurchase }
        return request
    }

    enum BasketTestError: Error { case notAPurchase }

    @Test("lines earn their SKU's and category's points on top of the base, in the decided amounts")
    func linesEarnProductPoints() throws {
        let rules = try #require(LoyaltyDecider(rules: Self.program).rulesInForce())
        let request = try Self.purchase(100_000)
        let lines = [
            SaleLine(sku: Self.code("MILK-1L"), category: Self.code("DAIRY"), quantity: 2, amountMinor: 40_000),
            SaleLine(sku: Self.code("YOGURT"), category: Self.code("DAIRY"), quantity: 1, amountMinor: 12_345),
            SaleLine(sku: Self.code("ABCDEFGHIJKLMNOP"), quantity: 3, amountMinor: 1),
            SaleLine(sku: Self.code("SOAP"), quantity: 1, amountMinor: 5_000),
        ]
        let without = rules.decide(request, timeMs: 0, member: .zero)
        let with = rules.decide(request, lines: lines, timeMs: 0, member: .zero)
        // Base 100 (1 per 1,000); MILK-1L 2 × 20 (its SKU rule beats DAIRY); YOGURT by DAIRY 123; the 16-byte SKU
        // matches byte for byte: 3; SOAP has no rule.
        #expect(without.amounts == AssetAmounts(points: 100, credit: 0))
        #expect(with.amounts == AssetAmounts(points: 100 + 40 + 123 + 3, credit: 0))
        #expect(with.memberAfter == without.memberAfter && with.effect == without.effect, "only the points differ")
    }

    @Test("rules without product rules decide a basket purchase as one without")
    func noProductRules() throws {
        let plain = try Program(
            json: Array(
                #"{"version": 1, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 1000}}}"#.utf8)
        )
        let rules = try #require(LoyaltyDecider(rules: plain).rulesInForce())
        let request = try Self.purchase(100_000)
        let lines = [SaleLine(sku: Self.code("MILK-1L"), quantity: 2, amountMinor: 40_000)]
        #expect(rules.decide(request, lines: lines, timeMs: 0, member: .zero).amounts.points == 100)
    }
}
