import Ledger

/// The reports of the books this build makes (`GET /v1/reports/{name}.csv`, `loyalty-switch report NAME`). The
/// contract's `sales`, `items` and `credit-conversion` read the sales store (`SalesReportName`) and `segments` its
/// own source (`SegmentsReport`): they have routes and commands of their own (docs/sales.md, docs/segments.md).
public enum ReportName: String, CaseIterable, Sendable {
    case members
    case cardsIssued = "cards-issued"
    case lostCards = "lost-cards"
    case tiers
    case breakage
    case settlement

    /// Names the contract lists that this build does not make yet.
    public static let notBuilt: Set<String> = []

    /// True for a report whose rows name merchants (the only ones a merchant user may read, filtered to its own).
    public var hasMerchants: Bool { self == .settlement }

    /// The header row.
    public var columns: [String] {
        switch self {
        case .members:
            return [
                "member_id", "card", "tier", "points", "credit", "points_held", "credit_held",
                "gift_value_minor", "gift_currency", "cards", "purchases", "volume_minor", "name", "phone",
            ]
        case .cardsIssued: return ["card", "kind", "member_id", "status"]
        case .lostCards: return ["card", "kind", "member_id", "status"]
        case .tiers: return ["tier", "members", "points", "credit", "purchases", "volume_minor"]
        // The CLI's own headers: the same numbers under the same names.
        case .breakage: return LedgerBreakage.csvHeader.split(separator: ",").map(String.init)
        case .settlement: return LedgerSettlement.csvHeader.split(separator: ",").map(String.init)
        }
    }
}
