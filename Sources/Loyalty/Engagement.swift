/// Points for engagement events that are not purchases (a survey, a review, an app install): per event type the
/// points, and how many times a member may be paid for it per period of the program's calendar
/// (docs/loyalty-rules.md, "Engagement"). The API names the type; the rules decide the points and the limit.
public struct EngagementRule: Sendable, Equatable {
    /// The event type as the caller names it (`POST /v1/events {"type"}`), 1 to 16 printable bytes.
    public var type: ShortIdentifier
    public var points: Int64
    /// Events paid per member per `period`; the next one in the same period is recorded with 0 points.
    public var limitCount: Int64
    public var period: EngagementPeriod

    public init(type: ShortIdentifier, points: Int64, limitCount: Int64, period: EngagementPeriod) {
        self.type = type
        self.points = points
        self.limitCount = limitCount
        self.period = period
    }
}

/// The period a limit counts in, in the program's calendar and UTC offset: a local day, a week (Monday first
/// under `gregorian`, Saturday first under `persian`), a month or a year of that calendar, or the member's life.
public enum EngagementPeriod: String, Sendable, Equatable, CaseIterable {
    case day, week, month, year, ever
}

/// What the rules decide for one engagement event of a member.
public enum EngagementOutcome: Sendable, Equatable {
    /// `points` paid; the member's count for the type in `period` is now `count`.
    case awarded(points: Int64, period: UInt32, count: UInt32)
    /// The member was already paid `limitCount` times in this period: nothing paid, nothing counted.
    case limitReached
    /// The program has no such type.
    case unknownType
}

extension ClubCalendar {
    /// The number of the period holding `timeMs` (a local day, week, calendar month or year; 0 for `ever`), so
    /// that two instants are in the same period exactly when their numbers are equal.
    public func periodNumber(_ period: EngagementPeriod, timeMs: Int64) -> UInt32 {
        let day = localDay(timeMs)
        switch period {
        case .day: return UInt32(clamping: day)
        case .week:
            // 1970-01-01 was a Thursday: the Monday before it is day −3, the Saturday before it day −5.
            let shifted = day + (system == .persian ? 5 : 3)
            return UInt32(clamping: shifted >= 0 ? shifted / 7 : (shifted - 6) / 7)
        case .month, .year:
            let (year, month) = yearAndMonth(ofLocalDay: day)
            return UInt32(clamping: period == .year ? year : year * 12 + month - 1)
        case .ever: return 0
        }
    }

    /// The calendar year and month (1...12) of a local day; outside the Persian table's years the Gregorian ones
    /// (periods stay distinct either way).
    func yearAndMonth(ofLocalDay day: Int64) -> (year: Int, month: Int) {
        if system == .persian, let date = PersianCalendarTable.date(ofDay: day, persianFirstDays) {
            return (date.year, date.month)
        }
        return Birthday.civilYearAndMonth(day)
    }
}
