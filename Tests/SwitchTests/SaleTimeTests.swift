import Foundation
import Loyalty
import Testing

@testable import SwitchCore

/// When an offline sale happened, from fields 13 and 12 (no year, local zone) and field 7 (no year, UTC).
@Suite struct SaleTimeTests {
    static func ms(_ text: String) -> Int64 { CampaignTime.epochMilliseconds(text)! }

    @Test("the year is the latest that is not after the reference: a December sale uploaded in January is last year's")
    func yearInference() {
        let january = Self.ms("2027-01-02T08:00:00Z")
        #expect(
            SaleTime.utcMs(localDate: 1230, localTime: 235_900, utcOffsetMinutes: 0, referenceMs: january)
                == Self.ms("2026-12-30T23:59:00Z"))
        #expect(
            SaleTime.utcMs(localDate: 102, localTime: 70_000, utcOffsetMinutes: 0, referenceMs: january)
                == Self.ms("2027-01-02T07:00:00Z"))
        // Up to a day after the reference is tolerated (clocks and zones), not more.
        #expect(
            SaleTime.utcMs(localDate: 103, localTime: 70_000, utcOffsetMinutes: 0, referenceMs: january)
                == Self.ms("2027-01-03T07:00:00Z"))
        #expect(
            SaleTime.utcMs(localDate: 105, localTime: 0, utcOffsetMinutes: 0, referenceMs: january)
                == Self.ms("2026-01-05T00:00:00Z"))
    }

    @Test("the terminals' zone: 12:00 in Tehran (UTC+03:30) is 08:30 UTC; a local date can be the day before in UTC")
    func zoneOffset() {
        let reference = Self.ms("2026-03-25T12:00:00Z")
        #expect(
            SaleTime.utcMs(localDate: 321, localTime: 120_000, utcOffsetMinutes: 210, referenceMs: reference)
                == Self.ms("2026-03-21T08:30:00Z"))
        #expect(
            SaleTime.utcMs(localDate: 321, localTime: 10_000, utcOffsetMinutes: 210, referenceMs: reference)
                == Self.ms("2026-03-20T21:30:00Z"))
    }

    @Test("29 February only in a leap year; impossible dates and times are refused")
    func impossibleDates() {
        let reference = Self.ms("2027-03-10T00:00:00Z")
        // 2027 and 2026 have no 29 February, and 2024 is out of reach (a sale is at most a year old).
        #expect(SaleTime.utcMs(localDate: 229, localTime: 0, utcOffsetMinutes: 0, referenceMs: reference) == nil)
        #expect(
            SaleTime.utcMs(
                localDate: 229, localTime: 0, utcOffsetMinutes: 0, referenceMs: Self.ms("2028-03-10T00:00:00Z"))
                == Self.ms("2028-02-29T00:00:00Z"))
        for (date, time) in [(1332, 0), (0, 0), (1200, 0), (431, 0), (1201, 240_000), (1201, 6_000), (1201, 60)] {
            #expect(
                SaleTime.utcMs(
                    localDate: Int64(date), localTime: Int64(time), utcOffsetMinutes: 0, referenceMs: reference)
                    == nil, "\(date) \(time)")
        }
    }

    @Test("field 7 is placed in the year nearest the switch's clock")
    func transmissionYear() {
        let now = Self.ms("2027-01-01T00:10:00Z")
        #expect(SaleTime.transmissionMs(1_231_235_900, nowMs: now) == Self.ms("2026-12-31T23:59:00Z"))
        #expect(SaleTime.transmissionMs(101_000_500, nowMs: now) == Self.ms("2027-01-01T00:05:00Z"))
        #expect(SaleTime.transmissionMs(1_301_000_000, nowMs: now) == nil)
        #expect(SaleTime.transmissionMs(-1, nowMs: now) == nil)
    }

    // The shortcut (the current year's date when it is within half a year of now) against the plain rule (the
    // nearest of last year's, this year's and next year's), computed here with Foundation's calendar: every
    // month-day of a leap and a common year, from clocks on every day around two turns of the year and mid-year.
    @Test("field 7's year: the shortcut agrees with the nearest of three years, at every date and around new year")
    func transmissionYearShortcut() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        func instant(_ year: Int, _ month: Int, _ day: Int, _ seconds: Int) -> Int64? {
            let components = DateComponents(year: year, month: month, day: day)
            guard let date = calendar.date(from: components),
                calendar.component(.month, from: date) == month, calendar.component(.day, from: date) == day
            else { return nil }
            return Int64(date.timeIntervalSince1970 * 1000) + Int64(seconds) * 1000
        }
        let clocks = ["2027-12-20T00:00:00Z", "2028-06-30T12:00:00Z", "2028-12-31T23:00:00Z", "2029-01-03T01:00:00Z"]
            .map(Self.ms)
        var compared = 0
        for clock in clocks {
            for shift in stride(from: -3, through: 3, by: 1) {
                let nowMs = clock + Int64(shift) * 86_400_000
                let year = calendar.component(.year, from: Date(timeIntervalSince1970: Double(nowMs) / 1000))
                for month in 1...12 {
                    for day in 1...31 where day <= 29 || day % 2 == 1 || month == 2 {
                        let seconds = (day * 3_671) % 86_400
                        let field7 = Int64(month * 100 + day) * 1_000_000
                            + Int64(seconds / 3600 * 10_000 + seconds % 3600 / 60 * 100 + seconds % 60)
                        let expected = [year - 1, year, year + 1].compactMap { instant($0, month, day, seconds) }
                            .min { abs($0 - nowMs) < abs($1 - nowMs) }
                        #expect(
                            SaleTime.transmissionMs(field7, nowMs: nowMs) == expected, "field 7 \(field7) at \(nowMs)")
                        compared += 1
                    }
                }
            }
        }
        #expect(compared > 10_000)
    }
}
