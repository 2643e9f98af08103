import Foundation
import Loyalty
import LoyaltyLedger
import Synchronization
import Testing

@testable import Ledger
import TestSupport

/// The notification outbox is the log: `LogTail` reads a shard's durable records read-only and turns each into
/// the events its decision says, with the same events (and so the same ids) after a restart, a replay and a
/// snapshot; the log it still needs is held past snapshots up to a bound, past which authorizations go on and the
/// records given up are counted.
@Suite struct LogTailTests {
    static let program = try! Program(
        json: Array(
            """
            {"version": 4, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 1000}},
             "tiers": {"windowDays": 30, "by": "volume",
                       "levels": [{"id": "BRONZE", "from": 0}, {"id": "GOLD", "from": 100000}]},
             "redemption": {"pointValueMinor": 10, "maximumSharePercent": 50, "partialApproval": true}}
            """.utf8))
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    func configuration() -> LedgerConfiguration {
        var configuration = testConfiguration(clock: clock)
        configuration.decider = LoyaltyDecider(rules: Self.program)
        return configuration
    }

    static func purchase(_ amountMinor: Int64) -> LedgerOperation {
        .purchase(
            transaction: Transaction(
                amountMinor: amountMinor, currencyCode: 364, merchantCategoryCode: 5411,
                merchant: ShortIdentifier("SHOP-1")!, terminal: ShortIdentifier("T1")!, timeMs: 0),
            autoEnrol: true)
    }

    static func readAll(_ tail: LogTail, decider: Decider?) throws -> [LedgerEvent] {
        var events: [LedgerEvent] = []
        var after: UInt64 = 0
        for _ in 0..<1000 {
            let batch = try tail.events(after: after, recordsMax: 7, decider: decider)
            if batch.lastSequence == after { return events }
            events += batch.events
            after = batch.lastSequence
        }
        Issue.record("the tail never reached the end")
        return events
    }

    static func summary(_ events: [LedgerEvent]) -> [String] {
        events.map { event in
            "\(event.type)@\(event.sequence).\(event.index)"
                + event.fields.map { " \($0.key)=\($0.value)" }.joined()
        }
    }

    @Test("purchases, a tier change, a redemption, a reversal, an admin block and adjustment give their events; declines give none; a restart reads the same events")
    mutating func recordsToEvents() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        let first = requests.make(card(1), Self.purchase(20_000))
        #expect(ledger.perform(first).status == .approved)
        #expect(ledger.perform(requests.make(card(1), Self.purchase(90_000))).status == .approved)
        #expect(ledger.perform(requests.make(card(1), .redeem(asset: .points, amount: 30, allowPartial: false))).status == .approved)
        let tooMuch = ledger.perform(requests.make(card(1), .redeem(asset: .points, amount: 1_000, allowPartial: false)))
        #expect(tooMuch.status == .insufficientFunds, "a decline changes nothing and tells nothing")
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: first.key))).status == .approved)
        var adjust = requests.make(card(1), .adjust(asset: .points, amount: 15))
        adjust.admin = AdminStamp(operation: 7, actor: 1, role: 1, reason: 0)
        #expect(ledger.perform(adjust).status == .approved)
        var block = requests.make(card(1), .block)
        block.admin = AdminStamp(operation: 8, actor: 1, role: 1, reason: 1)
        #expect(ledger.perform(block).status == .approved)
        #expect(ledger.perform(requests.make(card(1), Self.purchase(5_000))).status == .cardBlocked)

        let decider = LoyaltyDecider(rules: Self.program)
        let live = try Self.readAll(LogTail(root: directory.path, shard: 0), decider: decider)
        let types = live.map(\.type)
        #expect(
            types == [
                "points.earned", "points.earned", "tier.changed", "points.redeemed", "points.reversed",
                "bonus.awarded", "card.blocked",
            ], "enrolment and first purchase pay 0 here: no bonus told; \(Self.summary(live))")
        guard live.count == 7 else { return }
        #expect(live[0].value("points") == 20 && live[0].value("balance") == 20 && live[0].value("amountMinor") == 20_000)
        #expect(live[2].value("tier") == 1 && live[2].value("previousTier") == 0 && live[2].index == 1)
        #expect(live[2].sequence == live[1].sequence && live[1].index == 0)
        #expect(live[3].value("points") == 30 && live[3].value("balance") == 80)
        #expect(live[4].value("balance") == 60, "the reversal takes the first purchase's 20 points back")
        #expect(live[4].value("pointsChange") == -20 && live[4].value("creditChange") == 0, "the record says so")
        #expect(live[5].value("points") == 15 && live[5].value("reason") == 5 && live[5].value("balance") == 75)
        #expect(live[6].value("reason") == 1)
        #expect(Set(live.map(\.member)) == [ledger.cardHash(of: card(1))] && live.allSatisfy { $0.masked != .none })
        ledger.close()

        let reopened = try Ledger.open(directory: directory.path, configuration: configuration())
        defer { reopened.close() }
        let replayed = try Self.readAll(LogTail(root: directory.path, shard: 0), decider: decider)
        #expect(replayed == live, "a restart and its replay read the very same events")
    }

    @Test("a refund and its reversal tell the points they moved, from the record (kept there, checked on replay); a record without the amounts (written before they were kept) still decodes and gives its event without them")
    mutating func undoneAmountsAreRecorded() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        let purchase = requests.make(card(2), Self.purchase(40_000))
        #expect(ledger.perform(purchase).status == .approved)
        let refund = requests.make(card(2), .refund(originalKey: purchase.key, refundAmountMinor: 20_000))
        #expect(ledger.perform(refund).status == .approved)
        #expect(ledger.perform(requests.make(card(2), .reverse(originalKey: refund.key))).status == .approved)
        ledger.close()
        let reopened = try Ledger.open(directory: directory.path, configuration: configuration())
        reopened.close()
        let events = try Self.readAll(LogTail(root: directory.path, shard: 0), decider: LoyaltyDecider(rules: Self.program))
        let undos = events.filter { $0.type == "points.refunded" || $0.type == "points.reversed" }
        #expect(undos.map(\.type) == ["points.refunded", "points.reversed"], "\(Self.summary(events))")
        guard undos.count == 2 else { return }
        #expect(undos[0].value("pointsChange") == -20 && undos[0].value("amountMinor") == 20_000)
        #expect(undos[1].value("pointsChange") == 20, "reversing the refund gives the points back")

        var command = ShardCommand(kind: .reverse, key: purchase.key)
        command.cardHash = reopened.cardHash(of: card(2))
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: WALRecord.bodyBytesMax, alignment: 8)
        defer { buffer.deallocate() }
        let old = WALRecord.Body(command: command, timeMs: 1, status: .approved, balanceAfter: .zero)
        let oldLength = WALRecord.encodeBody(old, at: buffer)
        let oldRead = try #require(WALRecord.decodeBody(buffer, length: oldLength))
        #expect(oldRead.undone == nil && (buffer + 5).load(as: UInt8.self) == 0, "the flags byte stays 0 without them")
        let oldEvents = WALRecord.events(of: oldRead, sequence: 1, decider: nil) ?? []
        #expect(oldEvents.count == 1 && oldEvents[0].value("pointsChange") == nil && oldEvents[0].value("balance") == 0)
        var new = old
        new.undone = WALRecord.UndoneAmounts(credited: .zero, debited: AssetAmounts(points: 7, credit: 3))
        let newLength = WALRecord.encodeBody(new, at: buffer)
        #expect(newLength == oldLength + 32)
        #expect(WALRecord.decodeBody(buffer, length: newLength)?.undone == new.undone)
        #expect(WALRecord.decodeBody(buffer, length: newLength - 16) == nil, "cut amounts do not decode")
    }

    @Test("a gift card's issue and load are giftcard.loaded with the amount and currency; its payment tells nothing")
    mutating func giftCardEvents() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        #expect(ledger.perform(requests.make(card(3), .issueGift(amountMinor: 5_000, currencyCode: 978))).status == .approved)
        #expect(ledger.perform(requests.make(card(3), .loadGift(amountMinor: 700))).status == .approved)
        var pay = requests.make(card(3), .pay(amountMinor: 300, policy: LedgerGiftCardTests.wholePolicy, merchant: LedgerGiftCardTests.shop))
        pay.currencyCode = 978
        #expect(ledger.perform(pay).status == .approved)
        ledger.close()
        let events = try Self.readAll(LogTail(root: directory.path, shard: 0), decider: LoyaltyDecider(rules: Self.program))
        #expect(events.map(\.type) == ["giftcard.loaded", "giftcard.loaded"], "\(Self.summary(events))")
        guard events.count == 2 else { return }
        #expect(events[0].value("amount") == 5_000 && events[0].value("currency") == 978)
        #expect(events[1].value("amount") == 700)
    }

    /// The tail reads a segment a chunk at a time, so one read takes in bytes past the acknowledged mark: the
    /// preallocated zeros, or a record the writer is still writing. Those are read again once acknowledged.
    @Test("a tail over a live log: reads between batches and beside the writer give every record once, in order, never a damaged one")
    mutating func tailOverLiveLog() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        let tail = LogTail(root: directory.path, shard: 0)
        var after: UInt64 = 0
        for round in 0..<20 {
            for index in 0..<(round % 7 + 1) {
                #expect(ledger.perform(requests.make(card(index), Self.purchase(10_000))).status == .approved)
            }
            var gap = LogTail.Gap(recordsSkipped: 0, recordsUnreadable: 0)
            let entries = try tail.read(after: after, limit: 1_000, gap: &gap)
            #expect(entries.map(\.sequence) == Array((after + 1)..<(after + 1 + UInt64(round % 7 + 1))), "round \(round)")
            after = entries.last?.sequence ?? after
        }
        // Beside the writer: a second tail reads as fast as it can while purchases are applied one by one.
        let written = after + 3_000
        let path = directory.path
        let result = Mutex<(sequences: [UInt64], failure: String?)>(([], nil))
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let live = LogTail(root: path, shard: 0)
            var sequences: [UInt64] = []
            var last: UInt64 = 0
            var failure: String?
            for _ in 0..<2_000_000 where last < written && failure == nil {
                var gap = LogTail.Gap(recordsSkipped: 0, recordsUnreadable: 0)
                do {
                    let entries = try live.read(after: last, limit: 3, gap: &gap)
                    sequences += entries.map(\.sequence)
                    last = entries.last?.sequence ?? last
                } catch {
                    failure = "\(error)"
                }
            }
            result.withLock { $0 = (sequences, failure) }
            done.signal()
        }
        for index in 0..<3_000 {
            #expect(ledger.perform(requests.make(card(index % 50), Self.purchase(10_000))).status == .approved)
        }
        #expect(done.wait(timeout: .now() + 60) == .success, "the reader ends")
        let (sequences, failure) = result.withLock { $0 }
        ledger.close()
        #expect(failure == nil)
        #expect(sequences == Array(1...written), "\(sequences.count) records read")
    }

    /// Bytes this thread has read through read(2) and pread(2) so far (/proc/thread-self/io, `rchar`).
    static func bytesReadByThisThread() -> Int {
        let text = (try? String(contentsOfFile: "/proc/thread-self/io", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("rchar:") }
        return line.flatMap { Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) } ?? -1
    }

    @Test("a tail that keeps up with the writer reads what was acknowledged, not a whole chunk of the prepared segment")
    mutating func caughtUpTailReadsOnlyAcknowledgedBytes() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        defer { ledger.close() }
        let tail = LogTail(root: directory.path, shard: 0)
        var after: UInt64 = 0
        var gap = LogTail.Gap(recordsSkipped: 0, recordsUnreadable: 0)
        var read = 0
        for round in 0..<40 {
            for index in 0..<2 {
                #expect(ledger.perform(requests.make(card(round * 2 + index), Self.purchase(10_000))).status == .approved)
            }
            let before = Self.bytesReadByThisThread()
            let entries = try tail.read(after: after, limit: 1_000, gap: &gap)
            read += Self.bytesReadByThisThread() - before
            #expect(entries.map(\.sequence) == [after + 1, after + 2], "round \(round)")
            after = entries.last?.sequence ?? after
        }
        // Each round: the segment's header (576 bytes), the two new records' pages (one or two of 4 KiB) and this
        // thread's own read of /proc. A refill of the whole chunk was 256 KiB a round (10 MiB in all).
        #expect(read > 0 && read < 40 * 16 * 1024, "\(read) bytes read in 40 rounds")
    }

    @Test("the outbox's hold keeps log segments past snapshots, so events read after a snapshot and a restart are the same; no hold, and they are gone")
    mutating func holdKeepsTheLogPastSnapshots() throws {
        let configuration = snapshottingConfiguration()
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration)
        let outbox = ledger.registerLogConsumer(name: "outbox", recordsMax: 4_000_000)
        outbox.advance(shard: 0, from: 1)
        for index in 0..<1200 {
            #expect(ledger.perform(requests.make(card(index % 40), Self.purchase(10_000))).status == .approved)
        }
        ledger.close()
        let decider = LoyaltyDecider(rules: Self.program)
        let tail = LogTail(root: directory.path, shard: 0)
        let events = try Self.readAll(tail, decider: decider)
        #expect(events.filter { $0.type == "points.earned" }.count == 1200, "every purchase, from sequence 1")
        #expect(outbox.recordsReleased == 0)
        #expect(try WALReader.segments(in: directory.path + "/shard-000").count > 2, "segments kept past snapshots")

        let reopened = try Ledger.open(directory: directory.path, configuration: configuration)
        #expect(try Self.readAll(LogTail(root: directory.path, shard: 0), decider: decider) == events)
        // Nothing holds the log now: the next snapshot drops what it covers, and a reader counts what it lost.
        for index in 0..<300 {
            #expect(reopened.perform(requests.make(card(index % 40), Self.purchase(10_000))).status == .approved)
        }
        reopened.close()
        let batch = try LogTail(root: directory.path, shard: 0).events(after: 0, recordsMax: 10, decider: decider)
        #expect(batch.gap.recordsSkipped > 1000, "\(batch.gap)")
        #expect(batch.events.first?.sequence == batch.gap.recordsSkipped + 1, "reading goes on after the gap")
    }

    @Test("at the hold's bound a snapshot drops undelivered records anyway: every purchase is approved, and the records given up are counted by the hold and seen as skipped by the reader")
    mutating func holdBoundNeverBlocksAuthorizations() throws {
        let configuration = snapshottingConfiguration()
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration)
        let hold = ledger.registerLogConsumer(name: "outbox", recordsMax: 200)
        hold.advance(shard: 0, from: 1)
        for index in 0..<1500 {
            #expect(ledger.perform(requests.make(card(index % 40), Self.purchase(10_000))).status == .approved)
        }
        ledger.close()
        #expect(hold.recordsReleased > 0)
        let tail = LogTail(root: directory.path, shard: 0)
        let batch = try tail.events(after: 0, recordsMax: 10, decider: nil)
        #expect(batch.gap.recordsSkipped > 0 && batch.gap.recordsSkipped <= hold.recordsReleased, "\(batch.gap)")
        #expect(batch.events.first?.sequence == batch.gap.recordsSkipped + 1, "reading goes on after the gap")
    }

    @Test("two consumers of the log: snapshots keep it from the slower one's first needed record; a consumer at its bound gives up records (counted for it alone) while the other, within its bound, loses none")
    mutating func slowestConsumerHoldsTheLog() throws {
        let configuration = snapshottingConfiguration()
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration)
        let fast = ledger.registerLogConsumer(name: "outbox", recordsMax: 4_000_000)
        let slow = ledger.registerLogConsumer(name: "history", recordsMax: 300)
        fast.advance(shard: 0, from: 1)
        slow.advance(shard: 0, from: 1)
        for index in 0..<250 {
            #expect(ledger.perform(requests.make(card(index % 40), Self.purchase(10_000))).status == .approved)
            fast.advance(shard: 0, from: UInt64(index) + 1)
        }
        // The fast one finished about 250 records; the slow one none: the slow one alone holds the log.
        #expect(fast.recordsReleased == 0 && slow.recordsReleased == 0, "within both bounds nothing is dropped")
        let held = try WALReader.segments(in: directory.path + "/shard-000").first?.firstSequence
        #expect(held == 1, "the slow consumer keeps sequence 1")
        for index in 0..<1750 {
            #expect(ledger.perform(requests.make(card(index % 40), Self.purchase(10_000))).status == .approved)
            fast.advance(shard: 0, from: UInt64(250 + index) + 1)
        }
        ledger.close()
        #expect(slow.recordsReleased > 0, "the slow consumer's bound released records")
        #expect(fast.recordsReleased == 0, "the fast consumer lost nothing")
        slow.advance(shard: 0, from: 1)
        #expect(slow.recordsReleased(shard: 0) == slow.recordsReleased, "an advance never moves back")
        let first = try WALReader.segments(in: directory.path + "/shard-000").first?.firstSequence ?? 0
        #expect(first > 1 && first <= 2000 - 300 + 1, "the log is kept no further back than the slow bound: \(first)")
    }
}

extension LogTailTests {
    @Test("a program paying enrolment and first-purchase bonuses: the first purchase tells both, with the points the deciding version pays")
    mutating func bonusesOfAPurchase() throws {
        let program = try Program(
            json: Array(
                """
                {"version": 5, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 1000}},
                 "events": {"enrolmentPoints": 50, "firstPurchasePoints": 25}}
                """.utf8))
        var configuration = configuration()
        let decider = LoyaltyDecider(rules: program)
        configuration.decider = decider
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration)
        defer { ledger.close() }
        #expect(ledger.perform(requests.make(card(3), Self.purchase(10_000))).status == .approved)
        #expect(ledger.perform(requests.make(card(3), Self.purchase(10_000))).status == .approved)
        let events = try Self.readAll(LogTail(root: directory.path, shard: 0), decider: decider)
        #expect(
            Self.summary(events) == [
                "points.earned@1.0 points=85 creditMinor=0 amountMinor=10000 balance=85 credit=0",
                "bonus.awarded@1.1 reason=1 points=50 balance=85", "bonus.awarded@1.2 reason=2 points=25 balance=85",
                "points.earned@2.0 points=10 creditMinor=0 amountMinor=10000 balance=95 credit=0",
            ])
    }
}

extension LogTailTests {
    /// Small segments and a snapshot every 100 records, so a few hundred purchases make snapshots drop segments.
    func snapshottingConfiguration() -> LedgerConfiguration {
        var configuration = configuration()
        configuration.segmentBytes = 64 << 10
        configuration.snapshotIntervalRecords = 100
        return configuration
    }
}
