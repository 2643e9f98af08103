import Loyalty

/// When an offline sale happened, from the terminal's local date and time (fields 13 `MMDD` and 12 `hhmmss`),
/// which carry no year and no zone: an advice (0220) uploaded after a festival is judged by the festival's rules
/// if the sale was made during it (docs/loyalty-rules.md, "Offline advices").
///
/// The zone is the configuration's `terminalUtcOffsetMinutes`. The year is the one that puts the sale latest but
/// not after the reference time (field 7, the transmission time, itself placed in the year nearest the switch's
/// clock; or the switch's clock when field 7 is absent) plus a day of tolerance for clocks and zones. Pure integer
/// arithmetic: no `DateFormatter`, no allocation.
enum SaleTime {
    static let millisecondsPerDay: Int64 = 86_400_000
    /// A sale may be stamped up to this long after the reference (terminal clocks and zones disagree).
    static let toleranceMs: Int64 = millisecondsPerDay

    /// UTC milliseconds of local `MMDD` + `hhmmss` (offset `utcOffsetMinutes` from UTC) in the year that puts it
    /// latest at or before `referenceMs` + tolerance; nil when the fields are no real date and time.
    static func utcMs(localDate: Int64, localTime: Int64, utcOffsetMinutes: Int, referenceMs: Int64) -> Int64? {
        guard let parts = DateParts(date: localDate, time: localTime) else { return nil }
        let offsetMs = Int64(utcOffsetMinutes) * 60_000
        let referenceYear = CampaignTime.year(ofDay: floorDivide(referenceMs + toleranceMs, millisecondsPerDay))
        for year in stride(from: referenceYear + 1, through: referenceYear - 1, by: -1) {
            guard let instant = parts.instantMs(inYear: year) else { continue }
            if instant - offsetMs <= referenceMs + toleranceMs { return instant - offsetMs }
        }
        return nil
    }

    /// Field 7 (`MMDDhhmmss`, UTC) in the year that puts it nearest `nowMs`; nil when it is no real date and time.
    static func transmissionMs(_ field7: Int64, nowMs: Int64) -> Int64? {
        guard (0...9_999_999_999).contains(field7),
            let parts = DateParts(date: field7 / 1_000_000, time: field7 % 1_000_000)
        else { return nil }
        let nowYear = CampaignTime.year(ofDay: floorDivide(nowMs, millisecondsPerDay))
        // Within half a year of now in the current year it is the nearest: the same date a year either side is
        // then at least 365 - 182 = 183 days away. Only near the turn of the year do the neighbours compete (each
        // year's date costs a days-since-epoch; this runs for every request).
        let halfYearMs = 182 * millisecondsPerDay
        if let instant = parts.instantMs(inYear: nowYear), abs(instant - nowMs) <= halfYearMs { return instant }
        var nearest: Int64?
        for year in (nowYear - 1)...(nowYear + 1) {
            guard let instant = parts.instantMs(inYear: year) else { continue }
            if nearest == nil || abs(instant - nowMs) < abs(nearest! - nowMs) { nearest = instant }
        }
        return nearest
    }

    /// `MMDD` and `hhmmss` checked once: a month, a day that some year has, and a time of day.
    struct DateParts {
        let month: Int
        let day: Int
        let secondsOfDay: Int64

        init?(date: Int64, time: Int64) {
            let (hour, minute, second) = (time / 10_000, time / 100 % 100, time % 100)
            guard (0...9999).contains(date), (0...235959).contains(time), hour < 24, minute < 60, second < 60 else {
                return nil
            }
            (month, day) = (Int(date / 100), Int(date % 100))
            guard (1...12).contains(month), (1...CampaignTime.daysInMonth(2000, month)).contains(day) else {
                return nil
            }
            secondsOfDay = hour * 3_600 + minute * 60 + second
            precondition(secondsOfDay >= 0 && secondsOfDay < 86_400, "a time of day")
        }

        /// Milliseconds since the epoch of this date and time in `year` (UTC); nil when that year lacks the day.
        func instantMs(inYear year: Int) -> Int64? {
            guard CampaignTime.yearRange.contains(year), day <= CampaignTime.daysInMonth(year, month) else {
                return nil
            }
            let days = Int64(CampaignTime.daysSinceEpoch(year: year, month: month, day: day))
            precondition((1...12).contains(month) && day >= 1, "a checked date")
            return days * SaleTime.millisecondsPerDay + secondsOfDay * 1_000
        }
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        precondition(divisor > 0, "days are a positive length")
        return value >= 0 ? value / divisor : (value - divisor + 1) / divisor
    }
}
