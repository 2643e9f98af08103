import Synchronization

/// Inspections a shard has made, waiting for the admin API to take them by the request's tag once the reply
/// arrives. Bounded: an entry is taken as soon as its reply is handled, and the admin API has at most
/// `connectionsMax × requestsInFlightPerConnectionMax` requests in flight.
final class InspectionBoard: Sendable {
    static let entriesMax = 1 << 16
    private let entries = Mutex<[UInt64: CardInspection]>([:])

    func put(_ inspection: CardInspection, tag: UInt64) {
        entries.withLock {
            precondition($0.count < Self.entriesMax, "inspections are taken when their replies are handled")
            $0[tag] = inspection
        }
    }

    func take(tag: UInt64) -> CardInspection? { entries.withLock { $0.removeValue(forKey: tag) } }
}

/// The admin API's commands on the shard: adjustments, inspections, and what an admin-named command needs first.
extension ShardState {
    /// Before idempotency: a command naming its card by hash gets the card's masked form (for its reply and its
    /// record); an admin enrolment of a card already enrolled is refused without a record (the API's 409).
    func prepareAdminCommand(_ command: inout ShardCommand) -> ApplyResult? {
        if command.masked == .none, let index = cards.find(command.cardHash) {
            command.masked = cards.cards[index].masked
        }
        guard command.options.contains(.admin), command.kind == .enrol || command.kind == .profile,
            cards.find(command.cardHash) != nil
        else { return nil }
        var reply = LedgerReply(tag: command.tag, key: command.key, status: .notPermitted)
        reply.card = command.masked
        return ApplyResult(reply: reply, isLogged: false)
    }

    /// The member of the command's card, whatever the card's status (an admin change acts on the member, not the
    /// card's use), also set as the result's member; nil with `unknownCard` when the shard has no such card.
    func memberOfCard(_ command: ShardCommand, _ result: inout OperationResult) -> Int? {
        guard let index = cards.find(command.cardHash) else {
            result.status = .unknownCard
            return nil
        }
        let member = Int(cards.cards[index].member)
        precondition(member < members.count, "a card's member is in the table")
        result.member = Int32(member)
        return member
    }

    /// Adds a signed amount to the card's member, whatever the card's status: an operator corrects the member's
    /// books, not the card's use. Never below zero available (holds count).
    func performAdjust(_ command: ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .adjust)
        result.effect.asset = command.asset
        let amount = command.amounts[command.asset]
        guard amount != 0 else {
            result.status = .invalidAmount
            return result
        }
        guard let member = memberOfCard(command, &result) else { return result }
        expireHolds(member: member, nowMs: nowMs)
        if amount < 0 && members[member].available[command.asset] + amount < 0 {
            result.status = .insufficientFunds
            return result
        }
        var change = AssetAmounts.zero
        change[command.asset] = amount
        if amount > 0 && !canFormLots(member: member, credit: change) {
            result.status = .capacityExceeded
            return result
        }
        guard members.add(change, to: member) else {
            result.status = .invalidAmount
            return result
        }
        precondition(amount > 0 || members[member].available[command.asset] >= 0, "an adjustment never overdraws")
        if amount > 0 { result.credited = change } else { result.debited[command.asset] = -amount }
        precondition(!result.credited.hasNegative && !result.debited.hasNegative, "moved amounts are not negative")
        return result
    }

    /// Gives the member of the command's card another card, inserted on this shard (the member's), so the shard's
    /// order decides a race with a terminal enrolling the same card here. A card whose hash places it on another
    /// shard also gets a forwarding record there (`attach` only; a kind 25 `link` record was declined so).
    /// With `replacesCard` the new card takes the old one's kind and the old one is marked replaced.
    func performLink(_ command: inout ShardCommand) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .link)
        guard let index = cards.find(command.cardHash), cards.cards[index].status != .forwarded else {
            result.status = .unknownCard
            return result
        }
        let member = cards.cards[index].member
        precondition(member >= 0 && Int(member) < members.count, "a member's card names its member")
        result.member = member
        if command.replacesCard { command.cardKind = cards.cards[index].kind }
        let cardShard = Self.shard(of: command.otherCardHash, shardCount: shardCount)
        precondition(cardShard >= 0 && cardShard < shardCount, "the new card's shard exists")
        if command.replacesCard && cards.cards[index].status == .replaced {
            result.status = .notPermitted
        } else if cardShard != shardIndex && command.kind == .link {
            result.status = .declined
        } else if cards.find(command.otherCardHash) != nil {
            result.status = .notPermitted
        } else if cards.isFull {
            result.status = .capacityExceeded
        } else if cardShard != shardIndex, let slot = freeOutboxSlot() {
            openForwarding(command, member: member, oldCard: command.replacesCard ? index : -1, cardShard, slot: slot)
        } else if cardShard != shardIndex {
            result.status = .capacityExceeded
        } else {
            _ = cards.insert(
                CardRecord(
                    hash: command.otherCardHash, masked: command.otherMasked, member: member, status: .active,
                    kind: command.cardKind))
            members[Int(member)].cardCount += 1
        }
        if result.status == .approved && command.replacesCard { cards.cards[index].status = .replaced }
        assert(result.status != .approved || cards.find(command.otherCardHash) != nil, "a linked card is in the table")
        return result
    }

    /// Reads the card and its member into the inspection board under the command's tag; never logged.
    func applyInspect(_ command: ShardCommand) -> ApplyResult {
        var reply = LedgerReply(tag: command.tag, key: command.key, status: .unknownCard)
        guard let index = cards.find(command.cardHash) else { return ApplyResult(reply: reply, isLogged: false) }
        let card = cards.cards[index]
        precondition(card.member >= 0 && Int(card.member) < members.count, "an inspected card belongs to a member here")
        let member = members[Int(card.member)]
        reply.status = .approved
        reply.card = card.masked
        reply.balance = member.balance
        reply.available = member.available
        var memberCards: [CardInspection.MemberCard] = []
        for other in 0..<cards.count where cards.cards[other].member == card.member {
            let record = cards.cards[other]
            guard let status = CardInspection.Status(rawValue: record.status.rawValue) else { continue }
            memberCards.append(
                CardInspection.MemberCard(hash: record.hash, masked: record.masked, status: status, kind: record.kind))
            if memberCards.count == Int(member.cardCount) { break }
        }
        let summary = decisions?.summary(of: member.loyalty) ?? MemberSummary.none
        // Only a member's card is inspected here: a forwarding record sends its inspection to the member's shard,
        // and an unlinked copy is never reached (its card's commands go to the shard that refused the link).
        let inspection = CardInspection(
            status: .init(rawValue: card.status.rawValue) ?? .replaced, masked: card.masked, kind: card.kind,
            memberCards: memberCards,
            balance: member.balance, available: member.available, tier: summary.tier,
            purchases: Int64(summary.purchaseCount), volumeMinor: summary.purchaseVolumeMinor)
        var withGift = inspection
        if let account = gifts.count > 0 ? gifts.find(member: card.member) : nil {
            let gift = gifts.accounts[account]
            withGift.gift = GiftBalance(currencyCode: gift.currencyCode, balanceMinor: gift.balanceMinor)
        }
        precondition(memberCards.count <= Int(member.cardCount), "an inspection lists at most the member's cards")
        inspections?.put(withGift, tag: command.tag)
        return ApplyResult(reply: reply, isLogged: false)
    }
}
