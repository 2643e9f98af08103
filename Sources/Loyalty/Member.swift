/// What the rules may know about the member: aggregates the ledger keeps, never the member's history itself.
///
/// Rules decide from aggregates so that evaluation costs the same for a member with ten purchases or ten
/// thousand. The current rules read none of these yet; tiers and personalised offers (issue 6) will, and new
/// aggregates (volume over a window, lots, birthday) are added here as fields with defaults so callers keep
/// compiling.
public struct Member: Sendable, Equatable {
    /// The member's current tier ("gold"); `nil` before tiers exist or for a member in no tier.
    public var tierName: String?
    /// Purchases made before this one.
    public var purchaseCount: Int64
    /// The previous purchase, in milliseconds since the Unix epoch; `nil` before the first purchase.
    public var lastPurchaseTimeMs: Int64?

    public init(tierName: String? = nil, purchaseCount: Int64 = 0, lastPurchaseTimeMs: Int64? = nil) {
        self.tierName = tierName
        self.purchaseCount = purchaseCount
        self.lastPurchaseTimeMs = lastPurchaseTimeMs
    }
}
