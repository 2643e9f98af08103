import Foundation
import Testing

@testable import Loyalty

/// A program under `"calendar": "persian"` and `"utcOffset": "+03:30"` (ProgramConfiguration+Calendar.swift):
/// strict reading of both keys and of Jalali campaign times, and the evaluator's date questions in Tehran time —
/// the Nowruz campaign, weekdays and hours, the Jalali birthday bonus, the daily cap's day and tier windows.
/// Base rule: 1 point per whole 10,000 rials, so 100,000 → 10 points.
@Suite("Persian program")
struct PersianProgramTests {
    static let hourMs: Int64 = 3_600_000
    static let dayMs: Int64 = 86_400_000
    /// 1 Farvardin 1405 00:00 in Tehran = 2026-03-20T20:30:00Z.
    static let nowruz1405: Int64 = 20_533 * dayMs - 210 * 60_000

    static func json(_ extra: String, calendar: String = #""calendar": "persian", "utcOffset": "+03:30","#)
        -> String
    {
        """
        {"version": 1, "currency": 364, \(calendar)
         "earning": {"default": {"points": 1, "perAmountMinor": 10000}}\(extra)}
        """
    }

    static func program(_ extra: String) throws -> Program { try Program(json: Array(json(extra).utf8)) }

    static func error(_ text: String) -> ProgramConfigurationError? {
        do {
            _ = try ProgramConfiguration.fromJSON(Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    static func purchase(at timeMs: Int64, amountMinor: Int64 = 100_000) -> Transaction {
        Transaction(
            amountMinor: amountMinor, currencyCode: 364, merchantCategoryCode: 5999,
            merchant: ShortIdentifier("SHOP")!, terminal: ShortIdentifier("TERM0001")!, timeMs: timeMs)
    }

    @Test("calendar and utcOffset are read strictly; a wrong value names its key")
    func calendarKeysAreStrict() {
        #expect(Self.error(Self.json("", calendar: #""calendar": "julian","#))?.keyPath == "calendar")
        #expect(
            Self.error(Self.json("", calendar: #""calendar": "julian","#))?.problem
                == "must be one of gregorian, persian")
        #expect(Self.error(Self.json("", calendar: #""calendar": 1,"#))?.keyPath == "calendar")
        for offset in ["3:30", "+3:30", "+03:60", "+14:30", "-12:30", "+0330", "Asia/Tehran", "+03:30 ", ""] {
            let error = Self.error(Self.json("", calendar: #""utcOffset": "\#(offset)","#))
            #expect(error?.keyPath == "utcOffset", "\(offset)")
        }
        for offset in ["+14:00", "-12:00", "+00:00", "-00:00", "+05:45"] {
            #expect(Self.error(Self.json("", calendar: #""utcOffset": "\#(offset)","#)) == nil, "\(offset)")
        }
        let codeBuilt = ProgramConfiguration(version: 1, currencyCode: 364, utcOffsetMinutes: 900)
        #expect(throws: ProgramConfigurationError.self) { try codeBuilt.validate() }
    }

    @Test("Jalali campaign times: 30 Esfand 1404 does not exist and is refused naming the path; 1403's does")
    func jalaliCampaignTimes() throws {
        func campaign(_ from: String, _ until: String = "1405-01-14T00:00:00") -> String {
            #", "campaigns": [{"id": "NOWRUZ", "from": "\#(from)", "until": "\#(until)", "bonusPoints": 1}]"#
        }
        let missing = try #require(Self.error(Self.json(campaign("1404-12-30T00:00:00"))))
        #expect(missing.keyPath == "campaigns[0].from")
        #expect(missing.problem == "1404-12-30 is no date of the persian calendar (month 12 of 1404 has 29 days)")
        #expect(Self.error(Self.json(campaign("1403-12-30T00:00:00"))) == nil)
        let mehr = try #require(Self.error(Self.json(campaign("1405-01-01T00:00:00", "1405-07-31T00:00:00"))))
        #expect(mehr.keyPath == "campaigns[0].until" && mehr.problem.contains("has 30 days"))
        #expect(
            Self.error(Self.json(campaign("1299-12-29T00:00:00")))?.problem
                == "years are 1300...1600 in the persian calendar")
        #expect(Self.error(Self.json(campaign("1405-01-01")))?.keyPath == "campaigns[0].from")
        let zulu = try #require(Self.error(Self.json(campaign("1405-01-01T00:00:00Z"))))
        #expect(zulu.keyPath == "campaigns[0].from" && zulu.problem.contains("drop the Z"))
        // At +00:00 a Z is true, and accepted; and a Gregorian program keeps reading its UTC times as before.
        let utcPersian = Self.json(campaign("1405-01-01T00:00:00Z"), calendar: #""calendar": "persian","#)
        #expect(Self.error(utcPersian) == nil)
        let configuration = try ProgramConfiguration.fromJSON(
            Array(Self.json(campaign("2026-03-20T20:30:00Z", "2026-04-02T20:30:00Z"), calendar: "").utf8))
        #expect(configuration.calendar == .gregorian && configuration.utcOffsetMinutes == 0)
        #expect(configuration.campaigns[0].fromTimeMs == Self.nowruz1405)
    }

    @Test("Nowruz in Tehran time: from 1405-01-01T00:00:00 (20:30 UTC the day before) ×2, not a minute before")
    func nowruzCampaignInTehranTime() throws {
        let program = try Self.program(
            #", "campaigns": [{"id": "NOWRUZ", "from": "1405-01-01T00:00:00", "until": "1405-01-14T00:00:00", "#
                + #""pointsMultiplierPercent": 200}]"#)
        func points(_ timeMs: Int64) -> Int64 {
            program.evaluate(transaction: Self.purchase(at: timeMs), member: Member()).postings.pointsEarned
        }
        #expect(points(Self.nowruz1405 - 60_000) == 10, "23:59 on 29 Esfand in Tehran")
        #expect(points(Self.nowruz1405) == 20, "Nowruz in Tehran, still 20 March in UTC")
        #expect(points(Self.nowruz1405 + 13 * Self.dayMs - 1) == 20, "the last instant of 13 Farvardin")
        #expect(points(Self.nowruz1405 + 13 * Self.dayMs) == 10, "14 Farvardin in Tehran, still 2 April in UTC")
    }

    @Test("weekdays and hours are Tehran's: Friday (ISO 5) begins at 20:30 UTC on Thursday")
    func weekdaysAndHoursInTehran() throws {
        let program = try Self.program(
            #", "campaigns": [{"id": "FRIDAY", "from": "1405-01-01T00:00:00", "until": "1406-01-01T00:00:00", "#
                + #""daysOfWeek": [5], "bonusPoints": 7}, {"id": "NOON", "from": "1405-01-01T00:00:00", "#
                + #""until": "1406-01-01T00:00:00", "hours": {"from": 12, "until": 13}, "bonusPoints": 100}]"#)
        func points(_ timeMs: Int64) -> Int64 {
            program.evaluate(transaction: Self.purchase(at: timeMs), member: Member()).postings.pointsEarned
        }
        // 1405-01-06 is Thursday 26 March 2026; 1405-01-07 Friday.
        let friday = Self.nowruz1405 + 6 * Self.dayMs
        #expect(points(friday - 60_000) == 10, "Thursday 23:59 in Tehran")
        #expect(points(friday) == 17, "Friday 00:00 in Tehran, Thursday 20:30 in UTC")
        #expect(points(friday + 12 * Self.hourMs) == 117, "Friday 12:00 in Tehran, 08:30 in UTC")
        #expect(points(friday + 13 * Self.hourMs) == 17)
    }

    @Test("a Jalali birthday (1 Farvardin) pays on Nowruz in Tehran, once for 1405, not on 29 Esfand")
    func jalaliBirthdayBonus() throws {
        let program = try Self.program(#", "events": {"birthdayPoints": 500, "birthdayWindowDays": 0}"#)
        var member = Member(birthMonth: 1, birthDay: 1)
        member.enrolmentRewarded = true
        member.firstPurchaseRewarded = true
        let eve = program.evaluate(transaction: Self.purchase(at: Self.nowruz1405 - 60_000), member: member)
        #expect(eve.postings.pointsEarned == 10)
        let birthday = program.evaluate(transaction: Self.purchase(at: Self.nowruz1405), member: eve.memberAfter)
        #expect(birthday.postings.pointsEarned == 510)
        #expect(birthday.memberAfter.birthdayRewardYear == 1405)
        let again = program.evaluate(
            transaction: Self.purchase(at: Self.nowruz1405 + Self.hourMs), member: birthday.memberAfter)
        #expect(again.postings.pointsEarned == 10)
        // Undone and redone, the year is restored from the Persian calendar too.
        let undone = program.undo(birthday.effect, refundedMinor: 100_000, member: birthday.memberAfter)
        #expect(undone.birthdayRewardYear == 0)
        let redone = program.redo(birthday.effect, restoredMinor: 100_000, countsAgain: true, member: undone)
        #expect(redone.birthdayRewardYear == 1405)
    }

    @Test("the daily cap's day and the tier window's day end at Tehran's midnight, not UTC's")
    func capDayAndTierWindowInTehran() throws {
        let program = try Self.program(
            #", "earning": {"default": {"points": 1, "perAmountMinor": 10000}, "pointsPerMemberPerDayMax": 15}, "#
                + #""tiers": {"windowDays": 1, "by": "count", "levels": [{"id": "BASE", "from": 0}, "#
                + #"{"id": "TWICE", "from": 2}]}"#
        )
        // 20:00 and 21:00 UTC on 20 March 2026: one UTC day, two Tehran days (29 Esfand and 1 Farvardin).
        let first = program.evaluate(transaction: Self.purchase(at: Self.nowruz1405 - 1_800_000), member: Member())
        let second = program.evaluate(
            transaction: Self.purchase(at: Self.nowruz1405 + 1_800_000), member: first.memberAfter)
        #expect(first.postings.pointsEarned == 10 && second.postings.pointsEarned == 10, "a new day, a new cap")
        #expect(second.memberAfter.tierWindowIndex == first.memberAfter.tierWindowIndex + 1)
        #expect(second.memberAfter.tierWindowPurchaseCount == 1)
        let third = program.evaluate(
            transaction: Self.purchase(at: Self.nowruz1405 + 2 * Self.hourMs), member: second.memberAfter)
        #expect(third.postings.pointsEarned == 5, "the cap of 1 Farvardin")
    }

    @Test("the Persian example program loads, pays Nowruz ×2 at KOUROSH03 from Tehran's midnight, LUNCH on Saturday")
    func persianExampleProgram() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/rules/club-program-persian.json").path
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        let rules = try #require((root as? [String: Any])?["rules"])
        let program = try Program(json: Array(JSONSerialization.data(withJSONObject: rules)))
        #expect(program.calendar.system == .persian && program.calendar.utcOffsetMs == 210 * 60_000)
        #expect(program.campaignIdentifier(at: 0).description == "NOWRUZ-1405")
        func decide(_ timeMs: Int64, merchant: String, category: UInt16 = 5411) -> Decision {
            let purchase = Transaction(
                amountMinor: 1_000_000, currencyCode: 364, merchantCategoryCode: category,
                merchant: ShortIdentifier(merchant)!, terminal: ShortIdentifier("TERM0001")!, timeMs: timeMs)
            return program.evaluate(transaction: purchase, member: Member())
        }
        // KOUROSH03 is in no mall, so no weekend campaign runs there (29 Esfand 1404 is a Friday).
        #expect(decide(Self.nowruz1405 - 60_000, merchant: "KOUROSH03").explanation.campaigns.matchedCount == 0)
        let nowruz = decide(Self.nowruz1405, merchant: "KOUROSH03").explanation.campaigns
        #expect(nowruz.multiplierCampaignIndex == 0 && nowruz.multiplierPercent == 200)
        // 1405-01-08 is a Saturday: LUNCH (Saturday to Wednesday, 12:00–15:00 Tehran) at a restaurant.
        let saturdayNoon = Self.nowruz1405 + 7 * Self.dayMs + 12 * Self.hourMs
        let lunch = decide(saturdayNoon, merchant: "CAFE01", category: 5812).explanation.campaigns
        #expect(lunch.matchedCount >= 1 && lunch.bonusPoints >= 50)
    }
}
