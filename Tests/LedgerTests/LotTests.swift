import Foundation
import Testing

@testable import Ledger

/// Day 20000 is 2024-10-04 (UTC); tests run at noon of a day unless they test a boundary.
let lotTestDay: Int64 = 20_000

func noon(ofDay day: Int64) -> Int64 { day * LotTerms.millisecondsPerDay + 12 * 3_600_000 }

/// Drives one `ShardState` in process as a shard would (resolve terms, apply, check lots), and mirrors every
/// logged command through the WAL encoder and decoder into a replica built with a configuration that has no
/// lifetimes: the replica stays equal only if the records, not the configuration, decide the lots.
struct LotHarness {
    let state: ShardState
    let replica: ShardState
    var nowMs: Int64 = noon(ofDay: lotTestDay)
    var requests = RequestFactory()
    static let cardHashKey: (UInt64, UInt64) = (11, 22)

    init(
        _ configure: (inout LedgerConfiguration) -> Void = { _ in },
        replica configureReplica: (inout LedgerConfiguration) -> Void = { _ in }
    ) {
        var configuration = testConfiguration()
        configuration.transfersInFlightMax = 1
        configuration.pointsLifeDays = 30
        configuration.creditLifeDays = 90
        // Holds here live up to 60 days: their keys must be remembered as long (the default is 7 days).
        configuration.idempotencyRetentionMs = 90 * LotTerms.millisecondsPerDay
        configure(&configuration)
        configuration.validate()
        state = ShardState(shardIndex: 0, shardCount: 1, limits: configuration)
        var replicaConfiguration = configuration
        replicaConfiguration.pointsLifeDays = nil
        replicaConfiguration.creditLifeDays = nil
        replicaConfiguration.lotBucketDays = 1
        configureReplica(&replicaConfiguration)
        replica = ShardState(shardIndex: 0, shardCount: 1, limits: replicaConfiguration)
    }

    mutating func run(_ card: CardNumber, _ operation: LedgerOperation, terms: LotTerms = .configured) -> LedgerReply {
        var request = requests.make(card, operation)
        request.lotTerms = terms
        return run(request)
    }

    func run(_ request: LedgerRequest) -> LedgerReply {
        var command = ShardCommand(request: request, cardHashKey: Self.cardHashKey, sink: SinkRegistry.none)
        state.resolveLotTerms(&command, nowMs: nowMs)
        return applyAndMirror(command).reply
    }

    /// One sweep step as the shard thread makes it; nil when there are no members.
    func sweep() -> ApplyResult? {
        guard let command = state.sweepCommand() else { return nil }
        return applyAndMirror(command)
    }

    @discardableResult
    func applyAndMirror(_ pending: ShardCommand) -> ApplyResult {
        var command = pending
        let result = state.apply(&command, nowMs: nowMs)
        #expect(state.lotDisagreement(member: Int(result.touchedMember)) == nil)
        guard result.isLogged else { return result }
        let body = WALRecord.Body(
            command: command, timeMs: nowMs, status: result.reply.status, balanceAfter: result.reply.balance)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: WALRecord.bodyBytesMax, alignment: 8)
        defer { buffer.deallocate() }
        let length = WALRecord.encodeBody(body, at: buffer)
        var decoded = WALRecord.decodeBody(buffer, length: length)!
        #expect(decoded.command.lotTerms == command.lotTerms)
        let replayed = replica.apply(&decoded.command, nowMs: decoded.timeMs)
        #expect(replayed.reply.status == result.reply.status && replayed.reply.balance == result.reply.balance)
        return result
    }

    func member(_ card: CardNumber) -> Int {
        Int(state.cards.cards[state.cards.find(card.hash(key0: Self.cardHashKey.0, key1: Self.cardHashKey.1))!].member)
    }

    /// The member's lots of one asset, oldest first: (amount, expiresOnDay, origin).
    func lots(_ card: CardNumber, _ asset: Asset = .points, in shard: ShardState? = nil) -> [Lot] {
        let shard = shard ?? state
        let member = self.member(card)
        guard member < shard.lots.heads.count else { return [] }
        var found: [Lot] = []
        var current = shard.lots.heads[member].first(asset)
        while current != 0 {
            let record = shard.lots.records[Int(current) - 1]
            found.append(Lot(amount: record.amount, day: Int64(record.expiresOnDay), origin: record.origin))
            current = record.next
        }
        return found
    }

    struct Lot: Equatable, CustomStringConvertible {
        var amount: Int64
        var day: Int64
        var origin: UInt32 = 0
        var description: String { "\(amount)@\(day)" + (origin == 0 ? "" : "/\(origin)") }
    }

    /// Primary and replica agree on every member's balances and lots and on the counters.
    func expectReplicaEqual(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(state.members.count == replica.members.count, sourceLocation: sourceLocation)
        for index in 0..<state.members.count {
            #expect(state.members[index] == replica.members[index], sourceLocation: sourceLocation)
            #expect(replica.lotDisagreement(member: index) == nil, sourceLocation: sourceLocation)
        }
        #expect(state.lots.counters == replica.lots.counters, sourceLocation: sourceLocation)
        #expect(state.lots.activeCount == replica.lots.activeCount, sourceLocation: sourceLocation)
        #expect(throws: Never.self) { try state.checkLotInvariants(directory: "primary") }
        #expect(throws: Never.self) { try replica.checkLotInvariants(directory: "replica") }
    }

    mutating func advance(days: Int64) { nowMs += days * LotTerms.millisecondsPerDay }
}

func redeem(_ amount: Int64, _ asset: Asset = .points) -> LedgerOperation {
    .redeem(asset: asset, amount: amount, allowPartial: false)
}

typealias Lot = LotHarness.Lot

@Suite struct LotTests {
    @Test("spending takes lots oldest expiry first across three lots, whatever order they were earned in")
    func oldestFirstAcrossThreeLots() {
        var harness = LotHarness()
        let day = lotTestDay
        #expect(harness.run(card(1), earn(100)).status == .approved)
        #expect(harness.run(card(1), earn(200), terms: LotTerms(pointsExpiresOnDay: Int32(day + 60))).isApproved)
        #expect(harness.run(card(1), earn(300), terms: LotTerms(pointsExpiresOnDay: Int32(day + 10))).isApproved)
        #expect(
            harness.lots(card(1)) == [
                Lot(amount: 300, day: day + 10), .init(amount: 100, day: day + 30),
                .init(amount: 200, day: day + 60),
            ])
        #expect(harness.run(card(1), redeem(350)).status == .approved)
        #expect(harness.lots(card(1)) == [Lot(amount: 50, day: day + 30), .init(amount: 200, day: day + 60)])
        #expect(harness.run(card(1), redeem(100)).status == .approved)
        #expect(harness.lots(card(1)) == [Lot(amount: 150, day: day + 60)])
        #expect(harness.state.lots.activeCount == 1, "emptied lots went back to the free list")
        harness.expectReplicaEqual()
    }

    @Test("the oldest lot expires at exactly 00:00 UTC of its day, not a millisecond before; the next lot stays")
    func expiryAtExactDayBoundary() {
        var harness = LotHarness()
        let day = lotTestDay + 5
        _ = harness.run(card(1), earn(100), terms: LotTerms(pointsExpiresOnDay: Int32(day)))
        _ = harness.run(card(1), earn(50), terms: LotTerms(pointsExpiresOnDay: Int32(day + 1)))
        harness.nowMs = day * LotTerms.millisecondsPerDay - 1
        #expect(harness.run(card(1), .balance).balance.points == 150)
        #expect(harness.state.lots.counters.expired.points == 0)
        harness.nowMs = day * LotTerms.millisecondsPerDay
        #expect(harness.run(card(1), .balance).balance.points == 50)
        #expect(harness.lots(card(1)) == [Lot(amount: 50, day: day + 1)])
        #expect(
            harness.state.lots.counters
                == LotCounters(
                    expired: AssetAmounts(points: 100),
                    outstanding:
                        AssetAmounts(points: 50)))
        harness.expectReplicaEqual()
    }

    @Test("a credit to a member in debt (refund claw-back) repays the debt first; only the rest forms a lot")
    func creditRepaysDebtBeforeFormingLot() {
        var harness = LotHarness()
        var purchase = harness.requests.make(card(1), earn(100, purchase: 1000))
        purchase.lotTerms = .configured
        _ = harness.run(purchase)
        #expect(harness.run(card(1), redeem(100)).isApproved)
        #expect(harness.run(card(1), .refund(originalKey: purchase.key, refundAmountMinor: 1000)).isApproved)
        #expect(harness.run(card(1), .balance).balance.points == -100)
        #expect(harness.lots(card(1)).isEmpty)
        harness.advance(days: 1)
        #expect(harness.run(card(1), earn(150)).balance.points == 50)
        #expect(harness.lots(card(1)) == [Lot(amount: 50, day: lotTestDay + 31)])
        #expect(harness.state.lots.counters.outstanding.points == 50)
        harness.expectReplicaEqual()
    }

    @Test("reversing a partly spent earn takes its rest oldest lot first; undoing the redeem forms a fresh lot")
    func reversalOfPartlySpentEarn() {
        var harness = LotHarness()
        let first = harness.requests.make(card(1), earn(100))
        _ = harness.run(first)
        harness.advance(days: 1)
        _ = harness.run(card(1), earn(100))
        let spend = harness.requests.make(card(1), redeem(50))
        #expect(harness.run(spend).isApproved)
        #expect(
            harness.lots(card(1)) == [Lot(amount: 50, day: lotTestDay + 30), .init(amount: 100, day: lotTestDay + 31)])
        #expect(harness.run(card(1), .reverse(originalKey: first.key)).isApproved)
        #expect(harness.lots(card(1)) == [Lot(amount: 50, day: lotTestDay + 31)])
        harness.advance(days: 2)
        #expect(harness.run(card(1), .reverse(originalKey: spend.key)).balance.points == 100)
        #expect(
            harness.lots(card(1)) == [Lot(amount: 50, day: lotTestDay + 31), .init(amount: 50, day: lotTestDay + 33)])
        harness.expectReplicaEqual()
    }

    @Test("at lotsPerMemberMax a credit joins the latest-expiring lot (day only moves later); same days share a lot")
    func lotsPerMemberMaxMergesIntoLatest() {
        var harness = LotHarness { $0.lotsPerMemberMax = 3 }
        let day = lotTestDay
        for (offset, amount) in [(10, 1), (20, 2), (30, 3), (20, 4)] as [(Int64, Int64)] {
            #expect(
                harness.run(card(1), earn(amount), terms: LotTerms(pointsExpiresOnDay: Int32(day + offset)))
                    .isApproved)
        }
        #expect(
            harness.lots(card(1)) == [
                Lot(amount: 1, day: day + 10), .init(amount: 6, day: day + 20),
                .init(amount: 3, day: day + 30),
            ])
        #expect(harness.run(card(1), earn(40), terms: LotTerms(pointsExpiresOnDay: Int32(day + 40))).isApproved)
        #expect(harness.run(card(1), earn(5), terms: LotTerms(pointsExpiresOnDay: Int32(day + 5))).isApproved)
        #expect(
            harness.lots(card(1)) == [
                Lot(amount: 1, day: day + 10), .init(amount: 6, day: day + 20),
                .init(amount: 48, day: day + 40),
            ], "never shortened: the day-5 credit also joined the latest lot")
        #expect(harness.run(card(1), .balance).balance.points == 55)
        harness.expectReplicaEqual()
    }

    @Test("at lotsPerShardMax a credit with no lot to join is declined unchanged; joining works; freed records reused")
    func lotsPerShardMaxDeclinesOrJoins() {
        var harness = LotHarness { $0.lotsPerShardMax = 4 }
        #expect(harness.run(card(1), earn(10, credit: 5)).isApproved, "2 records (the other 2 are the reserve)")
        let refused = harness.run(card(2), earn(7))
        #expect(refused.status == .capacityExceeded && refused.balance == .zero)
        harness.advance(days: 3)
        #expect(harness.run(card(1), earn(10, credit: 5)).balance == AssetAmounts(points: 20, credit: 10))
        #expect(harness.lots(card(1)) == [Lot(amount: 20, day: lotTestDay + 33)], "joined, day moved later")
        #expect(harness.run(card(1), redeem(20)).isApproved)
        #expect(harness.run(card(2), earn(7)).balance.points == 7)
        #expect(harness.state.lots.activeCount == 2 && harness.state.lots.records.count == 2, "the freed one reused")
        harness.expectReplicaEqual()
    }

    @Test("expiry spares what a hold reserves; the capture spends the overdue rest, which expires once released")
    func holdKeepsReservedValueThroughExpiry() {
        var harness = LotHarness()
        _ = harness.run(card(1), earn(100))
        let hold = harness.requests.make(
            card(1),
            .hold(
                asset: .points, amount: 80, allowPartial: false,
                expiresAfterMs: 60 * LotTerms.millisecondsPerDay))
        #expect(harness.run(hold).isApproved)
        harness.advance(days: 30)
        let after = harness.run(card(1), .balance)
        #expect(after.balance.points == 80 && after.available.points == 0)
        #expect(harness.state.lots.counters.expired.points == 20)
        #expect(harness.run(card(1), .capture(holdKey: hold.key, amount: 30)).balance.points == 50)
        #expect(harness.lots(card(1)).isEmpty == false)
        #expect(harness.run(card(1), .balance).balance.points == 0, "released remainder of the hold expired")
        #expect(harness.state.lots.counters.expired.points == 70)
        harness.expectReplicaEqual()
    }

    @Test("a sweep step covers at most lotSweepMembersPerStep members, wraps, is logged only if it expires, replays")
    func sweepIsBoundedPerStep() {
        var harness = LotHarness {
            $0.lotSweepMembersPerStep = 10
            $0.pointsLifeDays = 1
        }
        for index in 0..<95 { _ = harness.run(card(index), earn(1, credit: 2)) }
        #expect(harness.sweep()?.isLogged == false, "nothing due yet")
        harness.advance(days: 1)
        var ranges: [Range<Int32>] = []
        var expired = AssetAmounts.zero
        for _ in 0..<10 {
            let command = harness.state.sweepCommand()!
            ranges.append(command.sweepFirstMember..<command.sweepEndMember)
            let result = harness.applyAndMirror(command)
            #expect(result.isLogged)
            expired.points += result.reply.balance.points
            expired.credit += result.reply.balance.credit
        }
        var expected: [Range<Int32>] = []
        for step: Int32 in 1..<10 { expected.append((step * 10)..<min(step * 10 + 10, 95)) }
        expected.append(0..<10)
        #expect(ranges == expected, "the unlogged first step moved the cursor too; the step after 90..<95 wraps")
        #expect(harness.state.lots.sweepCursor == 10)
        #expect(expired == AssetAmounts(points: 95, credit: 0), "credit lives 90 days")
        #expect(
            harness.state.lots.counters
                == LotCounters(
                    expired: AssetAmounts(points: 95),
                    outstanding: AssetAmounts(credit: 190)))
        harness.expectReplicaEqual()
    }

    @Test(
        "a record without the lot option never expires; the option on a non-credit kind or with a zero day is refused")
    func lotTermsDecoding() {
        var command = ShardCommand(kind: .earn, key: IdempotencyKey(word0: 1))
        command.amounts = AssetAmounts(points: 5)
        var body = WALRecord.Body(command: command, timeMs: 1, status: .approved, balanceAfter: .zero)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: WALRecord.bodyBytesMax, alignment: 8)
        defer { buffer.deallocate() }
        var length = WALRecord.encodeBody(body, at: buffer)
        #expect(WALRecord.decodeBody(buffer, length: length)?.command.lotTerms == LotTerms.neverExpires)
        body.command.options.insert(.hasLotTerms)
        body.command.lotTerms = LotTerms(pointsExpiresOnDay: 20_001, creditExpiresOnDay: .max, origin: 7)
        length = WALRecord.encodeBody(body, at: buffer)
        #expect(WALRecord.decodeBody(buffer, length: length)?.command.lotTerms == body.command.lotTerms)
        buffer.storeBytes(of: Int32(0), toByteOffset: length - 12, as: Int32.self)
        #expect(WALRecord.decodeBody(buffer, length: length) == nil, "zero day")
        buffer.storeBytes(of: ShardCommand.kindRaw(.balance), toByteOffset: 0, as: UInt8.self)
        #expect(WALRecord.decodeBody(buffer, length: length) == nil, "lot terms on a balance inquiry")
    }

    @Test("expiry days are rounded up to lotBucketDays, so a week's earns share one lot")
    func bucketRoundsUp() {
        var harness = LotHarness { $0.lotBucketDays = 7 }
        for _ in 0..<7 {
            _ = harness.run(card(1), earn(1))
            harness.advance(days: 1)
        }
        let days = harness.lots(card(1)).map(\.day)
        #expect(days.allSatisfy { $0 % 7 == 0 } && days.count <= 2 && days.first! >= lotTestDay + 30)
        harness.expectReplicaEqual()
    }

    @Test(
        "3000 random operations over 200 days: lots equal positive balances, and a replica fed from the records agrees")
    func randomizedConservation() {
        var harness = LotHarness {
            $0.lotsPerMemberMax = 4
            $0.pointsLifeDays = 20
            $0.creditLifeDays = 45
            $0.lotSweepMembersPerStep = 3
        }
        var generator = SystemRandomNumberGenerator()
        var earns: [LedgerRequest] = []
        for step in 0..<3000 {
            let who = card(Int.random(in: 0..<12, using: &generator))
            switch Int.random(in: 0..<10, using: &generator) {
            case 0...3:
                let request = harness.requests.make(
                    who, earn(Int64.random(in: 1...50), credit: Int64.random(in: 0...9)))
                if harness.run(request).isApproved { earns.append(request) }
            case 4...5:
                _ = harness.run(who, .redeem(asset: .points, amount: Int64.random(in: 1...60), allowPartial: true))
            case 6: _ = harness.run(who, .redeem(asset: .credit, amount: Int64.random(in: 1...20), allowPartial: true))
            case 7 where !earns.isEmpty:
                let original = earns.randomElement(using: &generator)!
                _ = harness.run(original.card, .refund(originalKey: original.key, refundAmountMinor: 250))
            case 8 where !earns.isEmpty:
                _ = harness.run(
                    earns.randomElement(using: &generator)!.card,
                    .reverse(originalKey: earns.randomElement(using: &generator)!.key))
            default: _ = harness.sweep()
            }
            if step % 15 == 0 { harness.advance(days: 1) }
        }
        harness.expectReplicaEqual()
        var positive = AssetAmounts.zero
        for index in 0..<harness.state.members.count {
            positive.points += max(harness.state.members[index].balance.points, 0)
            positive.credit += max(harness.state.members[index].balance.credit, 0)
        }
        #expect(positive == harness.state.lots.counters.outstanding)
        #expect(harness.state.lots.counters.expired.points > 0 && harness.state.lots.counters.expired.credit > 0)
    }

    @Test("the origin is kept per lot: same day and origin share a lot, another origin gets its own, in arrival order")
    func originKeptPerLot() {
        var harness = LotHarness()
        let day = Int32(lotTestDay + 9)
        _ = harness.run(card(1), earn(10), terms: LotTerms(pointsExpiresOnDay: day, origin: 7))
        _ = harness.run(card(1), earn(20), terms: LotTerms(pointsExpiresOnDay: day, origin: 8))
        _ = harness.run(card(1), earn(5), terms: LotTerms(pointsExpiresOnDay: day, origin: 7))
        #expect(
            harness.lots(card(1)) == [
                Lot(amount: 15, day: Int64(day), origin: 7),
                .init(amount: 20, day: Int64(day), origin: 8),
            ])
        #expect(harness.run(card(1), redeem(16)).isApproved)
        #expect(harness.lots(card(1)) == [Lot(amount: 19, day: Int64(day), origin: 8)])
        harness.expectReplicaEqual()
    }

    @Test("undoing a redeem when the shard has no lot record to spare is refused (capacityExceeded), changing nothing")
    func reversalAtShardLimitRefused() {
        var harness = LotHarness { $0.lotsPerShardMax = 3 }
        _ = harness.run(card(1), earn(10))
        let spend = harness.requests.make(card(1), redeem(10))
        #expect(harness.run(spend).isApproved)
        _ = harness.run(card(2), earn(10))
        let refused = harness.run(card(1), .reverse(originalKey: spend.key))
        #expect(refused.status == .capacityExceeded && refused.balance.points == 0)
        #expect(harness.run(card(2), redeem(10)).isApproved)
        #expect(harness.run(card(1), .reverse(originalKey: spend.key)).balance.points == 10, "retried once freed")
        harness.expectReplicaEqual()
    }

    @Test("a transfer across shards keeps the source's latest lot day per asset, in its record and on restore")
    func transferKeepsLatestLotDay() {
        var configuration = testConfiguration(shards: 2)
        configuration.pointsLifeDays = 30
        configuration.transfersInFlightMax = 1
        let source = ShardState(shardIndex: 0, shardCount: 2, limits: configuration)
        let destination = ShardState(shardIndex: 1, shardCount: 2, limits: configuration)
        let key = LotHarness.cardHashKey
        func onShard(_ shard: Int, from start: Int) -> CardNumber {
            var number = start
            while ShardState.shard(of: card(number).hash(key0: key.0, key1: key.1), shardCount: 2) != shard {
                number += 1
            }
            return card(number)
        }
        let (oldCard, newCard) = (onShard(0, from: 1), onShard(1, from: 1))
        var requests = RequestFactory()
        var nowMs = noon(ofDay: lotTestDay)
        func run(_ state: ShardState, _ request: LedgerRequest) -> ApplyResult {
            var command = ShardCommand(request: request, cardHashKey: key, sink: SinkRegistry.none)
            state.resolveLotTerms(&command, nowMs: nowMs)
            return state.apply(&command, nowMs: nowMs)
        }
        _ = run(source, requests.make(oldCard, earn(10), lotTerms: LotTerms(pointsExpiresOnDay: Int32(lotTestDay + 1))))
        _ = run(source, requests.make(oldCard, earn(10)))
        nowMs += 5 * LotTerms.millisecondsPerDay
        _ = run(source, requests.make(oldCard, earn(20)))
        nowMs += 2 * LotTerms.millisecondsPerDay
        let replaced = run(source, requests.make(oldCard, .replace(newCard: newCard)))
        #expect(source.lots.counters.expired.points == 10, "the overdue lot expired; it does not move")
        let transfer = try! #require(replaced.transferOut)
        #expect(source.lots.activeCount == 0 && transfer.lotTerms.pointsExpiresOnDay == Int32(lotTestDay + 35))
        var command = source.transferInCommand(transfer)
        let arrived = destination.apply(&command, nowMs: nowMs + LotTerms.millisecondsPerDay)
        #expect(arrived.reply.balance.points == 30 && destination.lots.counters.outstanding.points == 30)
        #expect(destination.lotDisagreement(member: 0) == nil)
        let head = destination.lots.records[Int(destination.lots.heads[0].firstPoints) - 1]
        #expect(head.expiresOnDay == Int32(lotTestDay + 35) && head.amount == 30)
        var done = source.transferDoneCommand(key: transfer.key, status: .capacityExceeded)
        let refused = source.apply(&done, nowMs: nowMs)
        #expect(refused.isLogged && source.members[0].balance.points == 30)
        let restored = source.lots.records[Int(source.lots.heads[0].firstPoints) - 1]
        #expect(restored.expiresOnDay == Int32(lotTestDay + 35) && source.lotDisagreement(member: 0) == nil)
    }

    @Test("a logged sweep step replays under a smaller configured step size (the step is not a recorded limit)")
    func sweepReplaysUnderSmallerStep() {
        var harness = LotHarness({ $0.lotSweepMembersPerStep = 50 }, replica: { $0.lotSweepMembersPerStep = 2 })
        for index in 0..<40 { _ = harness.run(card(index), earn(3)) }
        harness.advance(days: 31)
        let step = harness.sweep()
        #expect(step?.isLogged == true && step?.reply.balance.points == 120)
        harness.expectReplicaEqual()
    }
}

extension RequestFactory {
    mutating func make(_ card: CardNumber, _ operation: LedgerOperation, lotTerms: LotTerms) -> LedgerRequest {
        var request = make(card, operation)
        request.lotTerms = lotTerms
        return request
    }
}

extension ShardCommand {
    static func kindRaw(_ kind: CommandKind) -> UInt8 { kind.rawValue }
}

extension LedgerReply {
    var isApproved: Bool { status == .approved }
}

/// A snapshot's spent-lot section is refused, not trusted, when its parts cannot be a ring's: its checksum proves
/// only that the bytes are what its writer wrote.
@Suite struct SpentLotSectionTests {
    static func section(_ parts: [SpentLotTable.Part]) -> [UInt8] {
        var bytes = Snapshot.sectionHeader(count: parts.count, start: 0, capacity: 64)
        for part in parts {
            withUnsafeBytes(of: part) { bytes += $0 }
            bytes += [UInt8](repeating: 0, count: MemoryLayout<SpentLotTable.Part>.stride - MemoryLayout<SpentLotTable.Part>.size)
        }
        return bytes
    }

    static func part(_ position: Int64, _ amount: Int64) -> SpentLotTable.Part {
        SpentLotTable.Part(position: position, amount: amount, expiresOnDay: 20_000, origin: 7, asset: .points)
    }

    @Test("parts out of position order, or a negative amount, are a damaged snapshot naming the file and the part; in order they load")
    func disorderedPartsRefused() throws {
        let harness = LotHarness()
        let good = Self.section([Self.part(3, 10), Self.part(3, 5), Self.part(9, 1)])
        let end = try good.withUnsafeBytes {
            try Snapshot.loadSpentLots(from: $0, offset: 0, into: harness.state, path: "s.snap", version: 7)
        }
        #expect(end == good.count && harness.state.spentLots.count == 3)
        #expect(harness.state.spentLots.offsets(of: 3) == 0..<2)

        for (parts, reason) in [
            ([Self.part(9, 1), Self.part(3, 10)], "spent-lot part 1 has position 3, before the 9 of the part before it"),
            ([Self.part(-1, 1)], "spent-lot part 0 has position -1, before the 0 of the part before it"),
            ([Self.part(2, 4), Self.part(5, -4)], "spent-lot part 1 has amount -4"),
        ] {
            let bytes = Self.section(parts)
            #expect {
                try bytes.withUnsafeBytes {
                    _ = try Snapshot.loadSpentLots(from: $0, offset: 0, into: harness.state, path: "s.snap", version: 7)
                }
            } throws: { error in
                "\(error)".contains("s.snap") && "\(error)".contains(reason)
            }
            #expect(harness.state.spentLots.count == 0, "a refused section leaves nothing behind")
        }
    }
}
