/// A request as a shard sees it: the card number already replaced by its keyed hash and masked form.
///
/// The same value is what the write-ahead log records (minus `tag` and `sink`), so replay re-runs exactly
/// the command that was applied.
struct ShardCommand: Sendable, BitwiseCopyable {

    var kind: CommandKind
    /// Logged in two bytes of the record (`CommandOptions.logged`).
    var options: CommandOptions = []
    var asset: Asset = .points
    var tag: UInt64 = 0
    var key: IdempotencyKey
    var digest: ContentDigest = ContentDigest(high: 0, low: 0)
    var cardHash: CardHash = CardHash(high: 0, low: 0)
    var masked: MaskedCard = .none
    /// Earn: the amounts. Redeem, hold: `amounts[asset]`. Transfers: the balances moved.
    var amounts: AssetAmounts = .zero
    /// Earn: the purchase amount (a refund claws back pro rata to it). Pay: the amount to pay. Refund: the
    /// amount refunded. Minor units of the purchase currency.
    var amountMinor: Int64 = 0
    /// Capture: how much of the held asset to take.
    var captureAmount: Int64 = 0
    /// Hold: how long it lasts.
    var holdLifetimeMs: Int64 = 0
    /// TransferIn: the shard the value comes from.
    var sourceShard: Int32 = 0
    /// TransferDone: what the destination answered.
    var destinationStatus: LedgerStatus = .approved
    /// ExpireLots: the members of the step, `sweepFirstMember ..< sweepEndMember` (logged as a range).
    var sweepFirstMember: Int32 = 0
    var sweepEndMember: Int32 = 0
    /// ExpireLots built live: the step ends after the first member whose value expired, and the record names
    /// that member's card (so the record tells whom `points.expired` is for). Not logged: a replay applies the
    /// recorded range whole, as records written before this did.
    var sweepStopsAtExpiry = false
    /// Notice: the member (its index on the shard) and the expiry day whose untold lots it tells.
    var noticeMember: Int32 = 0
    var noticeDay: Int32 = 0
    /// Birthday: the year of the club's calendar (2026, or 1405 under `persian`) whose birthday it greets.
    var greetingYear: UInt16 = 0
    /// Capture, void, reverse, refund: the key of the operation they act on.
    var originalKey: IdempotencyKey = .zero
    /// Replace and transferIn: the new card. Profile: the referrer's card.
    var otherCardHash: CardHash = CardHash(high: 0, low: 0)
    var otherMasked: MaskedCard = .none
    /// Earn: the second name a refund may use (zero: none).
    var reference: IdempotencyKey = .zero
    /// Earn, redeem, hold, capture, refund: the terminal + STAN a reversal without field 90 may use (zero: none).
    var terminalReference: IdempotencyKey = .zero
    /// Purchase: what only the rules read of it (judged at the ledger's time or `saleTimeMs`).
    var purchaseFacts = PurchaseFacts.zero
    /// Purchase, pay, and a hold or capture with `hasMerchant`: where the value is earned or spent.
    var merchant = MerchantName.none
    /// Purchase: when the sale happened, if the terminal said (an offline advice); not logged, since the decision
    /// made from it is.
    var saleTimeMs: Int64?
    /// With `optionDecided`: the rules version and the member's state after the operation (the decider's bytes);
    /// on a purchase also what it did to it. A balance inquiry decides only `decidedTier`.
    var rulesVersion: Int64 = 0
    var memberAfter = LoggedMemberState.zero
    var decidedTier: UInt8 = 0
    /// Profile: the birthday (zero: none given). The referrer is `otherCardHash` (zero: none).
    var birthMonth: UInt8 = 0
    var birthDay: UInt8 = 0
    /// Pay under rules: which of the member's lots may pay here and which settle between merchants (logged with
    /// `optionSpending`, so replay never asks the rules).
    var spending = SpendingMasks()
    /// Pay: the redemption rules as the decider wrote them (the amount to pay is `amountMinor`).
    var paymentTerms = PaymentTerms.zero
    /// Pay: the whole purchase the share cap applies to (nil: none given, no cap). Records written before it was
    /// logged replay with the amount to pay as the total, as they were decided.
    var purchaseTotalMinor: Int64?
    var purchaseEffect = LoggedPurchaseEffect.zero
    /// Decided purchase: points for the member's referrer (paid when the member has one).
    var referrerBonusPoints: Int64 = 0
    /// Where the reply goes (a `SinkRegistry` number); `SinkRegistry.none` during replay and for internal
    /// commands without a waiting client.
    var sink: UInt16 = SinkRegistry.none
    /// Earn (and any command that may credit): the lot's expiry days and origin; resolved before apply and
    /// logged with `optionHasLotTerms` (ShardCommand+Lots.swift). Without the bit: never expires.
    var lotTerms = LotTerms.neverExpires
    /// GiftLoad: the card's currency when issuing (0: a load). GiftUse: the terminal's currency (field 49, 0 when
    /// absent). Pay and balance: the terminal's currency, read only when the card turns out a gift card (not
    /// logged on them: the record is then a `giftUse`).
    var currencyCode: UInt16 = 0
    /// With `admin`: who made the change and its audit operation id (logged after every other field).
    var admin = AdminStamp.none
    /// Engage: the event's type; with `decided` what the rules decided and the member's count for the type after.
    var engagementType = EngagementType(high: 0, low: 0)
    var engagementOutcome = EngagementDecision.Outcome.awarded
    var engagementCount = EngagementCount.zero
    /// LotteryEntry: the lottery, the entries, the points they cost and when the lottery closes.
    var lottery = LotteryPurchase.none
    /// Attach and forwardCard: the kind of the card linked.
    var cardKind = CardKind.loyalty
    /// Attach: the new card replaces the command's card (`LedgerOperation.reissue`); the member stays.
    var replacesCard = false
    /// The command's sale (terminal, merchant, basket), kept out of line so the command stays small (the index sits in the tail padding: the stride is unchanged) and bitwise
    /// copyable: position + 1 in the sales array travelling with it (`ShardQueue.push`, the shard's batch);
    /// 0: none. Not logged as such: the record keeps the sale itself (`WALRecord.Body.sale`).
    var saleIndex: UInt32 = 0

    var allowPartial: Bool { options.contains(.allowPartial) }
    var isUndo: Bool { options.contains(.undo) }
    var autoEnrol: Bool { options.contains(.autoEnrol) }
    var isPurchase: Bool { options.contains(.purchase) }
    var isDecided: Bool { options.contains(.decided) }
    var isPay: Bool { options.contains(.pay) }
    var hasSpending: Bool { options.contains(.spending) }
    var spendsAtMerchant: Bool { isPay || options.contains(.hasMerchant) }
    var refusesAtMerchant: Bool { options.contains(.refusesAtMerchant) }
    /// The kinds whose records may carry spending masks.
    static func carriesSpending(_ command: ShardCommand) -> Bool {
        command.isPay || command.kind == .hold || command.kind == .capture
    }
    var isBonus: Bool { options.contains(.bonus) }

    /// The kinds a reversal can undo, hence the only ones that keep a terminal reference.
    static func keepsTerminalReference(_ kind: CommandKind) -> Bool {
        switch kind {
        case .earn, .redeem, .hold, .capture, .refund, .giftUse: true
        default: false
        }
    }

    init(kind: CommandKind, key: IdempotencyKey) {
        self.kind = kind
        self.key = key
    }

    /// Builds the shard command for a client request. The card number is hashed here, before any queue.
    init(request: LedgerRequest, cardHashKey: (UInt64, UInt64), sink: UInt16) {
        self.init(kind: .none, key: request.key)
        tag = request.tag
        digest = request.digest
        if let hash = request.cardHash {
            // Named by its id (the admin API): the shard fills in the masked form from its card table.
            cardHash = hash
        } else {
            cardHash = request.card.hash(key0: cardHashKey.0, key1: cardHashKey.1)
            masked = request.card.masked
        }
        self.sink = sink
        setOperation(request.operation, cardHashKey: cardHashKey)
        if kind == .earn || kind == .adjust || kind == .engage { lotTerms = request.lotTerms }
        if kind == .balance || isPay { currencyCode = request.currencyCode }
        if let stamp = request.admin {
            admin = stamp
            options.insert(.admin)
        }
        if isPay || kind == .hold { options.insert(.refusesAtMerchant) }
        if kind == .hold || kind == .capture, let merchant = request.merchant {
            self.merchant = merchant
            options.insert(.hasMerchant)
        }
        if kind == .earn && request.reference != .zero {
            reference = request.reference
            options.insert(.hasReference)
        }
        if Self.keepsTerminalReference(kind) && request.terminalReference != .zero {
            terminalReference = request.terminalReference
            options.insert(.hasTerminalReference)
        }
        precondition(kind != .none && !isDecided, "a request names an operation, undecided")
        precondition(!options.contains(.hasTerminalReference) || terminalReference != .zero, "a terminal reference")
    }

    private mutating func setOperation(_ operation: LedgerOperation, cardHashKey: (UInt64, UInt64)) {
        switch operation {
        case .enrol: kind = .enrol
        case .profile(let profile):
            kind = .profile
            birthMonth = profile.birthMonth
            birthDay = profile.birthDay
            if let referrer = profile.referrer {
                otherCardHash = referrer.hash(key0: cardHashKey.0, key1: cardHashKey.1)
                otherMasked = referrer.masked
            }
        case .earn(let earned, let purchaseAmountMinor, let autoEnrol):
            kind = .earn
            amounts = earned
            amountMinor = purchaseAmountMinor
            options = autoEnrol ? [.autoEnrol] : []
        case .purchase(let purchase, let saleTime, let autoEnrol):
            kind = .earn
            purchaseFacts = purchase.facts
            merchant = purchase.merchant
            saleTimeMs = saleTime
            amountMinor = purchase.amountMinor
            options = autoEnrol ? [.purchase, .autoEnrol] : [.purchase]
        case .redeem(let redeemAsset, let amount, let allowPartial):
            kind = .redeem
            setSingleAmount(redeemAsset, amount, allowPartial: allowPartial)
        case .pay(let amountMinor, let purchaseTotal, let terms, let merchant):
            kind = .redeem
            self.merchant = merchant
            self.amountMinor = amountMinor
            purchaseTotalMinor = purchaseTotal
            paymentTerms = terms
            options = [.pay]
        case .hold(let holdAsset, let amount, let allowPartial, let expiresAfterMs):
            kind = .hold
            setSingleAmount(holdAsset, amount, allowPartial: allowPartial)
            holdLifetimeMs = expiresAfterMs
        case .capture(let holdKey, let amount):
            kind = .capture
            originalKey = holdKey
            captureAmount = amount
        case .void(let holdKey):
            kind = .void
            originalKey = holdKey
        case .reverse(let original):
            kind = .reverse
            originalKey = original
        case .undo(let original):
            kind = .reverse
            originalKey = original
            options = [.undo]
        case .refund(let original, let refundAmountMinor):
            kind = .refund
            originalKey = original
            amountMinor = refundAmountMinor
        case .balance: kind = .balance
        case .block: kind = .block
        case .replace(let newCard):
            kind = .replace
            otherCardHash = newCard.hash(key0: cardHashKey.0, key1: cardHashKey.1)
            otherMasked = newCard.masked
        case .reissue(let newCard):
            kind = .attach
            replacesCard = true
            otherCardHash = newCard.hash(key0: cardHashKey.0, key1: cardHashKey.1)
            otherMasked = newCard.masked
        case .link(let newCard, let newKind):
            kind = .attach
            cardKind = newKind
            otherCardHash = newCard.hash(key0: cardHashKey.0, key1: cardHashKey.1)
            otherMasked = newCard.masked
        case .adjust(let adjustedAsset, let amount):
            kind = .adjust
            asset = adjustedAsset
            amounts[adjustedAsset] = amount
        case .inspect: kind = .inspect
        case .issueGift(let amount, let currency):
            kind = .giftLoad
            amountMinor = amount
            currencyCode = currency
        case .loadGift(let amount):
            kind = .giftLoad
            amountMinor = amount
        case .engage(let type):
            kind = .engage
            engagementType = type
        case .lotteryEntry(let purchase):
            kind = .lotteryEntry
            lottery = purchase
        }
    }

    private mutating func setSingleAmount(_ single: Asset, _ amount: Int64, allowPartial: Bool) {
        precondition(amounts == .zero, "a single amount is set on a new command")
        asset = single
        amounts[single] = amount
        options = allowPartial ? [.allowPartial] : []
        precondition(amounts[asset] == amount, "the amount is in the command's asset")
    }
}

/// For a payment under rules: by position in the member's lot lists at the time (oldest first, at most 64 per
/// asset), which lots may pay at the spending merchant, and which of those settle (a coalition partner's).
struct SpendingMasks: BitwiseCopyable, Equatable {
    var allowed: (points: UInt64, credit: UInt64) = (0, 0)
    var settles: (points: UInt64, credit: UInt64) = (0, 0)
    /// `MerchantTag` of the spending merchant (the payee of any settlement).
    var spentAtTag: UInt32 = 0
    /// What a point is worth in the settlement (the redemption rules' value when the masks were resolved).
    var pointValueMinor: Int64 = 1

    func allowed(_ asset: Asset) -> UInt64 { asset == .points ? allowed.points : allowed.credit }
    func settles(_ asset: Asset) -> UInt64 { asset == .points ? settles.points : settles.credit }

    static func == (left: SpendingMasks, right: SpendingMasks) -> Bool {
        left.allowed == right.allowed && left.settles == right.settles && left.spentAtTag == right.spentAtTag
            && left.pointValueMinor == right.pointValueMinor
    }
}

extension ShardCommand {
    /// The eight bytes a record keeps after the kind's first fields, and what each kind means by them (the log's
    /// layout predates the separate fields). Setting refuses a value the kind cannot hold.
    var loggedReference: Int64 {
        switch kind {
        case .hold: holdLifetimeMs
        case .capture: captureAmount
        case .transferIn, .transferInNewCard: Int64(sourceShard)
        case .transferDone: Int64(destinationStatus.rawValue)
        default: amountMinor
        }
    }

    mutating func setLoggedReference(_ value: Int64) -> Bool {
        switch kind {
        case .hold: holdLifetimeMs = value
        case .capture: captureAmount = value
        case .transferIn, .transferInNewCard:
            guard let shard = Int32(exactly: value), shard >= 0 else { return false }
            sourceShard = shard
        case .transferDone:
            guard let raw = UInt8(exactly: value), let status = LedgerStatus(rawValue: raw) else { return false }
            destinationStatus = status
        default: amountMinor = value
        }
        precondition(loggedReference == value, "a logged reference reads back as set")
        return true
    }
}
