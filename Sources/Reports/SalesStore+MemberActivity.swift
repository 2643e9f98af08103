import Ledger

/// The sales store is where the segments report's purchases come from: each purchase and payment (a payment is a
/// purchase paid with points or credit) of a member in the window, refunds and reversals of them as negative
/// amounts (so monetary nets them out; a refund is not a visit).
extension SalesStore: MemberActivitySource {
    public func forEachPurchase(fromMs: Int64, toMs: Int64, _ body: (MemberPurchase) throws -> Void) throws {
        try forEachSale(fromMs: fromMs, toMs: toMs) { entry, _ in
            guard entry.kind.isSale else { return }
            try body(MemberPurchase(member: entry.member, timeMs: entry.timeMs, amountMinor: entry.amountMinor))
        }
    }
}
