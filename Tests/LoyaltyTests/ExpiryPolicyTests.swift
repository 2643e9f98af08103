import Testing

@testable import Loyalty

/// Expiry policy (ExpiryPolicy.swift, the `expiry` section): the expiry instant, never when absent, clamped
/// times, and the section's errors.
@Suite("Expiry policy")
struct ExpiryPolicyTests {
    static func program(_ section: String) throws -> Program {
        try Program(json: Array(#"{"version": 1, "currency": 364\#(section)}"#.utf8))
    }

    @Test("points earned 2026-01-01 10:00 with a 365-day life expire at 2027-01-01 10:00; credit without a life never")
    func expiryInstant() throws {
        let program = try Self.program(#", "expiry": {"pointsLifeDays": 365}"#)
        let earned = CampaignTime.epochMilliseconds("2026-01-01T10:00:00Z")!
        let expiry = CampaignTime.epochMilliseconds("2027-01-01T10:00:00Z")!
        #expect(program.expiry.expiryTimeMs(of: .points, earnedAtTimeMs: earned) == expiry)
        #expect(!program.expiry.isExpired(.points, earnedAtTimeMs: earned, atTimeMs: expiry - 1))
        #expect(program.expiry.isExpired(.points, earnedAtTimeMs: earned, atTimeMs: expiry))
        #expect(program.expiry.expiryTimeMs(of: .credit, earnedAtTimeMs: earned) == nil)
        #expect(!program.expiry.isExpired(.credit, earnedAtTimeMs: earned, atTimeMs: Int64.max))
        #expect(try Self.program("").expiry == ExpiryPolicy())
    }

    @Test("extreme times are clamped: the longest life from the latest time does not overflow")
    func extremes() {
        let policy = ExpiryPolicy(pointsLifeDays: ProgramLimits.lifeDaysMax, creditLifeDays: 1)
        let latest = ExpiryPolicy.latestTimeMs
        #expect(policy.expiryTimeMs(of: .points, earnedAtTimeMs: Int64.max) == latest + 36_600 * 86_400_000)
        #expect(policy.expiryTimeMs(of: .credit, earnedAtTimeMs: -5) == 86_400_000)
    }

    @Test("expiry errors name the key path")
    func errors() {
        func error(_ body: String) -> String? {
            do {
                _ = try Self.program(#", "expiry": {\#(body)}"#)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(error(#""pointsLifeDays": 0"#) == "expiry.pointsLifeDays: must be 1...36600")
        #expect(error(#""creditLifeDays": 36601"#) == "expiry.creditLifeDays: must be 1...36600")
        #expect(error(#""creditLifeDays": 36600"#) == nil)
        #expect(error(#""lotsMax": 5"#)?.hasPrefix("expiry.lotsMax: unknown key") == true)
    }
}
