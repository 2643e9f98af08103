import ISO8583

/// Field 54 of a request: 20-character entries as in responses (account type 2, amount type 2, currency 3, sign
/// C/D 1, amount 12). A purchase may carry one entry of amount type 91 in a currency other than points ("999"):
/// the part of field 4 the member already paid with points or credit (a 0200/900000 before it), on which the
/// rules award nothing.
enum AdditionalAmounts {
    /// The paid part (0 without field 54 or without a 91 entry); nil when field 54 is malformed (answered 30).
    static func paidWithPointsMinor(in request: ISOMessage) -> Int64? {
        var text = InlineArray<120, UInt8>(repeating: 0)
        var span = text.mutableSpan
        return span.withUnsafeMutableBytes { buffer -> Int64? in
            guard request.has(54) else { return 0 }
            guard let count = request.copyValue(54, into: buffer) else { return nil }
            precondition(count <= 120, "field 54 fits six entries")
            return paidWithPointsMinor(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    static func paidWithPointsMinor(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard bytes.count % 20 == 0 else { return nil }
        var paid: Int64 = 0
        for start in stride(from: 0, to: bytes.count, by: 20) {
            let entry = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + 20)])
            guard let amountType = digits(entry, 2..<4), digits(entry, 4..<7) != nil,
                entry[7] == UInt8(ascii: "C") || entry[7] == UInt8(ascii: "D"), let amount = digits(entry, 8..<20)
            else { return nil }
            let isPoints = entry[4] == 0x39 && entry[5] == 0x39 && entry[6] == 0x39
            if amountType == 91 && !isPoints { paid += amount }
        }
        precondition(
            paid >= 0 && paid <= Int64(bytes.count / 20) * 999_999_999_999,
            "the paid part is what the entries add up to")
        return paid
    }

    private static func digits(_ entry: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int64? {
        precondition(
            range.lowerBound >= 0 && range.upperBound <= entry.count && range.count <= 12, "digits inside an entry")
        var value: Int64 = 0
        for index in range {
            guard (0x30...0x39).contains(entry[index]) else { return nil }
            value = value * 10 + Int64(entry[index] - 0x30)
        }
        return value
    }
}
