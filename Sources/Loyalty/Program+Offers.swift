/// Personalised offers during a purchase and on undo (docs/loyalty-rules.md, "Personalised offers").
extension Program {
    /// The id of offer `index` (`Explanation.offerApplied`, `Explanation.offerGranted`), for receipts and logs.
    public func offerIdentifier(at index: Int) -> ShortIdentifier {
        offers.entries[index].identifier
    }

    /// The reward one purchase receives from offers, and the grant it makes, in this order:
    /// 1. a pending grant is consumed by the next purchase after it: a return offer's when it comes within the
    ///    offer's days, an amount offer's when it reaches the amount (a purchase below it uses one of the grant's
    ///    visits); the reward needs uses left and is honoured even after the offer's `until`, since the receipt
    ///    promised it (an offer removed from the file is not);
    /// 2. otherwise the first amount offer without `validVisits`, in file order, that runs at this time, whose
    ///    amount the purchase reaches, whose eligibility the member's history before this purchase meets and
    ///    that has uses left;
    /// 3. then, with no grant pending, the first granted offer (a return offer, or an amount offer with
    ///    `validVisits`) that runs, is eligible and has uses left is granted and shown on the receipt — except an
    ///    amount offer whose grant this purchase used up unrewarded (the member's next visit may be granted it);
    /// 4. else, when nothing was received or granted, the first amount offer without `validVisits` that runs, is
    ///    eligible and has uses left but that this purchase did not reach is announced on the receipt (nothing is
    ///    pending: the member learns of an offer they already hold). At most one reward and one grant per purchase.
    @inline(never)
    func applyOffers(
        _ transaction: Transaction, before member: Member, _ after: inout Member, _ effect: inout PurchaseEffect,
        _ explanation: inout Explanation
    ) -> (bonusPoints: Int64, creditBasisPoints: Int64) {
        let timeMs = transaction.timeMs
        let history = OfferHistory(member, timeMs: timeMs)
        let pendingBefore = after.pendingOfferHash
        var applied = consumePendingGrant(transaction, &after)
        // An amount grant this purchase used up unrewarded is not granted again by the same purchase (the member's
        // next visit may be); a lapsed return grant is, since this purchase is a new visit to return from.
        let endedIndex = applied < 0 && after.pendingOfferHash == 0 ? offers.index(ofHash: pendingBefore) : -1
        let endedUnused = endedIndex >= 0 && offers.entries[endedIndex].validVisits > 0 ? pendingBefore : 0
        if applied < 0 {
            for index in 0..<offers.entries.count {
                let entry = offers.entries[index]
                guard entry.purchaseAtLeastMinor >= 0, entry.validVisits == 0,
                    transaction.amountMinor >= entry.purchaseAtLeastMinor, runs(entry, timeMs),
                    offers.isEligible(entry, history), hasUsesLeft(index, after)
                else { continue }
                applied = index
                break
            }
        }
        var reward: (bonusPoints: Int64, creditBasisPoints: Int64) = (0, 0)
        if applied >= 0 {
            precondition(hasUsesLeft(applied, after), "an offer is applied only with uses left")
            let entry = offers.entries[applied]
            after.offerUses = offers.recordingUse(after.offerUses, hash: entry.hash)
            effect.offerAppliedHash = entry.hash
            explanation.offerApplied = Int8(applied)
            reward = (entry.bonusPoints, entry.creditBasisPoints)
        }
        if after.pendingOfferHash == 0 {
            grantOffer(timeMs, history, skipping: endedUnused, &after, &effect, &explanation)
        }
        if applied < 0 && effect.offerGrantedHash == 0 {
            announceOffer(transaction, history, after, &effect, &explanation)
        }
        precondition(reward.bonusPoints >= 0 && reward.creditBasisPoints >= 0, "offer rewards are never negative")
        precondition(
            after.pendingOfferHash != 0 || (after.pendingOfferGrantTimeMs == 0 && after.pendingOfferVisitsLeft == 0),
            "no grant pending leaves no grant time or visits")
        return reward
    }

    /// Step 1: the index of the pending grant's offer when this purchase receives its reward, else -1. The grant
    /// ends here unless it is an amount offer with visits left that this purchase did not reach.
    func consumePendingGrant(_ transaction: Transaction, _ after: inout Member) -> Int {
        let timeMs = transaction.timeMs
        guard after.pendingOfferHash != 0, timeMs > after.pendingOfferGrantTimeMs else { return -1 }
        let index = offers.index(ofHash: after.pendingOfferHash)
        var applied = -1
        var keepsGrant = false
        if index >= 0 {
            let entry = offers.entries[index]
            if entry.returnWithinMs > 0 {
                let sinceGrantMs = timeMs - after.pendingOfferGrantTimeMs
                if sinceGrantMs <= entry.returnWithinMs, hasUsesLeft(index, after) { applied = index }
            } else if transaction.amountMinor >= entry.purchaseAtLeastMinor, hasUsesLeft(index, after) {
                applied = index
            } else if after.pendingOfferVisitsLeft > 1 {
                after.pendingOfferVisitsLeft -= 1
                keepsGrant = true
            }
        }
        if !keepsGrant {
            (after.pendingOfferHash, after.pendingOfferGrantTimeMs, after.pendingOfferVisitsLeft) = (0, 0, 0)
        }
        return applied
    }

    /// Step 3: grants the first return offer or visit-limited amount offer that runs, is eligible and has uses left.
    func grantOffer(
        _ timeMs: Int64, _ history: OfferHistory, skipping endedHash: UInt32, _ after: inout Member,
        _ effect: inout PurchaseEffect, _ explanation: inout Explanation
    ) {
        for index in 0..<offers.entries.count {
            let entry = offers.entries[index]
            guard entry.isGranted, entry.hash != endedHash, runs(entry, timeMs), offers.isEligible(entry, history),
                hasUsesLeft(index, after)
            else { continue }
            precondition(entry.hash != 0 && after.pendingOfferHash == 0, "a grant replaces no pending grant")
            after.pendingOfferHash = entry.hash
            after.pendingOfferGrantTimeMs = max(0, timeMs)
            after.pendingOfferVisitsLeft = entry.validVisits
            effect.offerGrantedHash = entry.hash
            explanation.offerGranted = Int8(index)
            return
        }
    }

    /// Step 4: names the amount offer the member holds but this purchase did not reach (nothing pending).
    func announceOffer(
        _ transaction: Transaction, _ history: OfferHistory, _ after: Member, _ effect: inout PurchaseEffect,
        _ explanation: inout Explanation
    ) {
        for index in 0..<offers.entries.count {
            let entry = offers.entries[index]
            guard entry.purchaseAtLeastMinor > transaction.amountMinor, entry.validVisits == 0,
                runs(entry, transaction.timeMs), offers.isEligible(entry, history), hasUsesLeft(index, after)
            else { continue }
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
            (member.pendingOfferHash, member.pendingOfferGrantTimeMs, member.pendingOfferVisitsLeft) = (0, 0, 0)
        }
    }
}
