/// Personalised offers during a purchase and on undo (docs/loyalty-rules.md, "Personalised offers").
extension Program {
    /// The id of offer `index` (`Explanation.offerApplied`, `Explanation.offerGranted`), for receipts and logs.
    public func offerIdentifier(at index: Int) -> ShortIdentifier {
        offers.entries[index].identifier
    }

    /// The reward one purchase receives from offers, and the grant it makes, in this order:
    /// 1. a pending return grant is consumed by the next purchase after it; that purchase receives the reward
    ///    when it comes within the offer's days and the member has uses left (the reward is honoured even after
    ///    the offer's `until`, since the receipt promised it; an offer removed from the file is not);
    /// 2. otherwise the first offer, in file order, that runs at this time, whose trigger amount the purchase
    ///    reaches, whose eligibility the member's history before this purchase meets and that has uses left;
    /// 3. then the first return offer that runs, is eligible and has uses left is granted (one pending grant at
    ///    a time). At most one reward and one grant per purchase.
    @inline(never)
    func applyOffers(
        _ transaction: Transaction, before member: Member, _ after: inout Member, _ effect: inout PurchaseEffect,
        _ explanation: inout Explanation
    ) -> (bonusPoints: Int64, creditBasisPoints: Int64) {
        let timeMs = transaction.timeMs
        let history = OfferHistory(member, timeMs: timeMs)
        var applied = -1
        if after.pendingOfferHash != 0, timeMs > after.pendingOfferGrantTimeMs {
            let index = offers.index(ofHash: after.pendingOfferHash)
            let sinceGrantMs = timeMs - after.pendingOfferGrantTimeMs
            if index >= 0, sinceGrantMs <= offers.entries[index].returnWithinMs, hasUsesLeft(index, after) {
                applied = index
            }
            (after.pendingOfferHash, after.pendingOfferGrantTimeMs) = (0, 0)
        }
        if applied < 0 {
            for index in 0..<offers.entries.count {
                let entry = offers.entries[index]
                guard entry.purchaseAtLeastMinor >= 0, transaction.amountMinor >= entry.purchaseAtLeastMinor,
                    runs(entry, timeMs), offers.isEligible(entry, history), hasUsesLeft(index, after)
                else { continue }
                applied = index
                break
            }
        }
        var reward: (bonusPoints: Int64, creditBasisPoints: Int64) = (0, 0)
        if applied >= 0 {
            let entry = offers.entries[applied]
            after.offerUses = offers.recordingUse(after.offerUses, hash: entry.hash)
            effect.offerAppliedHash = entry.hash
            explanation.offerApplied = Int8(applied)
            reward = (entry.bonusPoints, entry.creditBasisPoints)
        }
        if after.pendingOfferHash == 0 { grantReturnOffer(timeMs, history, &after, &effect, &explanation) }
        return reward
    }

    func grantReturnOffer(
        _ timeMs: Int64, _ history: OfferHistory, _ after: inout Member, _ effect: inout PurchaseEffect,
        _ explanation: inout Explanation
    ) {
        for index in 0..<offers.entries.count {
            let entry = offers.entries[index]
            guard entry.returnWithinMs > 0, runs(entry, timeMs), offers.isEligible(entry, history),
                hasUsesLeft(index, after)
            else { continue }
            after.pendingOfferHash = entry.hash
            after.pendingOfferGrantTimeMs = max(0, timeMs)
            effect.offerGrantedHash = entry.hash
            explanation.offerGranted = Int8(index)
            return
        }
    }

    @inline(__always)
    func runs(_ entry: OfferTable.Entry, _ timeMs: Int64) -> Bool {
        timeMs >= entry.fromTimeMs && timeMs < entry.untilTimeMs
    }

    @inline(__always)
    func hasUsesLeft(_ index: Int, _ member: Member) -> Bool {
        let entry = offers.entries[index]
        return member.offerUses.uses(ofHash: entry.hash) < entry.usesPerMemberMax
    }

    /// On a full undo: the use of the offer the purchase received goes back, and the return offer it granted is
    /// withdrawn if it is still pending (a grant already consumed by a later purchase stays consumed).
    func undoOffers(_ effect: PurchaseEffect, _ member: inout Member) {
        if let slot = member.offerUses.slot(ofHash: effect.offerAppliedHash) {
            let count = member.offerUses.count(atSlot: slot)
            member.offerUses.set(slot: slot, hash: effect.offerAppliedHash, count: count == 0 ? 0 : count - 1)
        }
        if effect.offerGrantedHash != 0, member.pendingOfferHash == effect.offerGrantedHash,
            member.pendingOfferGrantTimeMs == max(0, effect.timeMs)
        {
            (member.pendingOfferHash, member.pendingOfferGrantTimeMs) = (0, 0)
        }
    }
}
