/// How members pay with points and store credit at the POS (docs/loyalty-rules.md, "Redemption"): what a point
/// is worth, the balance a member needs before spending points, the largest share of a purchase that points and
/// credit may pay, which is spent first, and whether a request that cannot be met in full is partly approved.
///
/// Pure policy: `plan` says what to take from which balance; the ledger takes it (and its WAL records it).
public struct RedemptionPolicy: Sendable, Equatable, BitwiseCopyable {
    /// Minor units one point pays (10: a point pays 10 rials).
    public var pointValueMinor: Int64
    /// A member may spend points only while holding at least this many (credit is not affected).
    public var minimumBalancePoints: Int64
    /// Points and credit together pay at most this share of the purchase amount (floor), 0...100.
    public var maximumSharePercent: Int64
    /// Spend store credit before points (credit expires sooner and is worth its face value).
    public var creditBeforePoints: Bool
    /// Approve what can be paid when the request cannot be met in full; otherwise decline it.
    public var partialApproval: Bool

    public init(
        pointValueMinor: Int64 = 1, minimumBalancePoints: Int64 = 0, maximumSharePercent: Int64 = 100,
        creditBeforePoints: Bool = true, partialApproval: Bool = false
    ) {
        self.pointValueMinor = pointValueMinor
        self.minimumBalancePoints = minimumBalancePoints
        self.maximumSharePercent = maximumSharePercent
        self.creditBeforePoints = creditBeforePoints
        self.partialApproval = partialApproval
    }

    /// Points that pay `amountMinor`, rounded up so the points always cover it (holds and captures convert so);
    /// 0 for no amount.
    public func pointsToPay(amountMinor: Int64) -> Int64 {
        precondition(pointValueMinor > 0, "a point worth nothing passed validation")
        guard amountMinor > 0 else { return 0 }
        let points = amountMinor / pointValueMinor + (amountMinor % pointValueMinor == 0 ? 0 : 1)
        precondition(points >= 1 && points <= amountMinor, "the points that pay an amount are between 1 and the amount")
        return points
    }

    /// The amount (minor units) `points` pay; `Int64.max` when it would overflow.
    public func amountPaid(points: Int64) -> Int64 {
        precondition(points >= 0, "points paid are never negative")
        let (amount, overflow) = points.multipliedReportingOverflow(by: pointValueMinor)
        return overflow ? Int64.max : amount
    }

    /// What to take to pay `requestedMinor` of a purchase of `purchaseAmountMinor` from the member's balances.
    /// The share cap applies to the purchase total only: nil (the terminal did not say what the whole purchase
    /// was) pays up to `requestedMinor` within the balances, as capping the payment by a share of itself would
    /// never approve one in full. Points pay in whole points (the part of a request below one point's value stays
    /// to be paid in money). Every product stays ≤ 10^14 (`amountMinorMax` × 100), so nothing overflows.
    public func plan(
        requestedMinor: Int64, purchaseAmountMinor: Int64?, pointsBalance: Int64, creditBalanceMinor: Int64
    ) -> RedemptionPlan {
        precondition(pointValueMinor > 0, "a point worth nothing passed validation")
        let totalMinor = purchaseAmountMinor ?? requestedMinor
        guard (1...ProgramLimits.amountMinorMax).contains(totalMinor),
            (1...totalMinor).contains(requestedMinor), pointsBalance >= 0, creditBalanceMinor >= 0
        else { return .declined(.invalidRequest) }
        let shareMinor = purchaseAmountMinor.map { $0 * maximumSharePercent / 100 } ?? requestedMinor
        let allowedMinor = min(requestedMinor, shareMinor)
        let spendablePoints = pointsBalance >= minimumBalancePoints ? pointsBalance : 0
        func points(paying amountMinor: Int64) -> Int64 { min(spendablePoints, amountMinor / pointValueMinor) }
        var creditMinor: Int64
        var pointsUsed: Int64
        if creditBeforePoints {
            creditMinor = min(creditBalanceMinor, allowedMinor)
            pointsUsed = points(paying: allowedMinor - creditMinor)
        } else {
            pointsUsed = points(paying: allowedMinor)
            creditMinor = min(creditBalanceMinor, allowedMinor - pointsUsed * pointValueMinor)
        }
        precondition(creditMinor >= 0 && creditMinor <= creditBalanceMinor, "credit spent is within the balance")
        precondition(pointsUsed >= 0 && pointsUsed <= pointsBalance, "points spent are within the balance")
        precondition(pointsUsed == 0 || pointsBalance >= minimumBalancePoints, "points spent below the minimum balance")
        let plan = RedemptionPlan(
            outcome: .approved, creditUsedMinor: creditMinor, pointsUsed: pointsUsed,
            pointsValueMinor: pointsUsed * pointValueMinor)
        precondition(plan.approvedMinor <= allowedMinor, "a redemption pays no more than requested and the share cap")
        if plan.approvedMinor == requestedMinor { return plan }
        let reason: RedemptionPlan.DeclineReason =
            allowedMinor < requestedMinor
            ? .exceedsMaximumShare
            : pointsBalance < minimumBalancePoints && pointsBalance > 0 ? .belowMinimumBalance : .insufficientBalance
        guard partialApproval, plan.approvedMinor > 0 else { return .declined(reason) }
        precondition(plan.approvedMinor < requestedMinor, "a partial approval pays less than the request")
        var partial = plan
        partial.outcome = .partiallyApproved(reason)
        return partial
    }
}

/// What `RedemptionPolicy.plan` decided: how much credit and how many points to take, and whether that pays all
/// that was asked.
public struct RedemptionPlan: Sendable, Equatable {
    public enum DeclineReason: Sendable, Equatable {
        /// Amounts out of range or negative balances.
        case invalidRequest
        /// More than `maximumSharePercent` of the purchase was asked.
        case exceedsMaximumShare
        /// The member holds fewer points than `minimumBalancePoints` (and credit did not cover the request).
        case belowMinimumBalance
        case insufficientBalance
    }

    public enum Outcome: Sendable, Equatable {
        case approved
        /// Less than requested, by partial approval; the reason says why not all.
        case partiallyApproved(DeclineReason)
        /// Nothing is taken.
        case declined(DeclineReason)
    }

    public var outcome: Outcome
    public var creditUsedMinor: Int64
    public var pointsUsed: Int64
    /// `pointsUsed × pointValueMinor`.
    public var pointsValueMinor: Int64

    /// The part of the purchase paid with credit and points.
    public var approvedMinor: Int64 { creditUsedMinor + pointsValueMinor }

    static func declined(_ reason: DeclineReason) -> RedemptionPlan {
        RedemptionPlan(outcome: .declined(reason), creditUsedMinor: 0, pointsUsed: 0, pointsValueMinor: 0)
    }
}
