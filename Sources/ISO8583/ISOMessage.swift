/// Where one field's wire bytes sit in a message's storage: 4 bytes, because every decode initialises and
/// returns 193 of them. The byte count follows from the unit count and the field's codec.
struct FieldSlot: Sendable {
    /// Offset from `ISOMessage.storageBase`.
    var offset: UInt16 = 0
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
        precondition(field >= 1 && field <= Dialect.fieldNumberMax, "field number out of the bitmaps")
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

/// The slots of one message, in one heap block. A class rather than an InlineArray in the message: reading an
/// element of an InlineArray stored in a non-mutable struct copied the whole array per read (measured), and a
/// reused table lets `decode(_:range:into:)` run without any allocation. Copy-on-write keeps value semantics.
final class SlotTable: ManagedBuffer<Void, FieldSlot> {
    static let capacity = Dialect.fieldNumberMax + 1

    static func make() -> SlotTable {
        let table = unsafeDowncast(SlotTable.create(minimumCapacity: capacity) { _ in () }, to: SlotTable.self)
        table.withUnsafeMutablePointerToElements { $0.initialize(repeating: FieldSlot(), count: capacity) }
        return table
    }

    func copy() -> SlotTable {
        let table = SlotTable.make()
        table.withUnsafeMutablePointerToElements { target in
            withUnsafeMutablePointerToElements { source in target.update(from: source, count: SlotTable.capacity) }
        }
        return table
    }

    deinit {
        _ = withUnsafeMutablePointerToElements { $0.deinitialize(count: SlotTable.capacity) }
    }
}

/// One ISO 8583 message of a dialect. Field values are kept as byte ranges of one storage array: a decoded
/// message shares the received frame (no copy), a built one appends each value in wire form as it is set.
/// Sendable by copy-on-write: the slot table is written only through `writableSlots()`, which copies a shared
/// table first, so two threads never see one table change.
public struct ISOMessage: @unchecked Sendable {
    /// A limit on storage so that repeated `set` calls cannot grow a message without bound.
    public static let storageBytesMax = 65535

    public private(set) var dialect: Dialect
    public var mti: MTI?
    /// The opaque header bytes of dialects that have one (`Dialect.headerLength`).
    public var header: [UInt8] = []
    public internal(set) var fields = FieldSet()
    var storage: [UInt8]
    /// Where the message starts in `storage` (a decoded message shares a read buffer that may hold others).
    var storageBase = 0
    var slotTable: SlotTable

    /// An empty message to fill with `set`.
    public init(dialect: Dialect, mti: MTI?) {
        self.dialect = dialect
        self.mti = mti
        self.storage = []
        self.storage.reserveCapacity(256)
        self.slotTable = SlotTable.make()
    }

    init(dialect: Dialect, frame: [UInt8], base: Int) {
        precondition(base >= 0 && base <= frame.count, "a message starts inside its frame")
        self.dialect = dialect
        self.mti = nil
        self.storage = frame
        self.storageBase = base
        self.slotTable = SlotTable.make()
    }

    /// Makes this message a view of a new frame, keeping its slot table (no allocation when unshared).
    mutating func reset(dialect: Dialect, frame: [UInt8], base: Int) {
        precondition(base >= 0 && base <= frame.count, "a message starts inside its frame")
        self.dialect = dialect
        mti = nil
        if !header.isEmpty { header = [] }
        fields = FieldSet()
        storage = frame
        storageBase = base
    }

    /// Empties the message for reuse as a new one of the same dialect, keeping its buffers: building one
    /// response after another this way allocates nothing.
    public mutating func removeAll(mti: MTI?) {
        self.mti = mti
        if !header.isEmpty { header = [] }
        fields = FieldSet()
        if storageBase != 0 || !isKnownUniquelyReferenced(&slotTable) {
            storage = []
            storage.reserveCapacity(256)
            storageBase = 0
        } else {
            storage.removeAll(keepingCapacity: true)
        }
    }

    /// Drops the reference to the storage (e.g. a connection's read buffer) without allocating, so that the
    /// buffer's owner can append to it again without a copy-on-write.
    public mutating func releaseStorage() {
        fields = FieldSet()
        storage = []
        storageBase = 0
        mti = nil
    }

    /// The slot table's elements, made unique first so writes do not show through other copies.
    @inline(__always)
    mutating func writableSlots() -> UnsafeMutablePointer<FieldSlot> {
        if !isKnownUniquelyReferenced(&slotTable) { slotTable = slotTable.copy() }
        return slotTable.withUnsafeMutablePointerToElements { $0 }
    }

    @inline(__always)
    mutating func setSlot(_ field: Int, _ slot: FieldSlot) {
        writableSlots()[field] = slot
    }

    /// Where a present field's wire bytes are in `storage`.
    @inline(__always)
    func wireRange(_ field: Int) -> Range<Int> {
        let slot = slot(field)
        let start = storageBase &+ Int(slot.offset)
        let end = start &+ dialect.codec(field).wireByteCount(units: Int(slot.unitCount))
        precondition(end <= storage.count, "a field's slot lies inside the message's storage")
        return start..<end
    }

    @inline(__always)
    func slot(_ field: Int) -> FieldSlot {
        slotTable.withUnsafeMutablePointerToElements { $0[field] }
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
        return Int(slot(field).unitCount)
    }

    /// Calls `body` with the field's bytes exactly as they are on the wire (after any length prefix).
    public func withWireBytes<Result>(_ field: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        guard has(field) else { return nil }
        let range = wireRange(field)
        return storage.withUnsafeBytes { raw in
            return body(UnsafeRawBufferPointer(rebasing: raw[range]))
        }
    }
}
