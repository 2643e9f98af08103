import Foundation

/// The Solar Hijri (Persian, Jalali) calendar as integers: the day number (days since 1970-01-01) of 1 Farvardin,
/// New Year's Day, for every year in `yearRange`, taken from Foundation's `Calendar(identifier: .persian)` once
/// per process.
///
/// Foundation is the reference for which years are leap (the 33-year cycle is an approximation of the vernal
/// equinox, so it is read, not re-derived), but a Foundation call costs microseconds and the evaluator has
/// ~200 ns per purchase: with this table the year of a day is one estimate and a step or two, and the month and
/// day follow from the fixed month lengths (six of 31 days, five of 30, Esfand 29 or 30).
enum PersianCalendarTable {
    /// 1921–2222 CE: every member's birthday and every campaign a club can plan. Outside it, days have no Persian
    /// date here (campaign times are refused at load; no birthday window holds them).
    static let yearRange = 1300...1600
    /// `yearRange.count + 1` entries, so the length of the last year (and of its Esfand) is known too.
    static let firstDays: [Int32] = build()
    /// Days in the 33-year cycle (8 leap years), for the first estimate of a day's year.
    static let cycleDays: Int64 = 12_053

    static func build() -> [Int32] {
        var calendar = Calendar(identifier: .persian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        var days: [Int32] = []
        days.reserveCapacity(yearRange.count + 1)
        for year in yearRange.lowerBound...(yearRange.upperBound + 1) {
            guard let date = calendar.date(from: DateComponents(year: year, month: 1, day: 1)) else {
                preconditionFailure("Foundation's persian calendar has no 1 Farvardin \(year)")
            }
            let day = Int32((date.timeIntervalSince1970 / 86_400).rounded(.down))
            if let previous = days.last {
                precondition(day - previous == 365 || day - previous == 366, "a Persian year is 365 or 366 days")
            }
            days.append(day)
        }
        return days
    }
}

/// A Persian date as the rules read it: year, month 1...12 (Farvardin … Esfand), day 1...31.
public struct PersianDate: Sendable, Equatable {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Days before the first of `month` in any year: months 1–6 have 31 days, months 7–12 have 30 (Esfand 29 in
    /// a common year, which only shortens the year's end).
    @inline(__always)
    static func daysBefore(month: Int) -> Int {
        month <= 7 ? (month - 1) * 31 : 186 + (month - 7) * 30
    }

    /// The most days `month` ever has (Esfand 30 in leap years), for birthdays, which belong to no year.
    static func daysMax(month: Int) -> Int {
        month <= 6 ? 31 : 30
    }
}

extension PersianCalendarTable {
    /// Index of the year holding `dayNumber` (`firstDays[index] <= dayNumber < firstDays[index + 1]`), nil
    /// outside the table. An estimate from the mean year, then at most a few steps (bounded by the loop).
    @inline(__always)
    static func yearIndex(holding dayNumber: Int64, _ firstDays: [Int32]) -> Int? {
        let lastIndex = firstDays.count - 2
        guard lastIndex >= 0, dayNumber >= Int64(firstDays[0]), dayNumber < Int64(firstDays[lastIndex + 1]) else {
            return nil
        }
        var index = Int(min(Int64(lastIndex), (dayNumber - Int64(firstDays[0])) * 33 / cycleDays))
        for _ in 0..<4 {  // the estimate is off by at most one year; four passes bound the loop generously
            if Int64(firstDays[index]) > dayNumber {
                index -= 1
            } else if Int64(firstDays[index + 1]) <= dayNumber {
                index += 1
            } else {
                return index
            }
        }
        preconditionFailure("the year estimate of day \(dayNumber) did not converge")
    }

    /// The Persian date of `dayNumber` (days since 1970-01-01 in the club's zone), nil outside `yearRange`.
    static func date(ofDay dayNumber: Int64, _ firstDays: [Int32]) -> PersianDate? {
        guard let index = yearIndex(holding: dayNumber, firstDays) else { return nil }
        let dayOfYear = Int(dayNumber - Int64(firstDays[index]))
        let (month, day) =
            dayOfYear < 186
            ? (dayOfYear / 31 + 1, dayOfYear % 31 + 1) : ((dayOfYear - 186) / 30 + 7, (dayOfYear - 186) % 30 + 1)
        return PersianDate(year: yearRange.lowerBound + index, month: month, day: day)
    }

    /// Days in `month` of `year` (Esfand: 29, or 30 in a leap year); `year` must be in `yearRange`.
    static func daysIn(month: Int, year: Int, _ firstDays: [Int32]) -> Int {
        guard month == 12 else { return PersianDate.daysMax(month: month) }
        let index = year - yearRange.lowerBound
        return Int(firstDays[index + 1] - firstDays[index]) - 336
    }

    /// The day number of a Persian date; nil when the year is outside `yearRange` or the date does not exist.
    static func dayNumber(of date: PersianDate, _ firstDays: [Int32]) -> Int64? {
        guard yearRange.contains(date.year), (1...12).contains(date.month),
            (1...daysIn(month: date.month, year: date.year, firstDays)).contains(date.day)
        else { return nil }
        let first = Int64(firstDays[date.year - yearRange.lowerBound])
        return first + Int64(PersianDate.daysBefore(month: date.month) + date.day - 1)
    }
}
