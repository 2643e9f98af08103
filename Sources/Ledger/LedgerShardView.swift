/// One shard's books as a report reads them, never the serving shard's tables (reports must not stall
/// authorizations, and the shard thread is the only one that may touch its live state). Two ways to read:
///
/// - **In place** (`isInPlace`): when the log after the shard's newest checkpoint holds no record, the view reads
///   the checkpoint's mapped sections where they lie (`Snapshot.Walk`), dropping the pages it passed: memory is a
///   few MiB whatever the shard's size, plus 4 bytes per member (its first card).
/// - **Recovered**: otherwise, or for the totals of breakage and settlement, a read-only recovery of the checkpoint
///   and the log after it into memory of the report's own (what `ledger verify` does: about the shard's size).
///
/// Consistent: every row comes from one state, the one at `lastSequence`. Fresh: as of the log's durable end when
/// the view was read. Memory: one shard at a time (a report walks shards one after the other).
public final class LedgerShardView {
    /// Where the rows come from.
    enum Source {
        case recovered(ShardState)
        case checkpoint(Snapshot.Walk)
    }

    /// What a report needs: rows of members and cards (read in place when it can), or the shard's totals (breakage,
    /// settlement: the recovered state's sums).
    public enum Reading: Sendable {
        case rows, totals
    }

    public let shardIndex: Int
    public let shardCount: Int
    /// The last record applied: the view is the shard's state after it.
    public let lastSequence: UInt64
    /// The checkpoint the view started from (0: none, the whole log was replayed).
    public let snapshotSequence: UInt64
    /// The newest time stamped on a record the view holds (nil: an empty log after the checkpoint).
    public let newestRecordTimeMs: Int64?
    let source: Source
    let decisions: (any Decider)?
    /// Per member index: the card table index of the card it was enrolled with (its first card, its `mbr_` id).
    private var firstCards: [Int32] = []

    init(state: ShardState, report: ShardRecovery.Report) {
        precondition(report.lastSequence >= report.snapshotSequence, "a recovered shard reaches its snapshot")
        source = .recovered(state)
        decisions = state.decisions
        shardIndex = state.shardIndex
        shardCount = state.shardCount
        lastSequence = report.lastSequence
        snapshotSequence = report.snapshotSequence
        newestRecordTimeMs = report.newestRecordTimeMs
    }

    init(walk: Snapshot.Walk, decisions: (any Decider)?, newestRecordTimeMs: Int64?) {
        precondition(walk.header.shardIndex < walk.header.shardCount, "a checked checkpoint names a shard of its ledger")
        source = .checkpoint(walk)
        self.decisions = decisions
        shardIndex = Int(walk.header.shardIndex)
        shardCount = Int(walk.header.shardCount)
        lastSequence = walk.header.sequence
        snapshotSequence = walk.header.sequence
        self.newestRecordTimeMs = newestRecordTimeMs
    }

    /// True when the rows are read in place from the checkpoint (no copy of the shard in memory).
    public var isInPlace: Bool {
        if case .checkpoint = source { return true }
        return false
    }

    public var memberCount: Int {
        switch source {
        case .recovered(let state): return state.members.count
        case .checkpoint(let walk): return walk.header.memberCount
        }
    }

    public var cardCount: Int {
        switch source {
        case .recovered(let state): return state.cards.count
        case .checkpoint(let walk): return walk.header.cardCount
        }
    }

    func memberRecord(_ index: Int) -> MemberRecord {
        precondition(index >= 0 && index < memberCount, "a member index of this shard")
        switch source {
        case .recovered(let state): return state.members[index]
        case .checkpoint(let walk): return walk.member(index)
        }
    }

    private func cardRecord(_ index: Int) -> CardRecord {
        precondition(index >= 0 && index < cardCount, "a card index of this shard")
        switch source {
        case .recovered(let state): return state.cards.cards[index]
        case .checkpoint(let walk): return walk.card(index)
        }
    }

    private func gift(member: Int32) -> GiftAccount? {
        precondition(member >= 0 && Int(member) < memberCount, "a member index of this shard")
        switch source {
        case .recovered(let state):
            guard state.gifts.count > 0, let account = state.gifts.find(member: member) else { return nil }
            return state.gifts.accounts[account]
        case .checkpoint(let walk): return walk.gifts[member]
        }
    }

    /// The member at `index` (0 ..< memberCount), with its first card and what the rules decided about it.
    public func member(_ index: Int) -> ReportMember {
        precondition(index >= 0 && index < memberCount, "a member index of this shard")
        if firstCards.isEmpty && memberCount > 0 { indexFirstCards() }
        let record = memberRecord(index)
        let cardIndex = Int(firstCards[index])
        let card = cardIndex >= 0 ? cardRecord(cardIndex) : nil
        let summary = decisions?.summary(of: record.loyalty) ?? MemberSummary.none
        var member = ReportMember(
            id: card?.hash ?? CardHash(high: 0, low: 0), firstCard: card?.masked ?? .none,
            balance: record.balance, held: record.held, tier: summary.tier,
            purchases: Int64(summary.purchaseCount), volumeMinor: summary.purchaseVolumeMinor,
            cardCount: Int(record.cardCount))
        if let account = gift(member: Int32(index)) {
            member.giftMinor = account.balanceMinor
            member.giftCurrencyCode = account.currencyCode
        }
        return member
    }

    /// The card at `index` (0 ..< cardCount). A forwarding record (a card of a member on another shard) is
    /// reported by that shard, which keeps the card's own record: nil here.
    public func card(_ index: Int) -> ReportCard? {
        precondition(index >= 0 && index < cardCount, "a card index of this shard")
        let record = cardRecord(index)
        let status: ReportCard.Status
        switch record.status {
        case .active: status = .active
        case .blocked: status = .blocked
        case .replaced: status = .replaced
        case .forwarded, .unlinked: return nil
        }
        if firstCards.isEmpty && memberCount > 0 { indexFirstCards() }
        let first = Int(firstCards[Int(record.member)])
        return ReportCard(
            hash: record.hash, masked: record.masked, kind: record.kind,
            member: first >= 0 ? cardRecord(first).hash : record.hash, status: status)
    }

    /// The numbers `ledger breakage` and `ledger settlement` print, for this shard alone; add shards' totals
    /// with `add(to:)` so the reports and the CLI share one computation. Needs a view read for `.totals`.
    public func add(to totals: inout LedgerTotals) {
        guard case .recovered(let state) = source else { preconditionFailure("totals need a view read for .totals") }
        state.addTotals(to: &totals)
        totals.shardCount = shardCount
        totals.lastSequences.append(lastSequence)
        totals.snapshotSequences.append(snapshotSequence)
    }

    /// A member's first card is the oldest card naming it: the table is append-only, so one pass in order.
    private func indexFirstCards() {
        firstCards = Array(repeating: -1, count: memberCount)
        for index in 0..<cardCount {
            let record = cardRecord(index)
            guard record.status != .forwarded, record.member >= 0, firstCards[Int(record.member)] < 0 else { continue }
            precondition(Int(record.member) < memberCount, "a card names a member of its shard")
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
    /// Reads one shard of a data directory as `LedgerShardView`, read-only (no file is written or removed), safe
    /// while the switch serves the directory, as `ledger verify` is. For `.rows`, when the log after the newest
    /// checkpoint holds no record, the checkpoint is read in place (flat memory); otherwise the checkpoint and the
    /// log after it are recovered into memory of the caller's. `configuration` gives the decider that reads the
    /// members' loyalty bytes.
    public static func shardView(
        directory: String, shard: Int, configuration: LedgerConfiguration,
        reading: LedgerShardView.Reading = .totals
    ) throws(LedgerError) -> LedgerShardView {
        let (applied, recorded) = try recordedConfiguration(directory: directory, configuration)
        guard shard >= 0 && shard < applied.shardCount else {
            throw .incompatibleDirectory(reason: "\(directory) has \(applied.shardCount) shards, not \(shard + 1)")
        }
        if reading == .rows,
            let view = try inPlaceView(
                directory: directory, shard: shard, applied, hasSegmentHeaders: recorded.hasSegmentHeaders)
        {
            return view
        }
        let (state, report) = try recoverReadOnly(
            directory: directory, shard: shard, applied, hasSegmentHeaders: recorded.hasSegmentHeaders)
        return LedgerShardView(state: state, report: report)
    }

    /// The shard's newest checkpoint read in place when the log after it holds no record (nil: no checkpoint,
    /// or records to replay). The log is still read to the end: its chain must continue the checkpoint's.
    static func inPlaceView(
        directory: String, shard: Int, _ configuration: LedgerConfiguration, hasSegmentHeaders: Bool
    ) throws(LedgerError) -> LedgerShardView? {
        let shardDirectory = DataDirectory.shardDirectory(directory, shard: shard)
        let live = DataDirectory.isServed(directory)
        let walk: Snapshot.Walk
        let outcome: WALReader.Outcome
        do throws(LedgerError) {
            guard let path = try Snapshot.newest(in: shardDirectory) else { return nil }
            walk = try Snapshot.Walk(
                path: path, shard: shard, shardCount: configuration.shardCount,
                giftsMax: configuration.giftCardsPerShardMax)
            var reader = WALReader(
                directory: shardDirectory, readOnly: true, directoryHasSegmentHeaders: hasSegmentHeaders)
            reader.live = live
            outcome = try reader.scan(afterSequence: walk.header.sequence, snapshotCRC: walk.header.lastCRC) { _, _, _ in }
        } catch {
            // A served directory's files may go while they are read: the recovery view reads it again (and
            // reports damage that stays).
            guard live else { throw error }
            return nil
        }
        // Records to replay, or a log that does not end at the checkpoint: the recovery view decides.
        guard outcome.recordsReplayed == 0, outcome.position.nextSequence == walk.header.sequence + 1 else {
            return nil
        }
        return LedgerShardView(walk: walk, decisions: configuration.decider, newestRecordTimeMs: outcome.newestTimeMs)
    }
}
