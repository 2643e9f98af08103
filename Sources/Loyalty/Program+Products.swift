/// One line of a purchase's basket as the rules see it (the switch reads it from field 48 `IT`).
public struct BasketLine: Sendable, Equatable, BitwiseCopyable {
    public var sku: ShortIdentifier
    /// Nil when the line names no category.
    public var category: ShortIdentifier?
    /// Units, 1 or more.
    public var quantity: Int64
    /// The line's whole amount, minor units of the purchase's currency, 0 or more.
    public var amountMinor: Int64

    public init(sku: ShortIdentifier, category: ShortIdentifier? = nil, quantity: Int64, amountMinor: Int64) {
        precondition(quantity >= 1 && amountMinor >= 0, "a basket line has units and an amount")
        self.sku = sku
        self.category = category
        self.quantity = quantity
        self.amountMinor = amountMinor
    }
}

/// Product rules applied to a basket (docs/basket.md). Pure: the lines, the tables and the purchase's time.
extension Program {
    /// Whether any product rule is configured: without one a basket changes nothing and is not looked at.
    public var hasProductRules: Bool { !productRulesBySku.isEmpty || !productRulesByCategory.isEmpty }

    /// The rule in force at `timeMs` for a line: its SKU's, else its category's; nil when neither has one.
    func productRule(for line: BasketLine, atTimeMs timeMs: Int64) -> ProductRule? {
        if let rule = productRulesBySku[line.sku], rule.applies(atTimeMs: timeMs) { return rule }
        guard let category = line.category, let rule = productRulesByCategory[category],
            rule.applies(atTimeMs: timeMs)
        else { return nil }
        return rule
    }

    /// The product points of a basket and how many lines earned them. Each line's money part is its amount less
    /// its share of what was paid with points (`amount × money / purchase`, floor), since points buy no points;
    /// points per unit are for the goods and are not scaled, like a visit's. Lines past what the purchase can
    /// hold are the switch's to refuse; here the sum is only clamped to `ProgramLimits.pointsEarnedMax`.
    public func productPoints(
        _ basket: [BasketLine], amountMinor: Int64, moneyMinor: Int64, timeMs: Int64
    ) -> (points: Int64, lines: Int) {
        precondition(moneyMinor >= 0 && moneyMinor <= amountMinor, "the money part is part of the purchase")
        var points: Int64 = 0
        var lines = 0
        for line in basket {
            guard let rule = productRule(for: line, atTimeMs: timeMs) else { continue }
            let lineMoney =
                moneyMinor == amountMinor
                ? line.amountMinor
                : Int64(Int128(min(line.amountMinor, amountMinor)) * Int128(moneyMinor) / Int128(max(amountMinor, 1)))
            precondition(lineMoney >= 0 && lineMoney <= line.amountMinor, "a line's money part is part of the line")
            let linePoints = rule.points(quantity: line.quantity, moneyMinor: lineMoney)
            guard linePoints > 0 else { continue }
            points = min(points + linePoints, ProgramLimits.pointsEarnedMax)
            lines += 1
        }
        precondition(points >= 0 && lines <= basket.count, "product points are never negative, one line at most once")
        return (points, lines)
    }
}
