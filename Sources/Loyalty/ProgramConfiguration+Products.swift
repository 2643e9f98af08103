/// Product rules (Open Loyalty's "product purchase" rules): points for the basket lines a terminal sends with a
/// purchase (field 48 `IT`), by SKU or by goods category, optionally only inside a window of the program's
/// calendar. They add to the purchase's other points; docs/basket.md says how they combine.
public struct ProductRule: Sendable, Equatable {
    /// Points for every unit of the line (× its quantity), whatever it cost.
    public var pointsPerUnit: Int64
    /// `pointsPerAmount` for every whole `perAmountMinor` of the line's money part (floor); 0 and 0 for none.
    public var pointsPerAmount: Int64
    public var perAmountMinor: Int64
    /// First instant the rule applies, inclusive; `Int64.min`: always has.
    public var fromTimeMs: Int64
    /// End of the rule, exclusive; `Int64.max`: never ends.
    public var untilTimeMs: Int64

    public init(
        pointsPerUnit: Int64 = 0, pointsPerAmount: Int64 = 0, perAmountMinor: Int64 = 0,
        fromTimeMs: Int64 = Int64.min, untilTimeMs: Int64 = Int64.max
    ) {
        self.pointsPerUnit = pointsPerUnit
        self.pointsPerAmount = pointsPerAmount
        self.perAmountMinor = perAmountMinor
        self.fromTimeMs = fromTimeMs
        self.untilTimeMs = untilTimeMs
    }

    /// Whether the rule is in force at `timeMs`.
    @inline(__always)
    func applies(atTimeMs timeMs: Int64) -> Bool { timeMs >= fromTimeMs && timeMs < untilTimeMs }

    /// The points for `quantity` units whose money part is `moneyMinor`. Bounded by the limits: at most
    /// 10^6 × 9,999 + 10^6 × 10^12, inside `Int64`.
    @inline(__always)
    func points(quantity: Int64, moneyMinor: Int64) -> Int64 {
        var points = pointsPerUnit * quantity
        if perAmountMinor > 0 { points += moneyMinor / perAmountMinor * pointsPerAmount }
        return points
    }
}

extension ProductRule {
    /// A code a basket line can carry: 1–16 bytes 0x21–0x7E other than `;` (the line's separator). A key that no
    /// line can carry would be a rule that never applies, so the configuration refuses it.
    static func isProductCode(_ text: String) -> Bool {
        (1...16).contains(text.utf8.count)
            && text.utf8.allSatisfy { (0x21...0x7E).contains($0) && $0 != UInt8(ascii: ";") }
    }
}

/// Reading and checking `earning.bySku` and `earning.byProductCategory`.
extension ProgramConfiguration {
    static let productRuleKeys: Set<String> = ["pointsPerUnit", "points", "perAmountMinor", "from", "until"]

    /// `{code: rule}` of `key` in `earning`; each rule `{"pointsPerUnit"?, "points"?, "perAmountMinor"?, "from"?,
    /// "until"?}`, `points` and `perAmountMinor` together or not at all.
    static func readProductRules(
        _ earning: JSONObjectReader, _ key: String, _ calendar: ClubCalendar
    ) throws(ProgramConfigurationError) -> [ShortIdentifier: ProductRule] {
        var rules: [ShortIdentifier: ProductRule] = [:]
        for (code, reader) in try ruleObjects(earning, key) {
            guard ProductRule.isProductCode(code), let identifier = ShortIdentifier(code) else {
                throw ProgramConfigurationError(
                    keyPath: reader.path, problem: "must be 1...16 printable ASCII characters without space or ;")
            }
            try reader.rejectUnknownKeys(productRuleKeys)
            guard reader.has("points") == reader.has("perAmountMinor") else {
                throw reader.fail(reader.has("points") ? "perAmountMinor" : "points", "is missing (points per amount)")
            }
            rules[identifier] = ProductRule(
                pointsPerUnit: try reader.integer("pointsPerUnit", default: 0),
                pointsPerAmount: try reader.integer("points", default: 0),
                perAmountMinor: try reader.integer("perAmountMinor", default: 0),
                fromTimeMs: reader.has("from") ? try readTime(reader, "from", calendar) : Int64.min,
                untilTimeMs: reader.has("until") ? try readTime(reader, "until", calendar) : Int64.max)
        }
        return rules
    }

    /// Limits and ranges of the product rules, for JSON and code-built configurations alike.
    func validateProducts() throws(ProgramConfigurationError) {
        let tables = [
            ("earning.bySku", earning.pointsBySku), ("earning.byProductCategory", earning.pointsByProductCategory),
        ]
        for (key, rules) in tables {
            let limit = ProgramLimits.productRulesMax
            try Self.check(rules.count <= limit, key, "more than \(limit) rules")
            for (code, rule) in rules.sorted(by: { $0.key < $1.key }) {
                let path = KeyPath.join(key, code.description)
                try Self.check(
                    ProductRule.isProductCode(code.description), path,
                    "must be 1...16 printable ASCII characters without space or ;")
                try Self.validate(rule, path: path)
            }
        }
    }

    static func validate(_ rule: ProductRule, path: String) throws(ProgramConfigurationError) {
        let pointsMax = ProgramLimits.pointsPerUnitMax
        try check(
            (0...pointsMax).contains(rule.pointsPerUnit), KeyPath.join(path, "pointsPerUnit"),
            "must be 0...\(pointsMax)")
        try check(
            (0...pointsMax).contains(rule.pointsPerAmount), KeyPath.join(path, "points"), "must be 0...\(pointsMax)")
        if rule.pointsPerAmount > 0 || rule.perAmountMinor != 0 {
            let amountMax = ProgramLimits.amountMinorMax
            try check(
                (1...amountMax).contains(rule.perAmountMinor), KeyPath.join(path, "perAmountMinor"),
                "must be 1...\(amountMax)")
        }
        try check(
            rule.pointsPerUnit > 0 || rule.pointsPerAmount > 0, path,
            "must give points: pointsPerUnit, or points per perAmountMinor, above 0")
        try check(rule.fromTimeMs < rule.untilTimeMs, KeyPath.join(path, "until"), "must be after from")
    }
}
