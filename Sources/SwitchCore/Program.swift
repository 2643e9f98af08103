/// The flat program of the configuration's `program` section: automatic enrolment on a card's first purchase,
/// 1 point per whole 100 minor units, 1 point pays 1 minor unit, no partial redemption, 7-day holds. It decides
/// purchases only when the configuration has no `rules`; under rules it still sets enrolment and the hold
/// lifetime, while the rules' `redemption` section sets the point value and partial approval (LoopContext).
/// Issue 11 replaces it with an embedded `Loyalty` program.
public struct Program: Sendable, Equatable {
    /// Points earned per `earnUnitMinor` of purchase amount (whole units only: 250 → 2 points).
    public var pointsPerEarnUnit: Int64 = 1
    public var earnUnitMinor: Int64 = 100
    /// Minor units of the transaction currency that one point pays on redemption.
    public var pointValueMinor: Int64 = 1
    /// Enrol an unknown card on its first purchase.
    public var autoEnrol = true
    /// Approve what the balance covers (response code 10) instead of declining with 51.
    public var partialRedemption = false
    /// How long a 0100 hold lasts before it lapses.
    public var holdExpiryMs: Int64 = 7 * 24 * 3_600_000

    public init() {}

    /// Points for a purchase of `amountMinor`; nil when the multiplication would overflow.
    public func pointsEarned(amountMinor: Int64) -> Int64? {
        let units = amountMinor / earnUnitMinor
        let (points, overflow) = units.multipliedReportingOverflow(by: pointsPerEarnUnit)
        return overflow ? nil : points
    }

    /// Points needed to pay `amountMinor`, rounded up so the points always cover the amount.
    public func pointsToPay(amountMinor: Int64) -> Int64 {
        (amountMinor + pointValueMinor - 1) / pointValueMinor
    }

    /// The amount (minor units) that `points` pay.
    public func amountPaid(points: Int64) -> Int64 {
        let (amount, overflow) = points.multipliedReportingOverflow(by: pointValueMinor)
        return overflow ? Int64.max : amount
    }
}
