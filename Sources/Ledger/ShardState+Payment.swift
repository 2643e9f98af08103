/// Paying a purchase with stored value under the program's redemption rules (`LedgerOperation.pay`).
///
/// Decided on the shard from the member's available balances, so two payments of one member can never both
/// spend the same value. Replay re-decides from the logged policy and the same balances, hence identically.
extension ShardState {
    func performPay(_ command: ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .redeem)
        let requested = command.referenceAmountMinor
        let policy = command.policy
        guard requested > 0, requested <= ShardState.balanceMagnitudeMax, policy.isValid else {
            result.status = .invalidAmount
            return result
        }
        // The share cap makes a smaller amount payable: that is a partial approval, or nothing.
        let payable = requested * policy.maximumSharePercent / 100
        guard payable > 0, payable == requested || policy.allowPartial else {
            result.status = .invalidAmount
            return result
        }
        guard let member = memberForSpending(command, &result, nowMs: nowMs) else { return result }
        let available = members[member].available
        let split = Self.split(payable, credit: available.credit, points: available.points, policy)
        let paid = split.credit + split.pointsValue
        guard paid > 0, paid == requested || policy.allowPartial else {
            result.status = .insufficientFunds
            return result
        }
        result.status = paid == requested ? .approved : .partiallyApproved
        let debit = AssetAmounts(points: split.points, credit: split.credit)
        members[member].balance.points -= debit.points
        members[member].balance.credit -= debit.credit
        result.debited = debit
        result.effect.referenceAmountMinor = paid
        result.receipt.amountPaidMinor = paid
        return result
    }

    /// How much of `amount` credit and points pay: the first asset as far as it goes, then the other. Points are
    /// spent whole, rounded up as for a plain redeem (the last point may be worth more than what it pays, never
    /// less), and only while the available points reach the policy's minimum balance.
    static func split(
        _ amount: Int64, credit: Int64, points: Int64, _ policy: PaymentPolicy
    ) -> (credit: Int64, points: Int64, pointsValue: Int64) {
        let usablePoints = points >= max(policy.minimumBalancePoints, 1) ? points : 0
        let usableCredit = max(credit, 0)
        let value = policy.pointValueMinor
        func byPoints(_ rest: Int64) -> (points: Int64, value: Int64) {
            let used = min(usablePoints, rest / value + (rest % value == 0 ? 0 : 1))
            return (used, min(rest, used * value))
        }
        if policy.creditFirst {
            let byCredit = min(usableCredit, amount)
            let spent = byPoints(amount - byCredit)
            return (byCredit, spent.points, spent.value)
        }
        let spent = byPoints(amount)
        let byCredit = min(usableCredit, amount - spent.value)
        return (byCredit, spent.points, spent.value)
    }
}
