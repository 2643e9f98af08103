import ISO8583
import Ledger

/// Field 48 of an enrolment (0200, processing code 91): what the member tells at the till, as tag–length–value
/// entries. Tag: 2 letters; length: 2 digits; value: that many characters.
///
///     BD 04 MMDD        birthday (month and day; 0229 is allowed)
///     RF nn <digits>    the referrer's card number (10–19 digits)
///
/// `BD040315RF165041000000000002` = birthday 15 March, referred by card 5041000000000002. Unknown tags, a repeated
/// tag, a length past the end or a malformed value make the request a format error (30).
enum MemberProfileField {
    static func parse(_ request: ISOMessage) -> MemberProfile? {
        guard let value = request.value(48) else { return MemberProfile() }
        return parse(value)
    }

    static func parse(_ bytes: some Collection<UInt8>) -> MemberProfile? {
        let bytes = Array(bytes)
        var profile = MemberProfile()
        var seen: Set<UInt16> = []
        var offset = 0
        while offset < bytes.count {
            guard offset + 4 <= bytes.count, let length = digits(bytes[(offset + 2)..<(offset + 4)]) else { return nil }
            let tag = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let start = offset + 4
            guard start + length <= bytes.count, seen.insert(tag).inserted else { return nil }
            let value = bytes[start..<(start + length)]
            switch tag {
            case tagBirthday:
                guard length == 4, let month = digits(value.prefix(2)), let day = digits(value.suffix(2)) else {
                    return nil
                }
                profile.birthMonth = UInt8(clamping: month)
                profile.birthDay = UInt8(clamping: day)
            case tagReferrer:
                guard let card = CardNumber(ascii: value) else { return nil }
                profile.referrer = card
            default:
                return nil
            }
            offset = start + length
        }
        return profile
    }

    static let tagBirthday = UInt16(UInt8(ascii: "B")) << 8 | UInt16(UInt8(ascii: "D"))
    static let tagReferrer = UInt16(UInt8(ascii: "R")) << 8 | UInt16(UInt8(ascii: "F"))

    private static func digits(_ bytes: some Collection<UInt8>) -> Int? {
        guard !bytes.isEmpty else { return nil }
        var value = 0
        for byte in bytes {
            guard (0x30...0x39).contains(byte) else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }
}
