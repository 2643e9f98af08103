/// What a sale was, beyond its amount: where (terminal, merchant) and, when the terminal sends its basket (field 48),
/// which goods. The sales and goods reports read it back from the log; the loyalty rules may give points per line.
/// The ledger keeps it as it came and never judges it.
public struct SaleDetail: Sendable, Equatable {
    /// Field 41, the card acceptor terminal id (up to 16 printable ASCII bytes); `.none` when absent.
    public var terminal: SaleCode
    /// Field 42, the card acceptor (merchant) id; `.none` when absent.
    public var merchant: MerchantName
    /// The basket, at most `linesMax` lines, in the terminal's order; empty when the terminal sent none.
    public var lines: [SaleLine]

    /// The most lines one sale keeps: a record's body is bounded (`WALRecord.bodyBytesMax`).
    public static let linesMax = 12

    public init(terminal: SaleCode = .none, merchant: MerchantName = .none, lines: [SaleLine] = []) {
        precondition(lines.count <= Self.linesMax, "a sale keeps at most linesMax lines")
        self.terminal = terminal
        self.merchant = merchant
        self.lines = lines
    }
}

/// One basket line: what was sold (SKU and category), how many, and for how much (minor units of field 49).
public struct SaleLine: Sendable, BitwiseCopyable, Equatable {
    /// The stock-keeping unit, 1–16 printable ASCII bytes.
    public var sku: SaleCode
    /// The goods category, 1–16 printable ASCII bytes; `.none` when the line names none.
    public var category: SaleCode
    /// Units sold, 1 or more.
    public var quantity: Int32
    /// The line's whole amount (all units), minor units, 0 or more.
    public var amountMinor: Int64

    public init(sku: SaleCode, category: SaleCode = .none, quantity: Int32, amountMinor: Int64) {
        precondition(sku != .none && quantity >= 1 && amountMinor >= 0, "a sale line names goods, units and amount")
        self.sku = sku
        self.category = category
        self.quantity = quantity
        self.amountMinor = amountMinor
    }
}

/// A short code kept in 16 bytes: 1–16 printable ASCII bytes (0x21–0x7E), zero-padded on the right. Codes are
/// compared and hashed as bytes, so "A1" and "a1" are different goods.
public struct SaleCode: Sendable, BitwiseCopyable, Hashable {
    public var high: UInt64
    public var low: UInt64

    public static let none = SaleCode(high: 0, low: 0)

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Nil unless `bytes` is 1–16 printable ASCII bytes without spaces. Concrete, for the request path: the
    /// generic form below is not specialized across modules and cost ~8,000 instructions per request there
    /// (callgrind, issue 17).
    public init?(ascii bytes: UnsafeRawBufferPointer) {
        guard (1...16).contains(bytes.count) else { return nil }
        var words: (UInt64, UInt64) = (0, 0)
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard (0x21...0x7E).contains(byte) else { return nil }
            if index < 8 {
                words.0 |= UInt64(byte) << (8 * UInt64(index))
            } else {
                words.1 |= UInt64(byte) << (8 * UInt64(index - 8))
            }
        }
        self.init(high: words.0, low: words.1)
        precondition(high != 0, "a code's first byte is in its high word")
    }

    /// `init?(ascii:)` for any bytes (tests and tools).
    public init?(ascii bytes: some Collection<UInt8>) {
        guard let code = Array(bytes).withUnsafeBytes({ SaleCode(ascii: $0) }) else { return nil }
        self = code
    }

    /// The code's bytes (empty for `.none`).
    public var bytes: [UInt8] {
        var result: [UInt8] = []
        for word in [high, low] {
            for shift in stride(from: UInt64(0), to: 64, by: 8) {
                let byte = UInt8(truncatingIfNeeded: word >> shift)
                if byte == 0 { return result }
                result.append(byte)
            }
        }
        precondition(result.count == 16, "a code without a zero byte fills 16 bytes")
        return result
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }
}
