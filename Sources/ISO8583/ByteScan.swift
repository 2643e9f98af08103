/// Eight-bytes-at-a-time checks for the two commonest field classes (digits, printable ASCII). A message is
/// mostly numeric fields, and a per-byte table lookup costs about four times as much.
enum ByteScan {
    /// True when all 8 bytes are ASCII digits 0x30...0x39.
    @inline(__always)
    static func allDigits(_ word: UInt64) -> Bool {
        // High nibble must be 3; low nibble + 6 must not carry into the high nibble (low nibble ≤ 9).
        (word & 0xF0F0_F0F0_F0F0_F0F0) == 0x3030_3030_3030_3030
            && ((word & 0x0F0F_0F0F_0F0F_0F0F) &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0 == 0
    }

    /// True when all 8 bytes are printable ASCII 0x20...0x7E.
    @inline(__always)
    static func allPrintable(_ word: UInt64) -> Bool {
        // No high bit; byte + 0x60 reaches 0x80 (byte ≥ 0x20); byte + 1 stays below 0x80 (byte ≠ 0x7F).
        word & 0x8080_8080_8080_8080 == 0
            && (word &+ 0x6060_6060_6060_6060) & 0x8080_8080_8080_8080 == 0x8080_8080_8080_8080
            && (word &+ 0x0101_0101_0101_0101) & 0x8080_8080_8080_8080 == 0
    }

    /// The offset of the first byte in `start..<start+count` whose class bit is missing, or nil. Uses the word
    /// check for numeric and printable classes and falls back to the table to find the exact byte.
    @inline(__always)
    static func firstInvalid(
        _ raw: UnsafeRawBufferPointer, from start: Int, count: Int, type: FieldType, classMask: UInt16,
        table: UnsafeBufferPointer<UInt16>
    ) -> Int? {
        var index = start
        let end = start &+ count
        if type == .numeric || type == .alphaNumericSpecial {
            while end &- index >= 8 {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let valid = type == .numeric ? allDigits(word) : allPrintable(word)
                if !valid { break }
                index &+= 8
            }
        }
        while index < end {
            if table[Int(raw[index])] & classMask == 0 { return index }
            index &+= 1
        }
        return nil
    }
}
