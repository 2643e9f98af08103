import Foundation
import Testing

@testable import Ledger
import TestSupport

/// Every operation and its edges, through the public API with real (fdatasync'd) commits.
@Suite struct LedgerOperationTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    func openLedger(shards: Int = 1, configure: (inout LedgerConfiguration) -> Void = { _ in }) throws -> Ledger {
        var configuration = testConfiguration(shards: shards, clock: clock)
        configure(&configuration)
        return try Ledger.open(directory: directory.data, configuration: configuration)
    }

    @Test("enrol creates a member with zero balances; enrolling again approves without change")
    mutating func enrol() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        let first = ledger.perform(requests.make(card(1), .enrol))
        #expect(first.status == .approved && first.balance == .zero && first.available == .zero)
        #expect(first.card.description == "500000******0001")
        #expect(ledger.perform(requests.make(card(1), .enrol)).status == .approved)
        #expect(ledger.perform(requests.make(card(1), earn(5))).balance.points == 5)
    }

    @Test("earn auto-enrols, credits both assets and reports credited amounts and balances")
    mutating func earnAutoEnrols() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        let reply = ledger.perform(requests.make(card(1), earn(120, credit: 300)))
        #expect(reply.status == .approved)
        #expect(reply.credited == AssetAmounts(points: 120, credit: 300))
        #expect(reply.balance == AssetAmounts(points: 120, credit: 300) && reply.available == reply.balance)
    }

    @Test("earn edges: unknown card without auto-enrol, zero, negative, beyond 12 digits leave balances unchanged")
    mutating func earnEdges() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        #expect(ledger.perform(requests.make(card(1), earn(10, autoEnrol: false))).status == .unknownCard)
        #expect(ledger.perform(requests.make(card(1), earn(0))).status == .approved)
        #expect(ledger.perform(requests.make(card(1), earn(-1))).status == .invalidAmount)
        #expect(ledger.perform(requests.make(card(1), earn(Int64.max))).status == .invalidAmount)
        // Balances are limited to 12 digits per asset (what ISO 8583 field 54 can carry).
        #expect(ledger.perform(requests.make(card(1), earn(999_999_999_990))).status == .approved)
        let beyond = ledger.perform(requests.make(card(1), earn(10)))
        #expect(beyond.status == .invalidAmount)
        #expect(beyond.balance.points == 999_999_999_990)
        #expect(ledger.perform(requests.make(card(1), earn(9))).balance.points == 999_999_999_999)
    }

    @Test("redeem declines on insufficient balance, approves partially when asked, rejects zero and unknown cards")
    mutating func redeem() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), earn(100)))
        let short = ledger.perform(requests.make(card(1), .redeem(asset: .points, amount: 150, allowPartial: false)))
        #expect(short.status == .insufficientFunds && short.balance.points == 100 && short.debited == .zero)
        let partial = ledger.perform(requests.make(card(1), .redeem(asset: .points, amount: 150, allowPartial: true)))
        #expect(partial.status == .partiallyApproved && partial.debited.points == 100 && partial.balance.points == 0)
        #expect(
            ledger.perform(requests.make(card(1), .redeem(asset: .points, amount: 0, allowPartial: false))).status
                == .invalidAmount)
        #expect(
            ledger.perform(requests.make(card(2), .redeem(asset: .points, amount: 1, allowPartial: false))).status
                == .unknownCard)
        let empty = ledger.perform(requests.make(card(1), .redeem(asset: .points, amount: 1, allowPartial: true)))
        #expect(empty.status == .insufficientFunds)
    }

    @Test("a blocked card cannot earn, redeem, hold or inquire; blocking twice is harmless")
    mutating func blockedCard() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), earn(100)))
        #expect(ledger.perform(requests.make(card(1), .block)).status == .approved)
        #expect(ledger.perform(requests.make(card(1), .block)).status == .approved)
        #expect(ledger.perform(requests.make(card(1), earn(1))).status == .cardBlocked)
        #expect(
            ledger.perform(requests.make(card(1), .redeem(asset: .points, amount: 1, allowPartial: false))).status
                == .cardBlocked)
        #expect(
            ledger.perform(
                requests.make(card(1), .hold(asset: .points, amount: 1, allowPartial: false, expiresAfterMs: 1000))
            ).status == .cardBlocked)
        let inquiry = ledger.perform(requests.make(card(1), .balance))
        #expect(inquiry.status == .cardBlocked && inquiry.balance.points == 100)
        #expect(ledger.perform(requests.make(card(9), .block)).status == .unknownCard)
    }

    @Test("hold reduces available, not balance; capture less than held debits it and releases the rest")
    mutating func holdAndCapture() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), earn(100)))
        let holdRequest = requests.make(
            card(1), .hold(asset: .points, amount: 60, allowPartial: false, expiresAfterMs: 60_000))
        let hold = ledger.perform(holdRequest)
        #expect(
            hold.status == .approved && hold.balance.points == 100 && hold.available.points == 40
                && hold.debited.points == 60)
        let tooMuch = ledger.perform(requests.make(card(1), .redeem(asset: .points, amount: 50, allowPartial: false)))
        #expect(tooMuch.status == .insufficientFunds)
        #expect(
            ledger.perform(requests.make(card(1), .capture(holdKey: holdRequest.key, amount: 61))).status
                == .invalidAmount)
        let capture = ledger.perform(requests.make(card(1), .capture(holdKey: holdRequest.key, amount: 45)))
        #expect(capture.status == .approved && capture.debited.points == 45)
        #expect(capture.balance.points == 55 && capture.available.points == 55)
        let again = ledger.perform(requests.make(card(1), .capture(holdKey: holdRequest.key, amount: 1)))
        #expect(again.status == .declined && again.balance.points == 55)
    }

    @Test("an expired hold gives its amount back and cannot be captured; void releases a live hold")
    mutating func holdExpiryAndVoid() throws {
        let ledger = try openLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), earn(100)))
        let first = requests.make(card(1), .hold(asset: .points, amount: 30, allowPartial: false, expiresAfterMs: 1000))
        #expect(ledger.perform(first).available.points == 70)
        clock.advance(byMs: 1000)
        #expect(ledger.perform(requests.make(card(1), .balance)).available.points == 100)
        let late = ledger.perform(requests.make(card(1), .capture(holdKey: first.key, amount: 30)))
        #expect(late.status == .declined && late.balance.points == 100)
        let second = requests.make(
            card(1), .hold(asset: .points, amount: 80, allowPartial: false, expiresAfterMs: 1000))
        #expect(ledger.perform(second).available.points == 20)
        let void = ledger.perform(requests.make(card(1), .void(holdKey: second.key)))
        #expect(void.status == .approved && void.available.points == 100)
        #expect(ledger.perform(requests.make(card(1), .void(holdKey: second.key))).status == .declined)
        let unknown = IdempotencyKey(word0: 999_999)
        #expect(
            ledger.perform(requests.make(card(1), .capture(holdKey: unknown, amount: 1))).status == .originalNotFound)
    }

    @Test("hold limits: partial hold, zero lifetime, and holdsPerMemberMax refuse cleanly")
    mutating func holdLimits() throws {
        let ledger = try openLedger { $0.holdsPerMemberMax = 2 }
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), earn(100)))
        let partial = ledger.perform(
            requests.make(card(1), .hold(asset: .points, amount: 150, allowPartial: true, expiresAfterMs: 500)))
        #expect(partial.status == .partiallyApproved && partial.available.points == 0)
        #expect(
            ledger.perform(
                requests.make(card(1), .hold(asset: .points, amount: 1, allowPartial: false, expiresAfterMs: 0))
            ).status == .invalidAmount)
        _ = ledger.perform(requests.make(card(1), earn(10)))
        #expect(
            ledger.perform(
                requests.make(card(1), .hold(asset: .points, amount: 5, allowPartial: false, expiresAfterMs: 500))
            ).status == .approved)
        let third = ledger.perform(
            requests.make(card(1), .hold(asset: .points, amount: 1, allowPartial: false, expiresAfterMs: 500)))
        #expect(third.status == .capacityExceeded && third.available.points == 5)
    }
}
