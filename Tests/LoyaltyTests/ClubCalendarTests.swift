import Foundation
import Testing

@testable import Loyalty

/// The club's calendar (ClubCalendar.swift, PersianCalendarTable.swift): the Persian table against Foundation for
/// every day of 1300–1500 AP, leap years as Foundation has them, local days in a UTC offset, the birthday window
/// across the Persian New Year and on 30 Esfand, and which month/day pairs are birthdays in each calendar.
@Suite("Club calendar")
struct ClubCalendarTests {
    static let dayMs: Int64 = 86_400_000
    static let tehran = ClubCalendar(system: .persian, utcOffsetMinutes: 210)

    static func foundationPersian() -> Calendar {
        var calendar = Calendar(identifier: .persian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        return calendar
    }

    @Test("every day from 1 Farvardin 1300 to 29 Esfand 1500 has Foundation's Persian date, both ways")
    func tableMatchesFoundationEveryDay() {
        let foundation = Self.foundationPersian()
        let table = PersianCalendarTable.firstDays
        let first = Int64(table[0])
        let end = Int64(table[1501 - PersianCalendarTable.yearRange.lowerBound])
        var mismatches: [String] = []
        for dayNumber in first..<end {
            let date = Date(timeIntervalSince1970: Double(dayNumber) * 86_400 + 43_200)
            let parts = foundation.dateComponents([.year, .month, .day], from: date)
            let expected = PersianDate(year: parts.year!, month: parts.month!, day: parts.day!)
            let ours = PersianCalendarTable.date(ofDay: dayNumber, table)
            if ours != expected || PersianCalendarTable.dayNumber(of: expected, table) != dayNumber {
                mismatches.append("day \(dayNumber): Foundation \(expected), table \(String(describing: ours))")
                if mismatches.count == 5 { break }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
        #expect(end - first > 73_000, "two hundred and one years were compared")
    }

    @Test("leap years are Foundation's in every year of the table: 1403 has 30 Esfand, 1404 has not")
    func leapYearsAsFoundationHasThem() {
        let foundation = Self.foundationPersian()
        let table = PersianCalendarTable.firstDays
        for year in PersianCalendarTable.yearRange {
            let components = DateComponents(year: year, month: 12, day: 30)
            let date = foundation.date(from: components)!
            let isLeap = foundation.component(.month, from: date) == 12
            #expect(
                (PersianCalendarTable.daysIn(month: 12, year: year, table) == 30) == isLeap, "year \(year)")
        }
        #expect(PersianCalendarTable.daysIn(month: 12, year: 1403, table) == 30)
        #expect(PersianCalendarTable.daysIn(month: 12, year: 1404, table) == 29)
        #expect(PersianCalendarTable.dayNumber(of: PersianDate(year: 1404, month: 12, day: 30), table) == nil)
        // 1 Farvardin 1405 is 2026-03-21, 1 Farvardin 1403 2024-03-20 (after a leap year in the Gregorian one).
        #expect(PersianCalendarTable.dayNumber(of: PersianDate(year: 1405, month: 1, day: 1), table) == 20_533)
        #expect(PersianCalendarTable.dayNumber(of: PersianDate(year: 1403, month: 1, day: 1), table) == 19_802)
    }

    @Test("days outside the table have no Persian date; impossible dates have no day number")
    func outsideTheTable() {
        let table = PersianCalendarTable.firstDays
        #expect(PersianCalendarTable.date(ofDay: Int64(table[0]) - 1, table) == nil)
        #expect(PersianCalendarTable.date(ofDay: Int64(table[table.count - 1]), table) == nil)
        #expect(PersianCalendarTable.date(ofDay: Int64(table[table.count - 1]) - 1, table)?.year == 1600)
        for date in [
            PersianDate(year: 1299, month: 12, day: 1), PersianDate(year: 1601, month: 1, day: 1),
            PersianDate(year: 1405, month: 7, day: 31), PersianDate(year: 1405, month: 13, day: 1),
            PersianDate(year: 1405, month: 1, day: 0),
        ] {
            #expect(PersianCalendarTable.dayNumber(of: date, table) == nil, "\(date)")
        }
    }

    @Test("the local day moves at the club's midnight: 20:30 UTC is midnight in Tehran (+03:30)")
    func localDayInTheClubsZone() {
        let nowruzUTC: Int64 = 20_533 * Self.dayMs  // 2026-03-21T00:00:00Z
        let tehranMidnight = nowruzUTC - 210 * 60_000
        #expect(Self.tehran.localDay(tehranMidnight - 1) == 20_532)
        #expect(Self.tehran.localDay(tehranMidnight) == 20_533)
        #expect(ClubCalendar.utc.localDay(tehranMidnight) == 20_532)
        #expect(ClubCalendar(system: .gregorian, utcOffsetMinutes: -300).localDay(0) == -1)
        #expect(ClubCalendar.utc.localDay(-1) == -1)
    }

    @Test("a Persian birthday window holds the days around the birthday in the year they fall in")
    func persianBirthdayWindow() {
        let table = PersianCalendarTable.firstDays
        func day(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
            PersianCalendarTable.dayNumber(of: PersianDate(year: year, month: month, day: day), table)!
        }
        let calendar = Self.tehran
        // 1 Farvardin: a window of 3 days reaches back into Esfand of the year before.
        #expect(calendar.birthdayYear(holding: day(1404, 12, 27), month: 1, day: 1, windowDays: 3) == 1405)
        #expect(calendar.birthdayYear(holding: day(1404, 12, 26), month: 1, day: 1, windowDays: 3) == nil)
        #expect(calendar.birthdayYear(holding: day(1405, 1, 4), month: 1, day: 1, windowDays: 3) == 1405)
        // 30 Esfand falls on 29 Esfand in a common year (1404), on itself in a leap year (1403).
        #expect(calendar.birthdayYear(holding: day(1404, 12, 29), month: 12, day: 30, windowDays: 0) == 1404)
        #expect(calendar.birthdayYear(holding: day(1403, 12, 29), month: 12, day: 30, windowDays: 0) == nil)
        #expect(calendar.birthdayYear(holding: day(1403, 12, 30), month: 12, day: 30, windowDays: 0) == 1403)
        // The same month and day read as Gregorian are another day altogether.
        #expect(ClubCalendar.utc.birthdayYear(holding: day(1405, 1, 1), month: 1, day: 1, windowDays: 3) == nil)
    }

    @Test("birthdays: 31 Ordibehesht and 30 Esfand are Persian, 31 Mehr and 31 Esfand are not; 29 Feb is Gregorian")
    func birthdaysByCalendar() {
        #expect(CalendarSystem.persian.isBirthday(month: 2, day: 31))
        #expect(CalendarSystem.persian.isBirthday(month: 12, day: 30))
        #expect(!CalendarSystem.persian.isBirthday(month: 7, day: 31))
        #expect(!CalendarSystem.persian.isBirthday(month: 12, day: 31))
        #expect(CalendarSystem.gregorian.isBirthday(month: 2, day: 29))
        #expect(!CalendarSystem.gregorian.isBirthday(month: 2, day: 31))
        #expect(CalendarSystem.gregorian.isBirthday(month: 12, day: 31))
        for system in CalendarSystem.allCases {
            #expect(!system.isBirthday(month: 0, day: 1) && !system.isBirthday(month: 13, day: 1))
            #expect(!system.isBirthday(month: 1, day: 0))
        }
    }
}
