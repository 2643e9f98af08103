/// Reversal and refund: the operations that undo earlier ones, found through the idempotency table.
///
/// Refund policy when earned points were already spent: the claw-back is taken in full and the balance may go
/// negative (a debt that later earnings repay). Nothing is silently forgiven, and a refund followed by its
/// reversal restores the balance exactly.
extension ShardState {
    func performReverse(_ command: inout ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .reverse)
        if let cardIndex = cards.find(command.cardHash) { result.member = cards.cards[cardIndex].member }
        // Without field 90 the caller names the original by its terminal reference (terminal + STAN).
        let found = idempotency.find(command.originalKey) ?? idempotency.find(terminalReference: command.originalKey)
        guard let position = found else {
            // A full table whose oldest key is still inside the retention window is forgetting keys early: the
            // original may be one of them, and a tombstone would answer 00 while its points stay. Refuse instead;
            // the caller's repeat succeeds once the original is known (e.g. when it arrives late).
            if idempotency.isForgettingEarly(nowMs: nowMs, retentionMs: limits.idempotencyRetentionMs) {
                result.status = .originalMayBeForgotten
                return result
            }
            recordTombstone(command, nowMs: nowMs, member: result.member)
            return result
        }
        precondition(position >= 0 && position < idempotency.nextPosition, "an original's position was handed out")
        var original = idempotency[position]
        guard !original.effect.isTombstone, !original.effect.isReversed else { return result }
        guard original.effect.member == result.member || original.effect.member < 0 else {
            result.status = .notPermitted
            return result
        }
        if original.outcome.status.isApproval {
            guard undo(original, position: position, &result, &command, nowMs: nowMs) else { return result }
        }
        original.effect.isReversed = true
        if command.isUndo { original.outcome.status = .undone }
        idempotency[position] = original
        precondition(idempotency[position].effect.isReversed, "a reversed original is marked reversed")
        result.effect.linkedPosition = position
        return result
    }

    /// Remembers that the original was reversed before it arrived, so that it is declined when it does.
    private func recordTombstone(_ command: ShardCommand, nowMs: Int64, member: Int32) {
        precondition(member >= -1 && Int(member) < members.count, "a tombstone's member is in the table or none")
        var effect = OperationResult(.declined, card: command.masked, kind: .none).effect
        effect.isTombstone = true
        effect.member = member
        let outcome = StoredOutcome(
            balance: .zero, available: .zero, credited: .zero, debited: .zero, card: command.masked,
            status: .declined)
        _ = idempotency.insert(
            IdempotencyEntry(
                key: command.originalKey, reference: .zero, terminalReference: .zero,
                digest: ContentDigest(high: 0, low: 0), createdAtMs: nowMs, outcome: outcome, effect: effect),
            nowMs: nowMs, retentionMs: limits.idempotencyRetentionMs)
    }

    /// Applies the inverse of an approved original. False (with the status set) when it cannot.
    private func undo(
        _ original: IdempotencyEntry, position: Int64, _ result: inout OperationResult, _ command: inout ShardCommand,
        nowMs: Int64
    ) -> Bool {
        let member = Int(original.effect.member)
        expireLots(member: member, nowMs: nowMs)
        switch original.effect.kind {
        case .enrol, .balance, .profile:
            return true
        case .earn:
            let remaining = earnedNotClawedBack(original)
            guard applyUndo(member: member, debit: remaining, &result) else { return false }
            takeBackFromOrigin(member: member, remaining, origin: original.effect.earnOrigin)
            // A purchase refunded in full was already undone (aggregates, referrer bonus) by its last refund.
            guard original.effect.refundedAmountMinor < original.effect.referenceAmountMinor else { return true }
            undoDecision(
                original, fromRefunded: original.effect.refundedAmountMinor,
                toRefunded: original.effect.referenceAmountMinor, member: member, &command)
            clawBackReferrerBonus(original, key: command.key, &result)
            return true
        case .redeem, .capture, .refund:
            if original.effect.kind == .refund {
                switch refundReversal(original, member: member) {
                case .nothingToGive: return true
                case .refused(let status):
                    result.status = status
                    return false
                case .restore: break
                }
                // The clawed-back value returns with the origin of the earn it was taken from.
                if let origin = refundedEarnOrigin(original) { lots.currentTerms.origin = origin }
            }
            guard canFormLots(member: member, credit: original.outcome.debited),
                canGiveBackSpentLots(member: member, position: position, credit: original.outcome.debited)
            else {
                result.status = .capacityExceeded
                return false
            }
            guard applyUndo(member: member, credit: original.outcome.debited, &result) else { return false }
            if original.effect.kind == .refund {
                restoreRefundable(original)
                redoDecision(refund: original, member: member, &command, &result)
            }
            // What the payment took from each lot comes back with that lot's origin and day (replay does the same).
            let gaveBack = !spentLots.offsets(of: position).isEmpty
            giveBackSpentLots(member: member, position: position)
            let settled = original.paymentSettlement
            if settled.payer != 0 {
                // Parts forgotten by a full ring: at least the partner's value keeps the partner's origin.
                if !gaveBack { lots.currentTerms.origin = settled.payer }
                reverseSettlement(settled)
            }
            return true
        case .hold:
            expireHolds(member: member, nowMs: nowMs)
            if let hold = activeHold(madeAt: position) { holds.release(hold) }
            return true
        case .giftUse:
            return undoGiftUse(original, &result)
        case .void, .reverse, .block, .replace, .link, .attach, .forwardCard, .transferIn, .transferInNewCard,
            .transferDone, .expireLots, .notice, .birthday, .adjust, .inspect, .giftLoad, .engage, .lotteryEntry, .none:
            result.status = .notPermitted
            return false
        }
    }

    private func applyUndo(
        member: Int, credit: AssetAmounts = .zero, debit: AssetAmounts = .zero, _ result: inout OperationResult
    ) -> Bool {
        precondition(!credit.hasNegative && !debit.hasNegative, "an undo credits and debits non-negative amounts")
        let delta = AssetAmounts(points: credit.points - debit.points, credit: credit.credit - debit.credit)
        guard members.add(delta, to: member) else {
            result.status = .invalidAmount
            return false
        }
        result.credited = credit
        result.debited = debit
        return true
    }

    /// What an earn credited minus what refunds already took back.
    private func earnedNotClawedBack(_ earn: IdempotencyEntry) -> AssetAmounts {
        let clawed = clawBack(earn, fromRefunded: 0, toRefunded: earn.effect.refundedAmountMinor)
        let credited = earn.outcome.credited
        precondition(clawed.points <= credited.points && clawed.credit <= credited.credit, "claw-backs take at most the earn")
        return AssetAmounts(points: credited.points - clawed.points, credit: credited.credit - clawed.credit)
    }

    /// Pro-rata claw-back between two refunded totals, rounded down per total so that partial refunds add up
    /// exactly to a full refund: floor(earned × to / purchase) − floor(earned × from / purchase).
    func clawBack(_ earn: IdempotencyEntry, fromRefunded: Int64, toRefunded: Int64) -> AssetAmounts {
        precondition(fromRefunded >= 0 && fromRefunded <= toRefunded, "refunded totals only grow")
        let purchase = Int128(earn.effect.referenceAmountMinor)
        guard purchase > 0 else { return .zero }
        precondition(Int128(toRefunded) <= purchase, "refunds never pass the purchase")
        var amounts = AssetAmounts.zero
        for asset in Asset.allCases {
            let earned = Int128(earn.outcome.credited[asset])
            let upper = earned * Int128(toRefunded) / purchase
            let lower = earned * Int128(fromRefunded) / purchase
            amounts[asset] = Int64(upper - lower)
            precondition(earned < 0 || (upper >= lower && upper <= earned), "a claw-back is a part of the earn")
        }
        return amounts
    }

    /// Reversing a refund makes its amount refundable again on the earn it refunded.
    private func restoreRefundable(_ refund: IdempotencyEntry) {
        let earnPosition = refund.effect.linkedPosition
        guard idempotency.isLive(earnPosition), idempotency[earnPosition].effect.kind == .earn else { return }
        idempotency[earnPosition].effect.refundedAmountMinor -= refund.effect.referenceAmountMinor
        precondition(idempotency[earnPosition].effect.refundedAmountMinor >= 0, "refunded total went negative")
    }

    func performRefund(_ command: inout ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .refund)
        let refundAmount = command.amountMinor
        guard let position = original(of: command, &result, orByReference: true) else { return result }
        let earn = idempotency[position]
        guard earn.effect.kind == .earn, earn.outcome.status.isApproval else {
            result.status = .originalNotFound
            return result
        }
        guard !earn.effect.isReversed else {
            result.status = .declined
            return result
        }
        let refundedBefore = earn.effect.refundedAmountMinor
        guard refundAmount > 0, refundAmount <= earn.effect.referenceAmountMinor - refundedBefore else {
            result.status = .invalidAmount
            return result
        }
        expireHolds(member: Int(result.member), nowMs: nowMs)
        let clawed = clawBack(earn, fromRefunded: refundedBefore, toRefunded: refundedBefore + refundAmount)
        guard applyUndo(member: Int(result.member), debit: clawed, &result) else { return result }
        takeBackFromOrigin(member: Int(result.member), clawed, origin: earn.effect.earnOrigin)
        undoDecision(
            earn, fromRefunded: refundedBefore, toRefunded: refundedBefore + refundAmount, member: Int(result.member),
            &command)
        if refundedBefore + refundAmount == earn.effect.referenceAmountMinor {
            clawBackReferrerBonus(earn, key: command.key, &result)
        }
        idempotency[position].effect.refundedAmountMinor = refundedBefore + refundAmount
        precondition(
            idempotency[position].effect.refundedAmountMinor <= earn.effect.referenceAmountMinor,
            "refunds never pass the purchase")
        result.effect.referenceAmountMinor = refundAmount
        result.effect.linkedPosition = position
        return result
    }
}

extension ShardState {
    /// Takes back what a rules-decided purchase did to its member's aggregates, for the part of the purchase
    /// between two refunded totals (a reversal takes everything not yet refunded; the refund that completes the
    /// purchase removes it from the counts). Live: the rules compute it (the money part pro rata, tiers by their
    /// thresholds) and the command records the result; replay: the recorded result is set. Without rules
    /// (removed by a reload), the aggregates stay as they are.
    func undoDecision(
        _ earn: IdempotencyEntry, fromRefunded: Int64, toRefunded: Int64, member: Int, _ command: inout ShardCommand
    ) {
        guard earn.effect.isDecidedByRules else { return }
        precondition(member >= 0 && member < members.count, "a member of the shard")
        precondition(fromRefunded <= toRefunded, "refunded totals only grow")
        if command.isDecided {
            members[member].loyalty = decidedMember(command.memberAfter)
            return
        }
        guard let rules else { return }
        let after = rules.undo(
            earn.effect.purchase, purchaseAmountMinor: earn.effect.referenceAmountMinor,
            fromRefundedMinor: fromRefunded, toRefundedMinor: toRefunded, member: members[member].loyalty)
        members[member].loyalty = decidedMember(after)
        command.memberAfter = after
        command.rulesVersion = rules.version
        command.options.insert(.decided)
    }

    /// A refund of a rules-decided purchase was reversed: its part counts again in the member's aggregates (and,
    /// when it was the refund that completed the purchase, the purchase is counted again, with its offer use,
    /// one-off bonuses and the referrer's bonus). Live: the rules compute it and the command records it; replay:
    /// the recorded result is set.
    func redoDecision(
        refund: IdempotencyEntry, member: Int, _ command: inout ShardCommand, _ result: inout OperationResult
    ) {
        let earnPosition = refund.effect.linkedPosition
        guard idempotency.isLive(earnPosition) else { return }
        let earn = idempotency[earnPosition]
        guard earn.effect.kind == .earn, earn.effect.isDecidedByRules else { return }
        let purchase = earn.effect.referenceAmountMinor
        let fromRefunded = earn.effect.refundedAmountMinor
        let toRefunded = fromRefunded + refund.effect.referenceAmountMinor
        precondition(refund.effect.referenceAmountMinor >= 0, "a refund's amount is not negative")
        let countsAgain = toRefunded == purchase
        if countsAgain && earn.effect.referrerBonusPoints > 0 {
            let paid = payReferrer(of: member, points: Int64(earn.effect.referrerBonusPoints), key: command.key, &result)
            // Refused here (the referrer unknown, blocked or out of lot room): nothing to take back later.
            if paid == 0 { idempotency[earnPosition].effect.referrerBonusPoints = 0 }
        }
        if command.isDecided {
            members[member].loyalty = decidedMember(command.memberAfter)
            return
        }
        guard let rules else { return }
        let after = rules.redo(
            earn.effect.purchase, purchaseAmountMinor: purchase, fromRefundedMinor: fromRefunded,
            toRefundedMinor: toRefunded, member: members[member].loyalty)
        members[member].loyalty = decidedMember(after)
        command.memberAfter = after
        command.rulesVersion = rules.version
        command.options.insert(.decided)
    }

    enum RefundReversal {
        /// The purchase was reversed since: the refund's points went with it, nothing comes back.
        case nothingToGive
        case refused(LedgerStatus)
        case restore
    }

    /// What reversing a refund may do, decided before anything changes.
    func refundReversal(_ refund: IdempotencyEntry, member: Int) -> RefundReversal {
        let earnPosition = refund.effect.linkedPosition
        guard idempotency.isLive(earnPosition), idempotency[earnPosition].effect.kind == .earn else { return .restore }
        let earn = idempotency[earnPosition]
        if earn.effect.isReversed { return .nothingToGive }
        // The refund that completed the purchase undid its one-off bonuses; if a later purchase has been paid them
        // again, counting this one again would pay them twice.
        let completed = earn.effect.refundedAmountMinor == earn.effect.referenceAmountMinor
        if completed && earn.effect.isDecidedByRules
            && decider.bonusesPaidAgain(earn.effect.purchase, by: members[member].loyalty)
        {
            return .refused(.notPermitted)
        }
        return .restore
    }

    /// The origin of the earn a refund took value from (nil when unknown).
    func refundedEarnOrigin(_ refund: IdempotencyEntry) -> UInt32? {
        let earnPosition = refund.effect.linkedPosition
        guard idempotency.isLive(earnPosition), idempotency[earnPosition].effect.kind == .earn else { return nil }
        return idempotency[earnPosition].effect.earnOrigin
    }
}
