/// Card numbers for a run: `size` 16-digit numbers with a fixed issuer prefix and a valid Luhn check digit, so
/// that the switch sees the same cards again (balances, redemptions) and auto-enrols each on its first purchase.
/// Numbers are computed, not stored: a pool of ten million cards costs no memory.
public struct CardPool: Sendable, Equatable {
    public static let sizeMax = 100_000_000
    /// 6-digit issuer prefix; with 9 digits of index and the check digit it makes 16 digits.
    public let prefix: Int64
    public let size: Int

    public init(size: Int, prefix: Int64 = 600_000) {
        precondition(size >= 1 && size <= CardPool.sizeMax, "card pool size must be 1...\(CardPool.sizeMax)")
        precondition(prefix >= 100_000 && prefix <= 999_999, "card prefix must have 6 digits")
        self.size = size
        self.prefix = prefix
    }

    /// The card with index `index` as a number (16 digits, so it fits an Int64 and `set(2, integer:)`).
    @inline(__always)
    public func cardNumber(_ index: Int) -> Int64 {
        let body = prefix * 1_000_000_000 + Int64(index)
        return body * 10 + Int64(CardPool.luhnCheckDigit(body))
    }

    /// The digit that makes `body` followed by it pass the Luhn check.
    static func luhnCheckDigit(_ body: Int64) -> Int {
        var remaining = body
        var sum = 0
        var doubled = true
        while remaining > 0 {
            var digit = Int(remaining % 10)
            if doubled {
                digit *= 2
                if digit > 9 { digit -= 9 }
            }
            sum += digit
            doubled.toggle()
            remaining /= 10
        }
        return (10 - sum % 10) % 10
    }
}
