import Ledger

/// Makes a report: reads the data directory shard by shard as `LedgerShardView`s (a checkpoint and the log
/// after it, read-only, into this thread's memory) and writes its rows as CSV. Never touches a serving shard's
/// tables, so an export and authorizations share only the CPU and the disk. Memory: one shard's view at a time,
/// plus the writer's chunk; per-tier and per-merchant sums are bounded by the rules' tiers and settlement pairs.
public enum Reports {
    /// Writes the header and every row of `query` into `csv` (flushed at the end); returns how fresh it was.
    /// `checkpoints`: the serving ledger's checkpoints pinned for this report (`Ledger.reportCheckpoints`), read in
    /// place for rows whatever records follow them; nil (the command line) reads the directory's newest ones.
    public static func write(
        _ query: ReportQuery, directory: String, configuration: LedgerConfiguration, context: ReportContext,
        checkpoints: [ReportCheckpoint]? = nil, to csv: inout CSVWriter
    ) throws(ReportError) -> ReportAsOf {
        let shardCount: Int
        do throws(LedgerError) {
            if let checkpoints {
                shardCount = checkpoints.count
            } else {
                shardCount = try Ledger.recordedShardCount(directory: directory)
            }
        } catch {
            throw .unreadable(error.description)
        }
        try csv.row(query.name.columns)
        var asOf = ReportAsOf()
        var totals = LedgerTotals()
        var tiers = TierSums()
        for shard in 0..<shardCount {
            let view: LedgerShardView
            do throws(LedgerError) {
                if let checkpoints, query.name.reading == .rows {
                    view = try Ledger.shardView(checkpoint: checkpoints[shard], configuration: configuration)
                } else {
                    view = try Ledger.shardView(
                        directory: directory, shard: shard, configuration: configuration, reading: query.name.reading)
                }
            } catch {
                throw .unreadable(error.description)
            }
            asOf.shards.append(
                ReportAsOf.Shard(
                    shard: shard, lastSequence: view.lastSequence, snapshotSequence: view.snapshotSequence,
                    newestRecordTimeMs: view.newestRecordTimeMs))
            switch query.name {
            case .members: try members(view, context: context, to: &csv)
            case .cardsIssued: try cards(view, lostOnly: false, context: context, to: &csv)
            case .lostCards: try cards(view, lostOnly: true, context: context, to: &csv)
            case .tiers: tiers.add(view)
            case .breakage, .settlement: view.add(to: &totals)
            }
        }
        switch query.name {
        case .tiers: try tiers.write(context: context, to: &csv)
        case .breakage: for row in LedgerBreakage.rows(totals) { try csv.row(row) }
        case .settlement:
            let rows = LedgerSettlement.rows(totals, name: context.merchantName) { record in
                query.merchantTags.map { $0.contains(record.payer) || $0.contains(record.payee) } ?? true
            }
            for row in rows { try csv.row(row) }
        case .members, .cardsIssued, .lostCards: break
        }
        try csv.flush()
        return asOf
    }

    static func members(_ view: LedgerShardView, context: ReportContext, to csv: inout CSVWriter) throws(ReportError) {
        for index in 0..<view.memberCount {
            let member = view.member(index)
            let texts = context.memberTexts(member.id)
            csv.field(context.memberId(member.id))
            csv.field(member.firstCard.description)
            csv.field(member.tier)
            csv.field(member.balance.points)
            csv.field(member.balance.credit)
            csv.field(member.held.points)
            csv.field(member.held.credit)
            csv.field(member.giftMinor)
            if member.giftCurrencyCode == 0 { csv.emptyField() } else { csv.field(member.giftCurrencyCode) }
            csv.field(member.cardCount)
            csv.field(member.purchases)
            csv.field(member.volumeMinor)
            csv.field(texts?.name ?? "")
            csv.field(texts?.phone ?? "")
            try csv.endRow()
        }
    }

    static func cards(
        _ view: LedgerShardView, lostOnly: Bool, context: ReportContext, to csv: inout CSVWriter
    ) throws(ReportError) {
        for index in 0..<view.cardCount {
            guard let card = view.card(index), !lostOnly || card.status != .active else { continue }
            try csv.row([
                card.masked.description, card.kind == .bank ? "bank" : "loyalty", context.memberId(card.member),
                card.status.rawValue,
            ])
        }
    }
}

extension ReportName {
    /// Rows of members and cards are read in place from a checkpoint when they can; breakage and settlement add
    /// the recovered state's totals.
    public var reading: LedgerShardView.Reading {
        switch self {
        case .members, .cardsIssued, .lostCards, .tiers: return .rows
        case .breakage, .settlement: return .totals
        }
    }
}

/// Members, balances and purchases per tier, added over shards (as many entries as the highest tier seen).
struct TierSums {
    struct Sum {
        var members: Int64 = 0
        var points: Int64 = 0
        var credit: Int64 = 0
        var purchases: Int64 = 0
        var volumeMinor: Int64 = 0
    }
    var sums: [Sum] = []

    mutating func add(_ view: LedgerShardView) {
        for index in 0..<view.memberCount {
            let member = view.member(index)
            let tier = Int(member.tier)
            if sums.count <= tier { sums += Array(repeating: Sum(), count: tier + 1 - sums.count) }
            sums[tier].members += 1
            sums[tier].points += member.balance.points
            sums[tier].credit += member.balance.credit
            sums[tier].purchases += member.purchases
            sums[tier].volumeMinor += member.volumeMinor
        }
    }

    func write(context: ReportContext, to csv: inout CSVWriter) throws(ReportError) {
        for (tier, sum) in sums.enumerated() {
            try csv.row([
                String(tier), String(sum.members), String(sum.points),
                String(sum.credit), String(sum.purchases), String(sum.volumeMinor),
            ])
        }
    }
}
