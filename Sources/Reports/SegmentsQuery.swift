/// What the segments report is asked for: the window, and who counts as a VIP. Checked before any byte is
/// written; a bad parameter is named (`ReportError.badParameter`, a 400 over HTTP).
public struct SegmentsQuery: Sendable, Equatable {
    /// The window [fromMs, toMs): purchases at or after `fromMs` and before `toMs`.
    public var fromMs: Int64
    public var toMs: Int64
    public var vip: Segments.VIPRule

    public init(fromMs: Int64, toMs: Int64, vip: Segments.VIPRule = Segments.VIPRule()) {
        self.fromMs = fromMs
        self.toMs = toMs
        self.vip = vip
    }

    /// Reads `from`, `to` (RFC 3339 times or dates, UTC), `vipTop` (1...1,000,000) and `vipMinMinor`. Without
    /// `to` the window ends at `nowMs`; without `from` it is the `windowDays` before `to`.
    public static func parse(
        _ parameters: [(String, String)], nowMs: Int64, windowDays: Int
    ) throws(ReportError) -> SegmentsQuery {
        var values: [String: String] = [:]
        for (key, value) in parameters {
            guard ["from", "to", "vipTop", "vipMinMinor"].contains(key) else {
                throw .badParameter(name: key, reason: "unknown parameter (known: from, to, vipTop, vipMinMinor)")
            }
            guard values.updateValue(value, forKey: key) == nil else {
                throw .badParameter(name: key, reason: "given more than once")
            }
        }
        let toMs = try values["to"].map { (text) throws(ReportError) in try time(text, name: "to") } ?? nowMs
        let fromMs =
            try values["from"].map { (text) throws(ReportError) in try time(text, name: "from") }
            ?? toMs - Int64(windowDays) * 86_400_000
        guard fromMs < toMs else { throw .badParameter(name: "from", reason: "must be before to") }
        var query = SegmentsQuery(fromMs: fromMs, toMs: toMs)
        if let text = values["vipTop"] {
            guard let top = Int(text), (1...1_000_000).contains(top) else {
                throw .badParameter(name: "vipTop", reason: "must be an integer 1...1000000")
            }
            query.vip.top = top
        }
        if let text = values["vipMinMinor"] {
            guard let minimum = Int64(text), minimum >= 1, minimum <= 999_999_999_999_999 else {
                throw .badParameter(name: "vipMinMinor", reason: "must be an integer 1...999999999999999")
            }
            query.vip.minMinor = minimum
        }
        return query
    }

    /// `2026-12-03` (midnight UTC) or an RFC 3339 time `2026-12-03T08:00:00Z` (fraction and offset allowed).
    public static func time(_ text: String, name: String) throws(ReportError) -> Int64 {
        guard let value = parseTime(Array(text.utf8)) else {
            throw .badParameter(name: name, reason: "must be a date YYYY-MM-DD or an RFC 3339 time (\(text.prefix(40)))")
        }
        return value
    }

    static func parseTime(_ bytes: [UInt8]) -> Int64? {
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            return value
        }
        guard bytes.count >= 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        let midnight = daysFromCivil(year: year, month: month, day: day) * 86_400_000
        if bytes.count == 10 { return midnight }
        guard bytes.count >= 20, bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19), hour < 24, minute < 60, second < 61
        else { return nil }
        var position = 19
        var milliseconds: Int64 = 0
        if bytes[position] == UInt8(ascii: ".") {
            let start = position + 1
            position = start
            while position < bytes.count, (0x30...0x39).contains(bytes[position]), position - start < 9 { position += 1 }
            guard position > start, let fraction = number(start..<min(position, start + 3)) else { return nil }
            milliseconds = fraction * [100, 10, 1][min(position, start + 3) - start - 1]
        }
        guard position < bytes.count else { return nil }
        var offsetMs: Int64 = 0
        switch bytes[position] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard position + 1 == bytes.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard position + 6 == bytes.count, bytes[position + 3] == UInt8(ascii: ":"),
                let hours = number(position + 1..<position + 3), let minutes = number(position + 4..<position + 6),
                hours < 24, minutes < 60
            else { return nil }
            offsetMs = (hours * 60 + minutes) * 60_000 * (bytes[position] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return nil
        }
        return midnight + ((hour * 60 + minute) * 60 + min(second, 59)) * 1000 + milliseconds - offsetMs
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shifted = month <= 2 ? year - 1 : year
        let era = (shifted >= 0 ? shifted : shifted - 399) / 400
        let yearOfEra = shifted - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
