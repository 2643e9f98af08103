import CCRC32C
import Foundation
import Testing

@testable import Ledger
import TestSupport

/// Reversals that name their original by terminal reference (terminal + STAN) instead of its key, as a
/// reversal without field 90 does.
@Suite struct LedgerTerminalReferenceTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    func openLedger(configure: (inout LedgerConfiguration) -> Void = { _ in }) throws -> Ledger {
        var configuration = testConfiguration(clock: clock)
        configure(&configuration)
        return try Ledger.open(directory: directory.data, configuration: configuration)
    }

    /// A terminal reference for `stan`, shaped like the switch's (a first word no request key has).
    func terminal(_ stan: UInt64) -> IdempotencyKey {
        IdempotencyKey(word0: 0xFFFF_5449_4400_0000 | stan, word1: 1, word2: 0x5445_524D_3031)
    }

    mutating func make(_ card: CardNumber, _ operation: LedgerOperation, stan: UInt64) -> LedgerRequest {
        var request = requests.make(card, operation)
        request.terminalReference = terminal(stan)
        return request
    }

    @Test("a reversal by terminal reference undoes an earn, a redeem and a hold")
    mutating func reverseEachKind() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(make(card(1), earn(100), stan: 1))
        _ = ledger.perform(make(card(1), earn(30), stan: 2))
        _ = ledger.perform(make(card(1), .redeem(asset: .points, amount: 20, allowPartial: false), stan: 3))
        let hold = ledger.perform(
            make(card(1), .hold(asset: .points, amount: 50, allowPartial: false, expiresAfterMs: 60_000), stan: 4))
        #expect(hold.status == .approved && hold.available.points == 60)
        let earnBack = ledger.perform(requests.make(card(1), .reverse(originalKey: terminal(2))))
        #expect(earnBack.status == .approved && earnBack.debited.points == 30 && earnBack.balance.points == 80)
        let redeemBack = ledger.perform(requests.make(card(1), .reverse(originalKey: terminal(3))))
        #expect(redeemBack.status == .approved && redeemBack.credited.points == 20 && redeemBack.balance.points == 100)
        let holdBack = ledger.perform(requests.make(card(1), .reverse(originalKey: terminal(4))))
        #expect(holdBack.status == .approved && holdBack.available.points == 100)
        let again = ledger.perform(requests.make(card(1), .reverse(originalKey: terminal(2))))
        #expect(again.status == .approved && again.debited == .zero && again.balance.points == 100, "reversed once")
    }

    @Test("a reversal by terminal reference undoes a capture and a refund too")
    mutating func reverseCaptureAndRefund() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        let purchase = make(card(1), earn(100, purchase: 1_000), stan: 1)
        _ = ledger.perform(purchase)
        let hold = make(
            card(1), .hold(asset: .points, amount: 40, allowPartial: false, expiresAfterMs: 60_000), stan: 2)
        _ = ledger.perform(hold)
        let capture = ledger.perform(make(card(1), .capture(holdKey: hold.key, amount: 30), stan: 3))
        #expect(capture.status == .approved && capture.balance.points == 70)
        let refund = ledger.perform(make(card(1), .refund(originalKey: purchase.key, refundAmountMinor: 500), stan: 4))
        #expect(refund.status == .approved && refund.balance.points == 20)
        let refundBack = ledger.perform(requests.make(card(1), .reverse(originalKey: terminal(4))))
        #expect(refundBack.status == .approved && refundBack.balance.points == 70)
        let captureBack = ledger.perform(requests.make(card(1), .reverse(originalKey: terminal(3))))
        #expect(captureBack.status == .approved && captureBack.balance.points == 100)
    }

    @Test("a repeated STAN names the newest operation; reversing a declined one changes nothing, leaves no tombstone")
    mutating func newestWins() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(make(card(1), earn(10), stan: 7))
        _ = ledger.perform(make(card(1), earn(50), stan: 7))
        let reversal = ledger.perform(requests.make(card(1), .reverse(originalKey: terminal(7))))
        #expect(reversal.status == .approved && reversal.debited.points == 50 && reversal.balance.points == 10)
        let declined = ledger.perform(
            make(card(1), .redeem(asset: .points, amount: 1_000, allowPartial: false), stan: 8))
        #expect(declined.status == .insufficientFunds)
        let noChange = ledger.perform(requests.make(card(1), .reverse(originalKey: terminal(8))))
        #expect(noChange.status == .approved && noChange.credited == .zero && noChange.balance.points == 10)
        let reusedStan = ledger.perform(make(card(1), .redeem(asset: .points, amount: 4, allowPartial: false), stan: 8))
        #expect(reusedStan.status == .approved && reusedStan.balance.points == 6, "no tombstone under the STAN")
    }

    @Test("the terminal reference survives a restart by log replay and one from a snapshot")
    mutating func survivesRestart() throws {
        defer { directory.remove() }
        var ledger = try openLedger()
        _ = ledger.perform(make(card(1), earn(100), stan: 11))
        _ = ledger.perform(make(card(1), earn(40), stan: 12))
        _ = ledger.perform(make(card(1), earn(7), stan: 13))
        ledger.close(snapshot: false)
        ledger = try openLedger()
        #expect(ledger.recoveryReports[0].snapshotSequence == 0 && ledger.recoveryReports[0].recordsReplayed == 3)
        let afterReplay = ledger.perform(requests.make(card(1), .reverse(originalKey: terminal(12))))
        #expect(afterReplay.status == .approved && afterReplay.debited.points == 40)
        #expect(afterReplay.balance.points == 107)
        ledger.close()
        ledger = try openLedger()
        defer { ledger.close() }
        #expect(ledger.recoveryReports[0].snapshotSequence > 0 && ledger.recoveryReports[0].recordsReplayed == 0)
        let afterSnapshot = ledger.perform(requests.make(card(1), .reverse(originalKey: terminal(13))))
        #expect(afterSnapshot.status == .approved && afterSnapshot.debited.points == 7)
        #expect(afterSnapshot.balance.points == 100)
    }

    @Test("a reversal by terminal reference arriving first is approved; the late original is declined, also on restart")
    mutating func reversalBeforeOriginal() throws {
        defer { directory.remove() }
        var ledger = try openLedger()
        _ = ledger.perform(make(card(1), earn(10), stan: 20))
        let early = ledger.perform(requests.make(card(1), .reverse(originalKey: terminal(21))))
        #expect(early.status == .approved && early.debited == .zero && early.balance.points == 10)
        let late = make(card(1), earn(90), stan: 21)
        let declined = ledger.perform(late)
        #expect(declined.status == .declined && declined.balance.points == 0)
        let lateRedeem = make(card(1), .redeem(asset: .points, amount: 5, allowPartial: false), stan: 21)
        #expect(ledger.perform(lateRedeem).status == .declined)
        let repeatReversal = ledger.perform(requests.make(card(1), .reverse(originalKey: terminal(21))))
        #expect(repeatReversal.status == .approved && repeatReversal.balance.points == 10)
        ledger.close(snapshot: false)
        ledger = try openLedger()
        defer { ledger.close() }
        #expect(ledger.perform(late).status == .declined, "the tombstone is replayed from the log")
        #expect(ledger.perform(make(card(1), earn(1), stan: 22)).status == .approved, "another STAN is not caught")
    }

    @Test("an unrelated key (other terminal, other STAN, a plain key) matches nothing; nor does a reversal's own STAN")
    mutating func unrelatedKeyNotMatched() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        let purchase = make(card(1), earn(100, purchase: 1_000), stan: 30)
        _ = ledger.perform(purchase)
        let otherTerminal = IdempotencyKey(word0: 0xFFFF_5449_4400_0000 | 30, word1: 1, word2: 0x5445_524D_3032)
        for unrelated in [otherTerminal, terminal(31), IdempotencyKey(word0: 30)] {
            let reversal = ledger.perform(requests.make(card(1), .reverse(originalKey: unrelated)))
            #expect(reversal.status == .approved && reversal.debited == .zero && reversal.balance.points == 100)
        }
        #expect(ledger.perform(make(card(1), earn(5), stan: 32)).status == .approved)
        let reversalWithStan = make(card(1), .reverse(originalKey: purchase.key), stan: 40)
        #expect(ledger.perform(reversalWithStan).debited.points == 100)
        let second = ledger.perform(requests.make(card(1), .reverse(originalKey: terminal(40))))
        #expect(second.status == .approved && second.debited == .zero && second.balance.points == 5)
    }

    @Test("the log keeps a terminal reference only on kinds a reversal can undo; one on another kind is refused")
    func logRecordCarriesTerminalReference() {
        let body = UnsafeMutableRawPointer.allocate(byteCount: WALRecord.bodyBytesMax, alignment: 8)
        defer { body.deallocate() }
        let request = LedgerRequest(
            tag: 1, key: IdempotencyKey(word0: 1), digest: ContentDigest(high: 1, low: 2), card: card(1),
            operation: .hold(asset: .points, amount: 5, allowPartial: false, expiresAfterMs: 1_000),
            terminalReference: terminal(9))
        let hold = ShardCommand(request: request, cardHashKey: (1, 2), sink: SinkRegistry.none)
        let length = WALRecord.encodeBody(
            WALRecord.Body(command: hold, timeMs: 1, status: .approved, balanceAfter: .zero), at: body)
        #expect(WALRecord.decodeBody(body, length: length)?.command.terminalReference == terminal(9))
        var balance = request
        balance.operation = .balance
        let balanceCommand = ShardCommand(request: balance, cardHashKey: (1, 2), sink: SinkRegistry.none)
        #expect(balanceCommand.terminalReference == .zero, "a balance inquiry cannot be undone: no terminal reference")
        let plain = WALRecord.encodeBody(
            WALRecord.Body(command: balanceCommand, timeMs: 1, status: .approved, balanceAfter: .zero), at: body)
        body.storeBytes(of: UInt8(CommandOptions.hasTerminalReference.rawValue), toByteOffset: 1, as: UInt8.self)
        (body + plain).storeBytes(of: terminal(9), as: IdempotencyKey.self)
        #expect(WALRecord.decodeBody(body, length: plain + 32) == nil)
    }

    @Test("a snapshot of an older format (3) is refused as incompatible, naming both versions")
    mutating func oldSnapshotRefused() throws {
        defer { directory.remove() }
        let ledger = try openLedger()
        _ = ledger.perform(make(card(1), earn(3), stan: 1))
        ledger.close()
        let shardDirectory = directory.data + "/shard-000"
        let name = try FileManager.default.contentsOfDirectory(atPath: shardDirectory).first {
            $0.hasPrefix("snapshot-")
        }!
        let path = shardDirectory + "/" + name
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[4] = 3
        let crc = bytes.withUnsafeBytes { ccrc32c_update(0, $0.baseAddress, $0.count - 4) }
        for index in 0..<4 { bytes[bytes.count - 4 + index] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(index))) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let expected = LedgerError.incompatibleDirectory(
            reason: "\(path) is snapshot format 3; this build reads only formats 5 to \(Snapshot.version)")
        #expect(throws: expected) { try openLedger() }
    }

    @Test(
        "memory per remembered key stays 368 bytes: a 320-byte entry (80 of them a purchase's loyalty effect and receipt) and 16 bytes in each of three indexes"
    )
    func memoryPerKey() {
        let keys = 4_096
        let table = IdempotencyTable(keysMax: keys)
        let indexBytes = 3 * table.capacity * 2 * MemoryLayout<UInt64>.size
        #expect(MemoryLayout<IdempotencyEntry>.stride == 320, "a larger entry costs memory on every remembered key")
        #expect((MemoryLayout<IdempotencyEntry>.stride * keys + indexBytes) / keys == 368)
    }

    @Test("memory per member stays 184 bytes: balances, holds, the decider's 127-byte state and the referrer")
    func memoryPerMember() {
        #expect(MemoryLayout<MemberState>.size == 127 && MemoryLayout<MemberState>.alignment == 8)
        #expect(MemoryLayout<MemberRecord>.stride == 184, "a larger record costs memory on every member")
        #expect(MemoryLayout<PurchaseEffectState>.size == 48)
    }
}
