/// The sale tail of a record (body flag `bodyFlagSale`, last in the body after the member's key): where a
/// purchase, payment, refund or reversal happened and, when the terminal sent one, its basket, for the sales and
/// goods reports (docs/sales.md). All little-endian:
///
///     terminal  16 bytes  field 41 (`SaleCode`, zero: none)
///     merchant  16 bytes  field 42 (`MerchantName`, zero: none)
///     lines      1 byte   0 ... `SaleDetail.linesMax`
///     reserved   3 bytes  zero
///     debited   16 bytes  what the request took from the member (points, credit: a payment's spending)
///     per line  44 bytes  sku (16), category (16, zero: none), quantity (Int32, ≥ 1), amount minor (Int64, ≥ 0)
///
/// 52 bytes without a basket, 580 with twelve lines. Records written before the tail existed lack the flag.
extension WALRecord {
    /// Bit 2 of the body's flags byte: the sale tail ends the body.
    static let bodyFlagSale: UInt8 = 4
    static let saleHeadBytes = 52
    static let saleLineBytes = 44

    /// The kinds whose records keep their sale: a purchase, a payment, and the refunds and reversals of either.
    static func canCarrySale(_ command: ShardCommand) -> Bool {
        switch command.kind {
        case .earn: command.isPurchase
        case .redeem: command.isPay
        case .refund, .reverse: true
        default: false
        }
    }

    static func encodeSale(_ sale: SaleDetail, debited: AssetAmounts = .zero, _ writer: inout ByteWriter) {
        precondition(sale.lines.count <= SaleDetail.linesMax, "a sale keeps at most linesMax lines")
        precondition(!debited.hasNegative, "a sale's debited amounts are not negative")
        let start = writer.offset
        writer.put(sale.terminal.high)
        writer.put(sale.terminal.low)
        writer.put(sale.merchant.high)
        writer.put(sale.merchant.low)
        writer.put(UInt8(sale.lines.count))
        writer.put(UInt8(0))
        writer.put(UInt16(0))
        writer.put(debited)
        for line in sale.lines {
            precondition(line.sku != .none && line.quantity >= 1 && line.amountMinor >= 0, "a sale line as built")
            writer.put(line.sku.high)
            writer.put(line.sku.low)
            writer.put(line.category.high)
            writer.put(line.category.low)
            writer.put(line.quantity)
            writer.put(line.amountMinor)
        }
        precondition(
            writer.offset - start == saleHeadBytes + sale.lines.count * saleLineBytes, "a sale tail's length")
    }

    /// The tail as written, or nil when it says something no writer writes (bad codes, counts or amounts).
    static func decodeSale(_ reader: inout ByteReader) -> (SaleDetail, debited: AssetAmounts)? {
        guard let terminal = reader.saleCode(), let merchantHigh = reader.get(UInt64.self),
            let merchantLow = reader.get(UInt64.self), let count = reader.get(UInt8.self),
            Int(count) <= SaleDetail.linesMax, reader.get(UInt8.self) == 0, reader.get(UInt16.self) == 0,
            let debited = reader.amounts(), !debited.hasNegative
        else { return nil }
        var lines: [SaleLine] = []
        lines.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let sku = reader.saleCode(), sku != .none, let category = reader.saleCode(),
                let quantity = reader.get(Int32.self), quantity >= 1, let amount = reader.get(Int64.self),
                amount >= 0, amount <= AccountTable.balanceMagnitudeMax
            else { return nil }
            lines.append(SaleLine(sku: sku, category: category, quantity: quantity, amountMinor: amount))
        }
        precondition(lines.count == Int(count) && !debited.hasNegative, "a decoded sale holds its counted lines")
        let sale = SaleDetail(
            terminal: terminal, merchant: MerchantName(high: merchantHigh, low: merchantLow), lines: lines)
        return (sale, debited)
    }
}

extension ByteReader {
    /// A `SaleCode` as written: printable ASCII bytes, then zeros only (all zero: `.none`).
    fileprivate mutating func saleCode() -> SaleCode? {
        guard let high = get(UInt64.self), let low = get(UInt64.self) else { return nil }
        var ended = false
        for position in 0..<16 {
            let byte = UInt8(truncatingIfNeeded: (position < 8 ? high : low) >> UInt64(8 * (position % 8)))
            if byte == 0 {
                ended = true
            } else if ended || !(0x21...0x7E).contains(byte) {
                return nil
            }
        }
        return SaleCode(high: high, low: low)
    }
}
