import Foundation
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// Lottery entries on the ledger (kind 21): a points debit spent from the lots like a redemption, refused when
/// short or at/after the lottery's close by the shard's own time, exactly once by key, replayed alike.
@Suite struct LedgerLotteryTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    var closesAtMs: Int64 { clock.nowMs + 3_600_000 }

    func purchase(_ entries: Int64, perEntry: Int64 = 10, closesAtMs: Int64, lottery: UInt64 = 7) -> LedgerOperation {
        .lotteryEntry(
            LotteryPurchase(lottery: lottery, entries: entries, points: entries * perEntry, closesAtMs: closesAtMs))
    }

    func stamped(_ request: LedgerRequest, operation: UInt64) -> LedgerRequest {
        var request = request
        request.admin = AdminStamp(operation: operation, actor: 0xABCD, role: 1, reason: 0)
        return request
    }

    @Test("entries debit entries × points; short points are insufficientFunds and change nothing; any card status")
    mutating func debitAndShort() throws {
        defer { directory.remove() }
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        defer { ledger.close() }
        _ = ledger.perform(requests.make(card(1), earn(100)))
        let bought = ledger.perform(requests.make(card(1), purchase(3, closesAtMs: closesAtMs)))
        #expect(bought.status == .approved && bought.debited.points == 30 && bought.balance.points == 70)
        let short = ledger.perform(requests.make(card(1), purchase(8, closesAtMs: closesAtMs)))
        #expect(short.status == .insufficientFunds && short.debited == .zero && short.balance.points == 70)
        _ = ledger.perform(requests.make(card(1), .hold(asset: .points, amount: 50, allowPartial: false, expiresAfterMs: 60_000)))
        let held = ledger.perform(requests.make(card(1), purchase(3, closesAtMs: closesAtMs)))
        #expect(held.status == .insufficientFunds, "held points are not available")
        _ = ledger.perform(requests.make(card(1), .block))
        let blocked = ledger.perform(requests.make(card(1), purchase(2, closesAtMs: closesAtMs)))
        #expect(blocked.status == .approved && blocked.balance.points == 50, "the member pays, not the card")
        #expect(ledger.perform(requests.make(card(2), purchase(1, closesAtMs: closesAtMs))).status == .unknownCard)
        let malformed = ledger.perform(requests.make(card(1), purchase(0, closesAtMs: closesAtMs)))
        #expect(malformed.status == .invalidAmount && malformed.debited == .zero)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 50)
    }

    @Test("at or after closesAt by the shard's clock: declined, nothing debited")
    mutating func closedByShardTime() throws {
        defer { directory.remove() }
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        defer { ledger.close() }
        _ = ledger.perform(requests.make(card(1), earn(100)))
        let closes = clock.nowMs + 1_000
        #expect(ledger.perform(requests.make(card(1), purchase(1, closesAtMs: closes))).status == .approved)
        clock.advance(byMs: 1_000)
        let atClose = ledger.perform(requests.make(card(1), purchase(1, closesAtMs: closes)))
        #expect(atClose.status == .declined && atClose.balance.points == 90, "closesAt itself is closed")
    }

    @Test("exactly once by key: a repeat is the first answer and debits nothing more; other content conflicts")
    mutating func exactlyOnce() throws {
        defer { directory.remove() }
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        defer { ledger.close() }
        _ = ledger.perform(requests.make(card(1), earn(100)))
        let request = stamped(requests.make(card(1), purchase(2, closesAtMs: closesAtMs)), operation: 5)
        let first = ledger.perform(request)
        let again = ledger.perform(request)
        #expect(first.status == .approved && again.isReplay && again.balance.points == 80 && again.debited.points == 20)
        var other = request
        other.digest = ContentDigest(high: 99, low: 99)
        #expect(ledger.perform(other).status == .keyConflict)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 80)
    }

    @Test("replay after a restart and after a snapshot: the same balances, stamped records to repair, keys answered")
    mutating func replayAndSnapshot() throws {
        defer { directory.remove() }
        var ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        _ = ledger.perform(requests.make(card(1), earn(100)))
        let closes = clock.nowMs + 1_000
        let bought = stamped(requests.make(card(1), purchase(4, closesAtMs: closes, lottery: 0x1234)), operation: 21)
        #expect(ledger.perform(bought).balance.points == 60)
        clock.advance(byMs: 2_000)
        let late = stamped(requests.make(card(1), purchase(1, closesAtMs: closes, lottery: 0x1234)), operation: 22)
        #expect(ledger.perform(late).status == .declined)
        ledger.close(snapshot: false)

        ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        let records = ledger.recoveryReports.flatMap(\.adminRecords)
        #expect(records.map(\.change) == [.lotteryEntry(lottery: 0x1234, entries: 4, points: 40)], "the decline is not")
        #expect(records.first?.stamp.operation == 21 && records.first?.card == ledger.cardHash(of: card(1)))
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 60)
        #expect(ledger.perform(bought).isReplay)
        ledger.close(snapshot: true)
        #expect(filesUnder(directory.data).contains { $0.hasSuffix(".snap") })

        ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        defer { ledger.close() }
        let repeated = ledger.perform(bought)
        #expect(repeated.isReplay && repeated.balance.points == 60 && repeated.debited.points == 40)
        #expect(LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider()).isSound)
    }

    @Test("the points leave the oldest-expiring lot first, as a redemption's: what is left outlives the first lot")
    mutating func spendsOldestLotFirst() throws {
        defer { directory.remove() }
        var configuration = testConfiguration(clock: clock)
        configuration.pointsLifeDays = 30
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        defer { ledger.close() }
        _ = ledger.perform(requests.make(card(1), earn(100)))
        clock.advance(byMs: 10 * 86_400_000)
        _ = ledger.perform(requests.make(card(1), earn(100)))
        let closes = clock.nowMs + 60 * 86_400_000
        #expect(ledger.perform(requests.make(card(1), purchase(15, closesAtMs: closes))).balance.points == 50)
        clock.advance(byMs: 25 * 86_400_000)
        #expect(
            ledger.perform(requests.make(card(1), .balance)).balance.points == 50,
            "the first lot (spent) expired with nothing in it; the second still holds 50")
        clock.advance(byMs: 10 * 86_400_000)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 0, "then the second expires")
    }

    @Test("an approved entry purchase is points.redeemed with the lottery and the entries; a declined one is nothing")
    func redeemedEvent() {
        var command = ShardCommand(kind: .lotteryEntry, key: IdempotencyKey(word0: 1, word1: 2))
        command.lottery = LotteryPurchase(lottery: 0xABC, entries: 3, points: 30, closesAtMs: 5)
        let body = WALRecord.Body(
            command: command, timeMs: 1, status: .approved, balanceAfter: AssetAmounts(points: 70, credit: 0))
        let events = WALRecord.events(of: body, sequence: 9, decider: nil) ?? []
        #expect(events.map(\.type) == ["points.redeemed"])
        let fields = Dictionary(uniqueKeysWithValues: events.first?.fields.map { ($0.key, $0.value) } ?? [])
        #expect(fields["points"] == 30 && fields["balance"] == 70 && fields["lottery"] == 0xABC)
        #expect(fields["lotteryEntries"] == 3)
        var declined = body
        declined.status = .insufficientFunds
        #expect(WALRecord.events(of: declined, sequence: 10, decider: nil)?.isEmpty == true)
    }

    @Test("the record round-trips its purchase; a record cut short does not decode")
    func recordLayout() {
        var command = ShardCommand(kind: .lotteryEntry, key: IdempotencyKey(word0: 1, word1: 2))
        command.lottery = LotteryPurchase(lottery: 0xABC, entries: 3, points: 30, closesAtMs: 5)
        let body = WALRecord.Body(command: command, timeMs: 1, status: .approved, balanceAfter: .zero)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: WALRecord.bodyBytesMax, alignment: 8)
        defer { buffer.deallocate() }
        let length = WALRecord.encodeBody(body, at: buffer)
        #expect(WALRecord.decodeBody(buffer, length: length)?.command.lottery == command.lottery)
        #expect(WALRecord.decodeBody(buffer, length: length - 8) == nil)
    }
}
