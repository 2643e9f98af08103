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
        precondition(member == members.count - 1 && members[member].balance == .zero, "an enrolled member is new")
        return result
    }

    func performEarn(_ command: inout ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .earn)
        guard !command.amounts.hasNegative, command.amountMinor >= 0 else {
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
            precondition(cards.cards[cards.count - 1].hash == command.cardHash, "the enrolled card is the last")
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
        if command.isPurchase { decide(&command, member: Int(card.member), nowMs: nowMs) }
        guard canFormLots(member: Int(card.member), credit: command.amounts) else {
            result.status = .capacityExceeded
            return result
        }
        guard members.add(command.amounts, to: Int(card.member)) else {
            result.status = .invalidAmount
            return result
        }
        precondition(!command.amounts.hasNegative, "an earn credits a non-negative amount")
        result.credited = command.amounts
        result.effect.referenceAmountMinor = command.amountMinor
        if command.isPurchase { result.effect.earnOrigin = command.lotTerms.origin }
        if command.isPurchase { recordDecision(command, member: Int(card.member), &result) }
        return result
    }

    /// Live: asks the rules and writes the decision into the command, which the log then records. Replay: the
    /// command already carries it (`optionDecided`), and the rules are not asked again.
    private func decide(_ command: inout ShardCommand, member: Int, nowMs: Int64) {
        guard !command.isDecided else { return }
        guard let rules else { preconditionFailure("a purchase reached a shard without rules in force") }
        let purchase = PurchaseRequest(
            amountMinor: command.amountMinor, merchant: command.merchant, facts: command.purchaseFacts)
        // A sale the terminal dates (an offline advice) is judged when it happened, never in the ledger's future.
        let timeMs = min(command.saleTimeMs ?? nowMs, nowMs)
        // A basket goes to the rules that may give points per line; without one the purchase decides as ever.
        let decision =
            saleLines.isEmpty
            ? rules.decide(purchase, timeMs: timeMs, member: members[member].loyalty)
            : rules.decide(purchase, lines: saleLines, timeMs: timeMs, member: members[member].loyalty)
        precondition(!decision.amounts.hasNegative, "the rules decided a negative earning")
        command.amounts = decision.amounts
        command.rulesVersion = decision.rulesVersion
        command.memberAfter = decision.memberAfter
        command.purchaseEffect = decision.effect
        command.referrerBonusPoints = decision.referrerBonusPoints
        command.options.insert(.decided)
        precondition(command.isDecided && !command.amounts.hasNegative, "a decided purchase carries its earning")
    }

    /// After the amounts were credited: the member's state becomes the decided one, and the purchase keeps what
    /// it did to it for a later refund or reversal.
    private func recordDecision(_ command: ShardCommand, member: Int, _ result: inout OperationResult) {
        precondition(command.isDecided, "an undecided purchase was credited")
        let memberAfter = decidedMember(command.memberAfter)
        guard let effect = decider.purchaseEffect(decoding: command.purchaseEffect) else {
            preconditionFailure("a purchase record carries an effect the decider never writes")
        }
        members[member].loyalty = memberAfter
        result.effect.isDecidedByRules = true
        result.effect.purchase = effect
        result.receipt = decider.receipt(memberAfter: memberAfter, effect: effect, rulesVersion: command.rulesVersion)
        if command.referrerBonusPoints > 0 {
            let paid = payReferrer(of: member, points: command.referrerBonusPoints, key: command.key, &result)
            result.effect.referrerBonusPoints = Int32(clamping: paid)
        }
    }

    /// The member's state a record carries, as kept in memory. A record the decider refuses was written by no
    /// decider: replaying it would corrupt the member, so the shard stops (its checksum matched: a writer's bug).
    func decidedMember(_ logged: LoggedMemberState) -> MemberState {
        guard let member = decider.memberState(decoding: logged) else {
            preconditionFailure("a record carries a member state the decider never writes")
        }
        return member
    }

    /// Resolves an active card and expires its member's holds; sets the decline status otherwise.
    func memberForSpending(_ command: ShardCommand, _ result: inout OperationResult, nowMs: Int64) -> Int? {
        switch activeCard(command.cardHash) {
        case .declined(let status):
            result.status = status
            if let index = cards.find(command.cardHash) { result.member = cards.cards[index].member }
            return nil
        case .found(let cardIndex):
            let member = Int(cards.cards[cardIndex].member)
            precondition(member >= 0 && member < members.count, "a card's member is in the table")
            result.member = Int32(member)
            expireHolds(member: member, nowMs: nowMs)
            return member
        }
    }

    /// How much of `requested` can be approved from `available`: all, part (when allowed), or nothing.
    private func approvable(requested: Int64, available: Int64, allowPartial: Bool) -> (Int64, LedgerStatus) {
        precondition(requested > 0, "only a positive amount is asked for")
        if available >= requested { return (requested, .approved) }
        if allowPartial && available > 0 {
            precondition(available < requested, "a partial approval gives less than asked")
            return (available, .partiallyApproved)
        }
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
        precondition(amount <= available && amount <= requested, "a redemption takes what is available")
        members[member].balance[command.asset] -= amount
        precondition(members[member].available[command.asset] >= 0, "a redemption leaves available value")
        result.debited[command.asset] = amount
        return result
    }

    func performHold(_ command: inout ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .hold)
        result.effect.asset = command.asset
        let requested = command.amounts[command.asset]
        let lifetimeMs = command.holdLifetimeMs
        guard requested > 0, lifetimeMs > 0, lifetimeMs <= Int64.max - nowMs else {
            result.status = .invalidAmount
            return result
        }
        guard let member = memberForSpending(command, &result, nowMs: nowMs) else { return result }
        // Under rules whose merchants form groups, only value that may be spent at this merchant is held.
        let available = spendable(member: member, command.asset, &command)
        let (amount, status) = approvable(
            requested: requested, available: available, allowPartial: command.allowPartial)
        result.status = status
        guard amount > 0 else {
            // Value the member holds elsewhere would cover it: "not at this merchant" (58), not "not enough".
            let (elsewhere, _) = approvable(
                requested: requested, available: members[member].available[command.asset],
                allowPartial: command.allowPartial)
            if command.hasSpending && command.refusesAtMerchant && elsewhere > 0 {
                result.status = .notPermittedAtMerchant
            }
            return result
        }
        guard holds.canCreate(for: member) else {
            result.status = .capacityExceeded
            return result
        }
        precondition(amount <= available && amount <= requested, "a hold sets aside what is spendable")
        let hold = holds.create(
            member: member, asset: command.asset, amount: amount, expiresAtMs: nowMs + lifetimeMs,
            entryPosition: idempotency.nextPosition)
        precondition(members[member].available[command.asset] >= 0, "a hold leaves available value")
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
        precondition(position >= 0 && position < idempotency.nextPosition, "an original's position was handed out")
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
        precondition(holds[hold].isActive && holds[hold].entryPosition == position, "the named hold is active")
        return hold
    }

    func performCapture(_ command: inout ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .capture)
        guard let hold = namedHold(command, &result, nowMs: nowMs) else { return result }
        let record = holds[hold]
        let amount = command.captureAmount
        guard amount > 0, amount <= record.amount else {
            result.status = .invalidAmount
            return result
        }
        let member = Int(record.member)
        _ = spendable(member: member, record.asset, &command)
        if command.hasSpending, settlements.freeCount == 0,
            needsNewSettlement(member, capturable(member, record, amount, command.spending), command.spending)
        {
            result.status = .capacityExceeded
            return result
        }
        precondition(record.isActive && member >= 0 && member < members.count, "a captured hold is active")
        holds.release(hold)
        members[member].balance[record.asset] -= amount
        if command.hasSpending {
            // The held value is taken from what may be spent here first (settling a coalition partner's part);
            // anything else the member spent meanwhile is left to the oldest-first reconciliation.
            result.settlement = spendAllowedLots(
                member: member, capturable(member, record, amount, command.spending), command.spending)
        }
        result.debited[record.asset] = amount
        result.effect.asset = record.asset
        result.effect.referenceAmountMinor = amount
        return result
    }

    /// Available value of `asset` that may be spent at the command's merchant: under rules, the allowed lots
    /// (resolved now and logged with the command); otherwise all of it.
    func spendable(member: Int, _ asset: Asset, _ command: inout ShardCommand) -> Int64 {
        let available = members[member].available[asset]
        if command.spendsAtMerchant, !command.hasSpending, let rules {
            lots.ensureHeads(upTo: member)
            resolveSpending(&command, member: member, rules)
        }
        guard command.hasSpending else { return available }
        let spendable = min(available, allowedUnheld(member: member, asset, command.spending))
        precondition(spendable <= available, "what may be spent here is part of what is available")
        return spendable
    }

    /// The allowed lots less everything the member has on hold. Holds reserve an amount, not particular lots, so
    /// this counts every hold against the allowed lots: it may refuse value a hold elsewhere does not need, but
    /// never lets two holds, or a hold and a payment, count on the same lot.
    func allowedUnheld(member: Int, _ asset: Asset, _ masks: SpendingMasks) -> Int64 {
        max(0, lotSum(member: member, asset, mask: masks.allowed(asset)) - members[member].held[asset])
    }

    /// The part of a capture of `amount` that the allowed lots can give.
    func capturable(_ member: Int, _ hold: HoldRecord, _ amount: Int64, _ masks: SpendingMasks) -> AssetAmounts {
        var taken = AssetAmounts.zero
        taken[hold.asset] = min(amount, lotSum(member: member, hold.asset, mask: masks.allowed(hold.asset)))
        precondition(taken[hold.asset] >= 0 && taken[hold.asset] <= amount, "a capture takes at most its amount")
        return taken
    }

    func performVoid(_ command: ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .void)
        guard let hold = namedHold(command, &result, nowMs: nowMs) else { return result }
        holds.release(hold)
        precondition(!holds[hold].isActive, "a voided hold is released")
        return result
    }

    func performBalance(_ command: inout ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .balance)
        guard let member = memberForSpending(command, &result, nowMs: nowMs) else { return result }
        // The tier now (a window may have ended since the last purchase), decided live and logged with the
        // record so that a repeat after a restart shows the same tier.
        if !command.isDecided, let rules {
            command.rulesVersion = rules.version
            command.decidedTier = rules.tier(of: members[member].loyalty, atTimeMs: nowMs)
            command.options.insert(.decided)
        }
        precondition(command.isDecided || rules == nil, "a live balance inquiry is decided when rules are in force")
        let tierKept = decisions.map { $0.summary(of: members[member].loyalty).tier } ?? 0
        result.receipt.tier = command.isDecided ? command.decidedTier : tierKept
        result.receipt.rulesVersion = command.rulesVersion
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
        case .replaced, .unlinked: result.status = .notPermitted
        case .forwarded: preconditionFailure("a forwarded card's commands are decided on its member's shard")
        }
        precondition(
            result.status != .approved || cards.cards[index].status == .blocked, "an approved block leaves it blocked")
        return result
    }
}
