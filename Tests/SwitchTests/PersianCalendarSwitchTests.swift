import Foundation
import Glibc
import Testing

/// The Persian example program (fixtures/rules/club-program-persian.json: `"calendar": "persian"`,
/// `"utcOffset": "+03:30"`) under the real binary over TCP: a campaign written in Jalali dates starts and ends at
/// Tehran's midnight (20:30 UTC), judged on offline advices whose fields 13/12 say when the sale happened (UTC
/// terminals), and field 48 birthdays are Jalali month and day.
///
/// The switch has no test clock, so the campaign is the fixture's Nowruz campaign moved to the last few days
/// (Jalali dates computed with Foundation) and the birthday is today's Jalali date in Tehran; the fixture's own
/// Nowruz 1405 is checked in process by PersianProgramTests.
@Suite struct PersianCalendarSwitchTests {
    static let tehranOffsetSeconds = 12_600

    static func fixtureRules() throws -> [String: Any] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/rules/club-program-persian.json")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: path)) as? [String: Any]
        var rules = try #require(root?["rules"] as? [String: Any])
        // Offers reward histories; left out so each purchase's points are the rule, the campaign and the events.
        rules["offers"] = nil
        return rules
    }

    /// The Jalali date in Tehran of `time`.
    static func jalali(_ time: time_t) -> (year: Int, month: Int, day: Int) {
        var calendar = Calendar(identifier: .persian)
        calendar.timeZone = TimeZone(secondsFromGMT: tehranOffsetSeconds)!
        let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(time)))
        return (parts.year!, parts.month!, parts.day!)
    }

    /// The instant of 00:00 in Tehran on the Jalali day holding `time`, and that date written as the program does.
    static func tehranMidnight(of time: time_t) -> (time: time_t, text: String) {
        let local = time + time_t(tehranOffsetSeconds)
        let midnight = local - local % 86_400 - time_t(tehranOffsetSeconds)
        let date = jalali(midnight)
        return (midnight, "\(date.year)-\(Wire.digits(date.month, 2))-\(Wire.digits(date.day, 2))T00:00:00")
    }

    @Test("a Jalali campaign starts and ends at Tehran's midnight: ×2 from 20:30 UTC, not at 20:15 UTC")
    func campaignInTehranTime() throws {
        let now = time(nil)
        let start = Self.tehranMidnight(of: now - 3 * 86_400)
        let end = Self.tehranMidnight(of: now - 2 * 86_400)
        var rules = try Self.fixtureRules()
        rules["campaigns"] = [
            [
                "id": "NOWRUZ", "from": start.text, "until": end.text, "scope": ["groups": ["KOUROSH"]],
                "pointsMultiplierPercent": 200,
            ]
        ]
        var settings = SwitchSettings()
        settings.rules = rules
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal(id: "KOUR0001")
            terminal.merchant = "KOUROSH01      "
            let card = Wire.card(301)
            // The first purchase also pays the enrolment and first-purchase bonuses: out of the way first.
            #expect(try client.exchange(terminal.purchase(card, 100_000)).code == "00")
            func advice(soldAt sale: time_t) throws -> Int64? {
                var message = terminal.message(220, processing: "000000", card: card, amount: 100_000)
                let utc = RulesEarningFieldsTests.utc(sale)
                try message.set(13, utc.date)
                try message.set(12, utc.clock)
                return try client.exchange(message).amounts["90/999"]
            }
            // KOUROSH earns 3 points per 10,000 rials: 30 for 100,000, 60 doubled.
            #expect(try advice(soldAt: start.time - 900) == 30, "23:45 in Tehran, the day before")
            #expect(try advice(soldAt: start.time + 900) == 60, "00:15 in Tehran, still 20:45 the day before in UTC")
            #expect(try advice(soldAt: end.time - 900) == 60, "23:45 in Tehran, the campaign's last day")
            #expect(try advice(soldAt: end.time + 900) == 30, "00:15 in Tehran the next day, 20:45 UTC")
        }
    }

    @Test("field 48 birthdays are Jalali: today's Jalali date in Tehran pays the birthday bonus; 1231 is 13")
    func jalaliBirthdayThroughTheSwitch() throws {
        var settings = SwitchSettings()
        settings.rules = try Self.fixtureRules()
        settings.rules["campaigns"] = nil
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal(id: "KOUR0002")
            terminal.merchant = "KOUROSH01      "
            func enrol(_ card: String, birthday: String) throws -> String? {
                var message = terminal.message(200, processing: "910000", card: card)
                try message.set(48, "BD04" + birthday)
                return try client.exchange(message).code
            }
            let today = Self.jalali(time(nil))
            let later = Self.jalali(time(nil) + 100 * 86_400)
            let celebrating = Wire.card(302)
            let notYet = Wire.card(303)
            #expect(try enrol(celebrating, birthday: Wire.digits(today.month, 2) + Wire.digits(today.day, 2)) == "00")
            #expect(try enrol(notYet, birthday: Wire.digits(later.month, 2) + Wire.digits(later.day, 2)) == "00")
            let paid = try #require(try client.exchange(terminal.purchase(celebrating, 100_000)).amounts["90/999"])
            let unpaid = try #require(try client.exchange(terminal.purchase(notYet, 100_000)).amounts["90/999"])
            #expect(paid - unpaid == 500, "the fixture's birthdayPoints, on the Jalali birthday only")
            // 31 Ordibehesht is a Persian birthday (no Gregorian February has it); 31 Esfand is none.
            #expect(try enrol(Wire.card(304), birthday: "0231") == "00")
            #expect(try enrol(Wire.card(305), birthday: "1231") == "13")
            #expect(try enrol(Wire.card(306), birthday: "0731") == "13")
        }
    }
}
