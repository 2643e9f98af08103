/// Which calendar a club's dates are written and judged in (docs/loyalty-rules.md, "Calendar and time zone").
public enum CalendarSystem: String, Sendable, Equatable, CaseIterable {
    /// The proleptic Gregorian calendar: the default, so programs written before calendars existed mean the same.
    case gregorian
    /// The Solar Hijri calendar (Iran): Nowruz on 1 Farvardin, birthdays as Persian month and day.
    case persian

    /// Whether `month`/`day` is a birthday some year has: 29 February (Gregorian) and 30 Esfand (Persian) are,
    /// and fall on the month's last day in years without them. A birthday belongs to no year, so only the longest
    /// month length counts here.
    public func isBirthday(month: Int, day: Int) -> Bool {
        guard (1...12).contains(month), day >= 1 else { return false }
        switch self {
        case .gregorian: return day <= CampaignTime.daysInMonth(2000, month)
        case .persian: return day <= PersianDate.daysMax(month: month)
        }
    }
}

/// The club's calendar and time zone as the evaluator uses them: which local day, weekday and hour an instant is,
/// and in which year's window a birthday falls, in integers.
///
/// The zone is a fixed offset from UTC, not a zone name: Iran has kept +03:30 all year since 2022, and a fixed
/// offset means the same on every machine and in every year (no tz database, no daylight-saving gap or overlap in
/// which a campaign's midnight is ambiguous), and costs one addition per purchase. Built once per program load;
/// holds the Persian table only under `persian`.
public struct ClubCalendar: Sendable {
    public let system: CalendarSystem
    public let utcOffsetMs: Int64
    /// `PersianCalendarTable.firstDays` under `persian`; empty under `gregorian`.
    let persianFirstDays: [Int32]

    static let millisecondsPerDay: Int64 = 86_400_000
    /// Offsets in use run from −12:00 to +14:00.
    public static let utcOffsetMinutesRange = -720...840

    public init(system: CalendarSystem, utcOffsetMinutes: Int) {
        precondition(Self.utcOffsetMinutesRange.contains(utcOffsetMinutes), "offsets are validated before tables")
        self.system = system
        utcOffsetMs = Int64(utcOffsetMinutes) * 60_000
        persianFirstDays = system == .persian ? PersianCalendarTable.firstDays : []
    }

    /// Gregorian and UTC: what every program meant before calendars existed.
    public static let utc = ClubCalendar(system: .gregorian, utcOffsetMinutes: 0)

    /// The local day (days since 1970-01-01 in the club's zone) of an instant; floor division, so it holds for
    /// any time.
    @inline(__always)
    public func localDay(_ timeMs: Int64) -> Int64 {
        let local = timeMs + utcOffsetMs
        let quotient = local / Self.millisecondsPerDay
        return local % Self.millisecondsPerDay < 0 ? quotient - 1 : quotient
    }

    /// The year (of this calendar) whose birthday window holds `localDay`, or nil: the window is
    /// `windowDays` days either side of `month`/`day` in that year, and a day the year lacks (29 February,
    /// 30 Esfand) falls on the month's last day. With windows of at most 30 days, at most one year's window holds
    /// a day.
    public func birthdayYear(holding localDay: Int64, month: Int, day: Int, windowDays: Int64) -> Int? {
        guard system == .persian else {
            return Birthday.year(holding: localDay, month: month, day: day, windowDays: windowDays)
        }
        guard let index = PersianCalendarTable.yearIndex(holding: localDay, persianFirstDays) else { return nil }
        let year = PersianCalendarTable.yearRange.lowerBound + index
        for candidate in (year - 1)...(year + 1) where PersianCalendarTable.yearRange.contains(candidate) {
            let days = PersianCalendarTable.daysIn(month: month, year: candidate, persianFirstDays)
            let date = PersianDate(year: candidate, month: month, day: min(day, days))
            guard let birthday = PersianCalendarTable.dayNumber(of: date, persianFirstDays) else { continue }
            if abs(localDay - birthday) <= windowDays { return candidate }
        }
        return nil
    }

    /// The year range campaign times may be written in.
    public var yearRange: ClosedRange<Int> {
        system == .persian ? PersianCalendarTable.yearRange : CampaignTime.yearRange
    }

    /// Epoch milliseconds of a local date and time of this calendar; nil when the date does not exist.
    func epochMilliseconds(year: Int, month: Int, day: Int, secondsOfDay: Int64) -> Int64? {
        let dayNumber: Int64
        switch system {
        case .gregorian:
            guard CampaignTime.yearRange.contains(year), (1...12).contains(month),
                (1...CampaignTime.daysInMonth(year, month)).contains(day)
            else { return nil }
            dayNumber = Int64(CampaignTime.daysSinceEpoch(year: year, month: month, day: day))
        case .persian:
            guard
                let number = PersianCalendarTable.dayNumber(
                    of: PersianDate(year: year, month: month, day: day), persianFirstDays)
            else { return nil }
            dayNumber = number
        }
        return dayNumber * Self.millisecondsPerDay + secondsOfDay * 1_000 - utcOffsetMs
    }

    /// Days in `month` of `year` of this calendar (for error messages); `year` in `yearRange`.
    func daysIn(month: Int, year: Int) -> Int {
        system == .persian
            ? PersianCalendarTable.daysIn(month: month, year: year, persianFirstDays)
            : CampaignTime.daysInMonth(year, month)
    }
}
