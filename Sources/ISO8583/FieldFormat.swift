/// The content class of a field, as ISO 8583 names it; it decides which bytes are valid.
public enum FieldType: String, Sendable, CaseIterable {
    /// Digits only.
    case numeric = "n"
    /// Letters and space.
    case alpha = "a"
    /// Letters, digits and space.
    case alphaNumeric = "an"
    /// Letters, digits, space and punctuation (printable ASCII).
    case alphaNumericSpecial = "ans"
    /// Digits and punctuation (printable ASCII without letters), e.g. a PAN extended.
    case numericSpecial = "ns"
    /// Letters and punctuation.
    case alphaSpecial = "as"
    /// Raw bytes; the length counts bytes.
    case binary = "b"
    /// Track 2/3 data: digits, separator `=` or `D`, and the ISO 7813 sentinels.
    case track = "z"
    /// An amount with a leading sign, `C` (credit) or `D` (debit), then digits. The length counts the sign.
    case signedAmount = "x+n"

    /// The class a dialect without strict character classes checks: what jPOS, pyiso8583 and moov-io/iso8583
    /// check. Numbers stay numbers (`n` digits, `x+n` sign and digits) and BCD can only carry its nibbles; the
    /// letter classes of text (`a`, `an`, `ns`, `as`, and track data `z` in text) become any printable character.
    func checkedClass(encoding: DataEncoding) -> FieldType {
        switch self {
        case .alpha, .alphaNumeric, .numericSpecial, .alphaSpecial:
            return .alphaNumericSpecial
        case .track:
            return encoding == .ascii || encoding == .ebcdic ? .alphaNumericSpecial : .track
        case .numeric, .alphaNumericSpecial, .binary, .signedAmount:
            return self
        }
    }
}

/// How a field's value bytes are written on the wire.
public enum DataEncoding: String, Sendable, CaseIterable {
    case ascii
    case ebcdic
    /// Packed decimal, two digits per byte; odd lengths get one pad nibble (see `Padding`).
    case bcd
    /// Raw bytes as they are.
    case binary
    /// Raw bytes written as two upper-case hex characters each (lower case is accepted on input).
    case hex
}

/// How a variable length prefix is written on the wire.
public enum PrefixEncoding: String, Sendable, CaseIterable {
    case ascii
    case ebcdic
    /// Packed decimal: LL in one byte, LLL and LLLL in two.
    case bcd
    /// Big-endian binary: LL in one byte, LLL and LLLL in two.
    case binary
}

/// Fixed length, or the number of decimal digits in the length prefix.
public enum LengthType: Int, Sendable, CaseIterable {
    case fixed = 0
    case LL = 2
    case LLL = 3
    case LLLL = 4

    /// The largest length the prefix can express.
    public var prefixMaximum: Int {
        switch self {
        case .fixed: return Int.max
        case .LL: return 99
        case .LLL: return 999
        case .LLLL: return 9999
        }
    }
}

/// Padding: for fixed fields, the character added to a shorter value on encode; for odd-length BCD, the side
/// and value of the pad nibble.
public struct Padding: Sendable, Equatable {
    public enum Side: Sendable, Equatable { case left, right }
    public let side: Side
    /// For text: the pad character (e.g. `0`, space). For BCD: the pad nibble (0x0 or 0xF).
    public let value: UInt8

    public init(side: Side, value: UInt8) {
        self.side = side
        self.value = value
    }

    public static let leftZero = Padding(side: .left, value: UInt8(ascii: "0"))
    public static let rightSpace = Padding(side: .right, value: UInt8(ascii: " "))
    public static let leftZeroNibble = Padding(side: .left, value: 0x0)
    public static let rightZeroNibble = Padding(side: .right, value: 0x0)
    public static let leftFNibble = Padding(side: .left, value: 0xF)
    public static let rightFNibble = Padding(side: .right, value: 0xF)
}

/// Everything the codec needs to know about one data element of a dialect.
public struct FieldFormat: Sendable, Equatable {
    public let number: Int
    public let name: String
    public let type: FieldType
    public let lengthType: LengthType
    /// Maximum length in units: digits for numeric BCD, characters for text, bytes for binary.
    public let maxLength: Int
    public let encoding: DataEncoding
    public let prefixEncoding: PrefixEncoding
    /// Fixed fields: padding applied on encode. BCD: where the pad nibble of an odd length goes.
    public let padding: Padding?

    public init(
        number: Int, name: String = "", type: FieldType, lengthType: LengthType, maxLength: Int,
        encoding: DataEncoding, prefixEncoding: PrefixEncoding = .ascii, padding: Padding?? = nil
    ) {
        self.number = number
        self.name = name
        self.type = type
        self.lengthType = lengthType
        self.maxLength = maxLength
        self.encoding = encoding
        self.prefixEncoding = prefixEncoding
        // nil: the type's default; .some(nil): explicitly no padding.
        if let padding {
            self.padding = padding
        } else {
            self.padding = FieldFormat.defaultPadding(type: type, lengthType: lengthType, encoding: encoding)
        }
    }

    /// Numeric text is zero-filled on the left, other text space-filled on the right; odd BCD pads on the left
    /// with 0, except track data, which pads on the right with F (the usual terminal convention).
    static func defaultPadding(type: FieldType, lengthType: LengthType, encoding: DataEncoding) -> Padding? {
        if encoding == .bcd {
            return type == .track ? .rightFNibble : .leftZeroNibble
        }
        guard lengthType == .fixed, encoding == .ascii || encoding == .ebcdic else { return nil }
        switch type {
        case .numeric: return .leftZero
        case .alpha, .alphaNumeric, .alphaNumericSpecial, .alphaSpecial, .numericSpecial: return .rightSpace
        case .binary, .track, .signedAmount: return nil
        }
    }

    /// Bytes the length prefix takes on the wire.
    @inline(__always)
    var prefixByteCount: Int {
        let digits = lengthType.rawValue
        if digits == 0 { return 0 }
        switch prefixEncoding {
        case .ascii, .ebcdic: return digits
        case .bcd: return (digits + 1) / 2
        case .binary: return digits == 2 ? 1 : 2
        }
    }
}
