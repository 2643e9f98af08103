/// Which lots may pay at a merchant, spending them, and the settlement between coalition merchants.
extension ShardState {
    /// Live: marks, by position in the member's lot lists, the lots that may pay at the command's merchant and
    /// those that settle with a coalition partner (only the oldest partner's, see `performPay`).
    func resolveSpending(_ command: inout ShardCommand, member: Int, _ rules: any DecisionRules) {
        precondition(member >= 0 && member < lots.heads.count, "a member with lot heads")
        precondition(!command.hasSpending, "spending is resolved once, live")
        let spentAt = command.merchant
        var masks = SpendingMasks()
        masks.spentAtTag = rules.tag(of: spentAt)
        masks.pointValueMinor = command.isPay ? decider.pointValueMinor(command.paymentTerms) : rules.pointValueMinor
        var partner: UInt32 = 0
        for asset in LotTable.assets {
            var allowed: UInt64 = 0
            var settles: UInt64 = 0
            var current = lots.heads[member].first(asset)
            for position in 0..<min(lots.lotsPerMemberMax, 64) where current != 0 {
                let origin = lots.records[Int(current) - 1].origin
                switch rules.spending(earnedAtTag: origin, spentAt: spentAt) {
                case .allowed: allowed |= 1 << UInt64(position)
                case .settles:
                    if partner == 0 { partner = origin }
                    if origin == partner {
                        allowed |= 1 << UInt64(position)
                        settles |= 1 << UInt64(position)
                    }
                case .notAllowed: break
                }
                current = lots.records[Int(current) - 1].next
            }
            if asset == .points {
                (masks.allowed.points, masks.settles.points) = (allowed, settles)
            } else {
                (masks.allowed.credit, masks.settles.credit) = (allowed, settles)
            }
        }
        precondition(
            masks.settles.points & ~masks.allowed.points == 0 && masks.settles.credit & ~masks.allowed.credit == 0,
            "a lot that settles may pay")
        command.spending = masks
        command.options.insert(.spending)
    }

    /// The sum of the member's lots of `asset` whose positions are set in `mask`.
    func lotSum(member: Int, _ asset: Asset, mask: UInt64) -> Int64 {
        var sum: Int64 = 0
        var current = lots.heads[member].first(asset)
        for position in 0..<min(lots.lotsPerMemberMax, 64) where current != 0 {
            if mask & (1 << UInt64(position)) != 0 { sum += lots.records[Int(current) - 1].amount }
            current = lots.records[Int(current) - 1].next
        }
        precondition(sum >= 0 && sum <= lots.heads[member].total[asset], "a part of the member's lots")
        return sum
    }

    /// Whether spending `debit` would settle with a pair the table does not have yet.
    func needsNewSettlement(_ member: Int, _ debit: AssetAmounts, _ masks: SpendingMasks) -> Bool {
        for asset in LotTable.assets where debit[asset] > 0 && masks.settles(asset) != 0 {
            var current = lots.heads[member].first(asset)
            for position in 0..<min(lots.lotsPerMemberMax, 64) where current != 0 {
                let lot = lots.records[Int(current) - 1]
                if masks.settles(asset) & (1 << UInt64(position)) != 0,
                    !settlements.contains(payer: lot.origin, payee: masks.spentAtTag)
                {
                    return true
                }
                current = lot.next
            }
        }
        return false
    }

    /// Takes `debit` from the allowed lots, oldest first, and adds what came from a coalition partner to the
    /// settlement table. Returns that settlement (to keep with the payment for its reversal).
    func spendAllowedLots(member: Int, _ debit: AssetAmounts, _ masks: SpendingMasks) -> PaymentSettlement {
        precondition(member >= 0 && member < lots.heads.count, "a member with lot heads")
        var settled = PaymentSettlement()
        for asset in LotTable.assets where debit[asset] > 0 {
            var remaining = debit[asset]
            var previous: Int32 = 0
            var current = lots.heads[member].first(asset)
            for position in 0..<min(lots.lotsPerMemberMax, 64) where current != 0 && remaining > 0 {
                let index = Int(current) - 1
                let next = lots.records[index].next
                guard masks.allowed(asset) & (1 << UInt64(position)) != 0 else {
                    previous = current
                    current = next
                    continue
                }
                let taken = min(remaining, lots.records[index].amount)
                spentLots.append(
                    SpentLotTable.Part(
                        position: idempotency.nextPosition, amount: taken,
                        expiresOnDay: lots.records[index].expiresOnDay, origin: lots.records[index].origin,
                        asset: asset))
                if masks.settles(asset) & (1 << UInt64(position)) != 0 {
                    settled.payer = lots.records[index].origin
                    settled.amounts[asset] += taken
                }
                remaining -= taken
                if takeFromLot(index, member: member, asset, taken, previous: previous) { previous = current }
                current = next
            }
            precondition(remaining == 0, "allowed lots hold less than the plan took")
        }
        precondition(
            settled.amounts.points <= max(debit.points, 0) && settled.amounts.credit <= max(debit.credit, 0),
            "what settles is part of what was spent")
        if settled.payer != 0 {
            settled.payee = masks.spentAtTag
            settled.valueMinor = settled.amounts.points * masks.pointValueMinor + settled.amounts.credit
            settlements.add(
                payer: settled.payer, payee: settled.payee, points: settled.amounts.points,
                creditMinor: settled.amounts.credit, valueMinor: settled.valueMinor)
        }
        return settled
    }

    /// Lowers one lot; unlinks and frees it when empty. True when the lot is still there.
    func takeFromLot(_ index: Int, member: Int, _ asset: Asset, _ amount: Int64, previous: Int32) -> Bool {
        precondition(amount > 0, "a lot gives a positive amount")
        precondition(
            lots.records[index].isActive && lots.records[index].member == Int32(member)
                && lots.records[index].asset == asset, "the member's active lot of the asset")
        precondition(previous == 0 || lots.records[Int(previous) - 1].next == Int32(index + 1), "the lot's previous")
        lots.records[index].amount -= amount
        precondition(lots.records[index].amount >= 0, "lot went negative")
        lots.heads[member].total[asset] -= amount
        lots.counters.outstanding[asset] -= amount
        precondition(lots.heads[member].total[asset] >= 0, "a member's lots never sum below zero")
        guard lots.records[index].amount == 0 else { return true }
        let next = lots.records[index].next
        if previous == 0 {
            lots.heads[member].setFirst(asset, next)
        } else {
            lots.records[Int(previous) - 1].next = next
        }
        lots.heads[member].addCount(asset, -1)
        lots.release(index)
        return false
    }

    /// A reversed payment gives its settlement back: the payer no longer owes what was returned to the member.
    func reverseSettlement(_ settled: PaymentSettlement) {
        guard settled.payer != 0 else { return }
        settlements.add(
            payer: settled.payer, payee: settled.payee, points: -settled.amounts.points,
            creditMinor: -settled.amounts.credit, valueMinor: -settled.valueMinor)
    }
}

/// What one payment settled with one coalition partner (payer 0: nothing).
struct PaymentSettlement: BitwiseCopyable, Equatable {
    var payer: UInt32 = 0
    var payee: UInt32 = 0
    var amounts: AssetAmounts = .zero
    var valueMinor: Int64 = 0
}

extension IdempotencyEntry {
    /// A payment keeps its settlement in fields a payment does not otherwise use (so every remembered key stays
    /// one size): the payer and payee tags in the receipt's offer hashes, the value in its rules version, the
    /// points and credit in the effect's linked position and refunded amount.
    var paymentSettlement: PaymentSettlement {
        guard effect.kind == .redeem || effect.kind == .capture, outcome.receipt.offerAppliedHash != 0 else {
            return PaymentSettlement()
        }
        return PaymentSettlement(
            payer: outcome.receipt.offerAppliedHash, payee: outcome.receipt.offerGrantedHash,
            amounts: AssetAmounts(points: effect.linkedPosition, credit: effect.refundedAmountMinor),
            valueMinor: outcome.receipt.rulesVersion)
    }

    static func store(_ settled: PaymentSettlement, _ effect: inout OperationEffect, _ outcome: inout StoredOutcome) {
        precondition(effect.kind == .redeem || effect.kind == .capture, "only a payment or a capture settles")
        outcome.receipt.offerAppliedHash = settled.payer
        outcome.receipt.offerGrantedHash = settled.payee
        outcome.receipt.rulesVersion = settled.valueMinor
        effect.linkedPosition = settled.amounts.points
        effect.refundedAmountMinor = settled.amounts.credit
    }
}

extension ShardState {
    /// After a debit that takes an earn back (its reversal, or a refund's claw-back): the value leaves the lots of
    /// the earn's origin first, oldest first, so that what remains keeps the origins it was earned with; the rest
    /// is left to the oldest-first reconciliation.
    func takeBackFromOrigin(member: Int, _ debit: AssetAmounts, origin: UInt32?) {
        precondition(member >= 0 && member < members.count, "a member of the shard")
        guard let origin else { return }
        lots.ensureHeads(upTo: member)
        for asset in LotTable.assets where debit[asset] > 0 {
            var remaining = min(debit[asset], lots.heads[member].total[asset] - lotTarget(member: member, asset))
            var previous: Int32 = 0
            var current = lots.heads[member].first(asset)
            var steps = 0
            while current != 0 && remaining > 0 && steps <= lots.lotsPerMemberMax {
                steps += 1
                let index = Int(current) - 1
                let next = lots.records[index].next
                if lots.records[index].origin == origin {
                    let taken = min(remaining, lots.records[index].amount)
                    remaining -= taken
                    if takeFromLot(index, member: member, asset, taken, previous: previous) { previous = current }
                } else {
                    previous = current
                }
                current = next
            }
            precondition(
                lots.heads[member].total[asset] >= lotTarget(member: member, asset),
                "taking back from an origin leaves the lots covering the balance")
        }
    }
}

extension ShardState {
    /// A reversed payment or capture: the parts it took from the member's lots come back as they were (origin and
    /// day), before the reconciliation forms a lot for any rest with the reversal's terms.
    func giveBackSpentLots(member: Int, position: Int64) {
        precondition(member >= 0 && member < members.count, "a member of the shard")
        let offsets = spentLots.offsets(of: position)
        guard !offsets.isEmpty else { return }
        lots.ensureHeads(upTo: member)
        for offset in offsets {
            let part = spentLots[offset]
            let room = lotTarget(member: member, part.asset) - lots.heads[member].total[part.asset]
            let amount = min(part.amount, room)
            guard amount > 0 else { continue }
            addToLots(
                member: member, part.asset, amount, expiresOnDay: part.expiresOnDay, origin: part.origin,
                reserved: false)
            precondition(
                lots.heads[member].total[part.asset] <= lotTarget(member: member, part.asset),
                "parts given back never pass the balance")
        }
    }
}

extension ShardState {
    /// Whether the parts a payment took (and the rest of `credit`, with the current terms' origin) can come back
    /// without mixing origins: each origin with no lot of its own needs a record and room under
    /// `lotsPerMemberMax`. Checked before a reversal changes anything.
    func canGiveBackSpentLots(member: Int, position: Int64, credit: AssetAmounts) -> Bool {
        precondition(member >= 0 && member < members.count, "a member of the shard")
        let offsets = spentLots.offsets(of: position)
        guard !offsets.isEmpty else { return true }
        lots.ensureHeads(upTo: member)
        var recordsNeeded = 0
        for asset in LotTable.assets where credit[asset] > 0 {
            var newOrigins = 0
            var partsTotal: Int64 = 0
            for offset in offsets where spentLots[offset].asset == asset {
                let origin = spentLots[offset].origin
                partsTotal += spentLots[offset].amount
                let seenBefore = offsets.lowerBound..<offset
                let repeated = seenBefore.contains { spentLots[$0].asset == asset && spentLots[$0].origin == origin }
                if !repeated && latestLot(member: member, asset, origin: origin) == 0 { newOrigins += 1 }
            }
            let restOrigin = lots.currentTerms.origin
            let restIsNew = credit[asset] > partsTotal && latestLot(member: member, asset, origin: restOrigin) == 0
                && !offsets.contains { spentLots[$0].asset == asset && spentLots[$0].origin == restOrigin }
            if restIsNew { newOrigins += 1 }
            if lots.heads[member].count(asset) + newOrigins > lots.lotsPerMemberMax { return false }
            recordsNeeded += newOrigins
        }
        return lots.records.capacity - lots.activeCount - lots.restoreReserve >= recordsNeeded
    }
}
