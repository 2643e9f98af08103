/// How long earned points and store credit stay usable (docs/loyalty-rules.md, "Expiry"). `nil` lives mean
/// never. Pure policy: the ledger keeps dated lots and asks when each expires.
public struct ExpiryPolicy: Sendable, Equatable {
    public enum Asset: Sendable, Equatable {
        case points
        case credit
    }

    public var pointsLifeDays: Int64?
    public var creditLifeDays: Int64?

    public init(pointsLifeDays: Int64? = nil, creditLifeDays: Int64? = nil) {
        self.pointsLifeDays = pointsLifeDays
        self.creditLifeDays = creditLifeDays
    }

    /// The first instant at which `asset` earned at `earnedAtTimeMs` is expired (earned + life days × 86,400,000,
    /// so points earned at 10:00 on day 0 with a 365-day life are usable until 09:59:59.999 on day 365); nil when
    /// it never expires. Times are clamped to 0...`CampaignTime` year 9999, so the sum cannot overflow.
    public func expiryTimeMs(of asset: Asset, earnedAtTimeMs: Int64) -> Int64? {
        guard let days = asset == .points ? pointsLifeDays : creditLifeDays else { return nil }
        precondition(days >= 1 && days <= ProgramLimits.lifeDaysMax, "lives are validated before they are asked")
        let earned = min(max(0, earnedAtTimeMs), Self.latestTimeMs)
        return earned + days * CampaignTable.millisecondsPerDay
    }

    /// Whether `asset` earned at `earnedAtTimeMs` is expired at `timeMs`.
    public func isExpired(_ asset: Asset, earnedAtTimeMs: Int64, atTimeMs timeMs: Int64) -> Bool {
        guard let expiry = expiryTimeMs(of: asset, earnedAtTimeMs: earnedAtTimeMs) else { return false }
        return timeMs >= expiry
    }

    /// 10000-01-01T00:00:00Z, past any time a configuration can name.
    static let latestTimeMs: Int64 = 253_402_300_800_000
}
