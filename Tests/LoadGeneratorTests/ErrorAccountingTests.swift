import Foundation
import Testing

@testable import LoadGenerator

/// The load generator against a deliberately faulty responder: every kind of wrong answer is noticed, counted,
/// and fails the run.
@Suite("Error accounting against a faulty responder")
struct ErrorAccountingTests {
    static func run(_ fault: TrivialResponder.Fault, durationMs: UInt64 = 300) throws -> LoadResult {
        let responder = try TestResponder(fault: fault)
        defer { responder.stop() }
        var configuration = responder.configuration(durationMs: durationMs)
        configuration.cardPool = CardPool(size: 10_000_000)
        return try responder.run(configuration)
    }

    @Test("a correct responder: every request answered, matched, 00, no errors, SLO errors=0 met")
    func correctResponder() throws {
        let result = try Self.run(.none)
        #expect(result.statistics.sent > 100)
        #expect(result.statistics.answered == result.statistics.sent)
        #expect(result.statistics.errorCount == 0)
        #expect(result.statistics.responseCount("00") == result.statistics.answered)
        #expect(ServiceLevelObjective().misses(result).isEmpty)
    }

    @Test("answers with the wrong STAN are unmatched, and their requests time out")
    func wrongStan() throws {
        // STAN + 1 is usually another request in flight: its card or processing code then gives it away.
        let result = try Self.run(.wrongStan)
        #expect(result.statistics.count(.unmatched) + result.statistics.count(.echoMismatch) > 10)
        #expect(result.statistics.count(.timeout) > 0)
        #expect(result.statistics.answered < 3)
        #expect(!ServiceLevelObjective().misses(result).isEmpty)
    }

    @Test("answers with the wrong MTI are errors, not successes")
    func wrongMTI() throws {
        let result = try Self.run(.wrongMTI)
        #expect(result.statistics.count(.wrongMTI) > 100)
        #expect(result.statistics.answered == 0)
        #expect(result.statistics.count(.timeout) == 0)
    }

    @Test("answers without field 39 are errors")
    func missingResponseCode() throws {
        let result = try Self.run(.missingResponseCode)
        #expect(result.statistics.count(.missingResponseCode) > 100)
        #expect(result.statistics.answered == 0)
    }

    @Test("a responder that closes mid-way: one unexpected close per connection, the requests in flight are lost")
    func closesMidway() throws {
        let result = try Self.run(.closeAfter(20))
        #expect(result.statistics.count(.unexpectedClose) == 2)
        #expect(result.statistics.count(.lostInFlight) > 0)
        #expect(result.statistics.answered <= 40)
        #expect(!ServiceLevelObjective().misses(result).isEmpty)
    }

    @Test("a responder that never answers: every request times out, and the run still ends on time")
    func neverAnswers() throws {
        let started = Date()
        let result = try Self.run(.neverAnswer)
        // 300 ms run, 200 ms timeout: the first 16 time out and free their slots for 16 more, which time out too.
        #expect(result.statistics.sent >= 16)
        #expect(result.statistics.count(.timeout) == result.statistics.sent)
        #expect(result.statistics.answered == 0)
        // A hang would last forever; a loaded machine may stretch the 0.5 s a little, so the bound is generous.
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("a refused connection is reported, not hung on")
    func refusedConnection() throws {
        let responder = try TestResponder()
        let configuration = responder.configuration()
        responder.stop()
        #expect(throws: UsageProblem.self) { try LoadRunner(configuration: configuration).run() }
    }
}
