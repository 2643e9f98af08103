import Glibc

/// What applying one command produced.
struct ApplyResult {
    var reply: LedgerReply
    /// Whether the command changed state or must be remembered, i.e. goes into the log.
    var isLogged: Bool
    /// A cross-shard replacement whose destination half must be sent once this record is durable.
    var transferOut: OutboxTransfer?
    /// A referral bonus (or claw-back) for a member on another shard, sent once this record is durable; the
    /// client's reply is delivered as usual.
    var bonusOut: OutboxTransfer?
    /// A destination half that must be confirmed to its source shard once this record is durable.
    var transferAcknowledgement: (sourceShard: Int, key: IdempotencyKey, status: LedgerStatus)?
    /// The member whose lots the command may have changed (checked on both sides of the log); -1: none.
    var touchedMember: Int32 = -1
}

/// Intermediate result of one operation before it is turned into a reply and an idempotency entry.
struct OperationResult {
    var status: LedgerStatus
    var member: Int32 = -1
    var card: MaskedCard
    var credited: AssetAmounts = .zero
    var debited: AssetAmounts = .zero
    var effect: OperationEffect
    var receipt: LoyaltyReceipt = .none
    var bonusOut: OutboxTransfer?
    /// A payment's settlement with a coalition partner, kept with it for its reversal.
    var settlement = PaymentSettlement()

    init(_ status: LedgerStatus, card: MaskedCard, kind: CommandKind) {
        self.status = status
        self.card = card
        effect = OperationEffect(
            referenceAmountMinor: 0, refundedAmountMinor: 0, linkedPosition: -1, member: -1, hold: 0,
            kind: kind, asset: .points, isReversed: false, isTombstone: false)
    }
}

enum CardLookup {
    case found(Int)
    case declined(LedgerStatus)
}

/// All state of one shard. Touched only by the shard's thread (or by recovery before the thread starts),
/// so it needs no locks. Every table is fixed-capacity.
final class ShardState: @unchecked Sendable {
    let shardIndex: Int
    let shardCount: Int
    let limits: LedgerConfiguration
    /// Members and their balances (AccountTable.swift).
    let members: AccountTable
    var cards: CardTable
    /// Amounts set aside until captured, voided or expired (HoldTable.swift).
    let holds: HoldTable
    var idempotency: IdempotencyTable
    let outbox: FixedStorage<OutboxTransfer>
    /// The rules that decide purchases, taken from the decider once per batch on the live shard; nil during
    /// recovery (replay never asks the rules: records carry their decisions).
    var rules: (any DecisionRules)?
    /// The basket of the command being applied live (its sale's lines), which a purchase's rules may read; set by
    /// the shard around `apply` only, empty otherwise (replay: the record carries the decision).
    var saleLines: [SaleLine] = []
    /// Reads what decisions wrote (`LedgerConfiguration.decider`); nil for a ledger that decides nothing.
    let decisions: (any Decider)?
    /// Dated holdings backing the positive balances (ShardState+Lots.swift, ShardState+Expiry.swift).
    let lots: LotTable
    /// What coalition merchants owe each other (ShardState+Payment.swift).
    let settlements: SettlementTable
    /// What payments and captures under rules took, lot by lot, for their reversals (ShardState+Coalition.swift).
    let spentLots: SpentLotTable
    /// Gift cards' stored value, by member (ShardState+Gift.swift).
    var gifts: GiftTable
    /// Members' counts of engagement events per type and period (ShardState+Engagement.swift).
    let engagements: EngagementTable
    /// A card per member for the shard's own notices and sweeps (derived, not in snapshots).
    let memberCards: MemberCardIndex
    /// The member the next birthday greeting step starts at (not in snapshots: the remembered keys say who was
    /// greeted).
    var birthdayCursor: Int32 = 0
    /// Where inspections (`LedgerOperation.inspect`) are left for the admin API; nil during read-only recovery.
    var inspections: InspectionBoard?
    /// The shard thread's id once it runs (0 during recovery, which runs before it on the opening thread).
    private(set) var owningThread: UInt = 0

    /// Called first thing on the shard thread: from then on only that thread may apply commands.
    func adoptCurrentThread() {
        precondition(owningThread == 0, "a shard's state is adopted by one thread only")
        owningThread = UInt(pthread_self())
    }

    /// The state has no locks: a command applied from another thread is a programmer error, caught here.
    @inline(__always)
    func preconditionOnShardThread(file: StaticString = #fileID, line: UInt = #line) {
        precondition(
            owningThread == 0 || owningThread == UInt(pthread_self()), "shard state touched off its thread",
            file: file, line: line)
    }

    init(shardIndex: Int, shardCount: Int, limits: LedgerConfiguration) {
        precondition(shardCount >= 1 && shardIndex >= 0 && shardIndex < shardCount, "a shard of the ledger")
        self.shardIndex = shardIndex
        self.shardCount = shardCount
        self.limits = limits
        decisions = limits.decider
        members = AccountTable(capacity: limits.membersPerShardMax)
        cards = CardTable(cardsMax: limits.cardsPerShardMax)
        holds = HoldTable(capacity: limits.holdsPerShardMax, perMemberMax: limits.holdsPerMemberMax, members: members)
        idempotency = IdempotencyTable(
            keysMax: limits.idempotencyKeysPerShardMax, retentionMs: limits.idempotencyRetentionMs)
        outbox = FixedStorage(capacity: limits.transfersInFlightMax)
        settlements = SettlementTable(capacity: limits.settlementPairsPerShardMax)
        spentLots = SpentLotTable(capacity: limits.spentLotPartsPerShardMax)
        engagements = EngagementTable(capacity: limits.engagementCountsPerShardMax)
        memberCards = MemberCardIndex(membersMax: limits.membersPerShardMax)
        lots = LotTable(limits: limits)
        gifts = GiftTable(accountsMax: limits.giftCardsPerShardMax)
    }

    static func shard(of hash: CardHash, shardCount: Int) -> Int {
        precondition(shardCount >= 1, "a ledger has shards")
        return Int(hash.high % UInt64(shardCount))
    }

    /// Starts the cache misses of the command that comes next, so they overlap the current one's work.
    func prefetch(for command: ShardCommand) {
        idempotency.prefetch(command.key, terminalReference: command.terminalReference)
        cards.prefetch(command.cardHash)
    }

    // MARK: Members and cards

    /// Looks up a card for an operation that needs an active card: the card index, or the decline.
    func activeCard(_ hash: CardHash) -> CardLookup {
        guard let index = cards.find(hash) else { return .declined(.unknownCard) }
        guard cards.cards[index].status == .active else { return .declined(.cardBlocked) }
        precondition(cards.cards[index].member >= 0, "an active card belongs to a member here")
        return .found(index)
    }

    /// Creates a member holding one card, or nil when a table is full.
    func enrolMember(hash: CardHash, masked: MaskedCard) -> Int? {
        guard !members.isFull, !cards.isFull else { return nil }
        let member = members.open()
        let card = cards.insert(CardRecord(hash: hash, masked: masked, member: Int32(member), status: .active))
        precondition(cards.cards[card].member == Int32(member), "the new card names the new member")
        return member
    }

    /// The decider, for a command that needs one: a ledger opened without one cannot have decided anything.
    var decider: any Decider {
        guard let decisions else { preconditionFailure("a decision reached a ledger opened without a decider") }
        return decisions
    }

    // MARK: Holds

    /// Releases the member's holds that expired at `nowMs`, then expires its overdue lots (every command that
    /// touches a member comes through here first). Bounded by `holdsPerMemberMax` and `lotsPerMemberMax`.
    func expireHolds(member: Int, nowMs: Int64) {
        precondition(member >= 0 && member < members.count, "a member of the shard")
        holds.releaseExpired(member: member, nowMs: nowMs)
        expireLots(member: member, nowMs: nowMs)
    }

    /// The hold made by the request at `position`, if it is still active.
    func activeHold(madeAt position: Int64) -> Int? {
        let hold = idempotency[position].effect.hold
        guard idempotency[position].effect.kind == .hold, hold != 0 else { return nil }
        let record = holds[Int(hold) - 1]
        guard record.isActive, record.entryPosition == position else { return nil }
        precondition(record.member >= 0 && Int(record.member) < members.count, "an active hold's member is in the table")
        return Int(hold) - 1
    }
}
