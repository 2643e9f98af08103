import ISO8583
import Ledger

/// The basket's request-path steps, public for benchmarks/basket-bench only (the parsers themselves stay
/// internal): what `ledgerOperation` and `attachBasket` run per purchase, without a connection around them.
public enum BasketBenchmark {
    /// Field 48 read as a purchase's (`AdditionalData.parse`, the sum rule included): its basket's line count, or
    /// -1 when the switch would answer 30.
    public static func readField48(ofPurchase request: ISOMessage) -> Int {
        let count = AdditionalData.parse(request, for: .purchase).map(\.basketLineCount) ?? -1
        precondition(count >= -1 && count <= SaleDetail.linesMax, "a basket's line count, or -1")
        return count
    }

    /// The lines `attachBasket` puts into the ledger request.
    public static func lines(ofPurchase request: ISOMessage) -> [SaleLine] {
        let lines = request.has(48) ? Basket.lines(of: request) : []
        precondition(lines.count <= SaleDetail.linesMax, "a basket within its line limit")
        return lines
    }
}
