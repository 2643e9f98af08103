import Ledger

/// Writes the sales store's reports as CSV: `sales` streams one row per sale in the order indexed (memory: the
/// writer's chunk); `items` and `credit-conversion` add up per day (memory: one sum per day, merchant, SKU and
/// category, at most `groupsMax`; one per day for credit). Read in the store's file order, oldest first.
public enum SalesReports {
    /// Sums the items report keeps (per day × merchant × SKU × category, ~150 bytes each): past it the report
    /// fails naming `from` (narrow the window).
    public static let groupsMax = 1_000_000

    /// The books' credit the credit-conversion report counts back from: the members' credit summed over the
    /// shards' checkpoint views and, per shard, the last log sequence those views hold (the store's entries after
    /// it are not in the sum).
    public struct CreditAnchor: Sendable, Equatable {
        public var outstandingMinor: Int64
        public var lastSequences: [UInt64]

        public init(outstandingMinor: Int64, lastSequences: [UInt64]) {
            self.outstandingMinor = outstandingMinor
            self.lastSequences = lastSequences
        }
    }

    /// Writes the header and the rows of `query` (flushed at the end). `anchor` is needed by credit-conversion only.
    public static func write(
        _ query: SalesReportQuery, store: SalesStore, anchor: CreditAnchor?, context: ReportContext,
        to csv: inout CSVWriter
    ) throws(ReportError) {
        try csv.row(query.name.columns)
        switch query.name {
        case .sales: try sales(query, store: store, context: context, to: &csv)
        case .items: try items(query, store: store, to: &csv)
        case .creditConversion:
            precondition(anchor != nil, "credit-conversion counts back from the books")
            try CreditConversion.write(query, store: store, anchor: anchor!, to: &csv)
        }
        try csv.flush()
    }

    /// The books' credit for credit-conversion, read from `directory`'s checkpoint views (before the store is read:
    /// the store must then hold every record the views hold).
    public static func creditAnchor(
        directory: String, configuration: LedgerConfiguration
    ) throws(ReportError) -> CreditAnchor {
        try CreditConversion.anchor(directory: directory, configuration: configuration)
    }

    /// Calls `body` with every entry of the window, a store that cannot be read becoming `unreadable`.
    static func scan(
        _ store: SalesStore, fromMs: Int64, toMs: Int64, _ body: (SaleEntry, [SaleLine]) throws(ReportError) -> Void
    ) throws(ReportError) {
        do {
            try store.forEachSale(fromMs: fromMs, toMs: toMs) { entry, lines in try body(entry, lines) }
        } catch let error as ReportError {
            throw error
        } catch {
            throw .unreadable("the sales store: \(error)")
        }
    }

    static func sales(
        _ query: SalesReportQuery, store: SalesStore, context: ReportContext, to csv: inout CSVWriter
    ) throws(ReportError) {
        var writer = csv
        defer { csv = writer }
        try scan(store, fromMs: query.fromMs, toMs: query.toMs) { (entry, _) throws(ReportError) in
            guard entry.kind.isSale, query.includes(entry.merchant) else { return }
            try writer.row([
                UTCTime.rfc3339(milliseconds: entry.timeMs), entry.masked.description, context.memberId(entry.member),
                text(entry.terminal), text(entry.merchant), entry.kind.name, String(entry.amountMinor),
                String(entry.earned.points), String(entry.earned.credit), String(entry.spent.points),
                String(entry.spent.credit), String(entry.lineCount),
            ])
        }
    }

    /// One items row's key and sums.
    struct ItemKey: Hashable, Comparable {
        var day: Int64
        var merchant: [UInt8]
        var sku: [UInt8]
        var category: [UInt8]

        static func < (left: ItemKey, right: ItemKey) -> Bool {
            if left.day != right.day { return left.day < right.day }
            if left.merchant != right.merchant { return left.merchant.lexicographicallyPrecedes(right.merchant) }
            if left.sku != right.sku { return left.sku.lexicographicallyPrecedes(right.sku) }
            return left.category.lexicographicallyPrecedes(right.category)
        }
    }

    struct ItemSum {
        var quantity: Int64 = 0
        var amountMinor: Int64 = 0
        var sales: Int64 = 0
    }

    /// Goods per day, merchant, SKU and category: a purchase's lines add, a refund's and a reversal's (the
    /// reversed sale's lines) take away; `sales` counts sales less refunds and reversals with those goods.
    static func items(_ query: SalesReportQuery, store: SalesStore, to csv: inout CSVWriter) throws(ReportError) {
        var sums: [ItemKey: ItemSum] = [:]
        try scan(store, fromMs: query.fromMs, toMs: query.toMs) { (entry, lines) throws(ReportError) in
            guard entry.kind.isSale, !lines.isEmpty, query.includes(entry.merchant) else { return }
            let sign: Int64 = entry.kind == .purchase || entry.kind == .payment ? 1 : -1
            let merchant = bytes(entry.merchant)
            var counted: Set<ItemKey> = []
            for line in lines {
                let key = ItemKey(
                    day: entry.timeMs / 86_400_000, merchant: merchant, sku: line.sku.bytes,
                    category: line.category.bytes)
                if sums[key] == nil && sums.count >= groupsMax {
                    throw .badParameter(
                        name: "from", reason: "more than \(groupsMax) day, merchant and item groups: narrow the window")
                }
                sums[key, default: ItemSum()].quantity += sign * Int64(line.quantity)
                sums[key, default: ItemSum()].amountMinor += sign * line.amountMinor
                // A sale with the same good on two lines is one sale of it.
                if counted.insert(key).inserted { sums[key, default: ItemSum()].sales += sign }
            }
        }
        for key in sums.keys.sorted() {
            let sum = sums[key]!
            try csv.row([
                day(key.day), String(decoding: key.merchant, as: UTF8.self), String(decoding: key.sku, as: UTF8.self),
                String(decoding: key.category, as: UTF8.self), String(sum.quantity), String(sum.amountMinor),
                String(sum.sales),
            ])
        }
    }

    /// `2026-12-03` for a UTC day number.
    static func day(_ day: Int64) -> String { String(UTCTime.rfc3339(milliseconds: day * 86_400_000).prefix(10)) }

    static func text(_ code: SaleCode) -> String { String(decoding: code.bytes, as: UTF8.self) }
    static func text(_ merchant: MerchantName) -> String { String(decoding: bytes(merchant), as: UTF8.self) }

    /// A merchant name's bytes: first byte most significant, zero-filled (as `ShortIdentifier` packs it).
    static func bytes(_ merchant: MerchantName) -> [UInt8] {
        var result: [UInt8] = []
        for word in [merchant.high, merchant.low] {
            for shift in stride(from: 56, through: 0, by: -8) {
                let byte = UInt8(truncatingIfNeeded: word >> UInt64(shift))
                if byte == 0 { return result }
                result.append(byte)
            }
        }
        return result
    }
}
