import Ledger

/// An approximation of members' purchases made from the member search's lifetime figures, NOT the sales store:
/// each member with purchases whose latest purchase is in the window gives `purchases` purchases (at most
/// `perMemberMax`) splitting its lifetime volume, the first dated at its first purchase, the rest at its latest.
/// So recency is exact, frequency and monetary count the member's whole life. For tests and demonstrations only
/// (`segments.source` `lifetimeFigures`, never the default); the sales store is the real source.
public struct LifetimeFiguresActivity: MemberActivitySource, Sendable {
    public static let perMemberMax: UInt32 = 10_000
    static let rowsPerRead = 4_096
    public let index: MemberSearchIndex

    public init(index: MemberSearchIndex) { self.index = index }

    public func forEachPurchase(fromMs: Int64, toMs: Int64, _ body: (MemberPurchase) throws -> Void) throws {
        var start = 0
        while true {
            let rows = index.rows(from: start, count: Self.rowsPerRead)
            if rows.isEmpty { return }
            start += rows.count
            for row in rows where row.purchases > 0 && row.lastPurchaseTimeMs >= fromMs && row.lastPurchaseTimeMs < toMs {
                let count = min(row.purchases, Self.perMemberMax)
                let share = row.volumeMinor / Int64(count)
                for purchase in 0..<count {
                    let amount = purchase == count - 1 ? row.volumeMinor - share * Int64(count - 1) : share
                    let time = purchase == 0 && count > 1 ? max(row.firstPurchaseTimeMs, fromMs) : row.lastPurchaseTimeMs
                    try body(MemberPurchase(member: row.id, timeMs: time, amountMinor: amount))
                }
            }
        }
    }
}
