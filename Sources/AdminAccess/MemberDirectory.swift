/// A member as the directory keys it: the 128-bit card hash its `mbr_` id spells, as two words (a million keys
/// cost no string allocation).
public struct MemberKey: Hashable, Sendable {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// 32 lowercase hexadecimal digits, as the private file keeps it.
    var hex: String { Self.hex16(high) + Self.hex16(low) }

    init?(hex: String) {
        guard hex.utf8.count == 32, let high = UInt64(hex.prefix(16), radix: 16),
            let low = UInt64(hex.suffix(16), radix: 16)
        else { return nil }
        self.init(high: high, low: low)
    }

    private static func hex16(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}

/// What an operator tells about a member that the ledger does not keep: name, phone and the birthday as entered
/// (the ledger keeps only its month and day, for birthday rewards). Validated here, once for the API and for the
/// private file read back at start.
public struct MemberTexts: Sendable, Equatable {
    public var name: String?
    public var phone: String?
    public var birthday: String?

    public init(name: String? = nil, phone: String? = nil, birthday: String? = nil) {
        self.name = name
        self.phone = phone
        self.birthday = birthday
    }

    public var isEmpty: Bool { name == nil && phone == nil && birthday == nil }

    /// Characters (grapheme clusters) of a name; also bounds its UTF-8 bytes (at most 4 per scalar) in memory.
    public static let nameCharactersMax = 100
    /// Scalars of a name, so a cluster built of many combining marks cannot make it long.
    public static let nameScalarsMax = 200
    /// Digits of a phone number: E.164 allows at most 15; fewer than 4 is no number.
    public static let phoneDigits = 4...15
    /// Characters of an adjustment's note (kept in its audit entry).
    public static let noteCharactersMax = 500

    /// Why `name` is not a member's name, or nil: not empty, no control characters, bounded.
    public static func nameProblem(_ name: String) -> String? {
        if name.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) { return "must not be empty" }
        // Characters and scalars are never more than the UTF-8 bytes: a short name skips counting them (grapheme
        // breaking is the dearest check of a member import's row).
        if name.utf8.count > min(nameCharactersMax, nameScalarsMax)
            && (name.count > nameCharactersMax || name.unicodeScalars.count > nameScalarsMax)
        {
            return "must be at most \(nameCharactersMax) characters"
        }
        if name.unicodeScalars.contains(where: isControl) { return "must not contain control characters" }
        return nil
    }

    /// Unicode's general category Cc (control) is exactly U+0000–U+001F and U+007F–U+009F: compared by value,
    /// without the property tables.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// Why `phone` is not a phone number, or nil: digits, optionally after one leading `+`.
    public static func phoneProblem(_ phone: String) -> String? {
        let digits = phone.utf8.first == UInt8(ascii: "+") ? phone.utf8.dropFirst() : phone.utf8[...]
        guard digits.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return "must be digits, optionally after a leading +"
        }
        guard phoneDigits.contains(digits.count) else {
            return "must have \(phoneDigits.lowerBound)...\(phoneDigits.upperBound) digits"
        }
        return nil
    }

    /// Why `note` is not an adjustment note, or nil.
    public static func noteProblem(_ note: String) -> String? {
        if note.count > noteCharactersMax || note.unicodeScalars.count > 2 * noteCharactersMax {
            return "must be at most \(noteCharactersMax) characters"
        }
        if note.unicodeScalars.contains(where: { isControl($0) && $0 != "\n" }) {
            return "must not contain control characters other than a line feed"
        }
        return nil
    }

    /// True when every text passes its check (a private-file record is checked again as it is read).
    var isValid: Bool {
        (name.map { Self.nameProblem($0) == nil } ?? true) && (phone.map { Self.phoneProblem($0) == nil } ?? true)
            && (birthday.map { $0.utf8.count == 10 } ?? true)
    }
}

/// The member directory: each member's texts by member id, in memory, made durable in the access layer's private
/// file in the same unit as the member's audit entry (`AccessControl.appendAudit(member:)`).
///
/// Bounded by `membersMax`: a change that would add a member reserves a place before it reaches the ledger
/// (`reserve`), so a full directory refuses the enrolment before anything changes, and a declined or failed one
/// gives its place back. A lookup and an insertion are one hash-table operation, whatever the size.
struct MemberDirectory {
    let membersMax: Int
    private(set) var entries: [MemberKey: MemberTexts] = [:]
    /// Members by phone number as stored (the member search's `phone`); one entry per member with a phone.
    private(set) var phones: [String: [MemberKey]] = [:]
    /// Places taken by changes between `reserve` and their durable unit (or their refusal).
    private(set) var reserved = 0

    init(membersMax: Int) {
        precondition(membersMax >= 0, "a directory limit is not negative")
        self.membersMax = membersMax
    }

    var count: Int { entries.count }

    /// Takes a place for a new member; false when every place is taken or reserved.
    mutating func reserve() -> Bool {
        guard entries.count + reserved < membersMax else { return false }
        reserved += 1
        return true
    }

    mutating func release() {
        precondition(reserved > 0, "a release follows a reservation")
        reserved -= 1
    }

    /// A reserved member's texts, once durable.
    mutating func insert(_ key: MemberKey, _ texts: MemberTexts) {
        release()
        set(key, texts)
        precondition(entries.count <= membersMax, "a reservation kept the directory within its limit")
    }

    /// At start, from the private file: the last record of a member wins. Over the limit (a smaller
    /// `membersMax` than before) the member is still kept (never lost); only new ones are refused.
    mutating func load(_ key: MemberKey, _ texts: MemberTexts) {
        precondition(texts.isValid, "the private file's record was checked as it was read")
        set(key, texts)
    }

    /// Keeps the phone index in step with the member's texts (a later record of a member replaces its phone).
    private mutating func set(_ key: MemberKey, _ texts: MemberTexts) {
        if let old = entries.updateValue(texts, forKey: key)?.phone, old != texts.phone {
            phones[old]?.removeAll { $0 == key }
            if phones[old]?.isEmpty == true { phones[old] = nil }
        }
        if let phone = texts.phone, !(phones[phone]?.contains(key) ?? false) { phones[phone, default: []].append(key) }
    }

    subscript(key: MemberKey) -> MemberTexts? { entries[key] }
}
