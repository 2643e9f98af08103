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
        let (month, day) = (Int(localDate / 100), Int(localDate % 100))
        let (hour, minute, second) = (localTime / 10_000, localTime / 100 % 100, localTime % 100)
        guard (0...9999).contains(localDate), (1...12).contains(month), day >= 1, (0...235959).contains(localTime),
            hour < 24, minute < 60, second < 60
        else { return nil }
        let secondsOfDay = hour * 3_600 + minute * 60 + second
        let offsetMs = Int64(utcOffsetMinutes) * 60_000
        let referenceYear = CampaignTime.year(ofDay: floorDivide(referenceMs + toleranceMs, millisecondsPerDay))
        for year in stride(from: referenceYear + 1, through: referenceYear - 1, by: -1)
        where CampaignTime.yearRange.contains(year) && day <= CampaignTime.daysInMonth(year, month) {
            let days = Int64(CampaignTime.daysSinceEpoch(year: year, month: month, day: day))
            let candidate = days * millisecondsPerDay + secondsOfDay * 1_000 - offsetMs
            if candidate <= referenceMs + toleranceMs { return candidate }
        }
        return nil
    }

    /// Field 7 (`MMDDhhmmss`, UTC) in the year that puts it nearest `nowMs`; nil when it is no real date and time.
    static func transmissionMs(_ field7: Int64, nowMs: Int64) -> Int64? {
        guard (0...9_999_999_999).contains(field7) else { return nil }
        let (month, day) = (Int(field7 / 100_000_000), Int(field7 / 1_000_000 % 100))
        let time = field7 % 1_000_000
        let (hour, minute, second) = (time / 10_000, time / 100 % 100, time % 100)
        guard (1...12).contains(month), day >= 1, hour < 24, minute < 60, second < 60 else { return nil }
        let nowYear = CampaignTime.year(ofDay: floorDivide(nowMs, millisecondsPerDay))
        var nearest: Int64?
        for year in (nowYear - 1)...(nowYear + 1)
        where CampaignTime.yearRange.contains(year) && day <= CampaignTime.daysInMonth(year, month) {
            let days = Int64(CampaignTime.daysSinceEpoch(year: year, month: month, day: day))
            let candidate = days * millisecondsPerDay + (hour * 3_600 + minute * 60 + second) * 1_000
            if nearest == nil || abs(candidate - nowMs) < abs(nearest! - nowMs) { nearest = candidate }
        }
        return nearest
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : (value - divisor + 1) / divisor
    }
}
