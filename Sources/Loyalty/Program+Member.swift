/// How a purchase moves a member's aggregates, and how a refund or reversal moves them back.
extension Program {
    /// Counts the purchase into the member's lifetime and tier-window aggregates (saturating) and sets the tier
    /// after it; records in `effect` where it was counted so `undo` can take exactly that back.
    /// - Parameter levelBefore: the tier level the purchase earned at (from the member's rolled windows).
    func count(
        _ transaction: Transaction, moneyMinor: Int64, levelBefore: Int, into member: inout Member,
        _ effect: inout PurchaseEffect
    ) {
        precondition(moneyMinor >= 0 && moneyMinor <= ProgramLimits.amountMinorMax, "the money part is a valid amount")
        precondition(levelBefore >= 0 && levelBefore < max(1, tierCount), "the tier earned at is one of the program's")
        if member.purchaseCount == 0 { member.firstPurchaseTimeMs = max(0, transaction.timeMs) }
        member.purchaseCount = member.purchaseCount == UInt32.max ? UInt32.max : member.purchaseCount + 1
        member.purchaseVolumeMinor = Aggregate.adding(member.purchaseVolumeMinor, moneyMinor)
        member.lastPurchaseTimeMs = max(member.lastPurchaseTimeMs, transaction.timeMs, member.firstPurchaseTimeMs)
        if tiers.isEmpty {
            member.tier = 0
            return
        }
        let saleWindow = tiers.windowIndex(transaction.timeMs)
        if saleWindow >= member.tierWindowIndex {
            let windowCount = member.tierWindowPurchaseCount
            member.tierWindowPurchaseCount = windowCount == UInt32.max ? UInt32.max : windowCount + 1
            member.tierWindowVolumeMinor = Aggregate.adding(member.tierWindowVolumeMinor, moneyMinor)
            effect.tierWindowDays = member.tierWindowDays
            effect.tierWindowIndex = member.tierWindowIndex
            // The current window only grows, so the level after is the level before or what the current window
            // now reaches, whichever is higher (one pass over the thresholds instead of two).
            let reached = tiers.qualifiedLevel(
                volumeMinor: member.tierWindowVolumeMinor, count: member.tierWindowPurchaseCount)
            member.tier = UInt8(max(levelBefore, reached))
            precondition(effect.tierWindowDays == tiers.windowDays, "a counted purchase names the program's window")
        } else if saleWindow + 1 == member.tierWindowIndex {
            countInPreviousWindow(moneyMinor: moneyMinor, &member, &effect)
            member.tier = UInt8(max(levelBefore, tiers.level(of: member)))
        } else {
            // An offline sale from a window that no longer affects the tier: counted for the lifetime only.
            member.tier = UInt8(levelBefore)
        }
    }

    /// An offline sale uploaded after its tier window ended, while that window is still the member's previous
    /// one: it qualifies there, as it would have when it happened (`undo` finds it there by its window index).
    func countInPreviousWindow(moneyMinor: Int64, _ member: inout Member, _ effect: inout PurchaseEffect) {
        let count = member.previousTierWindowPurchaseCount
        member.previousTierWindowPurchaseCount = count == UInt32.max ? UInt32.max : count + 1
        member.previousTierWindowVolumeMinor = Aggregate.adding(member.previousTierWindowVolumeMinor, moneyMinor)
        precondition(member.tierWindowIndex > 0, "a previous window exists only after window 0")
        effect.tierWindowDays = member.tierWindowDays
        effect.tierWindowIndex = member.tierWindowIndex - 1
    }

    /// The member after taking back `refundedMinor` of the purchase whose effect is `effect` (all of it on a
    /// reversal, `refundedMinor == effect.moneyMinor`). A partial refund only lowers the volumes (lifetime and
    /// the tier window the purchase was counted in); a full undo also removes the purchase from the counts.
    /// The tier is then recomputed from the remaining window aggregates, so reversing the purchase that caused
    /// an upgrade undoes the upgrade when the rest no longer qualifies. Never below zero, whatever the
    /// arguments; `PurchaseEffect.none` (a purchase that counted nothing) changes nothing.
    public func undo(_ effect: PurchaseEffect, refundedMinor: Int64, member: Member) -> Member {
        let taken = min(max(refundedMinor, 0), effect.moneyMinor)
        return undo(effect, refundedMinor: refundedMinor, completes: taken == effect.moneyMinor, member: member)
    }

    /// The same, with the caller saying whether this undo completes the purchase (a reversal, or the refund that
    /// brings the refunded total to the purchase amount). The ledger says so from the refunded totals: deciding
    /// it from the money part alone would count a purchase paid wholly with points (money part 0) as completed
    /// by every partial refund.
    public func undo(_ effect: PurchaseEffect, refundedMinor: Int64, completes isFull: Bool, member: Member) -> Member {
        guard effect != .none else { return member }
        var after = member
        let taken = min(max(refundedMinor, 0), effect.moneyMinor)
        after.purchaseVolumeMinor = Aggregate.subtracting(member.purchaseVolumeMinor, taken)
        undoTierWindow(effect, takenMinor: taken, isFull: isFull, &after)
        if isFull {
            after.purchaseCount = member.purchaseCount == 0 ? 0 : member.purchaseCount - 1
            if after.purchaseCount == 0 {
                after.firstPurchaseTimeMs = 0
                after.lastPurchaseTimeMs = 0
            } else if member.lastPurchaseTimeMs == effect.timeMs {
                after.lastPurchaseTimeMs = max(effect.previousPurchaseTimeMs, after.firstPurchaseTimeMs)
            }
            undoOffers(effect, &after)
            undoEvents(effect, &after)
            let day = UInt32(clamping: calendar.localDay(max(0, effect.timeMs)))
            if after.pointsDayNumber == day {
                after.pointsEarnedOnDay -= min(effect.pointsCountedOnDay, after.pointsEarnedOnDay)
            }
        }
        after.tier = UInt8(tiers.level(of: after))
        // An undo gives back at most what the purchase took, and never more than the member has.
        precondition(after.purchaseVolumeMinor <= max(0, member.purchaseVolumeMinor), "an undo never adds volume")
        precondition(after.purchaseCount <= member.purchaseCount, "an undo never adds a purchase")
        precondition(after.pointsEarnedOnDay <= member.pointsEarnedOnDay, "an undo never adds to the day's count")
        precondition(Int(after.tier) < max(1, tierCount), "the member's tier is one of the program's tiers")
        return after
    }

    /// Takes the purchase out of the window it was counted in, when that window is still the member's current
    /// or previous one under the same window length; an older window no longer affects the tier.
    func undoTierWindow(_ effect: PurchaseEffect, takenMinor: Int64, isFull: Bool, _ member: inout Member) {
        guard effect.tierWindowDays != 0, effect.tierWindowDays == member.tierWindowDays else { return }
        precondition(takenMinor >= 0 && takenMinor <= effect.moneyMinor, "a refund takes back at most the money part")
        let countTaken: UInt32 = isFull ? 1 : 0
        if effect.tierWindowIndex == member.tierWindowIndex {
            member.tierWindowVolumeMinor = Aggregate.subtracting(member.tierWindowVolumeMinor, takenMinor)
            member.tierWindowPurchaseCount -= min(countTaken, member.tierWindowPurchaseCount)
        } else if UInt64(effect.tierWindowIndex) + 1 == UInt64(member.tierWindowIndex) {
            member.previousTierWindowVolumeMinor = Aggregate.subtracting(
                member.previousTierWindowVolumeMinor, takenMinor)
            member.previousTierWindowPurchaseCount -= min(countTaken, member.previousTierWindowPurchaseCount)
        }
    }
}

extension Program {
    /// The member after a refund of `restoredMinor` of the purchase whose effect is `effect` was itself reversed:
    /// the inverse of `undo` for that part. `countsAgain` says the reversed refund was the one that completed
    /// the purchase (its `undo` took the purchase out of the counts): the purchase is counted again, its offer use
    /// is recorded again and the one-off bonuses it paid are marked paid again (their points come back with the
    /// refund's reversal in the ledger). Not restored: a withdrawn return-offer grant, and the latest purchase time
    /// when it moved back. The tier follows the restored window aggregates.
    public func redo(_ effect: PurchaseEffect, restoredMinor: Int64, countsAgain: Bool, member: Member) -> Member {
        guard effect != .none else { return member }
        var after = member
        let restored = min(max(restoredMinor, 0), effect.moneyMinor)
        after.purchaseVolumeMinor = Aggregate.adding(member.purchaseVolumeMinor, restored)
        if effect.tierWindowDays != 0, effect.tierWindowDays == after.tierWindowDays {
            let count: UInt32 = countsAgain ? 1 : 0
            if effect.tierWindowIndex == after.tierWindowIndex {
                after.tierWindowVolumeMinor = Aggregate.adding(after.tierWindowVolumeMinor, restored)
                after.tierWindowPurchaseCount &+= count
            } else if UInt64(effect.tierWindowIndex) + 1 == UInt64(after.tierWindowIndex) {
                after.previousTierWindowVolumeMinor = Aggregate.adding(after.previousTierWindowVolumeMinor, restored)
                after.previousTierWindowPurchaseCount &+= count
            }
        }
        if countsAgain {
            after.purchaseCount &+= 1
            if after.firstPurchaseTimeMs == 0 { after.firstPurchaseTimeMs = max(0, effect.timeMs) }
            after.lastPurchaseTimeMs = max(after.lastPurchaseTimeMs, max(0, effect.timeMs))
            if effect.offerAppliedHash != 0 {
                after.offerUses = offers.recordingUse(after.offerUses, hash: effect.offerAppliedHash)
            }
            if effect.rewardedEvents.contains(.enrolment) { after.enrolmentRewarded = true }
            if effect.rewardedEvents.contains(.firstPurchase) { after.firstPurchaseRewarded = true }
            if effect.rewardedEvents.contains(.birthday),
                let year = calendar.birthdayYear(
                    holding: calendar.localDay(max(0, effect.timeMs)), month: Int(after.birthMonth),
                    day: Int(after.birthDay), windowDays: events.birthdayWindowDays)
            {
                after.birthdayRewardYear = max(after.birthdayRewardYear, UInt16(clamping: year))
            }
        }
        after.tier = UInt8(tiers.level(of: after))
        // A reversed refund restores at most what the refund took, never less than the member had.
        precondition(
            after.purchaseVolumeMinor >= min(member.purchaseVolumeMinor, ProgramLimits.memberVolumeMinorMax),
            "a redo never lowers the volume")
        precondition(Int(after.tier) < max(1, tierCount), "the member's tier is one of the program's tiers")
        return after
    }
}
