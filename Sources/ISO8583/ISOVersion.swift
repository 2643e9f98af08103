/// The edition of ISO 8583 a dialect follows. The codec does not need it (a dialect's field table says how to
/// write every field), but code that interprets messages does: 1993 starts MTIs with 1, carries 3-digit action
/// codes in field 39 and the original data elements in field 56, so a 1987 application cannot answer it right.
public enum ISOVersion: Int, Sendable, CaseIterable, CustomStringConvertible {
    case iso1987 = 1987
    case iso1993 = 1993
    case iso2003 = 2003

    /// The first MTI digit of this version's messages: 0, 1 or 2.
    public var mtiDigit: Int {
        switch self {
        case .iso1987: 0
        case .iso1993: 1
        case .iso2003: 2
        }
    }

    public var description: String { "ISO 8583:\(rawValue)" }
}
