/// A request's idempotency key: 32 bytes, fixed size so that the hot path never allocates.
///
/// The switch builds it from the MTI class and fields 32, 41, 11 and 7; the ledger only compares it.
public struct IdempotencyKey: Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var word0: UInt64
    public var word1: UInt64
    public var word2: UInt64
    public var word3: UInt64

    public init(word0: UInt64, word1: UInt64 = 0, word2: UInt64 = 0, word3: UInt64 = 0) {
        self.word0 = word0
        self.word1 = word1
        self.word2 = word2
        self.word3 = word3
    }

    /// Packs up to 32 bytes, zero padded; longer input is a programmer error.
    public init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count <= 32, "an idempotency key holds at most 32 bytes")
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { target in
            if bytes.count > 0 { target.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        }
        self.init(word0: words.0, word1: words.1, word2: words.2, word3: words.3)
    }

    public static let zero = IdempotencyKey(word0: 0)

    /// Bucket index for open addressing (the words come from the switch, so they are mixed first).
    var mixedHash: UInt64 {
        var value = word0 &* 0x9E37_79B9_7F4A_7C15
        value ^= (word1 &+ 0x632B_E59B_D9B4_E019) &* 0xBF58_476D_1CE4_E5B9
        value ^= (word2 ^ (value >> 29)) &* 0x94D0_49BB_1331_11EB
        value ^= (word3 ^ (value >> 31)) &* 0x9E37_79B9_7F4A_7C15
        return value ^ (value >> 32)
    }

    /// One word for the hasher instead of four: dictionaries keyed by request keys (the sales store's recent
    /// originals, the indexers' reads) spent more on hashing than on the rest of their lookup.
    public func hash(into hasher: inout Hasher) { hasher.combine(mixedHash) }

    public var description: String {
        "key(" + [word0, word1, word2, word3].map { String($0, radix: 16) }.joined(separator: ":") + ")"
    }
}

/// A 128-bit digest of a request's content: a repeat of a key with another digest is a conflict, not a replay.
public struct ContentDigest: Hashable, Sendable, BitwiseCopyable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Digest of arbitrary bytes (SipHash-2-4-128 with a fixed public key: collision resistance, not secrecy).
    public static func of(_ bytes: UnsafeRawBufferPointer) -> ContentDigest {
        let value = SipHash128.hash(key0: 0x6C65_6467_6572_2D64, key1: 0x6967_6573_742D_7631, bytes: bytes)
        return ContentDigest(high: value.high, low: value.low)
    }
}

/// The keyed 128-bit hash of a card number: the only form of the number that the ledger keeps.
public struct CardHash: Hashable, Sendable, BitwiseCopyable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The low word alone feeds the hasher: it is already a keyed hash's output, uniform (equality still
    /// compares both words).
    public func hash(into hasher: inout Hasher) { hasher.combine(low) }
}

/// A card number for display: first six and last four digits, the middle replaced by `*`.
public struct MaskedCard: Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
    /// first6 (20 bits) | last4 (14 bits) | digit count (5 bits), 0 when unknown.
    var packed: UInt64

    init(packed: UInt64) { self.packed = packed }

    init(firstSix: UInt64, lastFour: UInt64, digitCount: Int) {
        precondition(firstSix < 1_000_000 && lastFour < 10_000, "six and four digits fit their bits")
        precondition(
            digitCount >= CardNumber.digitCountMin && digitCount <= CardNumber.digitCountMax, "a card's digit count")
        packed = firstSix << 24 | lastFour << 8 | UInt64(digitCount)
    }

    public static let none = MaskedCard(packed: 0)

    public var description: String {
        let digitCount = Int(packed & 0xFF)
        guard digitCount >= 10 else { return "-" }
        // Written as bytes (a report prints one per row): six digits, a star per hidden digit, four digits.
        return String(unsafeUninitializedCapacity: digitCount) { bytes in
            var firstSix = packed >> 24
            for index in stride(from: 5, through: 0, by: -1) {
                bytes[index] = UInt8(truncatingIfNeeded: firstSix % 10) &+ 0x30
                firstSix /= 10
            }
            for index in 6..<(digitCount - 4) { bytes[index] = UInt8(ascii: "*") }
            var lastFour = (packed >> 8) & 0xFFFF
            for index in stride(from: digitCount - 1, through: digitCount - 4, by: -1) {
                bytes[index] = UInt8(truncatingIfNeeded: lastFour % 10) &+ 0x30
                lastFour /= 10
            }
            return digitCount
        }
    }
}

/// A card number as the terminal sent it (10 to 19 ASCII digits), packed four bits per digit.
///
/// Its `description` is masked, so interpolating it into a log line cannot leak the full number.
public struct CardNumber: Sendable, CustomStringConvertible {
    public static let digitCountMin = 10
    public static let digitCountMax = 19
    var packedDigits: UInt128
    var digitCount: Int

    /// Nil when the bytes are not 10 to 19 ASCII digits.
    public init?(ascii: UnsafeRawBufferPointer) {
        guard ascii.count >= Self.digitCountMin, ascii.count <= Self.digitCountMax else { return nil }
        var packed: UInt128 = 0
        for byte in ascii {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            packed = packed << 4 | UInt128(byte - 0x30)
        }
        packedDigits = packed
        digitCount = ascii.count
        precondition(digitCount >= Self.digitCountMin && digitCount <= Self.digitCountMax, "10 to 19 digits")
    }

    /// `init?(ascii:)` for any bytes (an import row, field 48): the request path passes raw bytes to the concrete
    /// form, which a generic one across modules is not specialized into.
    public init?(ascii: some Collection<UInt8>) {
        guard let card = Array(ascii).withUnsafeBytes({ CardNumber(ascii: $0) }) else { return nil }
        self = card
    }

    /// Convenience for tests and tools; the request path should use `init?(ascii:)`.
    public init?(_ text: String) { self.init(ascii: Array(text.utf8)) }

    func digit(at index: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: packedDigits >> UInt128(4 * (digitCount - 1 - index))) & 0x0F
    }

    /// The masked form kept by the ledger for display.
    public var masked: MaskedCard {
        precondition(digitCount >= Self.digitCountMin && digitCount <= Self.digitCountMax, "10 to 19 digits")
        var firstSix: UInt64 = 0
        for index in 0..<6 { firstSix = firstSix * 10 + UInt64(digit(at: index)) }
        var lastFour: UInt64 = 0
        for index in (digitCount - 4)..<digitCount { lastFour = lastFour * 10 + UInt64(digit(at: index)) }
        return MaskedCard(firstSix: firstSix, lastFour: lastFour, digitCount: digitCount)
    }

    /// Keyed hash of the ASCII digits; the key lives in the data directory, so a dump of the ledger's files
    /// alone does not allow a dictionary attack on the small PAN space.
    func hash(key0: UInt64, key1: UInt64) -> CardHash {
        var ascii: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let count = digitCount
        precondition(count >= Self.digitCountMin && count <= Self.digitCountMax && count <= 24, "the digits fit 24 bytes")
        let value = withUnsafeMutableBytes(of: &ascii) { buffer in
            for index in 0..<count { buffer[index] = 0x30 + digit(at: index) }
            return SipHash128.hash(key0: key0, key1: key1, bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        return CardHash(high: value.high, low: value.low)
    }

    public var description: String { masked.description }
}
