import Testing

@testable import Loyalty

/// The per-member daily points cap (`earning.pointsPerMemberPerDayMax`, Program.swift `applyDailyCap`): the purchase
/// that reaches it gets the remainder, the day is the UTC day, undo gives the room back on the same day, late
/// uploads are capped alone, and the limit. Base rule: 1 point per whole 10,000 rials.
@Suite("Daily points cap per member")
struct DailyCapTests {
    static let dayMs: Int64 = 86_400_000
    /// 2026-01-01T00:00:00Z.
    static let january: Int64 = 1_767_225_600_000

    static func program(_ earning: String) throws -> Program {
        let json = """
            {"version": 1, "currency": 364,
             "earning": {"default": {"points": 1, "perAmountMinor": 10000}, \(earning)}}
            """
        return try Program(json: Array(json.utf8))
    }

    static func purchase(_ amountMinor: Int64, at timeMs: Int64) -> Transaction {
        Transaction(
            amountMinor: amountMinor, currencyCode: 364, merchantCategoryCode: 5999,
            merchant: ShortIdentifier("SHOP")!, terminal: ShortIdentifier("TERM0001")!, timeMs: timeMs)
    }

    static func run(_ program: Program, _ purchases: [(Int64, Int64)], from member: Member = .new) -> [Decision] {
        var member = member
        var decisions: [Decision] = []
        for (amount, time) in purchases {
            let decision = program.evaluate(transaction: purchase(amount, at: time), member: member)
            member = decision.memberAfter
            decisions.append(decision)
        }
        return decisions
    }

    @Test("cap 100: 60, then the remainder 40 of 50, then 0; the next UTC day starts afresh")
    func remainderThenNothingThenNextDay() throws {
        let program = try Self.program(#""pointsPerMemberPerDayMax": 100"#)
        let noon = Self.january + 12 * 3_600_000
        let decisions = Self.run(
            program,
            [
                (600_000, noon), (500_000, noon + 1), (100_000, Self.january + Self.dayMs - 1),
                (500_000, Self.january + Self.dayMs),
            ])
        #expect(decisions.map(\.postings.pointsEarned) == [60, 40, 0, 50])
        #expect(decisions[1].explanation.pointsNote == .cappedPerMemberPerDay(uncappedPoints: 50))
        #expect(decisions[2].explanation.pointsNote == .cappedPerMemberPerDay(uncappedPoints: 10))
        #expect(decisions[1].memberAfter.pointsEarnedOnDay == 100)
        #expect(decisions[1].memberAfter.pointsDayNumber == 20_454)
        #expect(decisions[3].memberAfter.pointsEarnedOnDay == 50)
        #expect(decisions[1].explanation.description.contains("capped per member per day (uncapped 50)"))
    }

    @Test("undo the same day gives the room back; after the day changed it does not")
    func undoGivesRoomBackSameDay() throws {
        let program = try Self.program(#""pointsPerMemberPerDayMax": 100"#)
        let decisions = Self.run(program, [(600_000, Self.january), (500_000, Self.january + 1)])
        #expect(decisions[1].effect.pointsCountedOnDay == 40)
        let undone = program.undo(decisions[1].effect, refundedMinor: 500_000, member: decisions[1].memberAfter)
        #expect(undone.pointsEarnedOnDay == 60)
        let again = program.evaluate(transaction: Self.purchase(500_000, at: Self.january + 2), member: undone)
        #expect(again.postings.pointsEarned == 40)
        let nextDay = Self.run(program, [(100_000, Self.january + Self.dayMs)], from: decisions[1].memberAfter)[0]
        let late = program.undo(decisions[1].effect, refundedMinor: 500_000, member: nextDay.memberAfter)
        #expect(late.pointsEarnedOnDay == 10)
        // A partial refund keeps the day's count.
        let partial = program.undo(decisions[1].effect, refundedMinor: 1, member: decisions[1].memberAfter)
        #expect(partial.pointsEarnedOnDay == 100)
    }

    @Test("the per-transaction cap applies first, then the daily cap takes what is left")
    func perTransactionThenDaily() throws {
        let program = try Self.program(#""pointsPerTransactionMax": 30, "pointsPerMemberPerDayMax": 100"#)
        let decisions = Self.run(program, (0..<4).map { (600_000, Self.january + Int64($0)) })
        #expect(decisions.map(\.postings.pointsEarned) == [30, 30, 30, 10])
        #expect(decisions[0].explanation.pointsNote == .cappedPerTransaction(uncappedPoints: 60))
        #expect(decisions[3].explanation.pointsNote == .cappedPerMemberPerDay(uncappedPoints: 60))
    }

    @Test("a purchase timed on an earlier day (uploaded late) is capped alone and not counted")
    func latePurchaseCappedAlone() throws {
        let program = try Self.program(#""pointsPerMemberPerDayMax": 100"#)
        let decisions = Self.run(
            program, [(1_000_000, Self.january + Self.dayMs), (2_000_000, Self.january)])
        #expect(decisions.map(\.postings.pointsEarned) == [100, 100])
        #expect(decisions[1].memberAfter.pointsDayNumber == 20_455)
        #expect(decisions[1].memberAfter.pointsEarnedOnDay == 100)
        #expect(decisions[1].effect.pointsCountedOnDay == 0)
    }

    @Test("cap 0 gives no purchase points; the limit 10^9 loads, one more and negatives are refused")
    func limits() throws {
        let none = try Self.program(#""pointsPerMemberPerDayMax": 0"#)
        #expect(Self.run(none, [(600_000, Self.january)])[0].postings.pointsEarned == 0)
        let topJSON = """
            {"version": 1, "currency": 364, "earning": {"default": {"points": 1000000, "perAmountMinor": 1},
             "pointsPerMemberPerDayMax": 1000000000}}
            """
        let top = try Program(json: Array(topJSON.utf8))
        // 2,000 × 1,000,000 = 2 × 10^9 points, cut to the cap 10^9, which the 32-bit day count holds.
        let capped = Self.run(top, [(2_000, Self.january), (2_000, Self.january + 1)])
        #expect(capped.map(\.postings.pointsEarned) == [1_000_000_000, 0])
        #expect(capped[1].memberAfter.pointsEarnedOnDay == 1_000_000_000)
        for bad in ["1000000001", "-1"] {
            #expect(
                throws: ProgramConfigurationError(
                    keyPath: "earning.pointsPerMemberPerDayMax", problem: "must be 0...1000000000")
            ) {
                try Self.program(#""pointsPerMemberPerDayMax": \#(bad)"#)
            }
        }
    }
}
