/// Masking of card data for anything a person may read (logs, CLI output, error messages).
/// PCI DSS allows at most the first 6 and last 4 digits of a card number to be shown.
public enum CardNumberMask {
    /// The card number with all but the first 6 and last 4 digits replaced by `*`. Numbers too short to keep
    /// at least three digits hidden show only their last 4 (or nothing when 4 or fewer).
    public static func mask(_ cardNumber: some Collection<UInt8>) -> String {
        let bytes = Array(cardNumber)
        let count = bytes.count
        let keepFirst = count >= 13 ? 6 : 0
        let keepLast = count > 4 ? 4 : 0
        var out = [UInt8]()
        out.reserveCapacity(count)
        for (index, byte) in bytes.enumerated() {
            out.append(index < keepFirst || index >= count - keepLast ? byte : UInt8(ascii: "*"))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Track data: the card number before the separator is masked as above; everything after the separator
    /// (expiry, service code, discretionary data) is hidden.
    public static func maskTrack(_ track: some Collection<UInt8>) -> String {
        let bytes = Array(track)
        guard let separator = bytes.firstIndex(where: { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "D") }) else {
            return mask(bytes)
        }
        let hidden = String(repeating: "*", count: bytes.count - separator - 1)
        return mask(bytes[..<separator]) + "=" + hidden
    }

    /// The canonical value of a field for display: fields 2 and 35 (and 34, 36, 45, the other card-data
    /// fields) masked, other fields as they are.
    public static func displayValue(_ message: ISOMessage, field: Int) -> String? {
        guard let value = message.value(field) else { return nil }
        switch field {
        case 2, 34: return mask(value)
        case 35, 36: return maskTrack(value)
        case 45: return String(repeating: "*", count: value.count)
        default: return message.string(field)
        }
    }
}
