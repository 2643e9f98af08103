import Testing

@testable import Loyalty

/// Event bonuses (EventBonuses.swift, Program+Events.swift): enrolment and first purchase once, referral for both
/// members, the birthday window once a year (across New Year and on 29 February), outside the caps, undo making
/// them available again, and the configuration's errors. Base rule: 1 point per whole 10,000 rials, minimum
/// purchase 10,000.
@Suite("Event bonuses")
struct EventBonusTests {
    static let eventsJSON = """
        "events": {"enrolmentPoints": 100, "firstPurchasePoints": 50, "birthdayPoints": 500, "birthdayWindowDays": 7,
                   "referrerPoints": 300, "referredFirstPurchasePoints": 200}
        """

    static func program(_ events: String = eventsJSON, earning: String = "") throws -> Program {
        let json = """
            {"version": 1, "currency": 364,
             "earning": {"minimumPurchaseMinor": 10000, "default": {"points": 1, "perAmountMinor": 10000}\(earning)},
             \(events)}
            """
        return try Program(json: Array(json.utf8))
    }

    static func time(_ text: String) -> Int64 { CampaignTime.epochMilliseconds(text)! }

    static func purchase(_ amountMinor: Int64, at timeMs: Int64 = time("2026-06-01T12:00:00Z")) -> Transaction {
        Transaction(
            amountMinor: amountMinor, currencyCode: 364, merchantCategoryCode: 5999,
            merchant: ShortIdentifier("SHOP")!, terminal: ShortIdentifier("TERM0001")!, timeMs: timeMs)
    }

    @Test("enrolment and first purchase pay once, on the first purchase that reaches the minimum")
    func enrolmentAndFirstPurchaseOnce() throws {
        let program = try Self.program()
        #expect(program.enrolmentPoints == 100)
        let tiny = program.evaluate(transaction: Self.purchase(5_000), member: .new)
        #expect(tiny.postings.pointsEarned == 0)
        #expect(tiny.memberAfter.enrolmentRewarded == false)
        let first = program.evaluate(transaction: Self.purchase(100_000), member: tiny.memberAfter)
        #expect(first.postings.pointsEarned == 160)  // 10 + 100 + 50
        #expect(first.explanation.events == [.enrolment, .firstPurchase])
        #expect(first.explanation.eventPoints == 150)
        #expect(first.referrerBonusPoints == 0)
        #expect(first.explanation.description.hasSuffix("; events +150"))
        let second = program.evaluate(transaction: Self.purchase(100_000), member: first.memberAfter)
        #expect(second.postings.pointsEarned == 10)
        #expect(second.effect.rewardedEvents == [])
    }

    @Test("event bonuses come after the caps and are not cut by them")
    func eventsOutsideCaps() throws {
        let program = try Self.program(earning: #", "pointsPerTransactionMax": 5, "pointsPerMemberPerDayMax": 5"#)
        let first = program.evaluate(transaction: Self.purchase(100_000), member: .new)
        #expect(first.postings.pointsEarned == 155)  // 10 capped to 5, then + 150
        #expect(first.memberAfter.pointsEarnedOnDay == 5)
    }

    @Test("a referred member's first purchase pays them 200 more and the referrer 300, once")
    func referral() throws {
        let program = try Self.program()
        let referred = Member(isReferred: true)
        let first = program.evaluate(transaction: Self.purchase(100_000), member: referred)
        #expect(first.postings.pointsEarned == 360)  // 10 + 100 + 50 + 200
        #expect(first.referrerBonusPoints == 300)
        #expect(first.explanation.events == [.enrolment, .firstPurchase, .referral])
        let second = program.evaluate(transaction: Self.purchase(100_000), member: first.memberAfter)
        #expect(second.referrerBonusPoints == 0)
        #expect(second.postings.pointsEarned == 10)
    }

    @Test("undo of the first purchase makes enrolment, first-purchase and referral bonuses available again")
    func undoFirstPurchase() throws {
        let program = try Self.program()
        let first = program.evaluate(transaction: Self.purchase(100_000), member: Member(isReferred: true))
        let second = program.evaluate(transaction: Self.purchase(100_000), member: first.memberAfter)
        let undone = program.undo(first.effect, refundedMinor: 100_000, member: second.memberAfter)
        #expect(undone.enrolmentRewarded == false)
        #expect(undone.firstPurchaseRewarded == false)
        let again = program.evaluate(transaction: Self.purchase(100_000), member: undone)
        #expect(again.postings.pointsEarned == 360)
        #expect(again.referrerBonusPoints == 300)
        // Undoing the second purchase touches no event.
        let secondUndone = program.undo(second.effect, refundedMinor: 100_000, member: second.memberAfter)
        #expect(secondUndone.firstPurchaseRewarded && secondUndone.enrolmentRewarded)
    }

    @Test("birthday 21 March, window 7 days: 14 March pays, 13 March does not, once a year")
    func birthdayWindowOnceAYear() throws {
        let program = try Self.program()
        var member = program.evaluate(transaction: Self.purchase(100_000), member: Member(birthMonth: 3, birthDay: 21))
            .memberAfter
        func buy(_ time: String) -> Decision {
            let decision = program.evaluate(transaction: Self.purchase(100_000, at: Self.time(time)), member: member)
            member = decision.memberAfter
            return decision
        }
        #expect(buy("2026-03-13T23:59:59Z").postings.pointsEarned == 10)
        let birthday = buy("2026-03-14T00:00:00Z")
        #expect(birthday.postings.pointsEarned == 510)
        #expect(birthday.explanation.events == [.birthday])
        #expect(birthday.memberAfter.birthdayRewardYear == 2026)
        #expect(buy("2026-03-21T12:00:00Z").postings.pointsEarned == 10)
        #expect(buy("2026-03-29T00:00:00Z").postings.pointsEarned == 10)
        #expect(buy("2027-03-28T23:00:00Z").postings.pointsEarned == 510)
        // Undo gives the year back, so the next purchase in the window pays again.
        let undone = program.undo(birthday.effect, refundedMinor: 100_000, member: birthday.memberAfter)
        #expect(undone.birthdayRewardYear == 0)
    }

    @Test("birthday windows cross New Year; 29 February is 28 February in other years; unknown birthday pays nothing")
    func birthdayCalendarEdges() throws {
        let program = try Self.program()
        let started = program.evaluate(transaction: Self.purchase(100_000), member: .new).memberAfter
        var january = started
        (january.birthMonth, january.birthDay) = (1, 2)
        let december = program.evaluate(
            transaction: Self.purchase(100_000, at: Self.time("2025-12-26T08:00:00Z")), member: january)
        #expect(december.postings.pointsEarned == 510)
        #expect(december.memberAfter.birthdayRewardYear == 2026)
        let next = program.evaluate(
            transaction: Self.purchase(100_000, at: Self.time("2026-01-05T08:00:00Z")), member: december.memberAfter)
        #expect(next.postings.pointsEarned == 10)
        let exact = try Self.program(
            Self.eventsJSON.replacingOccurrences(of: "\"birthdayWindowDays\": 7", with: "\"birthdayWindowDays\": 0"))
        var leap = started
        (leap.birthMonth, leap.birthDay) = (2, 29)
        for (time, points) in [
            ("2027-02-28T10:00:00Z", 510), ("2027-03-01T10:00:00Z", 10), ("2028-02-29T10:00:00Z", 510),
        ] {
            #expect(
                exact.evaluate(transaction: Self.purchase(100_000, at: Self.time(time)), member: leap).postings
                    .pointsEarned == Int64(points))
        }
        #expect(
            exact.evaluate(transaction: Self.purchase(100_000, at: Self.time("2028-02-28T10:00:00Z")), member: leap)
                .postings.pointsEarned == 10)
        #expect(Birthday.civilYear(0) == 1970)
        #expect(Birthday.civilYear(20_453) == 2025)  // 2025-12-31
        #expect(Birthday.civilYear(20_454) == 2026)  // 2026-01-01
    }

    @Test("without an events section nothing extra is paid, but first purchases are still marked")
    func noEventsMarksFirstPurchase() throws {
        let program = try Self.program(#""groups": []"#)
        let first = program.evaluate(transaction: Self.purchase(100_000), member: Member(isReferred: true))
        #expect(first.postings.pointsEarned == 10)
        #expect(first.referrerBonusPoints == 0)
        #expect(first.memberAfter.firstPurchaseRewarded)
    }

    @Test("event errors name the key path; the limits load")
    func configurationErrors() throws {
        func error(_ events: String) -> String? {
            do {
                _ = try Self.program(#""events": {\#(events)}"#)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(error(#""birthdayWindowDays": 31"#) == "events.birthdayWindowDays: must be 0...30")
        #expect(error(#""referrerPoints": 1000001"#) == "events.referrerPoints: must be 0...1000000")
        #expect(error(#""enrolmentPoints": -1"#) == "events.enrolmentPoints: must be 0...1000000")
        #expect(error(#""surveyPoints": 5"#)?.hasPrefix("events.surveyPoints: unknown key") == true)
        let all = [
            "enrolmentPoints", "firstPurchasePoints", "birthdayPoints", "referrerPoints", "referredFirstPurchasePoints",
        ]
        #expect(
            error(all.map { #""\#($0)": 1000000"# }.joined(separator: ", ") + #", "birthdayWindowDays": 30"#) == nil)
    }
}
