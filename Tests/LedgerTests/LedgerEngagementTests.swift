import Foundation
import Loyalty
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// Engagement events on the ledger: the rules decide the points within the member's limit per period, the ledger
/// books them and keeps the count; the record carries the decision, so replay and snapshots keep the counts.
@Suite struct LedgerEngagementTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    /// A survey pays 50 twice a day; an app install 200 once ever.
    static let program = LedgerPurchaseTests.program(
        """
        "engagement": {"events": [
          {"type": "survey", "points": 50, "limit": {"count": 2, "period": "day"}},
          {"type": "app-install", "points": 200, "limit": {"count": 1, "period": "ever"}}]}
        """)

    static func type(_ name: String) -> EngagementType {
        let identifier = ShortIdentifier(name)!
        return EngagementType(high: identifier.packed.high, low: identifier.packed.low)
    }

    func open(_ configure: (inout LedgerConfiguration) -> Void = { _ in }) throws -> Ledger {
        var configuration = testConfiguration(clock: clock)
        configure(&configuration)
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        ledger.setRules(Self.program)
        return ledger
    }

    mutating func event(_ ledger: Ledger, _ number: Int, _ type: String, key: UInt64? = nil) -> LedgerReply {
        var request = requests.make(card(number), .engage(type: Self.type(type)))
        if let key {
            request.key = IdempotencyKey(word0: 0xE7E7, word1: key)
            request.digest = ContentDigest(high: 1, low: UInt64(number))
        }
        return ledger.perform(request)
    }

    @Test("an event pays its points up to the limit; over it 0 points (partiallyApproved); the next day counts anew")
    mutating func limitPerDay() throws {
        defer { directory.remove() }
        let ledger = try open()
        defer { ledger.close() }
        _ = ledger.perform(requests.make(card(1), .enrol))
        let first = event(ledger, 1, "survey")
        #expect(first.status == .approved && first.credited.points == 50 && first.balance.points == 50)
        #expect(event(ledger, 1, "survey").balance.points == 100)
        let over = event(ledger, 1, "survey")
        #expect(over.status == .partiallyApproved && over.credited == .zero && over.balance.points == 100)
        let install = event(ledger, 1, "app-install")
        #expect(install.status == .approved && install.balance.points == 300, "each type has its own count")
        clock.advance(byMs: 86_400_000)
        #expect(event(ledger, 1, "survey").credited.points == 50, "a new day, a new count")
        #expect(event(ledger, 1, "app-install").status == .partiallyApproved, "once ever is once ever")
    }

    @Test("a repeat by key is the first answer (also over the limit); the same key with other content conflicts")
    mutating func repeatsByKey() throws {
        defer { directory.remove() }
        let ledger = try open()
        defer { ledger.close() }
        _ = ledger.perform(requests.make(card(1), .enrol))
        let first = event(ledger, 1, "app-install", key: 1)
        let repeated = event(ledger, 1, "app-install", key: 1)
        #expect(repeated.isReplay && repeated.status == .approved && repeated.credited.points == 200)
        #expect(repeated.balance.points == 200 && first.balance.points == 200)
        let limited = event(ledger, 1, "app-install", key: 2)
        #expect(limited.status == .partiallyApproved && !limited.isReplay)
        let limitedAgain = event(ledger, 1, "app-install", key: 2)
        #expect(limitedAgain.isReplay && limitedAgain.status == .partiallyApproved && limitedAgain.credited == .zero)
        var other = requests.make(card(1), .engage(type: Self.type("survey")))
        other.key = IdempotencyKey(word0: 0xE7E7, word1: 1)
        other.digest = ContentDigest(high: 2, low: 1)
        #expect(ledger.perform(other).status == .keyConflict)
    }

    @Test("unknown type or no rules: notPermitted, nothing paid; an unknown card: unknownCard")
    mutating func refusals() throws {
        defer { directory.remove() }
        let ledger = try open()
        _ = ledger.perform(requests.make(card(1), .enrol))
        let unknown = event(ledger, 1, "review")
        #expect(unknown.status == .notPermitted && unknown.balance.points == 0)
        #expect(event(ledger, 2, "survey").status == .unknownCard)
        ledger.close()
        let withoutRules = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        defer { withoutRules.close() }
        #expect(event(withoutRules, 1, "survey").status == .notPermitted, "no rules decide nothing")
    }

    @Test("counts and keys survive a replay of the log and a snapshot (format 7); admin records carry the points")
    mutating func countsSurviveRestarts() throws {
        defer { directory.remove() }
        var ledger = try open()
        _ = ledger.perform(requests.make(card(1), .enrol))
        var stamped = requests.make(card(1), .engage(type: Self.type("survey")))
        stamped.admin = AdminStamp(operation: 42, actor: 7, role: 1, reason: 0)
        #expect(ledger.perform(stamped).credited.points == 50)
        #expect(event(ledger, 1, "survey", key: 9).credited.points == 50)
        ledger.close(snapshot: false)

        ledger = try open()
        let records = ledger.recoveryReports.flatMap(\.adminRecords)
        #expect(records.map(\.change) == [.engage(type: Self.type("survey"), points: 50, limited: false)])
        #expect(event(ledger, 1, "survey").status == .partiallyApproved, "the replayed count limits")
        #expect(event(ledger, 1, "survey", key: 9).isReplay, "the replayed key answers")
        ledger.close(snapshot: true)

        let snapshots = filesUnder(directory.data).filter { $0.hasSuffix(".snap") }
        #expect(!snapshots.isEmpty)
        ledger = try open()
        defer { ledger.close() }
        #expect(event(ledger, 1, "survey").status == .partiallyApproved, "the snapshot's count limits")
        let repeated = event(ledger, 1, "survey", key: 9)
        #expect(repeated.isReplay && repeated.credited.points == 50, "the snapshot's key answers")
        #expect(event(ledger, 1, "app-install").credited.points == 200)
        #expect(MemoryLayout<EngagementRecord>.stride == 32, "the snapshot section's element layout")
    }

    @Test("at engagementCountsPerShardMax a new (member, type) is capacityExceeded; counted ones go on")
    mutating func countTableLimit() throws {
        defer { directory.remove() }
        let ledger = try open { $0.engagementCountsPerShardMax = 2 }
        defer { ledger.close() }
        for number in 1...2 { _ = ledger.perform(requests.make(card(number), .enrol)) }
        #expect(event(ledger, 1, "survey").status == .approved)
        #expect(event(ledger, 1, "app-install").status == .approved)
        let full = event(ledger, 2, "survey")
        #expect(full.status == .capacityExceeded && full.balance.points == 0, "declined before anything changed")
        #expect(event(ledger, 1, "survey").status == .approved, "an existing count still counts")
        clock.advance(byMs: 86_400_000)
        #expect(event(ledger, 1, "survey").status == .approved, "a new period reuses the member's entry")
    }
}
