import Foundation
import Loyalty
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// Birthday greetings (`member.birthday`, kind 29): each member whose birthday is today in the club's calendar and
/// offset is greeted once per year, by a durable record whose key is derived from the member and the year, so a
/// restart, a replay or a snapshot never greets twice nor skips one.
@Suite struct BirthdayGreetingTests {
    static func program(_ extra: String = "") -> Program {
        try! Program(
            json: Array(
                """
                {"version": 1, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 1000}},
                 \(extra) "notifications": {"birthdayGreeting": true}}
                """.utf8))
    }

    /// 2027-02-28T10:00:00Z: a common year's last day of February.
    static let february28Of2027Ms: Int64 = 1_803_808_800_000
    static let dayMs = LotTerms.millisecondsPerDay

    /// A shard state deciding with `program`, its members enrolled with the given birthdays (month, day; 0: none).
    static func state(_ program: Program, birthdays: [(UInt8, UInt8)], nowMs: Int64) -> ShardState {
        var configuration = testConfiguration()
        let decider = LoyaltyDecider(rules: program)
        configuration.decider = decider
        configuration.validate()
        let state = ShardState(shardIndex: 0, shardCount: 1, limits: configuration)
        state.rules = decider.rulesInForce()
        var requests = RequestFactory()
        for (index, birthday) in birthdays.enumerated() {
            let profile = MemberProfile(birthMonth: birthday.0, birthDay: birthday.1)
            var command = ShardCommand(
                request: requests.make(card(index), .profile(profile)), cardHashKey: (11, 22), sink: SinkRegistry.none)
            #expect(state.apply(&command, nowMs: nowMs).reply.status == .approved)
        }
        return state
    }

    /// One step like the shard's; the greeted members (card index) with the year, in order.
    static func step(
        _ state: ShardState, nowMs: Int64, membersMax: Int = 64, greetingsMax: Int = 256
    ) -> [String] {
        var greeted: [String] = []
        _ = state.greetBirthdays(nowMs: nowMs, membersMax: membersMax, greetingsMax: greetingsMax) { command in
            let result = state.apply(&command, nowMs: nowMs)
            #expect(result.isLogged && result.reply.status == .approved)
            let index = (0..<64).first { card($0).hash(key0: 11, key1: 22) == command.cardHash } ?? -1
            greeted.append("c\(index)@\(command.greetingYear)")
        }
        return greeted
    }

    @Test("the key is the member's and the year's: another year or another member is another key, the same pair the same key")
    func keyPerMemberAndYear() {
        let first = card(1).hash(key0: 11, key1: 22)
        let second = card(2).hash(key0: 11, key1: 22)
        #expect(IdempotencyKey.birthday(card: first, year: 2027) == IdempotencyKey.birthday(card: first, year: 2027))
        #expect(IdempotencyKey.birthday(card: first, year: 2027) != IdempotencyKey.birthday(card: first, year: 2028))
        #expect(IdempotencyKey.birthday(card: first, year: 2027) != IdempotencyKey.birthday(card: second, year: 2027))
    }

    @Test("on 28 February of a common year the members born on 28 and 29 February are greeted, not those of 1 March or without a birthday; a second step greets nobody; the next day greets 1 March; a year later each again")
    func gregorianDaysAndYears() {
        let now = Self.february28Of2027Ms
        let state = Self.state(Self.program(), birthdays: [(2, 28), (2, 29), (3, 1), (0, 0), (2, 27)], nowMs: now)
        #expect(Self.step(state, nowMs: now) == ["c0@2027", "c1@2027"])
        #expect(Self.step(state, nowMs: now).isEmpty, "once per member and year")
        #expect(Self.step(state, nowMs: now + Self.dayMs) == ["c2@2027"])
        // 2028 is a leap year: 28 February greets only its own, 29 February the leap-day member.
        let nextYear = now + 365 * Self.dayMs
        #expect(Self.step(state, nowMs: nextYear) == ["c0@2028"])
        #expect(Self.step(state, nowMs: nextYear + Self.dayMs) == ["c1@2028"])
        #expect(Self.step(state, nowMs: nextYear + 2 * Self.dayMs) == ["c2@2028"])
    }

    @Test("the club's offset decides the day: at 21:00 UTC on 20 March a +03:30 club is on 21 March already")
    func offsetDecidesTheDay() {
        let evening: Int64 = 1_774_040_400_000  // 2026-03-20T21:00:00Z
        let local = Self.state(Self.program(#""utcOffset": "+03:30","#), birthdays: [(3, 20), (3, 21)], nowMs: evening)
        #expect(Self.step(local, nowMs: evening) == ["c1@2026"])
        let utc = Self.state(Self.program(), birthdays: [(3, 20), (3, 21)], nowMs: evening)
        #expect(Self.step(utc, nowMs: evening) == ["c0@2026"])
    }

    @Test("under the Persian calendar: on 29 Esfand 1404 (a common year) the members born on 29 and 30 Esfand are greeted with year 1404; 1 Farvardin 1405 greets its own")
    func persianEsfand() {
        let noon: Int64 = 1_774_008_000_000  // 2026-03-20T12:00:00Z, 29 Esfand 1404 in Tehran
        let program = Self.program(#""calendar": "persian", "utcOffset": "+03:30","#)
        let state = Self.state(program, birthdays: [(12, 29), (12, 30), (1, 1), (12, 28)], nowMs: noon)
        #expect(Self.step(state, nowMs: noon) == ["c0@1404", "c1@1404"])
        #expect(Self.step(state, nowMs: noon + Self.dayMs) == ["c2@1405"])
        // 1403 is a leap year: 30 Esfand 1403 (2025-03-20) exists, so 29 Esfand 1403 is not its day.
        #expect(program.birthdayGreetingYear(month: 12, day: 30, atTimeMs: noon - 366 * Self.dayMs) == nil)
        #expect(program.birthdayGreetingYear(month: 12, day: 30, atTimeMs: noon - 365 * Self.dayMs) == 1403)
    }

    @Test("a step greets at most greetingsMax members and looks at most membersMax; the rest come at the next steps, each once")
    func boundPerStep() {
        let now = Self.february28Of2027Ms
        let state = Self.state(Self.program(), birthdays: Array(repeating: (2, 28), count: 7) + [(5, 5)], nowMs: now)
        #expect(Self.step(state, nowMs: now, greetingsMax: 3) == ["c0@2027", "c1@2027", "c2@2027"])
        #expect(Self.step(state, nowMs: now, membersMax: 2) == ["c3@2027", "c4@2027"])
        #expect(Self.step(state, nowMs: now) == ["c5@2027", "c6@2027"])
        #expect(Self.step(state, nowMs: now).isEmpty)
    }

    @Test("greetings off (the default): no step greets anybody")
    func offByDefault() {
        let now = Self.february28Of2027Ms
        let program = try! Program(json: Array(#"{"version": 1, "currency": 364}"#.utf8))
        #expect(program.birthdayGreeting == false)
        let state = Self.state(program, birthdays: [(2, 28)], nowMs: now)
        #expect(Self.step(state, nowMs: now).isEmpty)
    }

    @Test("a greeting record round-trips through the log and reads as member.birthday for the member's card with its year; a record whose key is not its card's and year's does not decode")
    func recordAndEvent() {
        let now = Self.february28Of2027Ms
        let state = Self.state(Self.program(), birthdays: [(2, 28)], nowMs: now)
        var looked = 0
        guard var command = state.nextBirthday(nowMs: now, membersMax: 4, looked: &looked) else {
            Issue.record("nobody to greet")
            return
        }
        let result = state.apply(&command, nowMs: now)
        let body = WALRecord.Body(
            command: command, timeMs: now, status: result.reply.status, balanceAfter: result.reply.balance)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: WALRecord.bodyBytesMax, alignment: 8)
        defer { buffer.deallocate() }
        let length = WALRecord.encodeBody(body, at: buffer)
        guard var decoded = WALRecord.decodeBody(buffer, length: length) else {
            Issue.record("the greeting record does not decode")
            return
        }
        #expect(decoded.command.greetingYear == 2027 && decoded.command.key == command.key)
        let events = WALRecord.events(of: decoded, sequence: 5, decider: nil) ?? []
        #expect(events.map(\.type) == ["member.birthday"])
        #expect(events.first?.value("year") == 2027 && events.first?.member == card(0).hash(key0: 11, key1: 22))
        // Replayed on a fresh state with the same member, it is applied once; a repeat is a known key, not logged.
        let replica = Self.state(Self.program(), birthdays: [(2, 28)], nowMs: now)
        #expect(replica.apply(&decoded.command, nowMs: now).isLogged)
        #expect(!replica.apply(&decoded.command, nowMs: now).isLogged)
        #expect(Self.step(replica, nowMs: now).isEmpty, "the replayed key says the member was greeted")
        // Another year in the record than the key's: refused as it is read.
        buffer.storeBytes(of: UInt16(2028), toByteOffset: length - 8, as: UInt16.self)
        #expect(WALRecord.decodeBody(buffer, length: length) == nil)
    }
}

/// The same on a running ledger: the shard's own step writes the greetings; a restart from the log alone and one
/// from a snapshot greet nobody again.
@Suite struct BirthdayGreetingLedgerTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()

    func configuration() -> LedgerConfiguration {
        var configuration = testConfiguration(clock: clock)
        configuration.decider = LoyaltyDecider(rules: BirthdayGreetingTests.program())
        configuration.lotSweepIntervalMs = 1
        return configuration
    }

    /// The greetings in the log, once at least `count` are there (waits at most about 10 s, then returns what it has).
    func greetings(atLeast count: Int) throws -> [LedgerEvent] {
        var found: [LedgerEvent] = []
        for _ in 0..<1000 {
            found = try LogTailTests.readAll(LogTail(root: directory.path, shard: 0), decider: nil).filter {
                $0.type == "member.birthday"
            }
            if found.count >= count { return found }
            usleep(10_000)
        }
        return found
    }

    @Test("the running shard greets each member once; after a restart from the log and one from a snapshot nobody is greeted again, and a member enrolled later on its birthday is")
    func greetingsAcrossRestartAndSnapshot() throws {
        clock.set(ms: BirthdayGreetingTests.february28Of2027Ms)
        var requests = RequestFactory()
        var ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        for (number, day) in [(1, 28), (2, 28), (3, 27)] {
            let profile = MemberProfile(birthMonth: 2, birthDay: UInt8(day))
            #expect(ledger.perform(requests.make(card(number), .profile(profile))).status == .approved)
        }
        #expect(try greetings(atLeast: 2).count == 2)
        ledger.close(snapshot: false)

        ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        requests = RequestFactory(startingAt: 1000)
        let late = MemberProfile(birthMonth: 2, birthDay: 28)
        #expect(ledger.perform(requests.make(card(4), .profile(late))).status == .approved)
        let second = try greetings(atLeast: 3)
        #expect(second.count == 3, "the replayed shard greets only the new member")
        ledger.close()

        ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        // A purchase after the reopen: once its record is in the log, the shard has had steps since.
        #expect(ledger.perform(requests.make(card(1), earn(1))).status == .approved)
        usleep(100_000)
        let third = try greetings(atLeast: 3)
        #expect(third.count == 3, "after the snapshot too")
        #expect(Set(third.map(\.member)).count == 3 && third.allSatisfy { $0.value("year") == 2027 })
        ledger.close()
    }
}
