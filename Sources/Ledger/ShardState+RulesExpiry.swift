extension ShardState {
    /// A live purchase under rules with an `expiry` section: its lots expire by the rules' lives, not the ledger
    /// configuration's (the rules round the day up, so value never expires before they promise).
    /// `resolveLotTerms` then logs the days with the record, so replay never asks.
    func applyRulesExpiry(_ command: inout ShardCommand, nowMs: Int64) {
        guard let rules, !command.isDecided else { return }
        let isPurchase = command.kind == .earn && command.isPurchase
        // A reversal gives value back (a payment's points): under rules it lives by the rules too, from today;
        // engagement points are earned points and live as long (spendable anywhere: origin 0).
        guard isPurchase || command.kind == .reverse || command.kind == .engage else { return }
        // Where the value was earned, for coalition spending (0: spendable anywhere).
        if isPurchase { command.lotTerms.origin = rules.lotOrigin(of: command.merchant) }
        guard let days = rules.lotExpiryDays(earnedAtTimeMs: nowMs) else { return }
        precondition(days.points != 0 && days.credit != 0, "day 0 means 'configured', never a rules expiry")
        command.lotTerms.pointsExpiresOnDay = days.points
        command.lotTerms.creditExpiresOnDay = days.credit
    }
}
