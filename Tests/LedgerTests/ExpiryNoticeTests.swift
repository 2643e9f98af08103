import Foundation
import Loyalty
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// Expiry notices (`points.expiring`, kind 28) and the members a sweep expired (`points.expired`, kind 14): each
/// (member, expiry day) is told once, by a durable record, and a restart, a replay or a snapshot neither tells it
/// again nor skips it.
@Suite struct ExpiryNoticeTests {
    /// One notice step after another until the pass is done; what each told: (member, day, amounts).
    static func notices(_ harness: inout LotHarness, days: Int, in state: ShardState? = nil) -> [String] {
        let shard = state ?? harness.state
        var told: [String] = []
        for _ in 0..<100 {
            // Enough members per step to go round them all: nil then means nothing is left to tell.
            var looked = 0
            guard let command = shard.nextNotice(nowMs: harness.nowMs, noticeDays: days, membersMax: 16, looked: &looked)
            else { break }
            var applied = command
            let result = state == nil ? harness.applyAndMirror(command) : shard.apply(&applied, nowMs: harness.nowMs)
            #expect(result.isLogged && result.reply.status == .approved)
            told.append("m\(command.noticeMember)@\(Int64(command.noticeDay) - lotTestDay)=\(result.reply.balance.points)")
        }
        return told
    }

    @Test("a step tells each member once per expiry day within the notice days, with that day's sum; a second round, and a replica built from the records alone, tell nothing again; the next day tells only the new day and a new lot")
    func noticeOncePerMemberAndDay() {
        var harness = LotHarness {
            $0.pointsLifeDays = 10
            $0.lotSweepMembersPerStep = 2
        }
        _ = harness.run(card(1), earn(5))  // expires day 10
        _ = harness.run(card(2), earn(4, credit: 0))
        harness.advance(days: 1)
        _ = harness.run(card(1), earn(7))  // day 11
        _ = harness.run(card(2), earn(3))  // day 11
        harness.advance(days: 1)
        _ = harness.run(card(3), earn(2))  // day 12
        harness.advance(days: 2)  // today is day 4: the window is days 5...11
        let told = Self.notices(&harness, days: 7)
        #expect(told == ["m0@10=5", "m0@11=7", "m1@10=4", "m1@11=3"], "\(told)")
        #expect(Self.notices(&harness, days: 7).isEmpty, "the pass is done: nothing is told twice")
        #expect(Self.notices(&harness, days: 7, in: harness.replica).isEmpty, "the replica resumes after the last record")
        harness.advance(days: 1)
        #expect(Self.notices(&harness, days: 7) == ["m2@12=2"])
        #expect(Self.notices(&harness, days: 7, in: harness.replica).isEmpty, "the replica marked it from the record")
        _ = harness.run(card(1), earn(6))  // a lot of day 15, formed after the member was told of its others
        #expect(Self.notices(&harness, days: 10) == ["m0@15=6"], "a lot formed later is told on its own")
        #expect(Self.notices(&harness, days: 0).isEmpty, "0 notice days tell nothing")
    }

    @Test("a notice record round-trips through the log and reads as points.expiring for the member's first card, with the days left; a record without a day does not decode")
    func noticeRecordAndEvent() {
        var harness = LotHarness { $0.pointsLifeDays = 10 }
        _ = harness.run(card(7), earn(9, credit: 0))
        harness.advance(days: 6)
        var looked = 0
        guard var command = harness.state.nextNotice(nowMs: harness.nowMs, noticeDays: 7, membersMax: 8, looked: &looked)
        else {
            Issue.record("nothing to tell")
            return
        }
        let result = harness.state.apply(&command, nowMs: harness.nowMs)
        let body = WALRecord.Body(
            command: command, timeMs: harness.nowMs, status: result.reply.status, balanceAfter: result.reply.balance)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: WALRecord.bodyBytesMax, alignment: 8)
        defer { buffer.deallocate() }
        let length = WALRecord.encodeBody(body, at: buffer)
        guard let decoded = WALRecord.decodeBody(buffer, length: length) else {
            Issue.record("the notice record does not decode")
            return
        }
        #expect(decoded.command.noticeMember == command.noticeMember && decoded.command.noticeDay == command.noticeDay)
        let events = WALRecord.events(of: decoded, sequence: 3, decider: nil) ?? []
        #expect(events.map(\.type) == ["points.expiring"])
        #expect(events.first?.value("points") == 9 && events.first?.value("days") == 4)
        #expect(events.first?.member == card(7).hash(key0: LotHarness.cardHashKey.0, key1: LotHarness.cardHashKey.1))
        // Day 0: not a record any writer writes.
        buffer.storeBytes(of: Int32(0), toByteOffset: length - 4, as: Int32.self)
        #expect(WALRecord.decodeBody(buffer, length: length) == nil)
    }

    @Test("a live sweep step ends after the first member whose value expired and names its card, so each record is one member's points.expired; the replica applies the recorded ranges whole and agrees")
    func sweepTellsEachMemberExpired() {
        var harness = LotHarness {
            $0.pointsLifeDays = 1
            $0.lotSweepMembersPerStep = 10
        }
        for index in 0..<6 { _ = harness.run(card(index), earn(Int64(index + 1))) }
        harness.advance(days: 1)
        var told: [String] = []
        for _ in 0..<10 {
            guard let command = harness.state.sweepCommand(stopsAtExpiry: true),
                let events = Self.applyLogged(&harness, command)
            else { break }
            told += events.map { "\($0.type) \($0.value("points") ?? -1) \($0.masked == .none ? "nobody" : "card")" }
        }
        #expect(told == (1...6).map { "points.expired \($0) card" }, "one record per member, with what it lost")
        harness.expectReplicaEqual()
    }

    /// Applies a live command, writes and reads its record back, replays it on the replica; the record's events,
    /// or nil when nothing was logged.
    static func applyLogged(_ harness: inout LotHarness, _ pending: ShardCommand) -> [LedgerEvent]? {
        var command = pending
        let result = harness.state.apply(&command, nowMs: harness.nowMs)
        guard result.isLogged else { return nil }
        let body = WALRecord.Body(
            command: command, timeMs: harness.nowMs, status: result.reply.status, balanceAfter: result.reply.balance)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: WALRecord.bodyBytesMax, alignment: 8)
        defer { buffer.deallocate() }
        let length = WALRecord.encodeBody(body, at: buffer)
        guard var decoded = WALRecord.decodeBody(buffer, length: length) else {
            Issue.record("the record does not decode")
            return nil
        }
        let replayed = harness.replica.apply(&decoded.command, nowMs: decoded.timeMs)
        #expect(replayed.reply.balance == result.reply.balance, "replay expires the same")
        return WALRecord.events(of: decoded, sequence: 1, decider: nil) ?? []
    }
}

/// The same on a running ledger: the shard's own step writes the notices, a restart from the log alone and one
/// from a snapshot go on where it stopped.
@Suite struct ExpiryNoticeLedgerTests {
    static let program = try! Program(
        json: Array(
            """
            {"version": 1, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 1000}},
             "notifications": {"expiryNoticeDays": 7}}
            """.utf8))
    let directory = TemporaryDirectory()
    let clock = VirtualClock()

    func configuration() -> LedgerConfiguration {
        var configuration = testConfiguration(clock: clock)
        configuration.decider = LoyaltyDecider(rules: Self.program)
        configuration.lotSweepIntervalMs = 1
        return configuration
    }

    var today: Int64 { LotTerms.day(ofMs: clock.nowMs) }

    /// Earns `points` on a lot expiring `inDays` days from today.
    func earnLot(_ ledger: Ledger, _ requests: inout RequestFactory, _ number: Int, _ points: Int64, inDays: Int64) {
        var request = requests.make(card(number), earn(points))
        request.lotTerms = LotTerms(pointsExpiresOnDay: Int32(today + inDays), creditExpiresOnDay: LotTerms.never)
        #expect(ledger.perform(request).status == .approved)
    }

    /// The events of `type` in the log, once at least `count` of them are there (the shard's step runs on its own
    /// thread every millisecond; waits at most about 10 s, then returns what it has).
    func events(_ type: String, atLeast count: Int) throws -> [LedgerEvent] {
        var found: [LedgerEvent] = []
        for _ in 0..<1000 {
            found = try LogTailTests.readAll(LogTail(root: directory.path, shard: 0), decider: nil).filter {
                $0.type == type
            }
            if found.count >= count { return found }
            usleep(10_000)
        }
        return found
    }

    static func told(_ events: [LedgerEvent]) -> [String] {
        events.map { "\($0.masked.description) \($0.value("points") ?? -1) in \($0.value("days") ?? -1)" }.sorted()
    }

    @Test("the running shard tells each (member, expiry day) once; a restart from the log, then one from a snapshot, tell nothing again and go on with the next day; the sweep then tells each member what expired")
    func noticesAcrossRestartAndSnapshot() throws {
        var requests = RequestFactory()
        var ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        earnLot(ledger, &requests, 1, 5, inDays: 5)
        earnLot(ledger, &requests, 2, 4, inDays: 5)
        earnLot(ledger, &requests, 2, 3, inDays: 6)
        earnLot(ledger, &requests, 3, 8, inDays: 30)  // beyond the notice days
        let first = try events("points.expiring", atLeast: 3)
        #expect(first.count == 3, "\(Self.told(first))")
        ledger.close(snapshot: false)

        ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        clock.advance(byMs: LotTerms.millisecondsPerDay)
        requests = RequestFactory(startingAt: 1000)
        earnLot(ledger, &requests, 4, 6, inDays: 7)
        let second = try events("points.expiring", atLeast: 4)
        #expect(second.count == 4, "the replayed shard tells only the new member: \(Self.told(second))")
        ledger.close()

        ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        clock.advance(byMs: LotTerms.millisecondsPerDay)
        earnLot(ledger, &requests, 5, 2, inDays: 7)
        let third = try events("points.expiring", atLeast: 5)
        #expect(third.count == 5, "after the snapshot too: \(Self.told(third))")
        #expect(Set(third.map { "\($0.member) \($0.value("expiresOnDay") ?? 0)" }).count == 5, "no (member, day) twice")

        clock.advance(byMs: 3 * LotTerms.millisecondsPerDay)  // the lots of day 5 are due, those of day 6 not yet
        let expired = try events("points.expired", atLeast: 2)
        #expect(expired.count == 2 && Set(expired.map { $0.value("points") }) == [5, 4], "\(Self.told(expired))")
        ledger.close()
        let reread = try LogTailTests.readAll(LogTail(root: directory.path, shard: 0), decider: nil)
        #expect(reread.filter { $0.type == "points.expiring" }.count == 5)
    }
}
