/// How the MTI is written: four ASCII digits, four EBCDIC digits, or two bytes of packed decimal.
public enum MTIEncoding: String, Sendable, CaseIterable {
    case ascii, ebcdic, bcd
}

/// How bitmaps are written: 8 raw bytes each, or 16 hex characters each.
public enum BitmapEncoding: String, Sendable, CaseIterable {
    case binary, hex
}

/// The hot-path view of a field format: plain values only, so copying one costs no reference counting.
struct FieldCodec: Sendable {
    var isDefined: Bool = false
    var lengthDigits: Int = 0
    var maxLength: Int = 0
    var prefixByteCount: Int = 0
    var type: FieldType = .binary
    /// The class bytes are checked against: `type` itself under strict character classes, otherwise the class the
    /// dialect's peers check (see `FieldType.checkedClass`).
    var checkedClass: FieldType = .binary
    var classMask: UInt16 = 0
    var encoding: DataEncoding = .binary
    var prefixEncoding: PrefixEncoding = .ascii
    var padSide: Padding.Side? = nil
    var padValue: UInt8 = 0

    init() {}

    init(_ format: FieldFormat, strictCharacterClasses: Bool) {
        isDefined = true
        lengthDigits = format.lengthType.rawValue
        maxLength = format.maxLength
        prefixByteCount = format.prefixByteCount
        type = format.type
        checkedClass = strictCharacterClasses ? format.type : format.type.checkedClass(encoding: format.encoding)
        classMask = checkedClass.classMask
        encoding = format.encoding
        prefixEncoding = format.prefixEncoding
        padSide = format.padding?.side
        padValue = format.padding?.value ?? 0
    }

    @inline(__always)
    func wireByteCount(units: Int) -> Int {
        switch encoding {
        case .ascii, .ebcdic, .binary: return units
        case .hex: return units &* 2
        case .bcd: return type == .signedAmount ? 1 &+ units / 2 : (units &+ 1) >> 1
        }
    }
}

/// A dialect of ISO 8583: the MTI and bitmap encodings and the format of every field.
/// Immutable and shared: one instance serves every connection that speaks it.
public final class Dialect: @unchecked Sendable {
    /// The highest field number a dialect may define (tertiary bitmap).
    public static let fieldNumberMax = 192

    public let name: String
    public let summary: String
    /// The ISO 8583 edition the dialect follows (1987 unless its spec says otherwise).
    public let version: ISOVersion
    public let mtiEncoding: MTIEncoding
    public let bitmapEncoding: BitmapEncoding
    /// Bytes of an opaque header in front of the MTI (copied as is), 0 for none.
    public let headerLength: Int
    /// When true, bit 65 announces a third bitmap (fields 129–192) right after the secondary one.
    public let hasTertiaryBitmap: Bool
    /// When true, text fields are checked against ISO's letter classes (`a`, `an`, `ns` …). When false (the
    /// default), as jPOS, pyiso8583 and moov-io/iso8583 do: lengths, digits in `n` fields, sign and digits in
    /// `x+n`, and any printable character (or the encoding's range) in the other text fields — a peer's `_` in an
    /// `an` field is not a reason to refuse its message.
    public let strictCharacterClasses: Bool
    /// Indexed by field number; nil where the dialect does not define the field.
    public let formats: [FieldFormat?]
    /// The hot-path codecs (indexed by field number) and the character class table behind plain pointers, written
    /// once in `init` and never again (hence `@unchecked Sendable`): reading them costs no reference counting and
    /// no lazy-global check, which measurably mattered at ~40 ns per field set.
    let codecPointer: UnsafeMutablePointer<FieldCodec>
    let classPointer: UnsafeMutablePointer<UInt16>

    public init(
        name: String, summary: String = "", version: ISOVersion = .iso1987, mtiEncoding: MTIEncoding,
        bitmapEncoding: BitmapEncoding, headerLength: Int = 0, hasTertiaryBitmap: Bool = false,
        strictCharacterClasses: Bool = false, fields: [FieldFormat]
    ) {
        self.name = name
        self.summary = summary
        self.version = version
        self.mtiEncoding = mtiEncoding
        self.bitmapEncoding = bitmapEncoding
        self.headerLength = headerLength
        self.hasTertiaryBitmap = hasTertiaryBitmap
        self.strictCharacterClasses = strictCharacterClasses
        var formats = [FieldFormat?](repeating: nil, count: Dialect.fieldNumberMax + 1)
        var codecs = [FieldCodec](repeating: FieldCodec(), count: Dialect.fieldNumberMax + 1)
        precondition(headerLength >= 0, "a header is 0 or more bytes")
        // The loaders (JSON, jPOS) refuse what breaks these; a dialect built in code must keep them too, since the
        // codec trusts them on every message.
        for field in fields {
            precondition((2...Dialect.fieldNumberMax).contains(field.number), "field number \(field.number)")
            precondition(hasTertiaryBitmap || field.number <= 128, "fields above 128 need a tertiary bitmap")
            precondition(!hasTertiaryBitmap || field.number != 65, "field 65 announces the tertiary bitmap")
            precondition(formats[field.number] == nil, "field \(field.number) defined twice")
            precondition(
                field.maxLength >= 1 && field.maxLength <= min(field.lengthType.prefixMaximum, 9999),
                "field \(field.number): a maximum length its prefix can say")
            formats[field.number] = field
            codecs[field.number] = FieldCodec(field, strictCharacterClasses: strictCharacterClasses)
        }
        self.formats = formats
        codecPointer = .allocate(capacity: codecs.count)
        codecPointer.initialize(from: codecs, count: codecs.count)
        classPointer = .allocate(capacity: 256)
        classPointer.initialize(from: characterClassTable, count: 256)
    }

    deinit {
        codecPointer.deallocate()
        classPointer.deallocate()
    }

    /// The codec of a field number in 0...fieldNumberMax (callers check the range first).
    @inline(__always)
    func codec(_ field: Int) -> FieldCodec {
        precondition(field >= 0 && field <= Dialect.fieldNumberMax, "field number out of range")
        return codecPointer[field]
    }

    /// The character class table as a buffer.
    @inline(__always)
    var classTable: UnsafeBufferPointer<UInt16> { UnsafeBufferPointer(start: classPointer, count: 256) }

    /// Bytes one bitmap takes on the wire.
    var bitmapByteCount: Int { bitmapEncoding == .binary ? 8 : 16 }

    /// Bytes the MTI takes on the wire.
    var mtiByteCount: Int { mtiEncoding == .bcd ? 2 : 4 }
}
