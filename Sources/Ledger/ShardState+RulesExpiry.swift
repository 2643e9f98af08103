import Loyalty

extension ShardState {
    /// A live purchase under rules with an `expiry` section: its lots expire by the rules' lives, not the ledger
    /// configuration's. The day is rounded up, so value never expires before the rules promise (a lot is gone at
    /// 00:00 UTC of its day). `resolveLotTerms` then logs the days with the record, so replay never asks.
    func applyRulesExpiry(_ command: inout ShardCommand, nowMs: Int64) {
        guard let rules, !command.isDecided else { return }
        let isPurchase = command.kind == .earn && command.isPurchase
        // A reversal gives value back (a payment's points): under rules it lives by the rules too, from today.
        guard isPurchase || command.kind == .reverse else { return }
        // Where the value was earned, for coalition spending (0: spendable anywhere).
        if isPurchase { command.lotTerms.origin = rules.spendingOrigin(of: command.transaction.merchant) }
        let expiry = rules.expiry
        guard expiry.pointsLifeDays != nil || expiry.creditLifeDays != nil else { return }
        func day(_ asset: ExpiryPolicy.Asset) -> Int32 {
            guard let timeMs = expiry.expiryTimeMs(of: asset, earnedAtTimeMs: nowMs) else { return LotTerms.never }
            let dayMs = LotTerms.millisecondsPerDay
            return Int32(clamping: (timeMs + dayMs - 1) / dayMs)
        }
        command.lotTerms.pointsExpiresOnDay = day(.points)
        command.lotTerms.creditExpiresOnDay = day(.credit)
    }
}
