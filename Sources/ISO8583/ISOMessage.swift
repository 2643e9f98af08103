/// Where one field's wire bytes sit in a message's storage.
struct FieldSlot: Sendable {
    var offset: UInt32 = 0
    var byteCount: UInt16 = 0
    /// The length in units (digits, characters or bytes) that the length prefix carries.
    var unitCount: UInt16 = 0
}

/// The set of present fields, one bit per field number 1...192, bit 63 of word 0 being field 1 as on the wire.
public struct FieldSet: Sendable, Equatable {
    var words: (UInt64, UInt64, UInt64) = (0, 0, 0)

    @inline(__always)
    public func contains(_ field: Int) -> Bool {
        let (word, bit) = FieldSet.position(field)
        return self.word(word) & bit != 0
    }

    @inline(__always)
    mutating func insert(_ field: Int) {
        let (word, bit) = FieldSet.position(field)
        switch word {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        default: words.2 |= bit
        }
    }

    @inline(__always)
    mutating func remove(_ field: Int) {
        let (word, bit) = FieldSet.position(field)
        switch word {
        case 0: words.0 &= ~bit
        case 1: words.1 &= ~bit
        default: words.2 &= ~bit
        }
    }

    @inline(__always)
    func word(_ index: Int) -> UInt64 {
        switch index {
        case 0: return words.0
        case 1: return words.1
        default: return words.2
        }
    }

    @inline(__always)
    static func position(_ field: Int) -> (Int, UInt64) {
        let index = field &- 1
        return (index >> 6, UInt64(1) << UInt64(63 &- (index & 63)))
    }

    public static func == (left: FieldSet, right: FieldSet) -> Bool {
        left.words.0 == right.words.0 && left.words.1 == right.words.1 && left.words.2 == right.words.2
    }

    /// Field numbers present, ascending (data elements only: bitmap bits 1 and 65 are not listed).
    public var fieldNumbers: [Int] {
        (2...Dialect.fieldNumberMax).filter { contains($0) }
    }
}

/// One ISO 8583 message of a dialect. Field values are kept as byte ranges of one storage array: a decoded
/// message shares the received frame (no copy), a built one appends each value in wire form as it is set.
public struct ISOMessage: Sendable {
    /// A limit on storage so that repeated `set` calls cannot grow a message without bound.
    public static let storageBytesMax = 1 << 20

    public let dialect: Dialect
    public var mti: MTI?
    /// The opaque header bytes of dialects that have one (`Dialect.headerLength`).
    public var header: [UInt8] = []
    public internal(set) var fields = FieldSet()
    var storage: [UInt8]
    var slots = InlineArray<193, FieldSlot>(repeating: FieldSlot())

    /// An empty message to fill with `set`.
    public init(dialect: Dialect, mti: MTI?) {
        self.dialect = dialect
        self.mti = mti
        self.storage = []
        self.storage.reserveCapacity(256)
    }

    init(dialect: Dialect, frame: [UInt8]) {
        self.dialect = dialect
        self.mti = nil
        self.storage = frame
    }

    /// True when the field is present.
    @inline(__always)
    public func has(_ field: Int) -> Bool {
        (2...Dialect.fieldNumberMax).contains(field) && fields.contains(field)
    }

    /// Field numbers present, ascending.
    public var fieldNumbers: [Int] { fields.fieldNumbers }

    /// Removes a field (its bytes stay in storage until the message is dropped).
    public mutating func remove(_ field: Int) {
        guard (2...Dialect.fieldNumberMax).contains(field) else { return }
        fields.remove(field)
    }

    /// The length of a present field in units (digits, characters or bytes), as its length prefix says.
    public func length(_ field: Int) -> Int? {
        guard has(field) else { return nil }
        return Int(slots[field].unitCount)
    }

    /// Calls `body` with the field's bytes exactly as they are on the wire (after any length prefix).
    public func withWireBytes<Result>(_ field: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        guard has(field) else { return nil }
        let slot = slots[field]
        return storage.withUnsafeBytes { raw in
            let start = Int(slot.offset)
            return body(UnsafeRawBufferPointer(rebasing: raw[start..<start + Int(slot.byteCount)]))
        }
    }
}
