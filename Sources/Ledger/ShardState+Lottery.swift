/// Lottery entries bought with points (kind 21): what the ledger knows of a lottery is only what each purchase
/// carries (its id, entries, cost and closing time); the definitions, the entrants and the draws live in the audit
/// trail (SwitchCore's `LotteryBook`).
public struct LotteryPurchase: Sendable, BitwiseCopyable, Equatable {
    /// The lottery's number (never zero): the admin API's `lty_` id is its 16 hexadecimal digits.
    public var lottery: UInt64
    public var entries: Int64
    /// What the entries cost: entries × the lottery's points per entry, computed by the caller.
    public var points: Int64
    /// The purchase is refused when the shard's time (the record's time) is at or after this.
    public var closesAtMs: Int64

    public init(lottery: UInt64, entries: Int64, points: Int64, closesAtMs: Int64) {
        self.lottery = lottery
        self.entries = entries
        self.points = points
        self.closesAtMs = closesAtMs
    }

    static let none = LotteryPurchase(lottery: 0, entries: 0, points: 0, closesAtMs: 0)

    /// A purchase the ledger may record: a lottery, at least one entry, a cost within the balance bound.
    var isWellFormed: Bool {
        lottery != 0 && entries >= 1 && points >= entries && points.magnitude <= AccountTable.balanceMagnitudeMax
            && closesAtMs > 0
    }
}

extension ShardState {
    /// Debits the entries' points from the member of the command's card, whatever the card's status, like an
    /// adjustment (the member pays, not the card). The time check comes first, from `nowMs` (the batch's time,
    /// which the record keeps), so a purchase that reached the shard at or after `closesAtMs` is declined live
    /// and on replay alike, whatever the admin API saw when it sent it. The points leave the member's lots oldest
    /// expiry first, as a redemption's do (`reconcileLots` after apply).
    func performLotteryEntry(_ command: ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .lotteryEntry)
        let purchase = command.lottery
        guard purchase.isWellFormed else {
            result.status = .invalidAmount
            return result
        }
        guard let member = memberOfCard(command, &result) else { return result }
        guard nowMs < purchase.closesAtMs else {
            result.status = .declined
            return result
        }
        expireHolds(member: member, nowMs: nowMs)
        guard members[member].available.points >= purchase.points else {
            result.status = .insufficientFunds
            return result
        }
        precondition(purchase.points > 0, "a well-formed purchase costs points")
        members[member].balance.points -= purchase.points
        result.debited.points = purchase.points
        precondition(members[member].available.points >= 0, "a lottery purchase never overdraws")
        return result
    }
}

extension WALRecord {
    /// A lottery purchase's fields: lottery (UInt64), entries, points, closesAt (Int64 ms each). A malformed one
    /// is logged as it came (declined `invalidAmount`, as replay declines it again), so the fields are not judged
    /// here.
    static func encodeLotteryPurchase(_ purchase: LotteryPurchase, _ writer: inout ByteWriter) {
        writer.put(purchase.lottery)
        writer.put(purchase.entries)
        writer.put(purchase.points)
        writer.put(purchase.closesAtMs)
    }

    static func decodeLotteryPurchase(_ reader: inout ByteReader) -> LotteryPurchase? {
        guard let lottery = reader.get(UInt64.self), let entries = reader.get(Int64.self),
            let points = reader.get(Int64.self), let closesAtMs = reader.get(Int64.self)
        else { return nil }
        return LotteryPurchase(lottery: lottery, entries: entries, points: points, closesAtMs: closesAtMs)
    }
}
