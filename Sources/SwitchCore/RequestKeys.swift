import ISO8583
import Ledger

/// Idempotency keys and content digests, as wire contract v1 defines them: the key of a request is
/// (MTI without its repeat digit, field 32, 41, 11, 7); a repeat with identical content (the repeat digit aside)
/// is a replay, with other content a conflict.
enum RequestKeys {
    /// Packs the key fields into 32 bytes: MTI (2), acquirer as a number (8), terminal id (8), STAN (4),
    /// transmission date-time as a number (8). Leading zeros of field 32 do not matter, so the key of an original
    /// rebuilt from field 90 (where the acquirer is zero-filled to 11 digits) equals the original's own key.
    static func key(mti: MTI, acquirer: UInt64, terminal: UInt64, stan: UInt32, transmission: UInt64) -> IdempotencyKey
    {
        // An MTI ≤ 9999 in the top 16 bits keeps a key's first word apart from the references' (0xFFFF…).
        precondition(mti.value <= 9999, "an MTI is four digits")
        let key = IdempotencyKey(
            word0: UInt64(mti.withoutRepeat.value) << 48 | UInt64(stan),
            word1: acquirer,
            word2: terminal,
            word3: transmission)
        precondition(
            key.word0 >> 48 <= 9999 && key.word0 & 0xFFFF_FFFF == UInt64(stan), "a key's first word is MTI and STAN")
        return key
    }

    /// The key of the request itself.
    static func key(of message: ISOMessage) -> IdempotencyKey {
        precondition(message.mti != nil, "a decoded request has its MTI")
        return key(
            mti: message.mti!, acquirer: UInt64(message.integer(32) ?? 0), terminal: terminalWord(message),
            stan: UInt32(truncatingIfNeeded: message.integer(11) ?? 0),
            transmission: UInt64(message.integer(7) ?? 0))
    }

    /// The key of the original a completion, refund or reversal names in field 90 (original MTI, STAN,
    /// transmission date-time, acquirer), on the same terminal. Nil when field 90 is absent or not numeric.
    static func originalKey(from message: ISOMessage) -> IdempotencyKey? {
        // Through a stack buffer (no Array per reversal; `copyValue` is not generic, where `withValue` from this
        // module cost ~2,500 instructions a call in runtime metadata lookups): 42 digits or nothing.
        var digits = InlineArray<48, UInt8>(repeating: 0)
        var span = digits.mutableSpan
        let parts = span.withUnsafeMutableBytes { buffer -> (mti: UInt64, stan: UInt64, transmission: UInt64, acquirer: UInt64)? in
            guard let count = message.copyValue(90, into: buffer), count == 42 else { return nil }
            let original = UnsafeRawBufferPointer(rebasing: buffer[0..<42])
            guard original.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return (
                decimal(original, 0..<4), decimal(original, 4..<10), decimal(original, 10..<20),
                decimal(original, 20..<31)
            )
        }
        guard let parts, let mti = MTI(Int(parts.mti)) else { return nil }
        precondition(parts.stan <= 999_999 && parts.acquirer <= 99_999_999_999, "field 90's parts are its digits")
        return key(
            mti: mti, acquirer: parts.acquirer, terminal: terminalWord(message), stan: UInt32(parts.stan),
            transmission: parts.transmission)
    }

    /// The second name of a purchase, for refunds that carry no field 90 but the original's RRN in field 37:
    /// (acquirer, RRN). Its first word cannot equal a request key's (whose top 16 bits hold an MTI ≤ 9999).
    /// Nil without field 37.
    static func retrievalReference(of message: ISOMessage) -> IdempotencyKey? {
        var bytes = InlineArray<16, UInt8>(repeating: 0)
        var span = bytes.mutableSpan
        guard let count = span.withUnsafeMutableBytes({ message.copyValue(37, into: $0) }), count > 0 else {
            return nil
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<min(count, 16) {
            if index < 8 { high = high << 8 | UInt64(bytes[index]) } else { low = low << 8 | UInt64(bytes[index]) }
        }
        precondition(count <= 16, "field 37 fits its buffer")
        let reference = IdempotencyKey(
            word0: 0xFFFF_5252_4E00_0000 | UInt64(count), word1: UInt64(message.integer(32) ?? 0), word2: high,
            word3: low)
        precondition(reference.word0 >> 48 == 0xFFFF, "a reference never equals a request key (MTI ≤ 9999)")
        return reference
    }

    /// The terminal's name for a request, for reversals that carry no field 90 but the original's terminal and
    /// STAN: (acquirer, terminal id, STAN). Unlike the key it leaves out the MTI and transmission date-time, which
    /// a reversal cannot know (the original may be a 0100 or 0220, the reversal sent at another time). Its first
    /// word cannot equal a request key's (MTI ≤ 9999 in the top 16 bits) nor a retrieval reference's.
    static func terminalReference(of message: ISOMessage) -> IdempotencyKey {
        let reference = IdempotencyKey(
            word0: 0xFFFF_5449_4400_0000 | UInt64(truncatingIfNeeded: message.integer(11) ?? 0) & 0xFF_FFFF,
            word1: UInt64(message.integer(32) ?? 0), word2: terminalWord(message), word3: 0)
        precondition(reference.word0 >> 24 == 0xFF_FF54_4944, "a terminal reference is apart from keys and RRNs")
        return reference
    }

    /// Field 41's bytes (at most 8) as one word; 0 when absent.
    static func terminalWord(_ message: ISOMessage) -> UInt64 {
        var bytes = InlineArray<8, UInt8>(repeating: 0)
        var span = bytes.mutableSpan
        guard let count = span.withUnsafeMutableBytes({ message.copyValue(41, into: $0) }) else { return 0 }
        precondition(count >= 0 && count <= 8, "a terminal id fits one word")
        var word: UInt64 = 0
        for index in 0..<count { word = word << 8 | UInt64(bytes[index]) }
        return word
    }

    /// The content digest: MTI without repeat digit, then every byte after the MTI (bitmaps and fields).
    static func digest(of frame: UnsafeRawBufferPointer, mti: MTI, dialect: Dialect) -> ContentDigest {
        let skip = dialect.headerLength + (dialect.mtiEncoding == .bcd ? 2 : 4)
        precondition(skip >= 2, "a message starts with its MTI")
        var hash = ContentDigest.of(UnsafeRawBufferPointer(rebasing: frame[min(skip, frame.count)...]))
        hash.high ^= UInt64(mti.withoutRepeat.value) &* 0x9E37_79B9_7F4A_7C15
        return hash
    }

    /// The decimal value of `bytes[range]` (digits, checked by the caller).
    static func decimal(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> UInt64 {
        precondition(
            range.lowerBound >= 0 && range.upperBound <= bytes.count && range.count <= 19, "digits that fit a word")
        var value: UInt64 = 0
        for index in range { value = value &* 10 &+ UInt64(bytes[index] &- 0x30) }
        return value
    }
}
