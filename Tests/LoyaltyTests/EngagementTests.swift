import Testing

@testable import Loyalty

/// Engagement rules (Engagement.swift, Program+Engagement.swift, ProgramConfiguration+Engagement.swift): points per
/// type within a per-member limit per period of the program's calendar, and the configuration's errors by key.
@Suite("Engagement")
struct EngagementTests {
    static func program(_ engagement: String, calendar: String = "") throws -> Program {
        let json = """
            {"version": 1, "currency": 364\(calendar), "engagement": \(engagement)}
            """
        return try Program(json: Array(json.utf8))
    }

    static let surveyTwiceAWeek = """
        {"events": [{"type": "survey", "points": 50, "limit": {"count": 2, "period": "week"}}]}
        """

    static func time(_ text: String) -> Int64 { CampaignTime.epochMilliseconds(text)! }

    static func error(_ engagement: String) -> ProgramConfigurationError? {
        let json = #"{"version": 1, "currency": 364, "engagement": "# + engagement + "}"
        do throws(ProgramConfigurationError) {
            _ = try Program(json: Array(json.utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test("points up to the limit in the period, then limitReached; an unknown type is unknownType")
    func limitInPeriod() throws {
        let program = try Self.program(Self.surveyTwiceAWeek)
        let survey = ShortIdentifier("survey")!
        let monday = Self.time("2026-06-01T09:00:00Z")
        guard case .awarded(50, let period, 1) = program.engage(survey, timeMs: monday, period: 0, count: 0) else {
            Issue.record("the first survey pays")
            return
        }
        #expect(
            program.engage(survey, timeMs: monday, period: period, count: 1)
                == .awarded(points: 50, period: period, count: 2))
        #expect(
            program.engage(survey, timeMs: Self.time("2026-06-07T23:59:59Z"), period: period, count: 2) == .limitReached
        )
        #expect(
            program.engage(survey, timeMs: Self.time("2026-06-08T00:00:00Z"), period: period, count: 2)
                == .awarded(points: 50, period: period + 1, count: 1), "Monday starts a new week")
        #expect(program.engage(ShortIdentifier("review")!, timeMs: monday, period: 0, count: 0) == .unknownType)
    }

    @Test("periods follow the calendar and offset: Persian weeks start on Saturday, months are the calendar's")
    func periodsInTheCalendar() throws {
        let gregorian = ClubCalendar(system: .gregorian, utcOffsetMinutes: 0)
        let persian = ClubCalendar(system: .persian, utcOffsetMinutes: 210)
        let friday = Self.time("2026-06-05T12:00:00Z")
        let saturday = Self.time("2026-06-06T12:00:00Z")
        #expect(gregorian.periodNumber(.week, timeMs: friday) == gregorian.periodNumber(.week, timeMs: saturday))
        #expect(persian.periodNumber(.week, timeMs: friday) + 1 == persian.periodNumber(.week, timeMs: saturday))
        // 1405-03-31 is 2026-06-21 (Tehran); 1405-04-01 the next day.
        let lastOfKhordad = Self.time("2026-06-21T12:00:00Z")
        let firstOfTir = Self.time("2026-06-22T12:00:00Z")
        #expect(
            persian.periodNumber(.month, timeMs: lastOfKhordad) + 1 == persian.periodNumber(.month, timeMs: firstOfTir))
        #expect(
            gregorian.periodNumber(.month, timeMs: lastOfKhordad) == gregorian.periodNumber(.month, timeMs: firstOfTir))
        #expect(gregorian.periodNumber(.year, timeMs: Self.time("2026-12-31T23:59:59Z")) == 2026)
        #expect(gregorian.periodNumber(.month, timeMs: Self.time("2026-03-01T00:00:00Z")) == 2026 * 12 + 2)
        #expect(gregorian.periodNumber(.month, timeMs: Self.time("2026-02-28T23:59:59Z")) == 2026 * 12 + 1)
        #expect(persian.periodNumber(.year, timeMs: Self.time("2026-03-20T21:00:00Z")) == 1405, "Nowruz in Tehran")
        let tehranLate = Self.time("2026-06-05T21:00:00Z")  // 00:30 on Saturday in Tehran
        #expect(persian.periodNumber(.day, timeMs: tehranLate) == gregorian.periodNumber(.day, timeMs: tehranLate) + 1)
        #expect(gregorian.periodNumber(.ever, timeMs: friday) == 0)
    }

    @Test("the section is strict and each error names its key")
    func configurationErrors() throws {
        let cases: [(String, String)] = [
            (#"{"event": []}"#, "engagement.event"),
            (
                #"{"events": [{"type": "survey", "points": 5, "limit": {"count": 1, "period": "fortnight"}}]}"#,
                "engagement.events[0].limit.period"
            ),
            (
                #"{"events": [{"type": "survey", "points": 0, "limit": {"count": 1, "period": "day"}}]}"#,
                "engagement.events[0].points"
            ),
            (
                #"{"events": [{"type": "survey", "points": 5, "limit": {"count": 0, "period": "day"}}]}"#,
                "engagement.events[0].limit.count"
            ),
            (#"{"events": [{"type": "survey", "points": 5}]}"#, "engagement.events[0].limit"),
            (
                #"{"events": [{"type": "survey", "points": 5, "limit": {"count": 1, "period": "day", "x": 1}}]}"#,
                "engagement.events[0].limit.x"
            ),
            (
                #"{"events": [{"type": "a-type-name-too-long", "points": 5, "limit": {"count": 1, "period": "day"}}]}"#,
                "engagement.events[0].type"
            ),
            (
                #"{"events": [{"type": "s", "points": 5, "limit": {"count": 1, "period": "day"}},"#
                    + #" {"type": "s", "points": 6, "limit": {"count": 1, "period": "ever"}}]}"#,
                "engagement.events[1].type"
            ),
        ]
        for (section, keyPath) in cases {
            let error = Self.error(section)
            #expect(error?.keyPath == keyPath, "\(section): \(String(describing: error))")
        }
        let many = (0...ProgramLimits.engagementTypesMax).map {
            #"{"type": "t\#($0)", "points": 1, "limit": {"count": 1, "period": "day"}}"#
        }
        #expect(Self.error(#"{"events": [\#(many.joined(separator: ","))]}"#)?.keyPath == "engagement.events")
        #expect(try Self.program(Self.surveyTwiceAWeek).engagement.count == 1)
        #expect(try Self.program(#"{"events": []}"#).engagement.isEmpty)
    }
}
