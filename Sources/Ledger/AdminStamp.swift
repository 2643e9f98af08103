/// Who made an admin change and why, carried in the change's own log record (option `admin`), so the change and
/// what its audit entry says are one durable unit.
///
/// The ledger does not interpret `actor`, `role` or `reason`: the admin API encodes them and decodes them again to
/// write (or, after a crash, repair) the audit entry. `operation` is the audit journal's operation id.
public struct AdminStamp: Hashable, Sendable, BitwiseCopyable {
    public var operation: UInt64
    public var actor: UInt64
    public var role: UInt8
    public var reason: UInt8

    public init(operation: UInt64, actor: UInt64, role: UInt8, reason: UInt8) {
        self.operation = operation
        self.actor = actor
        self.role = role
        self.reason = reason
    }

    static let none = AdminStamp(operation: 0, actor: 0, role: 0, reason: 0)
    /// Bytes in the record: operation, actor, role, reason, six zero bytes.
    static let loggedBytes = 24
}

/// What an approved admin-stamped record did, as recovery replayed it: enough to write its audit entry again.
public struct AdminRecord: Sendable, Equatable {
    public enum Change: Sendable, Equatable {
        case enrol
        case block
        case replace(newCard: CardHash, newMasked: MaskedCard)
        case link(newCard: CardHash, newMasked: MaskedCard)
        case adjust(asset: Asset, amount: Int64)
        /// A gift card issued holding `amountMinor` of `currencyCode`.
        case issueGift(amountMinor: Int64, currencyCode: UInt16)
        case loadGift(amountMinor: Int64)
        /// An engagement event: its type, the points paid (0 when `limited`: the member's limit was reached).
        case engage(type: EngagementType, points: Int64, limited: Bool)
        /// Lottery entries bought: the lottery, the entries and the points they cost.
        case lotteryEntry(lottery: UInt64, entries: Int64, points: Int64)
    }

    public var stamp: AdminStamp
    public var change: Change
    public var card: CardHash
    public var masked: MaskedCard
    public var timeMs: Int64

    public init(stamp: AdminStamp, change: Change, card: CardHash, masked: MaskedCard, timeMs: Int64) {
        self.stamp = stamp
        self.change = change
        self.card = card
        self.masked = masked
        self.timeMs = timeMs
    }
}

extension AdminRecord {
    /// The admin change a record holds: nil for a record without the admin option or one that was declined
    /// (a refused change has no audit entry).
    init?(_ body: WALRecord.Body) {
        let command = body.command
        guard command.options.contains(.admin), body.status.isApproval else { return nil }
        let change: Change
        switch command.kind {
        case .enrol, .profile: change = .enrol
        case .block: change = .block
        case .replace: change = .replace(newCard: command.otherCardHash, newMasked: command.otherMasked)
        case .attach where command.replacesCard:
            change = .replace(newCard: command.otherCardHash, newMasked: command.otherMasked)
        case .link, .attach: change = .link(newCard: command.otherCardHash, newMasked: command.otherMasked)
        case .adjust: change = .adjust(asset: command.asset, amount: command.amounts[command.asset])
        case .giftLoad:
            change =
                command.currencyCode != 0
                ? .issueGift(amountMinor: command.amountMinor, currencyCode: command.currencyCode)
                : .loadGift(amountMinor: command.amountMinor)
        case .engage:
            change = .engage(
                type: command.engagementType, points: command.amounts.points,
                limited: body.status == .partiallyApproved)
        case .lotteryEntry:
            let purchase = command.lottery
            change = .lotteryEntry(lottery: purchase.lottery, entries: purchase.entries, points: purchase.points)
        default: return nil
        }
        precondition(command.admin.operation != 0, "a decoded admin record carries its operation id")
        self.init(
            stamp: command.admin, change: change, card: command.cardHash, masked: command.masked, timeMs: body.timeMs)
    }
}

/// What a shard knows of one card and its member, read without logging anything (`LedgerOperation.inspect`).
public struct CardInspection: Hashable, Sendable {
    public enum Status: UInt8, Sendable {
        case active = 0
        case blocked = 1
        case replaced = 2
    }
    public var status: Status
    public var masked: MaskedCard
    public var kind: CardKind = .loyalty
    /// The member's cards (each with its hash, masked form and status), oldest first.
    public var memberCards: [MemberCard]
    public var balance: AssetAmounts
    public var available: AssetAmounts
    public var tier: UInt8
    public var purchases: Int64
    public var volumeMinor: Int64
    /// The member's gift card value when its card is a gift card (nil otherwise).
    public var gift: GiftBalance? = nil

    public struct MemberCard: Hashable, Sendable {
        public var hash: CardHash
        public var masked: MaskedCard
        public var status: Status
        public var kind: CardKind = .loyalty
    }
}
