/// A durable record's member notifications: one switch on the record's kind, so a new kind's events are one case
/// here. Read from what the record says (its decision, amounts, balance after, admin stamp), never by asking the
/// rules again: a record read a year later yields the same events.
extension WALRecord {
    /// The events of the approved record `body` at `sequence`; nil when its kind has none to give (counted by the
    /// reader as records without events). A declined record changed nothing and yields none.
    static func events(of body: Body, sequence: UInt64, decider: Decider?) -> [LedgerEvent]? {
        let command = body.command
        guard body.status == .approved || body.status == .partiallyApproved else { return [] }
        var made = EventList(body: body, sequence: sequence)
        let balance = LedgerEvent.Field("balance", body.balanceAfter.points)
        switch command.kind {
        case .earn:
            made.purchase(decider: decider)
        case .redeem:
            made.add("points.redeemed", spent(command.asset, command.amounts[command.asset], body) + [balance])
        case .capture:
            made.add("points.redeemed", [LedgerEvent.Field("credit", body.balanceAfter.credit), balance])
        case .reverse:
            made.add("points.reversed", undoneChange(body) + [LedgerEvent.Field("credit", body.balanceAfter.credit), balance])
        case .refund:
            made.add(
                "points.refunded",
                [LedgerEvent.Field("amountMinor", command.amountMinor)] + undoneChange(body)
                    + [LedgerEvent.Field("credit", body.balanceAfter.credit), balance])
        case .enrol, .profile:
            // A new member starts at zero: whatever it holds after enrolment is its enrolment bonus.
            if body.balanceAfter.points > 0 {
                made.add("bonus.awarded", [LedgerEvent.Field("points", body.balanceAfter.points), balance], reason: 1)
            }
        case .block:
            made.add("card.blocked", [LedgerEvent.Field("reason", Int64(command.admin.reason))])
        case .replace:
            made.add("card.replaced", [], otherCard: command.otherMasked)
        case .attach where command.replacesCard:
            made.add("card.replaced", [], otherCard: command.otherMasked)
        case .adjust:
            // An operator's adjustment: a credit to the member is a bonus, a debit takes value back.
            let amount = command.amounts[command.asset]
            let fields = spent(command.asset, abs(amount), body) + [balance, LedgerEvent.Field("adjustment", Int64(command.admin.reason))]
            made.add(amount > 0 ? "bonus.awarded" : "points.reversed", fields, reason: amount > 0 ? 5 : nil)
        case .giftLoad:
            // Issued (with its currency) or loaded: the value added, in the card's minor units.
            made.add(
                "giftcard.loaded",
                [LedgerEvent.Field("amount", command.amountMinor), LedgerEvent.Field("currency", Int64(command.currencyCode))])
        case .engage:
            // An engagement event over the member's limit is recorded with nothing paid: no bonus to tell.
            if command.amounts.points > 0 {
                made.add("bonus.awarded", [LedgerEvent.Field("points", command.amounts.points), balance], reason: 6)
            }
        case .lotteryEntry:
            // Points spent on lottery entries are a redemption: the member's points went down by `points`.
            let purchase = command.lottery
            made.add(
                "points.redeemed",
                [
                    LedgerEvent.Field("points", purchase.points), balance,
                    LedgerEvent.Field("lottery", Int64(bitPattern: purchase.lottery)),
                    LedgerEvent.Field("lotteryEntries", purchase.entries),
                ])
        case .expireLots:
            // A live sweep record names the one member whose value it expired; older records name nobody.
            guard command.cardHash != CardHash(high: 0, low: 0) else { return [] }
            made.add(
                "points.expired",
                [LedgerEvent.Field("points", body.balanceAfter.points), LedgerEvent.Field("creditMinor", body.balanceAfter.credit)])
        case .notice:
            guard command.cardHash != CardHash(high: 0, low: 0) else { return [] }
            let today = LotTerms.day(ofMs: body.timeMs)
            made.add(
                "points.expiring",
                [
                    LedgerEvent.Field("points", body.balanceAfter.points),
                    LedgerEvent.Field("creditMinor", body.balanceAfter.credit),
                    LedgerEvent.Field("days", Int64(command.noticeDay) - today),
                    LedgerEvent.Field("expiresOnDay", Int64(command.noticeDay)),
                ])
        case .birthday:
            made.add("member.birthday", [LedgerEvent.Field("year", Int64(command.greetingYear))])
        case .hold, .void, .balance, .transferIn, .transferInNewCard, .transferDone, .link, .attach, .forwardCard,
            .giftUse:
            // A hold changes nothing until captured; a balance inquiry nothing; a replacement's halves are told
            // once, by `replace`; a linked card and a gift card's payment change no points (the contract has no
            // event for them).
            return []
        case .none, .inspect:
            return nil
        }
        precondition(made.events.count <= LedgerEvent.perRecordMax, "a record yields at most perRecordMax events")
        assert(made.events.indices.allSatisfy { made.events[$0].index == $0 }, "a record's events are numbered in order")
        return made.events
    }

    /// What a reversal or refund changed, as recorded (`pointsChange`, `creditChange`: negative when it took
    /// back, positive when it gave back); nothing for records written before the amounts were kept.
    private static func undoneChange(_ body: Body) -> [LedgerEvent.Field] {
        guard let undone = body.undone else { return [] }
        return [
            LedgerEvent.Field("pointsChange", undone.credited.points - undone.debited.points),
            LedgerEvent.Field("creditChange", undone.credited.credit - undone.debited.credit),
        ]
    }

    /// The amounts an approved reversal or refund moved, as its reply says; nil for every other record.
    static func undone(_ kind: CommandKind, _ reply: LedgerReply) -> UndoneAmounts? {
        guard kind == .reverse || kind == .refund, reply.status.isApproval else { return nil }
        return UndoneAmounts(credited: reply.credited, debited: reply.debited)
    }

    private static func spent(_ asset: Asset, _ amount: Int64, _ body: Body) -> [LedgerEvent.Field] {
        asset == .points
            ? [LedgerEvent.Field("points", amount)]
            : [LedgerEvent.Field("creditMinor", amount), LedgerEvent.Field("credit", body.balanceAfter.credit)]
    }
}

/// `bonus.awarded`'s `reason` codes (named by the reader of events): 1 enrolment, 2 first purchase, 3 referral,
/// 4 birthday, 5 an operator's adjustment, 6 an engagement event.
public enum BonusReason {
    public static let names = ["", "enrolment", "first-purchase", "referral", "birthday", "adjustment", "engagement"]
}

/// The events of one record as they are made, indexed in order.
struct EventList {
    let body: WALRecord.Body
    let sequence: UInt64
    var events: [LedgerEvent] = []

    init(body: WALRecord.Body, sequence: UInt64) {
        self.body = body
        self.sequence = sequence
    }

    mutating func add(
        _ type: String, _ fields: [LedgerEvent.Field], reason: Int64? = nil, otherCard: MaskedCard = .none
    ) {
        var fields = fields
        if let reason { fields.insert(LedgerEvent.Field("reason", reason), at: 0) }
        events.append(
            LedgerEvent(
                type: type, sequence: sequence, index: events.count, timeMs: body.timeMs,
                member: body.member ?? body.command.cardHash,
                masked: body.command.masked, fields: fields, otherCard: otherCard))
    }

    /// A purchase: points earned, and what its decision says it did besides (tier, offer, bonuses).
    mutating func purchase(decider: Decider?) {
        let command = body.command
        let amounts = command.amounts
        if amounts.points != 0 || amounts.credit != 0 || !command.isDecided {
            add(
                "points.earned",
                [
                    LedgerEvent.Field("points", amounts.points), LedgerEvent.Field("creditMinor", amounts.credit),
                    LedgerEvent.Field("amountMinor", command.amountMinor),
                    LedgerEvent.Field("balance", body.balanceAfter.points),
                    LedgerEvent.Field("credit", body.balanceAfter.credit),
                ])
        }
        guard command.isDecided, let decider, let member = decider.memberState(decoding: command.memberAfter),
            let effect = decider.purchaseEffect(decoding: command.purchaseEffect)
        else { return }
        let receipt = decider.receipt(memberAfter: member, effect: effect, rulesVersion: command.rulesVersion)
        if receipt.tier != receipt.tierBefore {
            add(
                "tier.changed",
                [
                    LedgerEvent.Field("tier", Int64(receipt.tier)), LedgerEvent.Field("previousTier", Int64(receipt.tierBefore)),
                    LedgerEvent.Field("rulesVersion", command.rulesVersion),
                ])
        }
        if receipt.offerGrantedHash != 0 {
            add(
                "offer.granted",
                [LedgerEvent.Field("offer", Int64(receipt.offerGrantedHash)), LedgerEvent.Field("rulesVersion", command.rulesVersion)])
        }
        for bonus in decider.bonusesRewarded(effect, rulesVersion: command.rulesVersion) {
            var fields = [LedgerEvent.Field("balance", body.balanceAfter.points)]
            if let points = bonus.points { fields.insert(LedgerEvent.Field("points", points), at: 0) }
            add("bonus.awarded", fields, reason: bonus.reason)
        }
    }
}
