/// How a purchase moves a member's aggregates, and how a refund or reversal moves them back.
extension Program {
    /// The member after counting `transaction`, and the effect to keep for undoing it.
    func advance(_ member: Member, transaction: Transaction, moneyMinor: Int64) -> (Member, PurchaseEffect) {
        var after = member
        let effect = PurchaseEffect(
            moneyMinor: moneyMinor, timeMs: transaction.timeMs, previousPurchaseTimeMs: member.lastPurchaseTimeMs,
            tierBefore: member.tier)
        after.purchaseCount &+= 1
        after.purchaseVolumeMinor += moneyMinor
        if member.purchaseCount == 0 { after.firstPurchaseTimeMs = transaction.timeMs }
        after.lastPurchaseTimeMs = max(member.lastPurchaseTimeMs, transaction.timeMs)
        return (after, effect)
    }

    /// The member after taking back `refundedMinor` of the purchase whose effect is `effect` (all of it on a
    /// reversal, `refundedMinor == effect.moneyMinor`). A full undo removes the purchase from the counts; a partial
    /// refund only lowers the volume. Never below zero, whatever the arguments.
    public func undo(_ effect: PurchaseEffect, refundedMinor: Int64, member: Member) -> Member {
        var after = member
        let taken = min(max(refundedMinor, 0), effect.moneyMinor)
        after.purchaseVolumeMinor = max(0, member.purchaseVolumeMinor - taken)
        guard taken == effect.moneyMinor else { return after }
        after.purchaseCount = member.purchaseCount == 0 ? 0 : member.purchaseCount - 1
        if after.purchaseCount == 0 {
            after.firstPurchaseTimeMs = 0
            after.lastPurchaseTimeMs = 0
        } else if member.lastPurchaseTimeMs == effect.timeMs {
            after.lastPurchaseTimeMs = effect.previousPurchaseTimeMs
        }
        return after
    }
}

extension Program {
    /// The name of tier `index` for receipts; nil when the program has no such tier (or no tiers at all).
    /// Stand-in until tiers exist: the helper building tiers replaces it with the configured ids.
    public func tierName(at index: Int) -> String? { nil }
}
