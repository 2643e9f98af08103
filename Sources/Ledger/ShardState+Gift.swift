/// Gift cards: stored value of their own, in the card's currency, never mixed with points or credit.
///
/// A gift card is issued with a member of its own (so the admin API can name and show it like any card); its
/// value lives in the shard's `GiftTable` under that member. At a terminal a payment (`.pay`) or balance inquiry
/// (`.balance`) on a gift card becomes a `giftUse` command before it changes anything, so its record says what
/// was done and replay never asks which card it was. Spending gift value earns nothing: it is money the buyer
/// already paid (docs/gift-cards.md).
extension ShardState {
    /// The gift account of the card's member, or nil when the card is not a gift card.
    func giftAccount(card hash: CardHash) -> Int? {
        guard gifts.count > 0, let index = cards.find(hash) else { return nil }
        let account = gifts.find(member: cards.cards[index].member)
        precondition(account == nil || account! < gifts.count, "a gift account of the table")
        return account
    }

    /// A live payment or balance inquiry on a gift card becomes a `giftUse`: the loyalty parts of the command are
    /// dropped (a gift card's value is paid by amount, not by the redemption rules) and partial approval is kept
    /// as the terms allow it. True when it was turned.
    func turnIntoGiftUse(_ command: inout ShardCommand) -> Bool {
        guard (command.kind == .redeem && command.isPay) || command.kind == .balance,
            giftAccount(card: command.cardHash) != nil
        else { return false }
        var options: CommandOptions = command.options.intersection([.hasTerminalReference, .admin])
        if command.isPay {
            guard decider.isValid(command.paymentTerms) else { return false }
            if decider.allowsPartial(command.paymentTerms) { options.insert(.allowPartial) }
        } else {
            command.amountMinor = 0
        }
        command.kind = .giftUse
        command.options = options
        command.paymentTerms = .zero
        command.purchaseTotalMinor = nil
        command.spending = SpendingMasks()
        command.merchant = .none
        command.rulesVersion = 0
        command.decidedTier = 0
        precondition(command.kind == .giftUse && !command.isDecided, "a gift use carries no loyalty decision")
        return true
    }

    /// Issue (the command names a currency) or load (it does not).
    func performGiftLoad(_ command: ShardCommand) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .giftLoad)
        let amount = command.amountMinor
        guard amount > 0, amount <= GiftTable.balanceMaxMinor else {
            result.status = .invalidAmount
            return result
        }
        let account: Int
        if command.currencyCode != 0 {
            guard cards.find(command.cardHash) == nil else {
                result.status = .notPermitted
                return result
            }
            guard !gifts.isFull, let member = enrolMember(hash: command.cardHash, masked: command.masked) else {
                result.status = .capacityExceeded
                return result
            }
            account = gifts.insert(
                GiftAccount(balanceMinor: 0, member: Int32(member), currencyCode: command.currencyCode))
        } else {
            guard let index = cards.find(command.cardHash), let found = gifts.find(member: cards.cards[index].member)
            else {
                result.status = .unknownCard
                return result
            }
            guard cards.cards[index].status == .active else {
                result.member = cards.cards[index].member
                result.status = .cardBlocked
                return result
            }
            guard gifts.accounts[found].balanceMinor + amount <= GiftTable.balanceMaxMinor else {
                result.member = cards.cards[index].member
                result.status = .invalidAmount
                return result
            }
            account = found
        }
        gifts.accounts[account].balanceMinor += amount
        precondition(
            gifts.accounts[account].balanceMinor >= amount && gifts.accounts[account].balanceMinor <= GiftTable.balanceMaxMinor,
            "a gift load stays within balanceMaxMinor")
        result.member = gifts.accounts[account].member
        precondition(result.member >= 0 && Int(result.member) < members.count, "a gift account's member is in the table")
        result.effect.referenceAmountMinor = amount
        result.receipt = .gift(
            currencyCode: gifts.accounts[account].currencyCode, balanceMinor: gifts.accounts[account].balanceMinor)
        return result
    }

    /// A payment (amount > 0) or a balance inquiry (amount 0) on a gift card, only in the card's own currency.
    func performGiftUse(_ command: ShardCommand) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .giftUse)
        let requested = command.amountMinor
        guard requested >= 0, requested <= AccountTable.balanceMagnitudeMax else {
            result.status = .invalidAmount
            return result
        }
        guard let cardIndex = cards.find(command.cardHash), let account = gifts.find(member: cards.cards[cardIndex].member)
        else {
            result.status = .unknownCard
            return result
        }
        result.member = cards.cards[cardIndex].member
        guard cards.cards[cardIndex].status == .active else {
            result.status = .cardBlocked
            return result
        }
        let gift = gifts.accounts[account]
        guard command.currencyCode == gift.currencyCode else {
            result.status = .notPermitted
            return result
        }
        var paid: Int64 = 0
        if requested > 0 {
            if gift.balanceMinor >= requested {
                paid = requested
            } else if command.allowPartial && gift.balanceMinor > 0 {
                paid = gift.balanceMinor
                result.status = .partiallyApproved
            } else {
                result.status = .insufficientFunds
                result.receipt = .gift(currencyCode: gift.currencyCode, balanceMinor: gift.balanceMinor)
                return result
            }
            gifts.accounts[account].balanceMinor -= paid
        }
        precondition(paid >= 0 && paid <= requested, "a gift payment pays at most what was asked")
        precondition(gifts.accounts[account].balanceMinor >= 0, "a gift card's balance never goes negative")
        result.effect.referenceAmountMinor = paid
        result.receipt = .gift(
            currencyCode: gift.currencyCode, balanceMinor: gifts.accounts[account].balanceMinor, amountPaidMinor: paid)
        return result
    }

    /// Gives a reversed gift payment's amount back to its card (whatever the card's status and the maximum: the
    /// value was there before).
    func undoGiftUse(_ original: IdempotencyEntry, _ result: inout OperationResult) -> Bool {
        guard let account = gifts.find(member: original.effect.member) else {
            result.status = .notPermitted
            return false
        }
        let amount = original.effect.referenceAmountMinor
        precondition(amount >= 0, "a gift payment paid a positive amount")
        gifts.accounts[account].balanceMinor += amount
        precondition(gifts.accounts[account].balanceMinor >= amount, "a gift card's balance never goes negative")
        return true
    }

    /// A hold needs a held amount per asset on the member; gift value has none, so a gift card cannot be held on.
    func refusesHold(_ command: ShardCommand) -> Bool {
        command.kind == .hold && giftAccount(card: command.cardHash) != nil
    }
}
