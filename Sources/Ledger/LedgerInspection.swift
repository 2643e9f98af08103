#if canImport(Glibc)
    import Glibc
#endif

/// Totals of a data directory, computed by a read-only recovery (what `ledger verify` prints).
public struct LedgerTotals: Sendable, Equatable {
    public var shardCount = 0
    public var members = 0
    public var cards = 0
    public var cardsBlocked = 0
    public var cardsReplaced = 0
    /// Forwarding records: cards linked to a member of another shard (counted again there, in `cards`).
    public var cardsForwarded = 0
    public var balance = AssetAmounts.zero
    public var held = AssetAmounts.zero
    public var activeHolds = 0
    public var idempotencyKeys = 0
    public var pendingTransfers = 0
    public var recordsVerified = 0
    public var recordsReplayed = 0
    public var lastSequences: [UInt64] = []
    public var snapshotSequences: [UInt64] = []
    public var tornTails: [TornTail] = []
    /// Rules-decided purchases counted in the members' aggregates (not undone), and their money volume.
    public var loyaltyPurchases: Int64 = 0
    public var loyaltyVolumeMinor: Int64 = 0
    /// Members per tier index (index 0: the base tier); as long as the highest tier any member is in.
    public var membersByTier: [Int] = []
    /// Coalition settlement per (payer, payee) merchant tag pair, all shards added up, in pair order.
    public var settlements: [SettlementRecord] = []
    /// Lot counters per shard (expired and outstanding per asset), what `ledger breakage` prints.
    public var lotCounters: [LotCounters] = []
    /// Active lots over all shards.
    public var activeLots = 0
    /// Engagement counts kept (member, type) and the events they count in their current periods.
    public var engagementCounts = 0
    public var engagementEventsCounted: Int64 = 0

    /// Empty totals, for a reader that adds shards itself (`LedgerShardView.add(to:)`).
    public init() {}
}

extension Ledger {
    /// Recovers every shard into memory without starting threads or touching any file, checks the
    /// cross-table invariants, and returns the totals. Throws what `open` would refuse with.
    /// The limits recorded in the directory are used (replay must re-decide as the writer did); of
    /// `configuration` only `segmentBytes` matters.
    public static func inspect(directory: String, configuration: LedgerConfiguration = LedgerConfiguration())
        throws(LedgerError) -> LedgerTotals
    {
        let (configuration, recorded) = try recordedConfiguration(directory: directory, configuration)
        var totals = LedgerTotals()
        totals.shardCount = configuration.shardCount
        for index in 0..<configuration.shardCount {
            let (state, report) = try recoverReadOnly(
                directory: directory, shard: index, configuration, hasSegmentHeaders: recorded.hasSegmentHeaders)
            try state.checkInvariants(directory: DataDirectory.shardDirectory(directory, shard: index))
            state.addTotals(to: &totals)
            totals.recordsVerified += report.recordsVerified
            totals.recordsReplayed += report.recordsReplayed
            totals.lastSequences.append(report.lastSequence)
            totals.snapshotSequences.append(report.snapshotSequence)
            if let torn = report.tornTail { totals.tornTails.append(torn) }
        }
        precondition(totals.lastSequences.count == configuration.shardCount, "a last sequence per shard")
        return totals
    }

    /// `configuration` with the limits recorded in the directory (replay must re-decide as the writer did).
    static func recordedConfiguration(
        directory: String, _ configuration: LedgerConfiguration
    ) throws(LedgerError) -> (LedgerConfiguration, RecordedLimits) {
        var recordedConfiguration = configuration
        recordedConfiguration.shardCount = try recordedShardCount(directory: directory)
        let recorded = try DataDirectory.prepare(directory, configuration: recordedConfiguration, create: false)
        let applied = recorded.applied(to: configuration)
        applied.validate()
        precondition(applied.shardCount == recordedConfiguration.shardCount, "the recorded shard count applies")
        return (applied, recorded)
    }

    /// Tries of a read-only recovery of a served directory, 20 ms apart, before its error is reported.
    static let liveAttemptsMax = 10

    /// One shard recovered read-only (no file written or removed) into a state of the caller's. Of a directory a
    /// writer serves, the files the reader listed may go while it reads them (a checkpoint deletes the snapshot and
    /// segments it replaces, a merge the key runs it joined): what fails there is read again from a new listing, up
    /// to `liveAttemptsMax` times; real damage fails every time and is reported as it was found the last time.
    static func recoverReadOnly(
        directory: String, shard: Int, _ configuration: LedgerConfiguration, hasSegmentHeaders: Bool
    ) throws(LedgerError) -> (ShardState, ShardRecovery.Report) {
        precondition(shard >= 0 && shard < configuration.shardCount, "a shard of the ledger")
        let live = DataDirectory.isServed(directory)
        var attempt = 1
        while true {
            let state = ShardState(shardIndex: shard, shardCount: configuration.shardCount, limits: configuration)
            var recovery = ShardRecovery(
                directory: DataDirectory.shardDirectory(directory, shard: shard), readOnly: true)
            recovery.directoryHasSegmentHeaders = hasSegmentHeaders
            recovery.live = live
            do throws(LedgerError) {
                return (state, try recovery.recover(into: state))
            } catch {
                guard live && attempt < liveAttemptsMax else { throw error }
                attempt += 1
                usleep(20_000)
            }
        }
    }

    /// The shard count recorded in a data directory's `ledger.meta`, for tools that open it.
    public static func recordedShardCount(directory: String) throws(LedgerError) -> Int {
        let path = directory + "/" + DataDirectory.metaName
        guard FileIO.exists(path) else {
            throw .incompatibleDirectory(reason: "\(directory) is not a ledger data directory")
        }
        let text = String(decoding: try FileIO.readWholeFile(path, bytesMax: 4096), as: UTF8.self)
        guard let limits = RecordedLimits(text: text) else {
            throw .incompatibleDirectory(reason: "\(path) is not understood")
        }
        return limits.shardCount
    }
}

extension ShardState {
    func addTotals(to totals: inout LedgerTotals) {
        precondition(holds.activeCount <= holds.records.count, "active holds are among the records")
        totals.members += members.count
        totals.engagementCounts += engagements.records.count
        for index in 0..<engagements.records.count {
            totals.engagementEventsCounted += Int64(engagements.records[index].count.count)
        }
        totals.cards += cards.count
        for index in 0..<cards.count {
            if cards.cards[index].status == .blocked { totals.cardsBlocked += 1 }
            if cards.cards[index].status == .replaced { totals.cardsReplaced += 1 }
            if cards.cards[index].status == .forwarded { totals.cardsForwarded += 1 }
        }
        for index in 0..<members.count {
            totals.balance.points += members[index].balance.points
            totals.balance.credit += members[index].balance.credit
            totals.held.points += members[index].held.points
            totals.held.credit += members[index].held.credit
            // Without a decider nothing was decided: every member is in the base tier with no purchase counted.
            let loyalty = decisions?.summary(of: members[index].loyalty) ?? MemberSummary.none
            totals.loyaltyPurchases += Int64(loyalty.purchaseCount)
            totals.loyaltyVolumeMinor += loyalty.purchaseVolumeMinor
            let tier = Int(loyalty.tier)
            if totals.membersByTier.count <= tier {
                totals.membersByTier += Array(repeating: 0, count: tier + 1 - totals.membersByTier.count)
            }
            totals.membersByTier[tier] += 1
        }
        // Pairs from all shards added up (up to settlementPairsPerShardMax per shard: by key, not by scan).
        var byPair: [UInt64: SettlementRecord] = [:]
        for record in totals.settlements + (0..<settlements.records.count).map({ settlements.records[$0] }) {
            let key = SettlementTable.pair(payer: record.payer, payee: record.payee)
            if var sum = byPair[key] {
                sum.points += record.points
                sum.creditMinor += record.creditMinor
                sum.valueMinor += record.valueMinor
                byPair[key] = sum
            } else {
                byPair[key] = record
            }
        }
        totals.settlements = byPair.values.sorted { ($0.payer, $0.payee) < ($1.payer, $1.payee) }
        totals.activeHolds += holds.activeCount
        totals.idempotencyKeys += idempotency.count + (idempotency.store?.count ?? 0)
        totals.pendingTransfers += pendingTransfers.count
        totals.lotCounters.append(lots.counters)
        totals.activeLots += lots.activeCount
    }

    /// Cross-table consistency: every member's held amounts equal the sum of its active holds, cards point at
    /// existing members, the hold count matches.
    func checkInvariants(directory: String) throws(LedgerError) {
        if let reason = holds.tableDisagreement() { throw .damagedSnapshot(file: directory, reason: reason) }
        for index in 0..<cards.count
        where cards.cards[index].status != .forwarded
            && (cards.cards[index].member < 0 || Int(cards.cards[index].member) >= members.count)
        {
            throw .damagedSnapshot(file: directory, reason: "card \(index) names a missing member")
        }
        try checkLotInvariants(directory: directory)
    }
}
