import Metrics

/// What the operator's dashboard shows of one shard's business: members per tier, the value held in lots and the
/// value that expired (breakage), and approved sales per merchant. Kept by the shard's thread as it applies
/// commands (a few relaxed stores per batch, no lock, no scan of the members after start-up) and read by metrics
/// scrapes from any thread, which add the shards up: a scrape never waits for a shard or walks its tables.
public final class ShardFigures: @unchecked Sendable {
    /// Tier slots: a tier index is a byte.
    public static let tierSlotCount = 256
    /// Merchants whose sales a shard counts by name; sales at further merchants are counted in one `other` slot,
    /// so a terminal sending a new merchant id with every sale cannot grow the table.
    public static let merchantsTrackedMax = 64

    /// Members per tier index, as of each member's latest decision (what `ledger verify` counts).
    private let tierCounts = CounterArray(count: tierSlotCount)
    /// Points outstanding, credit outstanding, points expired, credit expired: `LotCounters`, as Int64 bit patterns.
    private let lotValues = CounterArray(count: 4)
    /// Per merchant slot: the name's two words (written once, before the slot is counted as used).
    private let merchantNameWords = CounterArray(count: merchantsTrackedMax * 2)
    /// Per merchant slot, then one for merchants past the table: approved sales, and their amount in minor units.
    private let merchantSales = CounterArray(count: (merchantsTrackedMax + 1) * 2)
    private let merchantSlotsUsed = CounterArray(count: 1)

    /// Shard thread only: the tier each member was last counted in (index: member), and the merchants' names in
    /// slot order (the writer's own copy, so that looking a merchant up never reads the atomics).
    private var countedTiers: [UInt8] = []
    private var merchantNames: [MerchantName] = []

    init() {}

    /// Members in tier `index` on this shard.
    public func members(inTier index: Int) -> Int { Int(tierCounts.load(at: index)) }

    /// The lot counters as of the shard's latest batch.
    public var lotCounters: LotCounters {
        LotCounters(
            expired: AssetAmounts(
                points: Int64(bitPattern: lotValues.load(at: 2)), credit: Int64(bitPattern: lotValues.load(at: 3))),
            outstanding: AssetAmounts(
                points: Int64(bitPattern: lotValues.load(at: 0)), credit: Int64(bitPattern: lotValues.load(at: 1))))
    }

    /// Approved sales per merchant since the shard started, in slot order; `name` nil for the merchants past
    /// `merchantsTrackedMax`.
    public var merchantSalesCounts: [(name: MerchantName?, sales: UInt64, amountMinor: UInt64)] {
        let used = Int(merchantSlotsUsed.load(at: 0))
        var rows: [(name: MerchantName?, sales: UInt64, amountMinor: UInt64)] = []
        for slot in 0..<used {
            let name = MerchantName(
                high: merchantNameWords.load(at: slot * 2), low: merchantNameWords.load(at: slot * 2 + 1))
            // Relaxed stores may be seen out of order: a slot whose name is not visible yet is left for the next scrape.
            guard name != .none else { continue }
            rows.append((name, merchantSales.load(at: slot * 2), merchantSales.load(at: slot * 2 + 1)))
        }
        let other = Self.merchantsTrackedMax * 2
        if merchantSales.load(at: other) > 0 {
            rows.append((nil, merchantSales.load(at: other), merchantSales.load(at: other + 1)))
        }
        return rows
    }

    /// Shard thread: counts the members not counted yet (all of them once, after recovery; then the enrolled)
    /// and publishes the lot counters. Called after every batch.
    func catchUp(_ state: ShardState) {
        precondition(countedTiers.count <= state.members.count, "members are never removed")
        for member in countedTiers.count..<state.members.count {
            let tier = tier(of: member, in: state)
            countedTiers.append(tier)
            tierCounts.add(1, at: Int(tier))
        }
        precondition(countedTiers.count == state.members.count, "every member is counted once")
        let counters = state.lots.counters
        lotValues.set(UInt64(bitPattern: counters.outstanding.points), at: 0)
        lotValues.set(UInt64(bitPattern: counters.outstanding.credit), at: 1)
        lotValues.set(UInt64(bitPattern: counters.expired.points), at: 2)
        lotValues.set(UInt64(bitPattern: counters.expired.credit), at: 3)
    }

    /// Shard thread: a command was applied; moves its member to its tier now and counts an approved sale.
    func applied(_ command: ShardCommand, _ result: ApplyResult, _ state: ShardState) {
        let member = Int(result.touchedMember)
        // Only a decided command (a purchase under rules, or the undoing of one) writes the member's tier: the rest
        // skip the decoding.
        if command.options.contains(.decided) && member >= 0 && member < countedTiers.count {
            let tier = tier(of: member, in: state)
            let before = countedTiers[member]
            if tier != before {
                tierCounts.set(tierCounts.load(at: Int(before)) - 1, at: Int(before))
                tierCounts.add(1, at: Int(tier))
                countedTiers[member] = tier
            }
        }
        guard result.isLogged, result.reply.status.isApproval, command.kind == .earn,
            command.options.contains(.purchase), command.merchant != .none
        else { return }
        let slot = merchantSlot(command.merchant)
        merchantSales.add(1, at: slot * 2)
        merchantSales.add(UInt64(max(command.amountMinor, 0)), at: slot * 2 + 1)
    }

    private func tier(of member: Int, in state: ShardState) -> UInt8 {
        // Without a decider nothing was decided: every member is in the base tier (as `ledger verify` counts).
        state.decisions?.summary(of: state.members[member].loyalty).tier ?? 0
    }

    /// The merchant's slot, taking a new one while the table has room, else the `other` slot.
    private func merchantSlot(_ name: MerchantName) -> Int {
        if let slot = merchantNames.firstIndex(of: name) { return slot }
        guard merchantNames.count < Self.merchantsTrackedMax else { return Self.merchantsTrackedMax }
        let slot = merchantNames.count
        merchantNames.append(name)
        merchantNameWords.set(name.high, at: slot * 2)
        merchantNameWords.set(name.low, at: slot * 2 + 1)
        merchantSlotsUsed.set(UInt64(merchantNames.count), at: 0)
        return slot
    }
}
