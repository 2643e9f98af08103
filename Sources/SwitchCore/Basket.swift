import ISO8583
import Ledger

/// The basket a terminal may send with a purchase (0200/00, 0220/00): field 48 tag `IT`, repeated, one line per
/// entry, `SKU;CATEGORY;QUANTITY;AMOUNT` (specs/switch.md, docs/basket.md):
///
///     SKU       1–16 printable ASCII bytes without space or `;` (case matters)
///     CATEGORY  0–16 of the same (empty: the line names no category)
///     QUANTITY  1–4 digits, 1...9999 units
///     AMOUNT    1–12 digits, the line's whole amount (all units) in minor units of field 49, 0 allowed
///
/// `IT21MILK-1L;DAIRY;2;90000` is two litres of milk for 90,000. At most `SaleDetail.linesMax` lines; their sum
/// may be below field 4 (the rest is goods the terminal did not itemise) but never above it. `AdditionalData`
/// validates the lines while it reads field 48 (no allocation); `lines(of:)` builds them for the ledger request.
enum Basket {
    /// The most bytes one line's value can hold: 16 + 1 + 16 + 1 + 4 + 1 + 12.
    static let lineBytesMax = 51
    static let quantityMax: Int32 = 9_999
    static let separator = UInt8(ascii: ";")

    /// One line read from the value of an `IT` entry; nil when it breaks any rule above.
    static func line(_ value: UnsafeRawBufferPointer) -> SaleLine? {
        guard value.count <= lineBytesMax else { return nil }
        var cursor = 0
        guard let sku = code(value, &cursor), sku != .none, let category = code(value, &cursor),
            let quantity = number(value, &cursor, digitsMax: 4, last: false), quantity >= 1,
            let amount = number(value, &cursor, digitsMax: 12, last: true)
        else { return nil }
        precondition(cursor == value.count, "a line is read to its end")
        return SaleLine(sku: sku, category: category, quantity: Int32(quantity), amountMinor: amount)
    }

    /// The basket of a purchase whose field 48 `AdditionalData` accepted; empty (no allocation) without one.
    static func lines(of request: ISOMessage) -> [SaleLine] {
        let lines = request.withValue(48) { bytes -> [SaleLine] in
            var lines: [SaleLine] = []
            var offset = 0
            while offset + 4 <= bytes.count {
                let length = Int(bytes[offset + 2] &- 0x30) * 10 + Int(bytes[offset + 3] &- 0x30)
                let start = offset + 4
                precondition(start + length <= bytes.count, "field 48 was validated before")
                if bytes[offset] == UInt8(ascii: "I"), bytes[offset + 1] == UInt8(ascii: "T") {
                    let line = Basket.line(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)]))
                    precondition(line != nil, "field 48 was validated before")
                    if lines.isEmpty { lines.reserveCapacity(SaleDetail.linesMax) }
                    lines.append(line!)
                }
                offset = start + length
            }
            return lines
        }
        precondition((lines?.count ?? 0) <= SaleDetail.linesMax, "field 48 was validated before")
        return lines ?? []
    }

    /// A code up to the next separator (0–16 bytes, 0x21–0x7E): `.none` when empty, nil when malformed. Moves
    /// `cursor` past the separator.
    private static func code(_ value: UnsafeRawBufferPointer, _ cursor: inout Int) -> SaleCode? {
        precondition(cursor >= 0 && cursor <= value.count, "the cursor is inside the line")
        var words: (UInt64, UInt64) = (0, 0)
        var count = 0
        while cursor < value.count, value[cursor] != separator {
            let byte = value[cursor]
            guard count < 16, (0x21...0x7E).contains(byte) else { return nil }
            if count < 8 {
                words.0 |= UInt64(byte) << (8 * UInt64(count))
            } else {
                words.1 |= UInt64(byte) << (8 * UInt64(count - 8))
            }
            count += 1
            cursor += 1
        }
        guard cursor < value.count else { return nil }
        cursor += 1
        return SaleCode(high: words.0, low: words.1)
    }

    /// 1 to `digitsMax` digits, then a separator (or the end, for the `last` field).
    private static func number(
        _ value: UnsafeRawBufferPointer, _ cursor: inout Int, digitsMax: Int, last: Bool
    ) -> Int64? {
        precondition(
            digitsMax >= 1 && digitsMax <= 18 && cursor >= 0 && cursor <= value.count, "a number inside the line")
        let start = cursor
        var number: Int64 = 0
        while cursor < value.count, value[cursor] != separator {
            let digit = value[cursor] &- 0x30
            guard digit <= 9, cursor - start < digitsMax else { return nil }
            number = number * 10 + Int64(digit)
            cursor += 1
        }
        guard cursor > start else { return nil }
        if last { return cursor == value.count ? number : nil }
        guard cursor < value.count else { return nil }
        cursor += 1
        return number
    }
}
