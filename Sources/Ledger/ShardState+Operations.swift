/// Enrol, earn, redeem, hold, capture, void, balance, block: one small function per operation.
/// Each either changes nothing and declines, or changes state and approves; never half of it.
extension ShardState {
    func performEnrol(_ command: ShardCommand) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .enrol)
        if let index = cards.find(command.cardHash) {
            result.member = cards.cards[index].member
            return result
        }
        guard let member = enrolMember(hash: command.cardHash, masked: command.masked) else {
            result.status = .capacityExceeded
            return result
        }
        result.member = Int32(member)
        return result
    }

    func performEarn(_ command: ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .earn)
        guard !command.amounts.hasNegative, command.referenceAmountMinor >= 0 else {
            result.status = .invalidAmount
            return result
        }
        var cardIndex = cards.find(command.cardHash)
        if cardIndex == nil && command.autoEnrol {
            guard enrolMember(hash: command.cardHash, masked: command.masked) != nil else {
                result.status = .capacityExceeded
                return result
            }
            cardIndex = cards.count - 1
        }
        guard let cardIndex else {
            result.status = .unknownCard
            return result
        }
        let card = cards.cards[cardIndex]
        result.member = card.member
        guard card.status == .active else {
            result.status = .cardBlocked
            return result
        }
        expireHolds(member: Int(card.member), nowMs: nowMs)
        guard canFormLots(member: Int(card.member), credit: command.amounts) else {
            result.status = .capacityExceeded
            return result
        }
        guard addToBalance(member: Int(card.member), command.amounts) else {
            result.status = .invalidAmount
            return result
        }
        result.credited = command.amounts
        result.effect.referenceAmountMinor = command.referenceAmountMinor
        return result
    }

    /// Resolves an active card and expires its member's holds; sets the decline status otherwise.
    private func memberForSpending(_ command: ShardCommand, _ result: inout OperationResult, nowMs: Int64) -> Int? {
        switch activeCard(command.cardHash) {
        case .declined(let status):
            result.status = status
            if let index = cards.find(command.cardHash) { result.member = cards.cards[index].member }
            return nil
        case .found(let cardIndex):
            let member = Int(cards.cards[cardIndex].member)
            result.member = Int32(member)
            expireHolds(member: member, nowMs: nowMs)
            return member
        }
    }

    /// How much of `requested` can be approved from `available`: all, part (when allowed), or nothing.
    private func approvable(requested: Int64, available: Int64, allowPartial: Bool) -> (Int64, LedgerStatus) {
        if available >= requested { return (requested, .approved) }
        if allowPartial && available > 0 { return (available, .partiallyApproved) }
        return (0, .insufficientFunds)
    }

    func performRedeem(_ command: ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .redeem)
        result.effect.asset = command.asset
        let requested = command.amounts[command.asset]
        guard requested > 0 else {
            result.status = .invalidAmount
            return result
        }
        guard let member = memberForSpending(command, &result, nowMs: nowMs) else { return result }
        let available = members[member].available[command.asset]
        let (amount, status) = approvable(
            requested: requested, available: available, allowPartial: command.allowPartial)
        result.status = status
        guard amount > 0 else { return result }
        members[member].balance[command.asset] -= amount
        result.debited[command.asset] = amount
        return result
    }

    func performHold(_ command: ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .hold)
        result.effect.asset = command.asset
        let requested = command.amounts[command.asset]
        let lifetimeMs = command.referenceAmountMinor
        guard requested > 0, lifetimeMs > 0, lifetimeMs <= Int64.max - nowMs else {
            result.status = .invalidAmount
            return result
        }
        guard let member = memberForSpending(command, &result, nowMs: nowMs) else { return result }
        let available = members[member].available[command.asset]
        let (amount, status) = approvable(
            requested: requested, available: available, allowPartial: command.allowPartial)
        result.status = status
        guard amount > 0 else { return result }
        guard canCreateHold, Int(members[member].holdCount) < limits.holdsPerMemberMax else {
            result.status = .capacityExceeded
            return result
        }
        let hold = createHold(
            member: member, asset: command.asset, amount: amount, expiresAtMs: nowMs + lifetimeMs,
            entryPosition: idempotency.nextPosition)
        result.effect.hold = Int32(hold + 1)
        result.debited[command.asset] = amount
        return result
    }

    /// The original operation a capture, void, reversal or refund names, checked to belong to the card's member.
    /// A refund may name it by its reference when no live entry has that key.
    func original(of command: ShardCommand, _ result: inout OperationResult, orByReference: Bool = false) -> Int64? {
        guard let cardIndex = cards.find(command.cardHash) else {
            result.status = .unknownCard
            return nil
        }
        result.member = cards.cards[cardIndex].member
        let found =
            idempotency.find(command.originalKey)
            ?? (orByReference ? idempotency.find(reference: command.originalKey) : nil)
        guard let position = found, !idempotency[position].effect.isTombstone,
            idempotency[position].effect.member == result.member
        else {
            result.status = .originalNotFound
            return nil
        }
        return position
    }

    /// The active hold a capture or void names: original not found when it names no hold, declined when the hold
    /// has lapsed or was already settled.
    private func namedHold(_ command: ShardCommand, _ result: inout OperationResult, nowMs: Int64) -> Int? {
        guard let position = original(of: command, &result) else { return nil }
        guard idempotency[position].effect.kind == .hold else {
            result.status = .originalNotFound
            return nil
        }
        expireHolds(member: Int(result.member), nowMs: nowMs)
        guard let hold = activeHold(madeAt: position) else {
            result.status = .declined
            return nil
        }
        return hold
    }

    func performCapture(_ command: ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .capture)
        guard let hold = namedHold(command, &result, nowMs: nowMs) else { return result }
        let record = holds[hold]
        let amount = command.referenceAmountMinor
        guard amount > 0, amount <= record.amount else {
            result.status = .invalidAmount
            return result
        }
        releaseHold(hold)
        members[Int(record.member)].balance[record.asset] -= amount
        result.debited[record.asset] = amount
        result.effect.asset = record.asset
        result.effect.referenceAmountMinor = amount
        return result
    }

    func performVoid(_ command: ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .void)
        guard let hold = namedHold(command, &result, nowMs: nowMs) else { return result }
        releaseHold(hold)
        return result
    }

    func performBalance(_ command: ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .balance)
        _ = memberForSpending(command, &result, nowMs: nowMs)
        return result
    }

    func performBlock(_ command: ShardCommand) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .block)
        guard let index = cards.find(command.cardHash) else {
            result.status = .unknownCard
            return result
        }
        result.member = cards.cards[index].member
        switch cards.cards[index].status {
        case .active: cards.cards[index].status = .blocked
        case .blocked: break
        case .replaced: result.status = .notPermitted
        }
        return result
    }
}
