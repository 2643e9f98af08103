import Ledger

/// RFM scores, segments and VIPs over a window of members' purchases, pure (docs/segments.md):
///
/// - **Recency** is the time of the member's latest purchase in the window (`recencyDays`: whole days from it to
///   the window's end), **frequency** the number of its purchases in the window (amounts > 0), **monetary** the
///   sum of all its amounts there, refunds and reversals (negative) included, so it may be 0 or below.
/// - Each is scored 1–5 by quintile among the members scored: `score = ⌈5 × k ÷ n⌉` where `k` is the number of
///   members whose value is at or below the member's (for recency: whose latest purchase is at or before it).
///   Ties share the higher score; one member, or all equal, scores 5.
/// - Members with no purchase in the window (refunds only) are not scored.
/// - VIP: among the top `vipTop` by monetary (ties by member id) or with monetary ≥ `vipMinMinor`; monetary must
///   be above 0.
public enum Segments {
    /// The segment of a score pattern: the first row of `Segment.table` that matches.
    public enum Segment: String, Sendable, CaseIterable {
        case champions
        case loyal
        case new
        case potentialLoyalists = "potential-loyalists"
        case atRisk = "at-risk"
        case needAttention = "need-attention"
        case hibernating

        /// R, F, M → segment, first match wins (the table docs/segments.md shows).
        public static func of(recency r: UInt8, frequency f: UInt8, monetary m: UInt8) -> Segment {
            precondition((1...5).contains(r) && (1...5).contains(f) && (1...5).contains(m), "scores are 1...5")
            if r >= 4 && f >= 4 && m >= 4 { return .champions }
            if r >= 3 && f >= 4 { return .loyal }
            if r >= 4 && f <= 2 { return .new }
            if r >= 3 { return .potentialLoyalists }
            if f >= 4 || m >= 4 { return .atRisk }
            if f == 3 || m == 3 { return .needAttention }
            return .hibernating
        }
    }

    /// Who is a VIP: the `top` members by monetary, or those with monetary at least `minMinor` (either).
    public struct VIPRule: Sendable, Equatable {
        public var top: Int?
        public var minMinor: Int64?

        public init(top: Int? = nil, minMinor: Int64? = nil) {
            self.top = top
            self.minMinor = minMinor
        }
    }

    /// One member's purchases in the window, summed.
    public struct Activity: Sendable, Equatable {
        public var lastPurchaseMs: Int64 = Int64.min
        public var frequency: Int64 = 0
        public var monetaryMinor: Int64 = 0

        public init() {}
    }

    /// One member's row.
    public struct Score: Sendable, Equatable {
        public var member: CardHash
        public var activity: Activity
        public var recencyDays: Int64
        public var recency: UInt8
        public var frequency: UInt8
        public var monetary: UInt8
        public var segment: Segment
        public var vip: Bool
    }

    /// Sums `source`'s purchases in [fromMs, toMs) per member; more than `membersMax` members is a
    /// `badParameter("from")` (narrow the window or raise `segments.membersMax`). Memory: one map entry per member.
    public static func activity(
        _ source: any MemberActivitySource, fromMs: Int64, toMs: Int64, membersMax: Int
    ) throws(ReportError) -> [CardHash: Activity] {
        precondition(fromMs < toMs && membersMax >= 1, "a window and a bound")
        var members: [CardHash: Activity] = [:]
        do {
            try source.forEachPurchase(fromMs: fromMs, toMs: toMs) { purchase in
                guard purchase.timeMs >= fromMs && purchase.timeMs < toMs else { return }
                if members[purchase.member] == nil && members.count >= membersMax { throw ReportError.badParameter(
                    name: "from", reason: "more than \(membersMax) members bought in the window (segments.membersMax)")
                }
                members[purchase.member, default: Activity()].add(purchase)
            }
        } catch let error as ReportError {
            throw error
        } catch {
            throw .unreadable("the members' purchases cannot be read: \(error)")
        }
        return members
    }

    /// Scores every member with a purchase in the window ending at `toMs`; rows in member id order.
    public static func score(_ activity: [CardHash: Activity], toMs: Int64, vip: VIPRule) -> [Score] {
        let scored = activity.filter { $0.value.frequency > 0 }.sorted { MemberSearchIndex.precedes($0.key, $1.key) }
        let recency = quintiles(scored.map { $0.value.lastPurchaseMs })
        let frequency = quintiles(scored.map { $0.value.frequency })
        let monetary = quintiles(scored.map { $0.value.monetaryMinor })
        let vips = vipSet(scored.map { ($0.key, $0.value.monetaryMinor) }, vip)
        return scored.indices.map { index in
            let (member, figures) = scored[index]
            return Score(
                member: member, activity: figures, recencyDays: max(0, (toMs - 1 - figures.lastPurchaseMs) / 86_400_000),
                recency: recency[index], frequency: frequency[index], monetary: monetary[index],
                segment: Segment.of(recency: recency[index], frequency: frequency[index], monetary: monetary[index]),
                vip: vips.contains(index))
        }
    }

    /// Scores 1...5 per value, higher for larger values: ⌈5 × (values at or below) ÷ count⌉.
    public static func quintiles(_ values: [Int64]) -> [UInt8] {
        guard !values.isEmpty else { return [] }
        let sorted = values.sorted()
        let count = Int64(sorted.count)
        return values.map { value in
            // The number of values at or below `value`: the first index above it.
            var low = 0
            var high = sorted.count
            while low < high {
                let middle = (low + high) / 2
                if sorted[middle] <= value { low = middle + 1 } else { high = middle }
            }
            let score = (5 * Int64(low) + count - 1) / count
            precondition((1...5).contains(score), "a quintile is 1...5")
            return UInt8(score)
        }
    }

    /// Indices of the VIPs among `members` (id, monetary).
    static func vipSet(_ members: [(CardHash, Int64)], _ rule: VIPRule) -> Set<Int> {
        var vips: Set<Int> = []
        if let minimum = rule.minMinor {
            for (index, member) in members.enumerated() where member.1 >= minimum && member.1 > 0 { vips.insert(index) }
        }
        if let top = rule.top {
            let ranked = members.indices.filter { members[$0].1 > 0 }.sorted { left, right in
                members[left].1 != members[right].1
                    ? members[left].1 > members[right].1 : MemberSearchIndex.precedes(members[left].0, members[right].0)
            }
            vips.formUnion(ranked.prefix(top))
        }
        return vips
    }
}

extension Segments.Activity {
    mutating func add(_ purchase: MemberPurchase) {
        monetaryMinor = monetaryMinor.addingReportingOverflow(purchase.amountMinor).overflow
            ? (purchase.amountMinor > 0 ? Int64.max : Int64.min) : monetaryMinor + purchase.amountMinor
        guard purchase.amountMinor > 0 else { return }
        frequency += 1
        lastPurchaseMs = max(lastPurchaseMs, purchase.timeMs)
    }
}
