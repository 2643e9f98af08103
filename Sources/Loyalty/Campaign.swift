/// A time-boxed promotion: for purchases inside its window (dates, optionally weekdays and hours, all in the
/// program's calendar and UTC offset, `ClubCalendar`; UTC by default) and its
/// scope (merchants, groups, merchant categories; empty = everywhere), it multiplies the points the rules decided
/// and/or adds a fixed bonus.
///
/// Times are epoch milliseconds, parsed once when the configuration is read, so the evaluator compares integers
/// and never formats or parses a date on the authorization path. How several matching campaigns combine is
/// stated on `Program` and in docs/loyalty-rules.md.
public struct Campaign: Sendable, Equatable {
    public var identifier: ShortIdentifier
    /// First instant of the campaign, inclusive.
    public var fromTimeMs: Int64
    /// End of the campaign, exclusive, so consecutive campaigns can share a boundary without overlapping.
    public var untilTimeMs: Int64
    /// ISO weekdays, 1 = Monday … 7 = Sunday (also under the Persian calendar, whose week starts on Saturday, 6),
    /// of the club's local day; empty means every day.
    public var daysOfWeek: [Int]
    /// Hours of the club's local day; `nil` means all day.
    public var hours: HourWindow?
    public var scope: CampaignScope
    /// 100 = ×1, 200 = ×2; `nil` when the campaign only gives a bonus (it then takes no part in choosing the
    /// multiplier).
    public var pointsMultiplierPercent: Int64?
    /// Points added to the purchase, after the multiplier.
    public var bonusPoints: Int64

    public init(
        identifier: ShortIdentifier, fromTimeMs: Int64, untilTimeMs: Int64, daysOfWeek: [Int] = [],
        hours: HourWindow? = nil, scope: CampaignScope = CampaignScope(), pointsMultiplierPercent: Int64? = nil,
        bonusPoints: Int64 = 0
    ) {
        self.identifier = identifier
        self.fromTimeMs = fromTimeMs
        self.untilTimeMs = untilTimeMs
        self.daysOfWeek = daysOfWeek
        self.hours = hours
        self.scope = scope
        self.pointsMultiplierPercent = pointsMultiplierPercent
        self.bonusPoints = bonusPoints
    }
}

/// Hours of the club's local day, `fromHour` inclusive, `untilHour` exclusive (10 and 14 mean 10:00 to 13:59:59.999).
/// A window over midnight is two campaigns, which keeps "which day does 01:00 belong to" out of the rules.
public struct HourWindow: Sendable, Equatable {
    public var fromHour: Int
    public var untilHour: Int

    public init(fromHour: Int, untilHour: Int) {
        self.fromHour = fromHour
        self.untilHour = untilHour
    }
}

/// Where a campaign applies: a purchase is in scope when its merchant is listed, or belongs to a listed group, or
/// its merchant category is listed (any one suffices). All lists empty means every purchase.
public struct CampaignScope: Sendable, Equatable {
    public var merchants: [ShortIdentifier]
    public var groups: [ShortIdentifier]
    public var merchantCategoryCodes: [UInt16]

    public init(merchants: [ShortIdentifier] = [], groups: [ShortIdentifier] = [], merchantCategoryCodes: [UInt16] = [])
    {
        self.merchants = merchants
        self.groups = groups
        self.merchantCategoryCodes = merchantCategoryCodes
    }

    public var isEverywhere: Bool { merchants.isEmpty && groups.isEmpty && merchantCategoryCodes.isEmpty }
}

/// Reads campaign times, `YYYY-MM-DDTHH:MM:SS` with an optional `Z`, into epoch milliseconds.
///
/// Strict and tiny on purpose: no fractions, leap seconds or zone suffixes other than `Z`, so a file means the
/// same everywhere, and no `DateFormatter` (locale-dependent and slow). Used when a configuration is read, never
/// per purchase; the program's calendar and offset (`ClubCalendar`) say what the fields mean.
public enum CampaignTime {
    public static let yearRange = 1970...9999
    static let millisecondsPerDay: Int64 = 86_400_000

    /// The fields of a time as written, before any calendar gives them a meaning.
    struct Fields {
        let year: Int
        let month: Int
        let day: Int
        let secondsOfDay: Int64
        /// The text ended in `Z`: it claims to be UTC.
        let isUTC: Bool
    }

    /// The calendar year of a day number (days since 1970-01-01).
    public static func year(ofDay dayNumber: Int64) -> Int { Birthday.civilYear(dayNumber) }

    /// `nil` unless `text` is exactly `YYYY-MM-DDTHH:MM:SSZ` with a real Gregorian date and time (UTC).
    public static func epochMilliseconds(_ text: String) -> Int64? {
        guard let fields = fields(text), fields.isUTC else { return nil }
        return ClubCalendar.utc.epochMilliseconds(
            year: fields.year, month: fields.month, day: fields.day, secondsOfDay: fields.secondsOfDay)
    }

    /// The digits of `YYYY-MM-DDTHH:MM:SS` or `YYYY-MM-DDTHH:MM:SSZ` with a time of day in range; the date is
    /// checked by the calendar.
    static func fields(_ text: String) -> Fields? {
        let bytes = Array(text.utf8)
        guard bytes.count == 19 || (bytes.count == 20 && bytes[19] == 0x5A), bytes[4] == 0x2D, bytes[7] == 0x2D,
            bytes[10] == 0x54, bytes[13] == 0x3A, bytes[16] == 0x3A
        else { return nil }
        func number(_ start: Int, _ count: Int) -> Int? {
            var value = 0
            for byte in bytes[start..<start + count] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
            let minute = number(14, 2), let second = number(17, 2), hour < 24, minute < 60, second < 60
        else { return nil }
        return Fields(
            year: year, month: month, day: day, secondsOfDay: Int64(hour * 3_600 + minute * 60 + second),
            isUTC: bytes.count == 20)
    }

    public static func daysInMonth(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's `days_from_civil`, for years
    /// ≥ 1 so every division is on non-negative numbers): years start in March so the leap day comes last.
    public static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let marchYear = month <= 2 ? year - 1 : year
        let era = marchYear / 400
        let yearOfEra = marchYear - era * 400
        let monthFromMarch = (month + 9) % 12
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
