/// Paying a purchase with stored value under the program's redemption rules (`LedgerOperation.pay`).
///
/// Decided on the shard from the member's available balances (what to take is `Decider.plan`), so two payments
/// of one member can never both spend the same value. The record logs the terms, so replay plans identically
/// from the same balances whatever the rules are by then.
///
/// Coalitions: under rules, value in a lot whose origin is a grouped merchant may pay only where
/// `DecisionRules.spending` allows; the live shard resolves which lots may pay (and which settle with a coalition
/// partner) into `SpendingMasks`, which the record logs. Allowed lots are spent oldest first. One payment settles
/// with at most one partner (the oldest one's lots; other partners' lots wait for another payment), so that its
/// reversal can take back exactly what it settled.
extension ShardState {
    func performPay(_ command: inout ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .redeem)
        let requested = command.amountMinor
        let total = command.purchaseTotalMinor ?? requested
        guard requested > 0, requested <= AccountTable.balanceMagnitudeMax, decider.isValid(command.paymentTerms),
            total >= requested, total <= AccountTable.balanceMagnitudeMax
        else {
            result.status = .invalidAmount
            return result
        }
        guard let member = memberForSpending(command, &result, nowMs: nowMs) else { return result }
        var available = AssetAmounts.zero
        for asset in LotTable.assets { available[asset] = spendable(member: member, asset, &command) }
        // A debt (negative balance after a refund claw-back) pays nothing.
        // Without a purchase total the payment is the whole of what is asked: no share of it is capped.
        let plan = decider.plan(
            command.paymentTerms, requestedMinor: requested,
            purchaseTotalMinor: command.purchaseTotalMinor.map { _ in total }, pointsBalance: max(available.points, 0),
            creditBalanceMinor: max(available.credit, 0))
        switch plan.outcome {
        case .approved: result.status = .approved
        case .partiallyApproved: result.status = .partiallyApproved
        case .declined(let reason):
            // With partial approval the share cap only lowers the amount: nothing payable means no balance (51).
            let capOnly = reason == .exceedsMaximumShare && plan.allowsPartial
            result.status = capOnly ? .insufficientFunds : Self.status(declinedFor: reason)
            if result.status == .insufficientFunds && command.hasSpending && command.refusesAtMerchant
                && wouldPayElsewhere(member: member, command, requested: requested, total: total)
            {
                result.status = .notPermittedAtMerchant
            }
            return result
        }
        let debit = AssetAmounts(points: plan.pointsUsed, credit: plan.creditUsedMinor)
        precondition(
            !debit.hasNegative && debit.points <= max(available.points, 0) && debit.credit <= max(available.credit, 0),
            "a payment's plan spends only what is available")
        precondition(plan.approvedMinor > 0 && plan.approvedMinor <= requested, "a payment approves what was asked or less")
        if command.hasSpending {
            guard settlements.freeCount > 0 || !needsNewSettlement(member, debit, command.spending) else {
                result.status = .capacityExceeded
                return result
            }
        }
        members[member].balance.points -= debit.points
        members[member].balance.credit -= debit.credit
        if command.hasSpending {
            result.settlement = spendAllowedLots(member: member, debit, command.spending)
        }
        result.debited = debit
        result.effect.referenceAmountMinor = plan.approvedMinor
        result.receipt.amountPaidMinor = plan.approvedMinor
        precondition(result.status.isApproval, "a payment that spent is approved")
        return result
    }

    /// True when the member's whole available value (every lot, wherever earned) would pay what the allowed lots
    /// cannot: the cashier is told "not here" (58), not "not enough" (51).
    private func wouldPayElsewhere(member: Int, _ command: ShardCommand, requested: Int64, total: Int64) -> Bool {
        let available = members[member].available
        let unrestricted = decider.plan(
            command.paymentTerms, requestedMinor: requested,
            purchaseTotalMinor: command.purchaseTotalMinor.map { _ in total }, pointsBalance: max(available.points, 0),
            creditBalanceMinor: max(available.credit, 0))
        switch unrestricted.outcome {
        case .approved, .partiallyApproved: return true
        case .declined: return false
        }
    }

    /// 13 for what no balance could pay (beyond the share, out of range), 51 for what a larger balance would.
    static func status(declinedFor reason: PaymentPlan.DeclineReason) -> LedgerStatus {
        switch reason {
        case .invalidRequest, .exceedsMaximumShare: .invalidAmount
        case .belowMinimumBalance, .insufficientBalance: .insufficientFunds
        }
    }
}
