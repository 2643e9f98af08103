/// Engagement events (docs/loyalty-rules.md, "Engagement"): decided from the member's count for the type alone,
/// which the ledger keeps and hands in, so a decision costs the same whatever the member's history.
extension Program {
    /// The rule for `type`, or nil when the program does not know it.
    public func engagementRule(_ type: ShortIdentifier) -> EngagementRule? {
        engagement.first { $0.type == type }
    }

    /// Decides an event of `type` at `timeMs` for a member whose count for the type is `count` in period
    /// `period` (zeros: never counted). A count from an earlier period no longer limits.
    public func engage(_ type: ShortIdentifier, timeMs: Int64, period: UInt32, count: UInt32) -> EngagementOutcome {
        guard let rule = engagementRule(type) else { return .unknownType }
        let current = calendar.periodNumber(rule.period, timeMs: timeMs)
        let counted = current == period ? Int64(count) : 0
        guard counted < rule.limitCount else { return .limitReached }
        return .awarded(points: rule.points, period: current, count: UInt32(counted + 1))
    }
}
