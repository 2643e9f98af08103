/// An identifier of 1 to 16 printable ASCII bytes: a merchant id (ISO 8583 field 42, ans 15), a terminal id
/// (field 41, ans 8) or a merchant group id.
///
/// Held in two machine words rather than a `String` so that hashing and comparing it on the authorization path
/// costs no allocation and no Unicode work; the evaluator looks merchants up by this value on every purchase.
public struct ShortIdentifier: Hashable, Sendable, Comparable, CustomStringConvertible, BitwiseCopyable {
    /// The longest identifier; field 42 (15 bytes) and field 41 (8 bytes) both fit.
    public static let bytesMax = 16

    /// Bytes 0...7, first byte in the most significant position so that integer order is byte order.
    let high: UInt64
    /// Bytes 8...15, zero-filled past the end.
    let low: UInt64

    /// Reads an identifier from wire bytes. Trailing spaces are dropped because fixed-length ISO 8583 fields pad
    /// with them; `nil` when nothing is left, when it is longer than `bytesMax`, or when a byte is not printable.
    public init?(bytes: some Collection<UInt8>) {
        guard let identifier = Array(bytes).withUnsafeBytes({ ShortIdentifier(bytes: $0) }) else { return nil }
        self = identifier
    }

    /// The same for raw bytes: concrete, so the switch's per-request call (fields 41 and 42 from a stack buffer)
    /// runs specialized code. A generic call across the module boundary ran unspecialized, looking up generic
    /// metadata per byte (~16% of the switch's CPU under load with rules).
    public init?(bytes: UnsafeRawBufferPointer) {
        var count = bytes.count
        while count > 0, bytes[bytes.index(bytes.startIndex, offsetBy: count - 1)] == 0x20 { count -= 1 }
        guard count > 0, count <= Self.bytesMax else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for position in 0..<count {
            let byte = bytes[position]
            guard (0x21...0x7E).contains(byte) || (byte == 0x20 && position > 0) else { return nil }
            let shift = UInt64(56 - 8 * (position % 8))
            if position < 8 { high |= UInt64(byte) << shift } else { low |= UInt64(byte) << shift }
        }
        self.high = high
        self.low = low
    }

    /// Reads an identifier from text, with the same rules as `init?(bytes:)`.
    public init?(_ text: String) {
        self.init(bytes: Array(text.utf8))
    }

    /// FNV-1a (32 bits) of the 16 bytes, never 0 (0 marks "none" where it is stored). Stable across processes
    /// and builds, unlike `Hasher`, because members (offer uses) and lots (origins) store it.
    public var stableHash: UInt32 {
        var hash: UInt32 = 2_166_136_261
        for position in 0..<Self.bytesMax {
            let word = position < 8 ? high : low
            hash = (hash ^ UInt32(UInt8(truncatingIfNeeded: word >> UInt64(56 - 8 * (position % 8))))) &* 16_777_619
        }
        return hash == 0 ? 1 : hash
    }

    /// The 16 bytes as two words, first byte most significant, zero-filled past the end: for writers that put an
    /// identifier into a buffer without building a String (receipts on the authorization path).
    public var packed: (high: UInt64, low: UInt64) { (high, low) }

    public static func < (left: ShortIdentifier, right: ShortIdentifier) -> Bool {
        (left.high, left.low) < (right.high, right.low)
    }

    /// The identifier as text (for explanations, errors and reports; not for the authorization path).
    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.bytesMax)
        for position in 0..<Self.bytesMax {
            let word = position < 8 ? high : low
            let byte = UInt8(truncatingIfNeeded: word >> UInt64(56 - 8 * (position % 8)))
            if byte == 0 { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
