import Ledger
import LoyaltyLedger
import Metrics

/// The club's figures in `GET /metrics`, for the dashboard (docs/dashboard.md): members by tier, value
/// outstanding and expired, and approved sales per merchant. Each shard keeps its own as it applies commands
/// (`ShardFigures`); a scrape adds them up without touching a shard.
extension AdminMetrics {
    func writeBusiness(_ text: inout PrometheusText) {
        let figures = ledger.shardFigures
        precondition(figures.count == ledger.shardCount, "figures of every shard")
        writeTiers(figures, &text)
        var lots = LotCounters()
        for shard in figures {
            let counters = shard.lotCounters
            lots.outstanding.points += counters.outstanding.points
            lots.outstanding.credit += counters.outstanding.credit
            lots.expired.points += counters.expired.points
            lots.expired.credit += counters.expired.credit
        }
        text.family("loyalty_points_outstanding", type: .gauge, help: "Points members hold (in lots), all shards.")
        text.sample(signedValue: lots.outstanding.points)
        text.family(
            "loyalty_credit_outstanding_minor", type: .gauge,
            help: "Credit members hold (in lots), in minor units of the program's currency, all shards.")
        text.sample(signedValue: lots.outstanding.credit)
        text.family(
            "loyalty_points_expired_total", type: .counter,
            help: "Points that expired unused (breakage) since the ledger began, all shards.")
        text.sample(value: UInt64(max(lots.expired.points, 0)))
        text.family(
            "loyalty_credit_expired_minor_total", type: .counter,
            help: "Credit that expired unused (breakage) since the ledger began, in minor units, all shards.")
        text.sample(value: UInt64(max(lots.expired.credit, 0)))
        writeMerchantSales(figures, &text)
    }

    /// Members per tier: every configured tier (zero included), labelled with its id and index; a program
    /// without tiers has the one base tier `0`.
    private func writeTiers(_ figures: [ShardFigures], _ text: inout PrometheusText) {
        let program = (ledger.configuration.decider as? LoyaltyDecider)?.program
        let tierCount = max(program?.tierCount ?? 0, 1)
        precondition(tierCount >= 1, "a program has at least its base tier")
        text.family(
            "loyalty_members_by_tier", type: .gauge,
            help: "Members per tier as of each member's latest decided purchase, all shards.")
        for index in 0..<ShardFigures.tierSlotCount {
            let count = figures.reduce(0) { $0 + $1.members(inTier: index) }
            guard index < tierCount || count > 0 else { continue }
            let name = program.flatMap { index < $0.tierCount ? $0.tierIdentifier(at: index).description : nil }
            text.sample([("tier", name ?? String(index)), ("index", String(index))], value: UInt64(count))
        }
    }

    /// Approved sales per merchant, all shards added up by merchant id; the sample without a `merchant` label
    /// counts the sales at merchants past a shard's table (`ShardFigures.merchantsTrackedMax`): any printable id
    /// is a valid merchant, so no label value could name "the others" unambiguously.
    private func writeMerchantSales(_ figures: [ShardFigures], _ text: inout PrometheusText) {
        var totals: [String?: (sales: UInt64, amountMinor: UInt64)] = [:]
        for shard in figures {
            for row in shard.merchantSalesCounts {
                let name = row.name.map { $0.identifier.description }
                let sum = totals[name] ?? (0, 0)
                totals[name] = (sum.sales &+ row.sales, sum.amountMinor &+ row.amountMinor)
            }
        }
        // Merchants by id, then the others.
        let names: [String?] = totals.keys.compactMap { $0 }.sorted() + (totals.keys.contains(nil) ? [nil] : [])
        precondition(names.count == totals.count, "each merchant, and the others, once")
        text.family(
            "loyalty_merchant_sales_total", type: .counter,
            help: "Approved purchases by merchant (field 42) since the switch started; reversals are not subtracted.")
        for name in names { text.sample(name.map { [("merchant", $0)] } ?? [], value: totals[name]?.sales ?? 0) }
        text.family(
            "loyalty_merchant_sales_amount_minor_total", type: .counter,
            help: "Amount of the approved purchases by merchant since the switch started, in minor units.")
        for name in names {
            text.sample(name.map { [("merchant", $0)] } ?? [], value: totals[name]?.amountMinor ?? 0)
        }
    }
}
