/// Cards linked to a member of another shard (issue 13). A card's commands go to the shard its hash names; a member
/// lives on one shard. So the member's shard keeps a record of the card like any of its cards (it decides for it),
/// and the card's shard keeps a forwarding record naming that shard: a command arriving there for the card is handed
/// to the member's shard unapplied and unlogged (Shard.swift → `forward`), one queue hop, and decided there once,
/// by its key, like any command.
///
/// The two records are written as a cross-shard replacement writes its halves (ShardState+Transfer.swift):
/// 1. Member's shard (`attach`): the card inserted for the member and an outbox entry (`purpose` `.link`).
/// 2. Card's shard (`forwardCard`, keyed by the transfer key, so a resend is harmless): the forwarding record, or a
///    decline when the card is in use there; once durable it answers the client and acknowledges.
/// 3. Member's shard (`transferDone`): drops the entry; on a decline the member's copy becomes `.unlinked`.
/// Recovery resends every pending entry, so a crash between the records completes the link or undoes it.
extension ShardState {
    /// Step 1 after the checks: the member's copy of the card and the outbox entry, in the `attach` record.
    /// `oldCard`: the card the new one replaces (-1: a link), restored with its status when the card's shard refuses.
    func openForwarding(_ command: ShardCommand, member: Int32, oldCard: Int, _ cardShard: Int, slot: Int) {
        precondition(cardShard != shardIndex && !cards.isFull, "a forwarding names another shard and fits")
        precondition(member >= 0 && Int(member) < members.count, "a link's member is in the table")
        precondition(slot >= 0 && slot <= outbox.count && slot < outbox.capacity, "a free outbox slot")
        _ = cards.insert(
            CardRecord(
                hash: command.otherCardHash, masked: command.otherMasked, member: member, status: .active,
                kind: command.cardKind))
        members[Int(member)].cardCount += 1
        let transfer = OutboxTransfer(
            key: command.key, newCardHash: command.otherCardHash, newCardMasked: command.otherMasked, amounts: .zero,
            member: member, card: Int32(oldCard), destinationShard: Int32(cardShard),
            previousCardStatus: oldCard >= 0 ? cards.cards[oldCard].status : .active, isPending: true, purpose: .link)
        if slot == outbox.count { outbox.append(transfer) } else { outbox[slot] = transfer }
        precondition(outbox[slot].isPending && outbox[slot].purpose == .link, "the link waits in the outbox")
    }

    /// The command the card's shard applies for a link's outbox entry.
    func forwardCardCommand(_ transfer: OutboxTransfer) -> ShardCommand {
        precondition(transfer.purpose == .link, "a link entry")
        guard let copy = cards.find(transfer.newCardHash) else { preconditionFailure("a link keeps the member's copy") }
        var command = ShardCommand(kind: .forwardCard, key: Self.transferKey(transfer.key))
        command.cardHash = transfer.newCardHash
        command.masked = transfer.newCardMasked
        command.sourceShard = Int32(shardIndex)
        command.originalKey = transfer.key
        command.cardKind = cards.cards[copy].kind
        precondition(command.sourceShard == Int32(shardIndex) && command.key != transfer.key, "a link's own half")
        return command
    }

    /// Step 2, on the card's shard. A repeat (after a resend) changes nothing and is acknowledged again.
    func applyForwardCard(_ command: ShardCommand, nowMs: Int64) -> ApplyResult {
        let homeShard = Int(command.sourceShard)
        precondition(homeShard != shardIndex && homeShard < shardCount, "a forwarding names another shard")
        precondition(homeShard >= 0 && homeShard <= Int(UInt16.max), "a home shard fits its record")
        if let repeated = repeatedTransferHalf(command) { return repeated }
        // The reply names the client's card (`otherMasked`, set when the member's shard sent this live; a resend by
        // recovery has no client and leaves it none).
        let replyCard = command.otherMasked == .none ? command.masked : command.otherMasked
        var result = OperationResult(.approved, card: replyCard, kind: .forwardCard)
        if cards.find(command.cardHash) != nil {
            result.status = .notPermitted
        } else if cards.isFull {
            result.status = .capacityExceeded
        } else {
            _ = cards.insert(
                CardRecord(
                    hash: command.cardHash, masked: command.masked, member: -1, status: .forwarded,
                    kind: command.cardKind, homeShard: UInt16(homeShard)))
        }
        return rememberTransferHalf(command, result, nowMs: nowMs)
    }

    /// Step 3 on a decline: the member's copy is kept (tables never delete) but no longer the member's card; a
    /// replaced card gets its status back.
    func unlink(_ transfer: OutboxTransfer) {
        precondition(transfer.purpose == .link, "only a link is unlinked")
        guard let copy = cards.find(transfer.newCardHash) else { preconditionFailure("a link keeps the member's copy") }
        precondition(cards.cards[copy].member == transfer.member, "the member's copy names its member")
        precondition(members[Int(transfer.member)].cardCount >= 1, "the member counts the copy it loses")
        cards.cards[copy].status = .unlinked
        members[Int(transfer.member)].cardCount -= 1
        if transfer.card >= 0 { cards.cards[Int(transfer.card)].status = transfer.previousCardStatus }
    }

    /// The member's shard of a client command whose card forwards from this shard; nil when it is decided here.
    /// Shard-internal commands (transfer halves, sweeps) are never forwarded.
    func forwardingShard(of command: ShardCommand) -> Int? {
        switch command.kind {
        case .transferIn, .transferInNewCard, .forwardCard, .transferDone, .expireLots, .none: return nil
        default: break
        }
        guard let index = cards.find(command.cardHash), cards.cards[index].status == .forwarded else { return nil }
        let home = Int(cards.cards[index].homeShard)
        precondition(home != shardIndex && home < shardCount, "a forwarding names another shard")
        return home
    }
}
