/// One shard's books as a report reads them: recovered read-only from the shard's newest checkpoint and the log
/// after it into memory of the report's own, never the serving shard's tables (reports must not stall
/// authorizations, and the shard thread is the only one that may touch its live state).
///
/// Consistent: every row comes from one state, the one at `lastSequence`. Fresh: as of the log's durable end when
/// the view was read. Memory: one shard's tables at a time (a report walks shards one after the other).
public final class LedgerShardView {
    public let shardIndex: Int
    public let shardCount: Int
    /// The last record applied: the view is the shard's state after it.
    public let lastSequence: UInt64
    /// The checkpoint the view started from (0: none, the whole log was replayed).
    public let snapshotSequence: UInt64
    /// The newest time stamped on a record the view holds (nil: an empty log after the checkpoint).
    public let newestRecordTimeMs: Int64?
    let state: ShardState
    /// Per member index: the card table index of the card it was enrolled with (its first card, its `mbr_` id).
    private var firstCards: [Int32] = []

    init(state: ShardState, report: ShardRecovery.Report) {
        self.state = state
        shardIndex = state.shardIndex
        shardCount = state.shardCount
        lastSequence = report.lastSequence
        snapshotSequence = report.snapshotSequence
        newestRecordTimeMs = report.newestRecordTimeMs
    }

    public var memberCount: Int { state.members.count }
    public var cardCount: Int { state.cards.count }

    /// The member at `index` (0 ..< memberCount), with its first card and what the rules decided about it.
    public func member(_ index: Int) -> ReportMember {
        precondition(index >= 0 && index < state.members.count, "a member index of this shard")
        if firstCards.isEmpty && state.members.count > 0 { indexFirstCards() }
        let record = state.members[index]
        let cardIndex = Int(firstCards[index])
        let card = cardIndex >= 0 ? state.cards.cards[cardIndex] : nil
        let summary = state.decisions?.summary(of: record.loyalty) ?? MemberSummary.none
        var member = ReportMember(
            id: card?.hash ?? CardHash(high: 0, low: 0), firstCard: card?.masked ?? .none,
            balance: record.balance, held: record.held, tier: summary.tier,
            purchases: Int64(summary.purchaseCount), volumeMinor: summary.purchaseVolumeMinor,
            cardCount: Int(record.cardCount))
        if state.gifts.count > 0, let account = state.gifts.find(member: Int32(index)) {
            member.giftMinor = state.gifts.accounts[account].balanceMinor
            member.giftCurrencyCode = state.gifts.accounts[account].currencyCode
        }
        return member
    }

    /// The card at `index` (0 ..< cardCount). A forwarding record (a card of a member on another shard) is
    /// reported by that shard, which keeps the card's own record: nil here.
    public func card(_ index: Int) -> ReportCard? {
        precondition(index >= 0 && index < state.cards.count, "a card index of this shard")
        let record = state.cards.cards[index]
        let status: ReportCard.Status
        switch record.status {
        case .active: status = .active
        case .blocked: status = .blocked
        case .replaced: status = .replaced
        case .forwarded, .unlinked: return nil
        }
        if firstCards.isEmpty && state.members.count > 0 { indexFirstCards() }
        let first = Int(firstCards[Int(record.member)])
        return ReportCard(
            hash: record.hash, masked: record.masked, kind: record.kind,
            member: first >= 0 ? state.cards.cards[first].hash : record.hash, status: status)
    }

    /// The numbers `ledger breakage` and `ledger settlement` print, for this shard alone; add shards' totals
    /// with `add(to:)` so the reports and the CLI share one computation.
    public func add(to totals: inout LedgerTotals) {
        state.addTotals(to: &totals)
        totals.shardCount = shardCount
        totals.lastSequences.append(lastSequence)
        totals.snapshotSequences.append(snapshotSequence)
    }

    /// A member's first card is the oldest card naming it: the table is append-only, so one pass in order.
    private func indexFirstCards() {
        firstCards = Array(repeating: -1, count: state.members.count)
        for index in 0..<state.cards.count {
            let record = state.cards.cards[index]
            guard record.status != .forwarded, record.member >= 0, firstCards[Int(record.member)] < 0 else { continue }
            firstCards[Int(record.member)] = Int32(index)
        }
    }
}

/// A member's row as reports show it; `id` is the hash its `mbr_` id spells.
public struct ReportMember: Sendable, Equatable {
    public var id: CardHash
    public var firstCard: MaskedCard
    public var balance: AssetAmounts
    public var held: AssetAmounts
    public var tier: UInt8
    public var purchases: Int64
    public var volumeMinor: Int64
    public var cardCount: Int
    /// The member's gift card value (0 without one) and its ISO 4217 numeric currency (0: none).
    public var giftMinor: Int64 = 0
    public var giftCurrencyCode: UInt16 = 0
}

/// A card's row as reports show it: masked only, never the number.
public struct ReportCard: Sendable, Equatable {
    public enum Status: String, Sendable {
        case active, blocked, replaced
    }
    public var hash: CardHash
    public var masked: MaskedCard
    public var kind: CardKind
    /// The hash of the member's first card (its `mbr_` id).
    public var member: CardHash
    public var status: Status
}

extension Ledger {
    /// Reads one shard of a data directory as `LedgerShardView`: the newest checkpoint (mapped) and the log after
    /// it, read-only (no file is written or removed), into memory of the caller's. Safe while the switch serves the
    /// directory, as `ledger verify` is. `configuration` gives the decider that reads the members' loyalty bytes.
    public static func shardView(directory: String, shard: Int, configuration: LedgerConfiguration)
        throws(LedgerError) -> LedgerShardView
    {
        let (applied, recorded) = try recordedConfiguration(directory: directory, configuration)
        guard shard >= 0 && shard < applied.shardCount else {
            throw .incompatibleDirectory(reason: "\(directory) has \(applied.shardCount) shards, not \(shard + 1)")
        }
        let (state, report) = try recoverReadOnly(
            directory: directory, shard: shard, applied, hasSegmentHeaders: recorded.hasSegmentHeaders)
        return LedgerShardView(state: state, report: report)
    }
}
