/// The value of a JSON number written with a fraction or an exponent (`12.0`, `1.2e1`, `120e-1`) when that value is
/// whole. JSON Schema's `integer` is every number whose value is whole, however it is written, and generated clients
/// (Python's `json`, JavaScript with big values) write some as `12.0` or `1e21`: the admin API's document promises
/// integers, so the server reads them by value, not by spelling.
enum JSONWholeNumber {
    /// `isWhole` for a whole value; `value` when it is whole and fits in Int64. `bytes` is a number the parser
    /// accepted (`-? digits (. digits)? ([eE] [+-]? digits)?`, at most `JSONLimits.numberBytesMax` characters).
    static func read(_ bytes: ArraySlice<UInt8>) -> (isWhole: Bool, value: Int64?) {
        precondition(!bytes.isEmpty, "a number has a digit")
        var index = bytes.startIndex
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        var digits: [UInt8] = []  // integer and fraction digits, without the point
        var fractionCount = 0
        var inFraction = false
        while index < bytes.endIndex, bytes[index] | 0x20 != UInt8(ascii: "e") {
            if bytes[index] == UInt8(ascii: ".") {
                inFraction = true
            } else {
                digits.append(bytes[index] - UInt8(ascii: "0"))
                if inFraction { fractionCount += 1 }
            }
            index += 1
        }
        let exponent = index < bytes.endIndex ? Self.exponent(bytes[(index + 1)...]) : 0
        // The value is digits × 10^(exponent − fractionCount); whole when every digit right of the point is 0.
        let shift = exponent - fractionCount
        if shift < 0 {
            let dropped = min(-shift, digits.count)
            guard digits.suffix(dropped).allSatisfy({ $0 == 0 }) else { return (false, nil) }
            digits.removeLast(dropped)
        }
        while digits.first == 0 { digits.removeFirst() }
        guard !digits.isEmpty else { return (true, 0) }
        let zeros = max(shift, 0)
        guard digits.count + zeros <= 19 else { return (true, nil) }  // Int64 has 19 digits at most
        var value: Int64 = 0
        for digit in digits + [UInt8](repeating: 0, count: zeros) {
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative
                ? shifted.subtractingReportingOverflow(Int64(digit)) : shifted.addingReportingOverflow(Int64(digit))
            guard !overflow && !overflow2 else { return (true, nil) }
            value = next
        }
        return (true, value)
    }

    /// The exponent's value, saturated far beyond any Int64 (the number's length bounds its digits anyway).
    static func exponent(_ bytes: ArraySlice<UInt8>) -> Int {
        var index = bytes.startIndex
        let negative = bytes[index] == UInt8(ascii: "-")
        if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") { index += 1 }
        var value = 0
        while index < bytes.endIndex {
            value = min(value * 10 + Int(bytes[index] - UInt8(ascii: "0")), 1_000_000)
            index += 1
        }
        return negative ? -value : value
    }
}
