/// One member: balances per asset, the head of its hold list, its loyalty state and referrer. 184 bytes; no class,
/// no string.
struct MemberRecord: BitwiseCopyable, Equatable {
    var balance: AssetAmounts
    var held: AssetAmounts
    /// Index + 1 of the first active hold in `ShardState.holds`; 0 when none.
    var firstHold: Int32
    var holdCount: UInt16
    var cardCount: UInt16
    /// What the loyalty rules know about the member (the decider's bytes); all zero is a member with no purchase.
    var loyalty: MemberState
    /// Zero: the byte alignment would leave undefined before `referrer` (Swift keeps padding as it happens to be,
    /// and a snapshot written from replay must equal one written from the live state byte for byte).
    var reserved: UInt8 = 0
    /// The card of the member who referred this one (zero: none), paid a bonus at this member's first purchase.
    var referrer: CardHash = CardHash(high: 0, low: 0)

    var available: AssetAmounts {
        AssetAmounts(points: balance.points - held.points, credit: balance.credit - held.credit)
    }
}

enum CardStatus: UInt8, BitwiseCopyable {
    case active = 0
    case blocked = 1
    case replaced = 2
    /// On the card's own shard, a card whose member lives on `homeShard`: its commands are decided there.
    case forwarded = 3
    /// On the member's shard, a link the card's shard refused (the card is in use there): kept, never used.
    case unlinked = 4
}

/// One card: its keyed hash (the lookup key), its masked form, its member, its kind. 32 bytes: `kind` and
/// `homeShard` sit in what was tail padding, zero in every snapshot written before them (the tables are
/// calloc'd and a record's padding is never written), which reads as a loyalty card that forwards nowhere.
struct CardRecord: BitwiseCopyable, Equatable {
    var hash: CardHash
    var masked: MaskedCard
    /// The member's index on this shard; -1 for a `.forwarded` card (its member is on `homeShard`).
    var member: Int32
    var status: CardStatus
    var kind: CardKind = .loyalty
    /// With `.forwarded`: the shard of the card's member, where the card has its own record.
    var homeShard: UInt16 = 0
}

/// An active or free hold. Free holds form a list through `next`.
struct HoldRecord: BitwiseCopyable, Equatable {
    var amount: Int64
    var expiresAtMs: Int64
    /// Absolute position of the idempotency entry of the request that made the hold.
    var entryPosition: Int64
    var member: Int32
    /// Index + 1 of the next hold of the same member (or of the free list); 0 ends the list.
    var next: Int32
    var asset: Asset
    var isActive: Bool
}

/// The kinds of shard command; raw values are stored in the log and in snapshots.
enum CommandKind: UInt8, BitwiseCopyable {
    case none = 0
    case enrol = 1
    case earn = 2
    case redeem = 3
    case hold = 4
    case capture = 5
    case void = 6
    case reverse = 7
    case refund = 8
    case balance = 9
    case block = 10
    case replace = 11
    /// Destination half of a cross-shard replacement: credit the transferred balances to the new card.
    case transferIn = 12
    /// Source half's completion: the destination has applied the transfer, drop it from the outbox.
    case transferDone = 13
    /// A lot expiry sweep step over a range of members (ShardState+Expiry.swift); no key, no card.
    case expireLots = 14
    /// Enrolment with a birthday and/or a referrer (`LedgerOperation.profile`).
    case profile = 15
    /// An admin adjustment: a signed amount of one asset added to the card's member, whatever the card's status.
    case adjust = 16
    /// A read of a card and its member for the admin API; never logged, changes nothing.
    case inspect = 17
    /// A gift card issued (with its currency: enrols the card with a member of its own) or loaded (no currency):
    /// stored value added to the card's gift account (ShardState+Gift.swift).
    case giftLoad = 18
    /// A terminal's payment (amount > 0) or balance inquiry (amount 0) on a gift card, in the terminal's currency:
    /// a `.pay` or `.balance` becomes this on the shard when its card is a gift card.
    case giftUse = 19
    /// An engagement event (a survey, an app install): the rules decide its points within the member's limit per
    /// period for its type; the record carries the decision and the count after it (ShardState+Engagement.swift).
    case engage = 20
    /// Lottery entries bought with points (`LedgerOperation.lotteryEntry`): a debit of the member's available points,
    /// spent from its lots like a redemption, refused at or after the lottery's `closesAt` by the record's own time
    /// (ShardState+Lottery.swift).
    case lotteryEntry = 21
    /// Destination half of a cross-shard replacement that must enrol the new card: declined (`notPermitted`) when
    /// the card is in use on the destination, so the source restores the old card, and a card enrolled there
    /// after the admin API's check is never merged into. Kind 12 merged instead; its records replay so.
    case transferInNewCard = 24
    /// Another card for the member of the command's card (`LedgerOperation.link`), on the member's shard.
    case link = 25
    /// Another card of the member, with its kind (`LedgerOperation.link`), on the member's shard. When the card's
    /// hash places it on another shard the member's shard keeps the card (it decides for it) and opens an outbox
    /// entry whose other half is `forwardCard` there (ShardState+Forwarding.swift). Kind 25 records replay as
    /// loyalty links on one shard.
    case attach = 26
    /// The card's shard half of a cross-shard `attach`: the card forwards to the member's shard; declined when
    /// the card is in use there, so the member's shard marks its copy unlinked.
    case forwardCard = 27
    /// A member told that value of theirs expires on a day within the rules' `expiryNoticeDays`
    /// (`points.expiring`): no key, the member's first card, the member and the day; its balance is the
    /// amounts of the day's lots it marked told (ShardState+Notices.swift).
    case notice = 28
    /// A member greeted on their birthday (`member.birthday`): the member's first card, the year of the club's
    /// calendar, and a request key derived from both (`IdempotencyKey.birthday`), so the greeting happens at most
    /// once per member and year across restarts, replays and crashes (ShardState+Birthdays.swift).
    case birthday = 29

    /// Either destination half of a transfer (they share a record layout and `applyTransferIn`).
    var isTransferIn: Bool { self == .transferIn || self == .transferInNewCard }
}

/// The outcome remembered for an idempotency key, so that a repeat gets it back unchanged.
struct StoredOutcome: BitwiseCopyable, Equatable {
    var balance: AssetAmounts
    var available: AssetAmounts
    var credited: AssetAmounts
    var debited: AssetAmounts
    var card: MaskedCard
    var status: LedgerStatus
    /// Zero: the bytes alignment would leave undefined before `receipt` (see `MemberRecord.reserved`).
    var reserved1: UInt8 = 0
    var reserved2: UInt16 = 0
    var reserved4: UInt32 = 0
    /// For a rules-decided purchase: what its receipt says, so a repeat gets the same response byte for byte.
    var receipt: LoyaltyReceipt = .none
}

/// What an operation did, kept so that a reversal or refund can undo it.
struct OperationEffect: BitwiseCopyable, Equatable {
    var referenceAmountMinor: Int64
    var refundedAmountMinor: Int64
    /// For a refund: absolute position of the earn it refunded (so reversing the refund can restore it).
    var linkedPosition: Int64
    var member: Int32
    /// Index + 1 of the hold made by this request; 0 when none. On an earn (which makes no hold): the points the
    /// purchase paid its member's referrer (`referrerBonusPoints`), so every remembered key stays this size.
    var hold: Int32
    var kind: CommandKind
    var asset: Asset
    var isReversed: Bool
    /// A reversal arrived before its original: the original is declined when it comes.
    var isTombstone: Bool
    /// An earn decided by the loyalty rules: `purchase` says what it did to the member's state (the decider's
    /// bytes), so that a refund or reversal can undo exactly that.
    var isDecidedByRules: Bool = false
    /// Zero: the bytes alignment would leave undefined before `purchase` (see `MemberRecord.reserved`).
    var reserved1: UInt8 = 0
    var reserved2: UInt16 = 0
    var purchase = PurchaseEffectState.zero
}

struct IdempotencyEntry: BitwiseCopyable, Equatable {
    var key: IdempotencyKey
    /// What a refund may name this operation by instead of its key (zero: none).
    var reference: IdempotencyKey
    /// What a reversal without field 90 may name this operation by: its terminal + STAN (zero: none).
    var terminalReference: IdempotencyKey
    var digest: ContentDigest
    var createdAtMs: Int64
    var outcome: StoredOutcome
    var effect: OperationEffect
}

/// A cross-shard card replacement whose destination half is not yet confirmed. Kept until `transferDone`.
struct OutboxTransfer: BitwiseCopyable, Equatable {
    var key: IdempotencyKey
    var newCardHash: CardHash
    var newCardMasked: MaskedCard
    var amounts: AssetAmounts
    var member: Int32
    var card: Int32
    var destinationShard: Int32
    var previousCardStatus: CardStatus
    var isPending: Bool
    /// What the other half does (one byte where `isBonus` was: 0 replacement, 1 bonus, as before).
    var purpose: TransferPurpose = .replacement
    /// Zero: the byte alignment would leave undefined before `lotTerms` (see `MemberRecord.reserved`).
    var reserved: UInt8 = 0
    /// The lot days the moved value keeps: per asset the source member's latest-expiring lot (so no moved value
    /// expires sooner than it would have). Sent with the destination half, used again when a refusal restores it.
    var lotTerms: LotTerms = .neverExpires
}

/// What an outbox entry asks of the other shard.
enum TransferPurpose: UInt8, BitwiseCopyable {
    /// Enrol the new card of a replacement and credit the moved balances (`transferInNewCard`).
    case replacement = 0
    /// A referral bonus (or its claw-back when `amounts` is negative) for the member holding `newCardHash`:
    /// never enrols a card, and a refusal restores nothing (`transferIn` with `bonus`).
    case bonus = 1
    /// A card linked to a member of another shard: make it forward there (`forwardCard`); the member's copy of
    /// it is unlinked on a refusal, and `card` (when not -1) is the card it replaced, given back its status.
    case link = 2
}

extension OutboxTransfer {
    var isBonus: Bool { purpose == .bonus }
}

extension OperationEffect {
    /// Points a purchase paid its member's referrer, taken back when the purchase is undone in full.
    var referrerBonusPoints: Int32 {
        get { kind == .earn ? hold : 0 }
        set {
            precondition(kind == .earn, "only a purchase pays a referrer")
            hold = newValue
        }
    }
}

extension OperationEffect {
    /// The lot origin an earn credited (its merchant's tag under grouped rules, 0 otherwise), so that taking the
    /// earn back takes that origin's value first. Kept in `linkedPosition`, which only refunds and reversals use.
    /// Nil when not recorded (earns without lot terms); origin 0 (spendable anywhere) is an origin like any other.
    var earnOrigin: UInt32? {
        get {
            guard kind == .earn, linkedPosition >= Self.originRecorded else { return nil }
            return UInt32(truncatingIfNeeded: linkedPosition)
        }
        set {
            precondition(kind == .earn, "only an earn has an origin")
            linkedPosition = newValue.map { Self.originRecorded | Int64($0) } ?? -1
        }
    }

    private static let originRecorded: Int64 = 1 << 32
}
