import Loyalty

/// Builds the field 63 receipt line in a stack buffer: no String, no allocation per purchase (building it with
/// String interpolation cost ~4% of the switch's CPU under rules). Stops silently at `capacity`; the longest line
/// the receipt can produce is about 330 bytes.
struct ReceiptWriter {
    static let capacity = 512
    private(set) var bytes = InlineArray<512, UInt8>(repeating: 0x20)
    private(set) var count = 0

    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { buffer in
            for byte in buffer { appendByte(byte) }
        }
    }

    mutating func append(_ value: Int64) {
        if value < 0 { appendByte(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits = InlineArray<20, UInt8>(repeating: 0)
        var length = 0
        repeat {
            digits[length] = UInt8(truncatingIfNeeded: 0x30 + magnitude % 10)
            magnitude /= 10
            length += 1
        } while magnitude > 0
        precondition(length >= 1 && length <= 20, "an Int64 has 1...20 digits")
        for index in stride(from: length - 1, through: 0, by: -1) { appendByte(digits[index]) }
    }

    mutating func append(_ identifier: ShortIdentifier) {
        let words = identifier.packed
        if appendWord(words.high) { _ = appendWord(words.low) }
    }

    /// The word's bytes up to the first zero; true when all 8 were written (the identifier may go on).
    private mutating func appendWord(_ word: UInt64) -> Bool {
        for shift in stride(from: 56, through: 0, by: -8) {
            let byte = UInt8(truncatingIfNeeded: word >> UInt64(shift))
            if byte == 0 { return false }
            appendByte(byte)
        }
        return true
    }

    private mutating func appendByte(_ byte: UInt8) {
        guard count < Self.capacity else { return }
        bytes[count] = byte
        count += 1
        precondition(count <= Self.capacity, "a receipt stops at its capacity")
    }

    /// Calls `body` with the bytes written.
    mutating func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let used = count
        precondition(
            used >= 0 && used <= Self.capacity && Self.capacity == bytes.count, "the bytes written fit the buffer")
        var span = bytes.mutableSpan
        return span.withUnsafeMutableBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<used])) }
    }
}
