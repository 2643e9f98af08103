/// Referral bonuses: when a referred member first buys, the rules give their referrer points
/// (`Decision.referrerBonusPoints`); undoing that purchase in full takes them back.
///
/// The referrer may live on another shard: then the points travel as a bonus transfer through the outbox, like
/// the second half of a card replacement (`ShardState+Transfer.swift`): sent once the purchase is durable,
/// applied idempotently by the destination, resent after a crash until acknowledged. A referrer the destination
/// does not know (or whose card is blocked) gets nothing, and nothing is restored: the bonus is the program's
/// gift, not the member's value.
extension ShardState {
    /// Pays `points` to the referrer of `member`; returns what was paid or sent (0 when there is no referrer, or
    /// a referrer on this shard who is unknown or blocked, or the outbox is full).
    func payReferrer(of member: Int, points: Int64, key: IdempotencyKey, _ result: inout OperationResult) -> Int64 {
        precondition(member >= 0 && member < members.count, "a member of the shard")
        let referrer = members[member].referrer
        guard referrer != ShardState.noCard, points > 0 else { return 0 }
        // The member's own credit takes its lot record first, so the referrer's check sees what is really left.
        reconcileLots(member: member)
        return moveBonus(to: referrer, AssetAmounts(points: points), key: key, from: member, &result) ? points : 0
    }

    /// Takes back the bonus a purchase paid, when that purchase is undone in full.
    func clawBackReferrerBonus(_ earn: IdempotencyEntry, key: IdempotencyKey, _ result: inout OperationResult) {
        let member = Int(earn.effect.member)
        precondition(member >= 0 && member < members.count, "an earn's member is in the table")
        let points = Int64(earn.effect.referrerBonusPoints)
        let referrer = members[member].referrer
        guard points > 0, referrer != ShardState.noCard else { return }
        _ = moveBonus(to: referrer, AssetAmounts(points: -points), key: key, from: member, &result)
    }

    /// Credits (or, negative, debits) the member holding `card`: here when the card lives on this shard, through
    /// a bonus transfer otherwise. False when nothing was done or sent.
    private func moveBonus(
        to card: CardHash, _ amounts: AssetAmounts, key: IdempotencyKey, from member: Int,
        _ result: inout OperationResult
    ) -> Bool {
        precondition(amounts.credit == 0 && amounts.points != 0, "a referral bonus moves points")
        let destination = Self.shard(of: card, shardCount: shardCount)
        precondition(destination >= 0 && destination < shardCount, "the referrer's shard exists")
        if destination == shardIndex {
            guard case .found(let index) = activeCard(card) else { return false }
            let referrer = Int(cards.cards[index].member)
            precondition(referrer >= 0 && referrer < members.count, "a card's member is in the table")
            guard canFormLots(member: referrer, credit: amounts), members.add(amounts, to: referrer) else {
                return false
            }
            reconcileLots(member: referrer)
            return true
        }
        guard let slot = freeOutboxSlot() else { return false }
        let transfer = OutboxTransfer(
            key: key, newCardHash: card, newCardMasked: .none, amounts: amounts, member: Int32(member), card: -1,
            destinationShard: Int32(destination), previousCardStatus: .active, isPending: true, purpose: .bonus)
        if slot == outbox.count { outbox.append(transfer) } else { outbox[slot] = transfer }
        precondition(outbox[slot].isPending && outbox[slot].isBonus, "the bonus waits in the outbox")
        result.bonusOut = transfer
        return true
    }
}
