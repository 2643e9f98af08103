import Foundation
import Testing

@testable import Ledger
import TestSupport

/// Reversals, refunds and idempotency: the operations that make duplicates and undo harmless.
@Suite struct LedgerReversalTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    func openLedger(configure: (inout LedgerConfiguration) -> Void = { _ in }) throws -> Ledger {
        var configuration = testConfiguration(clock: clock)
        configure(&configuration)
        return try Ledger.open(directory: directory.data, configuration: configuration)
    }

    @Test("reversing an earn takes the points back; a second reversal changes nothing")
    mutating func reverseEarn() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), earn(10)))
        let original = requests.make(card(1), earn(50, credit: 7))
        _ = ledger.perform(original)
        let reversal = ledger.perform(requests.make(card(1), .reverse(originalKey: original.key)))
        #expect(reversal.status == .approved && reversal.debited == AssetAmounts(points: 50, credit: 7))
        #expect(reversal.balance == AssetAmounts(points: 10, credit: 0))
        let second = ledger.perform(requests.make(card(1), .reverse(originalKey: original.key)))
        #expect(second.status == .approved && second.debited == .zero && second.balance.points == 10)
    }

    @Test("a reversal that arrives before its original is approved; the late original is declined and changes nothing")
    mutating func reversalBeforeOriginal() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), earn(10)))
        let original = requests.make(card(1), earn(50))
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: original.key))).status == .approved)
        let late = ledger.perform(original)
        #expect(late.status == .declined)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 10)
        #expect(ledger.perform(original).status == .declined)
    }

    @Test("reversing a redeem and a capture credits the debited amount back; reversing a hold releases it")
    mutating func reverseSpending() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), earn(100)))
        let redeem = requests.make(card(1), .redeem(asset: .points, amount: 30, allowPartial: false))
        _ = ledger.perform(redeem)
        let undoRedeem = ledger.perform(requests.make(card(1), .reverse(originalKey: redeem.key)))
        #expect(undoRedeem.credited.points == 30 && undoRedeem.balance.points == 100)
        let hold = requests.make(
            card(1), .hold(asset: .points, amount: 40, allowPartial: false, expiresAfterMs: 10_000))
        _ = ledger.perform(hold)
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: hold.key))).available.points == 100)
        let hold2 = requests.make(
            card(1), .hold(asset: .points, amount: 40, allowPartial: false, expiresAfterMs: 10_000))
        _ = ledger.perform(hold2)
        let capture = requests.make(card(1), .capture(holdKey: hold2.key, amount: 25))
        #expect(ledger.perform(capture).balance.points == 75)
        let undoCapture = ledger.perform(requests.make(card(1), .reverse(originalKey: capture.key)))
        #expect(undoCapture.balance.points == 100 && undoCapture.available.points == 100)
    }

    @Test("refunds claw back pro rata and partial refunds add up exactly to the full claw-back")
    mutating func refundProRata() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        let purchase = requests.make(card(1), earn(100, credit: 33, purchase: 1000))
        _ = ledger.perform(purchase)
        let first = ledger.perform(requests.make(card(1), .refund(originalKey: purchase.key, refundAmountMinor: 333)))
        #expect(first.status == .approved && first.debited == AssetAmounts(points: 33, credit: 10))
        let second = ledger.perform(requests.make(card(1), .refund(originalKey: purchase.key, refundAmountMinor: 667)))
        #expect(second.debited == AssetAmounts(points: 67, credit: 23))
        #expect(second.balance == .zero)
        let beyond = ledger.perform(requests.make(card(1), .refund(originalKey: purchase.key, refundAmountMinor: 1)))
        #expect(beyond.status == .invalidAmount)
        let unknown = ledger.perform(
            requests.make(card(1), .refund(originalKey: IdempotencyKey(word0: 424_242), refundAmountMinor: 1)))
        #expect(unknown.status == .originalNotFound)
    }

    @Test("refund after the points were spent: claw-back is taken in full and the balance goes negative")
    mutating func refundAfterSpend() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        let purchase = requests.make(card(1), earn(100, purchase: 1000))
        _ = ledger.perform(purchase)
        _ = ledger.perform(requests.make(card(1), .redeem(asset: .points, amount: 90, allowPartial: false)))
        let refund = requests.make(card(1), .refund(originalKey: purchase.key, refundAmountMinor: 1000))
        let reply = ledger.perform(refund)
        #expect(reply.status == .approved && reply.debited.points == 100 && reply.balance.points == -90)
        #expect(
            ledger.perform(requests.make(card(1), .redeem(asset: .points, amount: 1, allowPartial: true))).status
                == .insufficientFunds)
        let undo = ledger.perform(requests.make(card(1), .reverse(originalKey: refund.key)))
        #expect(undo.balance.points == 10)
        let again = ledger.perform(requests.make(card(1), .refund(originalKey: purchase.key, refundAmountMinor: 500)))
        #expect(again.status == .approved && again.debited.points == 50)
    }

    @Test("a repeat with the same content returns the stored reply unchanged; other content is a conflict")
    mutating func idempotentRepeat() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        let request = requests.make(card(1), earn(10))
        let first = ledger.perform(request)
        _ = ledger.perform(requests.make(card(1), earn(5)))
        var repeated = ledger.perform(request)
        #expect(repeated.isReplay)
        repeated.isReplay = false
        #expect(repeated == first)
        var conflicting = request
        conflicting.digest = ContentDigest(high: 1, low: 2)
        conflicting.operation = earn(1000)
        let conflict = ledger.perform(conflicting)
        #expect(conflict.status == .keyConflict)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 15)
    }

    @Test("declines are remembered too: the repeat of a declined redeem stays declined after an earn")
    mutating func declineRemembered() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), .enrol))
        let redeem = requests.make(card(1), .redeem(asset: .points, amount: 5, allowPartial: false))
        #expect(ledger.perform(redeem).status == .insufficientFunds)
        _ = ledger.perform(requests.make(card(1), earn(10)))
        let again = ledger.perform(redeem)
        #expect(again.status == .insufficientFunds && again.isReplay && again.balance.points == 0)
    }

    @Test("past idempotencyKeysPerShardMax the oldest key moves to the key store: its repeat is still a replay")
    mutating func keyLimit() throws {
        let ledger = try openLedger { $0.idempotencyKeysPerShardMax = 4 }
        defer {
            ledger.close()
            directory.remove()
        }
        let oldest = requests.make(card(1), earn(1))
        _ = ledger.perform(oldest)
        #expect(ledger.perform(oldest).isReplay)
        for _ in 0..<4 { _ = ledger.perform(requests.make(card(1), earn(1))) }
        let remembered = ledger.perform(oldest)
        #expect(remembered.isReplay && remembered.balance.points == 1)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 5)
    }

    @Test("keys older than idempotencyRetentionMs are forgotten even when there is room")
    mutating func keyRetentionWindow() throws {
        let ledger = try openLedger { $0.idempotencyRetentionMs = 10_000 }
        defer {
            ledger.close()
            directory.remove()
        }
        let request = requests.make(card(1), earn(1))
        _ = ledger.perform(request)
        clock.advance(byMs: 5_000)
        #expect(ledger.perform(request).isReplay)
        clock.advance(byMs: 6_000)
        _ = ledger.perform(requests.make(card(2), earn(1)))
        #expect(!ledger.perform(request).isReplay)
    }

    @Test("a refund may name its earn by the earn's reference; the index survives replay and snapshots")
    mutating func refundByReference() throws {
        defer { directory.remove() }
        let reference = IdempotencyKey(word0: 0x5252_4E, word1: 123_456_789_012)
        var purchase = requests.make(card(1), earn(100, purchase: 1000))
        purchase.reference = reference
        var ledger = try openLedger()
        _ = ledger.perform(purchase)
        let first = ledger.perform(requests.make(card(1), .refund(originalKey: reference, refundAmountMinor: 400)))
        #expect(first.status == .approved && first.debited.points == 40)
        ledger.close(snapshot: false)
        ledger = try openLedger()
        let second = ledger.perform(requests.make(card(1), .refund(originalKey: reference, refundAmountMinor: 500)))
        #expect(second.status == .approved && second.debited.points == 50)
        ledger.close()
        ledger = try openLedger()
        defer { ledger.close() }
        let beyond = ledger.perform(requests.make(card(1), .refund(originalKey: reference, refundAmountMinor: 101)))
        #expect(beyond.status == .invalidAmount)
        let rest = ledger.perform(requests.make(card(1), .refund(originalKey: reference, refundAmountMinor: 100)))
        #expect(rest.status == .approved && rest.balance.points == 0)
        let unknown = IdempotencyKey(word0: 0x5252_4E, word1: 1)
        #expect(
            ledger.perform(requests.make(card(1), .refund(originalKey: unknown, refundAmountMinor: 1))).status
                == .originalNotFound)
    }

    @Test("a reused reference names the newest approved earn; a declined earn does not take the reference")
    mutating func referenceNewestWins() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        let reference = IdempotencyKey(word0: 77)
        var older = requests.make(card(1), earn(10, purchase: 100))
        older.reference = reference
        var newer = requests.make(card(1), earn(50, purchase: 100))
        newer.reference = reference
        var declined = requests.make(card(1), earn(-5, purchase: 100))
        declined.reference = reference
        _ = ledger.perform(older)
        _ = ledger.perform(newer)
        #expect(ledger.perform(declined).status == .invalidAmount)
        let refund = ledger.perform(requests.make(card(1), .refund(originalKey: reference, refundAmountMinor: 100)))
        #expect(refund.status == .approved && refund.debited.points == 50 && refund.balance.points == 10)
    }
}
