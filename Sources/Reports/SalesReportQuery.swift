import Ledger

/// The reports read from the sales store (DATA/sales/, docs/sales.md), apart from the books' reports
/// (`ReportName`), which read checkpoint views: `GET /v1/reports/{sales,items,credit-conversion}.csv` and
/// `loyalty-switch report NAME`.
public enum SalesReportName: String, CaseIterable, Sendable {
    case sales
    case items
    case creditConversion = "credit-conversion"

    /// True for a report whose rows name merchants (kept to a merchant's own; `credit-conversion` is the club's
    /// credit as a whole: expiry and what is outstanding belong to no merchant).
    public var hasMerchants: Bool { self != .creditConversion }

    public var columns: [String] {
        switch self {
        case .sales:
            return [
                "time", "card", "member_id", "terminal", "merchant", "kind", "amount_minor", "points_earned",
                "credit_earned_minor", "points_spent", "credit_spent_minor", "basket_lines",
            ]
        case .items: return ["day", "merchant", "sku", "category", "quantity", "amount_minor", "sales"]
        case .creditConversion:
            return [
                "day", "credit_issued_minor", "credit_spent_minor", "credit_expired_minor", "credit_outstanding_minor",
            ]
        }
    }
}

/// What a sales report is asked for: its name, the window [fromMs, toMs) and the merchants whose rows are
/// wanted, checked before any byte is written.
public struct SalesReportQuery: Sendable, Equatable {
    public var name: SalesReportName
    public var fromMs: Int64
    public var toMs: Int64
    /// Merchants whose rows are wanted (nil: every merchant). A merchant user's query always has its own.
    public var merchants: [MerchantName]?

    public init(name: SalesReportName, fromMs: Int64, toMs: Int64, merchants: [MerchantName]? = nil) {
        precondition(fromMs < toMs, "a window is not empty")
        self.name = name
        self.fromMs = fromMs
        self.toMs = toMs
        self.merchants = merchants
    }

    /// Reads `from`, `to` (RFC 3339 times or dates = midnight UTC; default: everything the store keeps until
    /// `nowMs`) and `merchant` (an id `merchant` turns into a name; nil: no such merchant in the rules), each at
    /// most once.
    public static func parse(
        name: SalesReportName, parameters: [(String, String)], nowMs: Int64, merchant: (String) -> MerchantName?
    ) throws(ReportError) -> SalesReportQuery {
        var values: [String: String] = [:]
        for (key, value) in parameters {
            guard ["from", "to", "merchant"].contains(key) else {
                throw .badParameter(name: key, reason: "unknown parameter (known: from, to, merchant)")
            }
            guard values.updateValue(value, forKey: key) == nil else {
                throw .badParameter(name: key, reason: "given more than once")
            }
        }
        let toMs = try values["to"].map { (text) throws(ReportError) in try SegmentsQuery.time(text, name: "to") }
            ?? nowMs + 1
        let fromMs = try values["from"].map { (text) throws(ReportError) in try SegmentsQuery.time(text, name: "from") }
            ?? 0
        guard fromMs < toMs else { throw .badParameter(name: "from", reason: "must be before to") }
        var query = SalesReportQuery(name: name, fromMs: fromMs, toMs: toMs)
        if let text = values["merchant"] {
            guard name.hasMerchants else {
                throw .badParameter(name: "merchant", reason: "the \(name.rawValue) report has no merchants")
            }
            guard let found = merchant(text) else {
                throw .badParameter(name: "merchant", reason: "not a merchant id (1-16 printable characters): \(text.prefix(40))")
            }
            query.merchants = [found]
        }
        return query
    }

    /// True when `entry`'s merchant is one of those asked for.
    func includes(_ merchant: MerchantName) -> Bool { merchants.map { $0.contains(merchant) } ?? true }
}
