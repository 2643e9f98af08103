/// The kinds of value a member can hold. Adding one means adding a case and a field to `AssetAmounts`.
public enum Asset: UInt8, Sendable, BitwiseCopyable, CaseIterable {
    /// Loyalty points, an integer count.
    case points = 0
    /// Store credit in currency minor units.
    case credit = 1
}

/// One amount per asset; used for balances and for what an operation credited or debited.
public struct AssetAmounts: Hashable, Sendable, BitwiseCopyable {
    public var points: Int64
    public var credit: Int64

    public init(points: Int64 = 0, credit: Int64 = 0) {
        self.points = points
        self.credit = credit
    }

    public static let zero = AssetAmounts()

    public subscript(asset: Asset) -> Int64 {
        get { asset == .points ? points : credit }
        set {
            if asset == .points { points = newValue } else { credit = newValue }
        }
    }

    var isZero: Bool { points == 0 && credit == 0 }
    var hasNegative: Bool { points < 0 || credit < 0 }
}

/// What a request asks the ledger to do.
public enum LedgerOperation: Sendable {
    /// Create a member for the card; approved unchanged when the card is already enrolled.
    case enrol
    /// Enrol the card if it is new, and record the member's birthday (for the birthday bonus) and who referred
    /// them (the referrer's bonus is paid when this member first buys). Each is set once: the same value again is
    /// approved unchanged, another value is not permitted (57), and a referrer only before the first purchase.
    case profile(MemberProfile)
    /// Credit earned value; `purchaseAmountMinor` is kept so that a later refund can claw back pro rata.
    /// With `autoEnrol` an unknown card is enrolled first (the default program enrols on a first purchase).
    case earn(amounts: AssetAmounts, purchaseAmountMinor: Int64, autoEnrol: Bool)
    /// A purchase whose earnings the loyalty rules decide on the shard, from the member's own aggregates (tier,
    /// history, offers): the ledger's decider must have rules in force (`Decider.rulesInForce`). The decision
    /// (amounts, the member's state after, the rules version) is what the log records, so a replay reproduces it
    /// whatever the rules are by then. The rules judge the purchase at `saleTimeMs` when the terminal says when the sale
    /// happened (an offline advice; never later than the ledger's time), else at the ledger's time. The record's
    /// own time is the ledger's either way.
    case purchase(PurchaseRequest, saleTimeMs: Int64? = nil, autoEnrol: Bool)
    /// Debit (redeem). Declined on insufficient available balance unless `allowPartial`, which approves
    /// what is available.
    case redeem(asset: Asset, amount: Int64, allowPartial: Bool)
    /// Pay `amountMinor` of a purchase with the member's store credit and points as the program's redemption rules
    /// say (`terms`, planned by `Decider.plan`: which is spent first, the points' value, a minimum points balance,
    /// the largest share, partial approval), decided on the shard from the available balances. Answered like a redeem;
    /// `LoyaltyReceipt.amountPaidMinor` says how much was paid. The terms are logged with the record.
    /// `merchant` (field 42) is where the value is spent: under rules whose merchants form groups, only value
    /// earned where the groups allow may pay, and value from a coalition partner is recorded as owed to it.
    /// `purchaseTotalMinor` is the whole purchase the payment is part of, when the terminal says (the policy's
    /// share cap applies to it); nil: no share cap, the payment may be met in full.
    case pay(amountMinor: Int64, purchaseTotalMinor: Int64? = nil, terms: PaymentTerms, merchant: MerchantName)
    /// Reserve value (a pending debit) until it is captured, voided or expires.
    case hold(asset: Asset, amount: Int64, allowPartial: Bool, expiresAfterMs: Int64)
    /// Debit at most the held amount of the hold made by `holdKey`; the rest is released.
    case capture(holdKey: IdempotencyKey, amount: Int64)
    /// Release the hold made by `holdKey`.
    case void(holdKey: IdempotencyKey)
    /// Undo the operation made by `originalKey`. Idempotent; when the original has not arrived yet, it is
    /// declined when it does.
    case reverse(originalKey: IdempotencyKey)
    /// A reversal by the caller itself of an operation it answered "not done" (e.g. 91 after a missed latency
    /// budget): undone like `reverse`, and the original's remembered outcome becomes `.undone`, so a repeat of
    /// the original gets the answer the caller gave, not the approval nobody saw.
    case undo(originalKey: IdempotencyKey)
    /// Take back earned value pro rata: `refundAmountMinor` of the original's purchase amount.
    /// `originalKey` is the earn's key or, when no live earn has that key, the earn's `reference`.
    case refund(originalKey: IdempotencyKey, refundAmountMinor: Int64)
    /// Report balances.
    case balance
    /// Block the card (lost or stolen): value stays with the member, the card stops working.
    case block
    /// Move the card's balances to `newCard` and mark the old card replaced. When `newCard` belongs to the same
    /// shard it joins the same member (holds stay); otherwise the balances move to the new card's member on its
    /// shard (enrolled if new), which requires no active holds, and the reply comes from that shard once the
    /// move is durable there. A repeat of a cross-shard replace returns the source shard's stored outcome.
    case replace(newCard: CardNumber)
    /// Add `amount` (signed, non-zero) of `asset` to the card's member, whatever the card's status (an operator's
    /// correction); declined `insufficientFunds` when it would make the available balance negative. Credits form
    /// lots under `lotTerms` like an earn.
    case adjust(asset: Asset, amount: Int64)
    /// Give the card's member another card, `newCard` of `kind`, which must be new: declined `notPermitted` when
    /// the card is in use. Exactly once on the member's shard, so a terminal enrolling the same card at the same
    /// moment is ordered before or after it: one of the two wins, never two members. When the card's hash places
    /// it on another shard, that shard gets a forwarding record (the reply comes from there once it is durable)
    /// and sends the card's commands to the member's shard, which decides them (ShardState+Forwarding.swift).
    case link(newCard: CardNumber, kind: CardKind = .loyalty)
    /// Replace the card by `newCard` for the same member, which stays on its shard with its balances, lots, holds
    /// and gift value (and so keeps its id): `link` of a card of the old card's kind plus the old card marked
    /// replaced, in one record; across shards the new card forwards to the member's shard. Declined
    /// `notPermitted` when the new card is in use or the old one was replaced already.
    case reissue(newCard: CardNumber)
    /// Read the card and its member (`Ledger.takeInspection(tag:)` after the reply); logs and changes nothing.
    case inspect
    /// Issue a gift card: enrol the card (unknown so far, else `notPermitted`) with a member of its own and a gift
    /// account holding `amountMinor` (1 ... `giftBalanceMaxMinor`) of `currencyCode` (ISO 4217 numeric, 1...999).
    case issueGift(amountMinor: Int64, currencyCode: UInt16)
    /// Add `amountMinor` (> 0) to a gift card's stored value; refused (`invalidAmount`) when the balance would pass
    /// `giftBalanceMaxMinor`, `unknownCard` when the card is not a gift card.
    case loadGift(amountMinor: Int64)
    /// An engagement event of `type` for the card's member, whatever the card's status: the rules in force decide
    /// the points within the member's limit per period for the type (`DecisionRules.engage`). Approved with the
    /// points credited (lots under `lotTerms`, as an earn's); `partiallyApproved` with nothing credited when the
    /// limit was reached; `notPermitted` when the rules have no such type (or there are no rules).
    case engage(type: EngagementType)
    /// Entries in a lottery bought with the card's member's points, whatever the card's status (the member pays,
    /// not the card): `insufficientFunds` when its available points are short, `declined` when the shard's time is
    /// at or after `closesAtMs` (the record's time decides, so replay refuses it alike). Never partial.
    case lotteryEntry(LotteryPurchase)
}

/// The most one gift card may hold, in minor units of its currency (a load beyond it is refused).
public let giftBalanceMaxMinor: Int64 = GiftTable.balanceMaxMinor

/// What a member tells at enrolment. Zero month and day: no birthday given.
public struct MemberProfile: Sendable {
    public var birthMonth: UInt8
    public var birthDay: UInt8
    /// The card of the member who referred this one (nil: none).
    public var referrer: CardNumber?

    public init(birthMonth: UInt8 = 0, birthDay: UInt8 = 0, referrer: CardNumber? = nil) {
        self.birthMonth = birthMonth
        self.birthDay = birthDay
        self.referrer = referrer
    }

    /// A month 1...12 and a day 1...31, or no birthday at all. Which days a month has depends on the rules'
    /// calendar (Ordibehesht 31 is a Persian birthday, 31 February no birthday anywhere), which the switch checks
    /// with `CalendarSystem.isBirthday` before asking; the ledger keeps the bounds every calendar shares.
    var hasValidBirthday: Bool {
        if birthMonth == 0 && birthDay == 0 { return true }
        return (1...12).contains(birthMonth) && (1...31).contains(birthDay)
    }
}

/// One request to the ledger. Plain value: no allocation to build or to queue it.
public struct LedgerRequest: Sendable {
    /// The caller's correlation number, echoed in the reply.
    public var tag: UInt64
    public var key: IdempotencyKey
    public var digest: ContentDigest
    public var card: CardNumber
    public var operation: LedgerOperation
    /// For an earn: a second name a later refund may use instead of the key (the switch builds it from the
    /// purchase's field 37 for refunds that carry no field 90). Zero: none. Newest wins when reused.
    public var reference: IdempotencyKey
    /// The request's terminal + STAN, for reversals that do not carry field 90: a reversal whose original key
    /// names no live entry finds the newest earn, redeem, hold, capture or refund made with this value (newest
    /// wins). Kept only on those operations (others cannot be undone), approved or declined: reversing a declined
    /// one changes nothing, as with field 90. A reversal that finds nothing leaves a tombstone under the value,
    /// so a late original carrying it is declined like any late original. Zero: none.
    public var terminalReference: IdempotencyKey
    /// For an earn: when its lots expire and their origin. Zero days (the default) let the configuration decide
    /// (`pointsLifeDays`, `creditLifeDays`); `LotTerms.never` never expires. The resolved days are logged, so a
    /// configuration change never alters a replay. Include it in `digest` when it varies for one key.
    public var lotTerms: LotTerms = .configured
    /// For a hold or a capture (0100 and 0220/900000): the merchant (field 42) where the value is spent, so that
    /// under rules whose merchants form groups only value that may be spent there is held and captured (as for
    /// `.pay`, which names its merchant itself). Nil: any value.
    public var merchant: MerchantName?
    /// An admin API change: who made it and its audit operation id, logged in the change's own record.
    public var admin: AdminStamp?
    /// For a payment or balance inquiry (`.pay`, `.balance`): the terminal's currency (field 49; 0 when absent).
    /// Read only when the card is a gift card, whose value pays only in its own currency.
    public var currencyCode: UInt16 = 0
    /// The card by its keyed hash instead of its number (the admin API names cards by ids made from it); `card`
    /// is then not read.
    public var cardHash: CardHash?
    /// For a purchase, payment, refund or reversal from a terminal: its terminal, merchant and basket, kept in the
    /// record for the sales and goods reports; a purchase's basket lines are also handed to the rules
    /// (`DecisionRules.decide(_:lines:timeMs:member:)`). Nil: none (admin changes, imports).
    public var sale: SaleDetail?

    public init(
        tag: UInt64, key: IdempotencyKey, digest: ContentDigest, card: CardNumber, operation: LedgerOperation,
        reference: IdempotencyKey = .zero, terminalReference: IdempotencyKey = .zero
    ) {
        self.tag = tag
        self.key = key
        self.digest = digest
        self.card = card
        self.operation = operation
        self.reference = reference
        self.terminalReference = terminalReference
    }
}

/// The outcome of a request. The raw values are stored in the write-ahead log: never renumber them.
public enum LedgerStatus: UInt8, Sendable, BitwiseCopyable {
    case approved = 0
    case partiallyApproved = 1
    case insufficientFunds = 2
    case unknownCard = 3
    case cardBlocked = 4
    case invalidAmount = 5
    case originalNotFound = 6
    /// Declined without a more specific reason: the original was already reversed, or the hold expired.
    case declined = 7
    case notPermitted = 8
    /// Same key, other content. Not remembered, changes nothing.
    case keyConflict = 9
    /// The shard's queue was full. Not remembered, changes nothing.
    case overloaded = 10
    /// A table reached its configured limit (members, cards, holds).
    case capacityExceeded = 11
    /// The shard stopped after an I/O failure; restart recovers from the log.
    case systemError = 12
    /// The caller answered this operation "not done" and undid it (see `LedgerOperation.undo`).
    case undone = 13
    /// A reversal whose original is unknown while the idempotency table is forgetting keys early (full under
    /// load): the original may have been forgotten, so nothing is recorded and the caller should retry.
    case originalMayBeForgotten = 14
    /// Under rules whose merchants form groups: the member's value would pay, but not at this merchant (it was
    /// earned where the groups do not allow spending here).
    case notPermittedAtMerchant = 15

    public var isApproval: Bool { self == .approved || self == .partiallyApproved }
}

/// The answer to one request: everything the switch needs for fields 39, 4 and 54.
public struct LedgerReply: Hashable, Sendable {
    public var tag: UInt64
    public var key: IdempotencyKey
    public var status: LedgerStatus
    /// True when this is the stored outcome of an earlier request with the same key and content.
    public var isReplay: Bool
    /// On a replay: the operation has been reversed since, so its effect is no longer in the balances (the switch
    /// answers such a repeat 05 rather than repeat an approval the ledger no longer holds).
    public var isReversed: Bool
    /// Ledger balance after the operation (holds not deducted).
    public var balance: AssetAmounts
    /// Balance minus active holds after the operation.
    public var available: AssetAmounts
    public var credited: AssetAmounts
    public var debited: AssetAmounts
    public var card: MaskedCard
    /// For a rules-decided purchase (and its repeats): what the rules decided, for the receipt.
    public var receipt: LoyaltyReceipt
    /// On a gift card's payment, balance inquiry, issue or load: its stored value after it (nil otherwise).
    public var gift: GiftBalance? { receipt.gift }

    public init(tag: UInt64, key: IdempotencyKey, status: LedgerStatus) {
        self.tag = tag
        self.key = key
        self.status = status
        isReplay = false
        isReversed = false
        balance = .zero
        available = .zero
        credited = .zero
        debited = .zero
        card = .none
        receipt = .none
    }
}

/// What the loyalty rules decided for one purchase, as a receipt (ISO 8583 field 63) shows it. Plain values;
/// the rules of `rulesVersion` name the tier.
public struct LoyaltyReceipt: Hashable, Sendable, BitwiseCopyable {
    /// False for everything but an approved rules-decided purchase.
    public var isDecided: Bool
    /// The member's tier after the purchase, and before it (they differ on the purchase that changed it).
    public var tier: UInt8
    public var tierBefore: UInt8
    /// Zero: the bytes alignment would leave undefined (a remembered outcome is copied into snapshots, which must
    /// be the same bytes whichever way the state was built; see `MemberRecord.reserved`).
    var reserved3: UInt8 = 0
    /// Id hashes of the offer whose reward the purchase received and of the return offer it granted (0: none);
    /// the rules of `rulesVersion` describe them.
    public var offerAppliedHash: UInt32 = 0
    public var offerGrantedHash: UInt32 = 0
    /// A gift card's answer: the card's currency (ISO 4217 numeric); 0 for every other answer. It sits where the
    /// alignment left four bytes free, so the remembered outcome keeps its size (and old data its layout).
    var giftCurrencyCode: UInt16 = 0
    var reserved14: UInt16 = 0
    /// The configuration version of the rules that decided.
    public var rulesVersion: Int64
    /// A payment with stored value (`LedgerOperation.pay`): the part of the purchase amount paid, in minor units.
    public var amountPaidMinor: Int64

    public init(isDecided: Bool, tier: UInt8, tierBefore: UInt8, rulesVersion: Int64, amountPaidMinor: Int64 = 0) {
        self.isDecided = isDecided
        self.tier = tier
        self.tierBefore = tierBefore
        self.rulesVersion = rulesVersion
        self.amountPaidMinor = amountPaidMinor
    }

    public static let none = LoyaltyReceipt(isDecided: false, tier: 0, tierBefore: 0, rulesVersion: 0)

    static func payment(_ amountPaidMinor: Int64) -> LoyaltyReceipt {
        LoyaltyReceipt(isDecided: false, tier: 0, tierBefore: 0, rulesVersion: 0, amountPaidMinor: amountPaidMinor)
    }

    /// A gift card's answer decides nothing under the rules, so `rulesVersion`'s eight bytes keep the card's value
    /// after it (`giftCurrencyCode` says which reading holds); `amountPaidMinor` is what a payment took.
    static func gift(currencyCode: UInt16, balanceMinor: Int64, amountPaidMinor: Int64 = 0) -> LoyaltyReceipt {
        precondition(currencyCode != 0 && balanceMinor >= 0, "a gift answer names its currency")
        var receipt = LoyaltyReceipt(
            isDecided: false, tier: 0, tierBefore: 0, rulesVersion: balanceMinor, amountPaidMinor: amountPaidMinor)
        receipt.giftCurrencyCode = currencyCode
        return receipt
    }

    /// The gift card's value after the answer, or nil when this is not a gift card's answer.
    public var gift: GiftBalance? {
        guard giftCurrencyCode != 0 else { return nil }
        precondition(!isDecided, "a gift answer is never a rules decision")
        return GiftBalance(currencyCode: giftCurrencyCode, balanceMinor: rulesVersion)
    }
}

/// A gift card's stored value: shown in field 54 (amount type 02, in the card's currency) and by the admin API.
public struct GiftBalance: Hashable, Sendable {
    public var currencyCode: UInt16
    public var balanceMinor: Int64

    public init(currencyCode: UInt16, balanceMinor: Int64) {
        self.currencyCode = currencyCode
        self.balanceMinor = balanceMinor
    }
}

/// Where a shard delivers outcomes, in batches, after they are durable.
///
/// Called on the shard's thread: the implementation should only hand the replies over (e.g. push them into an
/// event loop's inbox and write its eventfd), never block.
public protocol LedgerReplySink: AnyObject, Sendable {
    func deliver(_ replies: [LedgerReply])
}
