/// Card replacement. On one shard it is a card insert; across shards it is a two-step transfer:
///
/// 1. Source shard (`replace`): zero the member's balances, mark the old card replaced and keep an outbox entry,
///    all in one log record.
/// 2. Destination shard (`transferInNewCard`, keyed by the transfer key so a resend is harmless): enrol the new
///    card and credit it, in one log record, or decline when the card is in use there; once durable it answers
///    the client and acknowledges.
/// 3. Source shard (`transferDone`): drop the outbox entry; when the destination refused (table full,
///    overflow), restore the balances and the old card first.
///
/// Recovery resends every outbox entry still pending, so a crash between the steps completes the transfer.
extension ShardState {
    /// Keys of transfer halves live in the destination's idempotency table; this keeps them apart from
    /// client keys.
    static func transferKey(_ key: IdempotencyKey) -> IdempotencyKey {
        var transfer = key
        transfer.word3 ^= 0x7472_616E_7366_6572
        precondition(transfer != key, "a transfer key differs from the client's")
        return transfer
    }

    func performReplace(_ command: ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .replace)
        guard let oldCard = cards.find(command.cardHash) else {
            result.status = .unknownCard
            return result
        }
        let member = Int(cards.cards[oldCard].member)
        result.member = Int32(member)
        expireLots(member: member, nowMs: nowMs)  // overdue value must not move (and live again) with the balance
        guard cards.cards[oldCard].status != .replaced, command.otherCardHash != command.cardHash else {
            result.status = .notPermitted
            return result
        }
        let destination = Self.shard(of: command.otherCardHash, shardCount: shardCount)
        precondition(destination >= 0 && destination < shardCount, "the new card's shard exists")
        if destination == shardIndex {
            return replaceOnThisShard(command, oldCard: oldCard, result)
        }
        // Gift value stays with its member (the gift table is per shard): a gift card is replaced on its own shard
        // only, where the new card joins the same member and so the same value.
        guard members[member].holdCount == 0, gifts.count == 0 || gifts.find(member: Int32(member)) == nil else {
            result.status = .notPermitted
            return result
        }
        guard let slot = freeOutboxSlot() else {
            result.status = .capacityExceeded
            return result
        }
        precondition(slot >= 0 && slot <= outbox.count && slot < outbox.capacity, "a free outbox slot")
        let transfer = OutboxTransfer(
            key: command.key, newCardHash: command.otherCardHash, newCardMasked: command.otherMasked,
            amounts: members[member].balance, member: Int32(member), card: Int32(oldCard),
            destinationShard: Int32(destination), previousCardStatus: cards.cards[oldCard].status, isPending: true,
            lotTerms: movedLotTerms(member: member))
        if slot == outbox.count { outbox.append(transfer) } else { outbox[slot] = transfer }
        members[member].balance = .zero
        cards.cards[oldCard].status = .replaced
        result.debited = transfer.amounts
        precondition(outbox[slot].isPending && outbox[slot].key == command.key, "the transfer waits in the outbox")
        precondition(members[member].balance == .zero && members[member].held == .zero, "the value left with it")
        return result
    }

    private func replaceOnThisShard(_ command: ShardCommand, oldCard: Int, _ result: OperationResult) -> OperationResult
    {
        var result = result
        guard cards.find(command.otherCardHash) == nil else {
            result.status = .notPermitted
            return result
        }
        guard !cards.isFull else {
            result.status = .capacityExceeded
            return result
        }
        let member = cards.cards[oldCard].member
        precondition(member >= 0 && Int(member) < members.count, "a card's member is in the table")
        _ = cards.insert(
            CardRecord(hash: command.otherCardHash, masked: command.otherMasked, member: member, status: .active))
        members[Int(member)].cardCount += 1
        precondition(members[Int(member)].cardCount >= 2, "the member holds its old and its new card")
        cards.cards[oldCard].status = .replaced
        result.card = command.otherMasked
        return result
    }

    func freeOutboxSlot() -> Int? {
        for index in 0..<outbox.count where !outbox[index].isPending { return index }
        precondition(outbox.count <= outbox.capacity, "the outbox within transfersInFlightMax")
        return outbox.isFull ? nil : outbox.count
    }

    /// The command the destination shard applies for an outbox entry.
    func transferInCommand(_ transfer: OutboxTransfer) -> ShardCommand {
        if transfer.purpose == .link { return forwardCardCommand(transfer) }
        // A replacement enrols its new card; a bonus pays a member who exists.
        let kind: CommandKind = transfer.isBonus ? .transferIn : .transferInNewCard
        var command = ShardCommand(kind: kind, key: Self.transferKey(transfer.key))
        command.cardHash = transfer.newCardHash
        command.masked = transfer.newCardMasked
        command.amounts = transfer.amounts
        command.sourceShard = Int32(shardIndex)
        command.originalKey = transfer.key
        if transfer.isBonus { command.options.insert(.bonus) }
        command.lotTerms = transfer.lotTerms
        if transfer.lotTerms != .neverExpires { command.options.insert(.hasLotTerms) }
        precondition(command.sourceShard == Int32(shardIndex) && command.key != transfer.key, "a transfer's own half")
        return command
    }

    /// Destination half. A repeat (after a resend) changes nothing and is acknowledged again.
    func applyTransferIn(_ command: ShardCommand, nowMs: Int64) -> ApplyResult {
        precondition(command.kind.isTransferIn, "a transfer's destination half")
        if let repeated = repeatedTransferHalf(command) { return repeated }
        var result = OperationResult(.approved, card: command.masked, kind: .transferIn)
        var cardIndex = cards.find(command.cardHash)
        let isInUse = cardIndex != nil && command.kind == .transferInNewCard
        if cardIndex == nil, !command.isBonus, enrolMember(hash: command.cardHash, masked: command.masked) != nil {
            cardIndex = cards.count - 1
        }
        if isInUse {
            result.status = .notPermitted
        } else if command.isBonus, let index = cardIndex, cards.cards[index].status != .active {
            result.status = .cardBlocked
        } else if command.isBonus && cardIndex == nil {
            result.status = .unknownCard
        } else if let cardIndex {
            result.member = cards.cards[cardIndex].member
            expireHolds(member: Int(result.member), nowMs: nowMs)
            if !canFormLots(member: Int(result.member), credit: command.amounts) {
                result.status = .capacityExceeded
            } else if members.add(command.amounts, to: Int(result.member)) {
                // A bonus claw-back moves value out: reported as debited, like every other debit.
                if command.amounts.hasNegative {
                    result.debited = AssetAmounts(points: -command.amounts.points, credit: -command.amounts.credit)
                } else {
                    result.credited = command.amounts
                }
                reconcileLots(member: Int(result.member))
            } else {
                result.status = .invalidAmount
            }
        } else {
            result.status = .capacityExceeded
        }
        precondition(result.member >= -1 && Int(result.member) < members.count, "the half's member is in the table")
        return rememberTransferHalf(command, result, nowMs: nowMs)
    }

    /// A second half already applied (a resend after recovery): its outcome again, acknowledged again, not logged.
    func repeatedTransferHalf(_ command: ShardCommand) -> ApplyResult? {
        guard let position = idempotency.find(command.key) else { return nil }
        precondition(position >= 0 && position < idempotency.nextPosition, "a known half's position was handed out")
        let status = idempotency[position].outcome.status
        let reply = LedgerReply(tag: command.tag, key: command.originalKey, status: status)
        return ApplyResult(
            reply: reply, isLogged: false,
            transferAcknowledgement: (Int(command.sourceShard), command.originalKey, status))
    }

    /// A second half applied: its outcome remembered under the transfer key, answered under the client's key,
    /// logged, and acknowledged to the shard that sent it.
    func rememberTransferHalf(_ command: ShardCommand, _ result: OperationResult, nowMs: Int64) -> ApplyResult {
        precondition(command.kind.isTransferIn || command.kind == .forwardCard, "only a second half is remembered so")
        precondition(
            result.status.isApproval || (result.credited == .zero && result.debited == .zero), "a decline moves nothing")
        var reply = makeReply(command, result)
        reply.key = command.originalKey
        let outcome = StoredOutcome(
            balance: reply.balance, available: reply.available, credited: reply.credited, debited: reply.debited,
            card: reply.card, status: reply.status)
        _ = idempotency.insert(
            IdempotencyEntry(
                key: command.key, reference: .zero, terminalReference: .zero, digest: command.digest,
                createdAtMs: nowMs, outcome: outcome, effect: result.effect),
            nowMs: nowMs, retentionMs: limits.idempotencyRetentionMs)
        return ApplyResult(
            reply: reply, isLogged: true,
            transferAcknowledgement: (Int(command.sourceShard), command.originalKey, reply.status),
            touchedMember: result.member)
    }

    /// Source completion. A repeat (no pending entry) changes nothing and is not logged.
    func applyTransferDone(_ command: ShardCommand) -> ApplyResult {
        let reply = LedgerReply(tag: 0, key: command.key, status: .approved)
        guard let slot = (0..<outbox.count).first(where: { outbox[$0].isPending && outbox[$0].key == command.key })
        else {
            return ApplyResult(reply: reply, isLogged: false)
        }
        let transfer = outbox[slot]
        precondition(transfer.isPending && transfer.key == command.key, "the completed transfer is pending")
        precondition(transfer.member >= 0 && Int(transfer.member) < members.count, "a transfer's member is in the table")
        let destinationStatus = command.destinationStatus
        if destinationStatus != .approved && transfer.isBonus {
            // The referrer was unknown or blocked there: nothing was paid, so nothing is to be taken back later.
            if transfer.amounts.points > 0, let earn = earnPaying(bonusKey: transfer.key) {
                idempotency[earn].effect.referrerBonusPoints = 0
            }
        }
        if destinationStatus != .approved && transfer.purpose == .link {
            unlink(transfer)
        } else if destinationStatus != .approved && !transfer.isBonus {
            let restored = members.add(transfer.amounts, to: Int(transfer.member))
            precondition(restored, "restoring a refused transfer overflowed: the balances were just moved out")
            lots.currentTerms = transfer.lotTerms
            reconcileLots(member: Int(transfer.member), reserved: true)
            cards.cards[Int(transfer.card)].status = transfer.previousCardStatus
        }
        outbox[slot].isPending = false
        precondition(!outbox[slot].isPending, "a completed transfer leaves the outbox")
        return ApplyResult(reply: reply, isLogged: true, touchedMember: transfer.member)
    }

    func transferDoneCommand(key: IdempotencyKey, status: LedgerStatus) -> ShardCommand {
        var command = ShardCommand(kind: .transferDone, key: key)
        command.destinationStatus = status
        precondition(command.kind == .transferDone && command.destinationStatus == status, "a completion command")
        return command
    }

    /// Outbox entries whose destination half is not confirmed (resent after recovery).
    var pendingTransfers: [OutboxTransfer] {
        (0..<outbox.count).compactMap { outbox[$0].isPending ? outbox[$0] : nil }
    }

    /// The earn whose referrer bonus a bonus transfer paid: the purchase itself, or, for a bonus paid again when a
    /// refund was reversed, the earn that refund refunded (reversal → refund → earn).
    func earnPaying(bonusKey key: IdempotencyKey) -> Int64? {
        guard var position = idempotency.find(key) else { return nil }
        for _ in 0..<2 where idempotency[position].effect.kind != .earn {
            let linked = idempotency[position].effect.linkedPosition
            guard idempotency.isLive(linked) else { return nil }
            position = linked
        }
        precondition(position >= 0, "a live position")
        return idempotency[position].effect.kind == .earn ? position : nil
    }
}
