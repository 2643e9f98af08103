import Foundation
import Loyalty
import Testing

@testable import Ledger

/// Paying a purchase with store credit and points under the program's redemption rules.
@Suite struct LedgerPaymentTests {
    let directory = TemporaryDirectory()
    let clock = TestClock()
    var requests = RequestFactory()

    /// A member with 300 points and 5,000 of store credit.
    mutating func fundedLedger() throws -> Ledger {
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        #expect(ledger.perform(requests.make(card(1), earn(300, credit: 5_000))).status == .approved)
        return ledger
    }

    @Test("credit first: 5,000 of credit, then 20 points at 100 each for the remaining 2,000")
    mutating func creditBeforePoints() throws {
        let ledger = try fundedLedger()
        defer { directory.remove() }
        let policy = RedemptionPolicy(pointValueMinor: 100, creditBeforePoints: true)
        let reply = ledger.perform(requests.make(card(1), .pay(amountMinor: 7_000, policy: policy)))
        #expect(reply.status == .approved && reply.receipt.amountPaidMinor == 7_000)
        #expect(reply.debited == AssetAmounts(points: 20, credit: 5_000))
        #expect(reply.balance == AssetAmounts(points: 280, credit: 0))
    }

    @Test("points first: 70 points pay 7,000; then 1 point and 50 of credit pay 150 (whole points only)")
    mutating func pointsBeforeCredit() throws {
        let ledger = try fundedLedger()
        defer { directory.remove() }
        let policy = RedemptionPolicy(pointValueMinor: 100, creditBeforePoints: false)
        var reply = ledger.perform(requests.make(card(1), .pay(amountMinor: 7_000, policy: policy)))
        #expect(reply.status == .approved && reply.debited == AssetAmounts(points: 70, credit: 0))
        reply = ledger.perform(requests.make(card(1), .pay(amountMinor: 150, policy: policy)))
        #expect(reply.debited == AssetAmounts(points: 1, credit: 50) && reply.receipt.amountPaidMinor == 150)
        // 229 points pay 22,900; credit covers the other 2,100 of 25,000.
        reply = ledger.perform(requests.make(card(1), .pay(amountMinor: 25_000, policy: policy)))
        #expect(reply.status == .approved && reply.debited == AssetAmounts(points: 229, credit: 2_100))
    }

    @Test("below the minimum points balance only credit pays; partial approval says how much, or 51 without it")
    mutating func minimumBalanceAndPartial() throws {
        let ledger = try fundedLedger()
        defer { directory.remove() }
        var policy = RedemptionPolicy(pointValueMinor: 100, minimumBalancePoints: 500, creditBeforePoints: true)
        var reply = ledger.perform(requests.make(card(1), .pay(amountMinor: 6_000, policy: policy)))
        #expect(reply.status == .insufficientFunds && reply.debited == .zero && reply.balance.credit == 5_000)
        policy.partialApproval = true
        reply = ledger.perform(requests.make(card(1), .pay(amountMinor: 6_000, policy: policy)))
        #expect(reply.status == .partiallyApproved && reply.receipt.amountPaidMinor == 5_000)
        #expect(reply.debited == AssetAmounts(points: 0, credit: 5_000))
        reply = ledger.perform(requests.make(card(1), .pay(amountMinor: 1_000, policy: policy)))
        #expect(reply.status == .insufficientFunds, "no credit left and the points are under the minimum")
    }

    @Test("the share cap: at most 40% of 10,000 is paid (partial), refused as an invalid amount without partial")
    mutating func maximumShare() throws {
        let ledger = try fundedLedger()
        defer { directory.remove() }
        var policy = RedemptionPolicy(pointValueMinor: 100, maximumSharePercent: 40, creditBeforePoints: true)
        var reply = ledger.perform(requests.make(card(1), .pay(amountMinor: 10_000, policy: policy)))
        #expect(reply.status == .invalidAmount && reply.debited == .zero)
        policy.partialApproval = true
        reply = ledger.perform(requests.make(card(1), .pay(amountMinor: 10_000, policy: policy)))
        #expect(reply.status == .partiallyApproved && reply.receipt.amountPaidMinor == 4_000)
        #expect(reply.debited == AssetAmounts(points: 0, credit: 4_000))
    }

    @Test("a reversal gives both assets back; replay after a restart decides every payment identically")
    mutating func reversalAndReplay() throws {
        var ledger = try fundedLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        let policy = RedemptionPolicy(pointValueMinor: 100, creditBeforePoints: true, partialApproval: true)
        let payment = requests.make(card(1), .pay(amountMinor: 6_000, policy: policy))
        let first = ledger.perform(payment)
        #expect(first.debited == AssetAmounts(points: 10, credit: 5_000))
        let second = requests.make(card(1), .pay(amountMinor: 50_000, policy: policy))
        #expect(ledger.perform(second).receipt.amountPaidMinor == 29_000)
        let reversal = ledger.perform(requests.make(card(1), .reverse(originalKey: payment.key)))
        #expect(reversal.status == .approved && reversal.balance == AssetAmounts(points: 10, credit: 5_000))
        ledger.close(snapshot: false)
        ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        let repeated = ledger.perform(second)
        #expect(repeated.isReplay && repeated.status == .partiallyApproved && repeated.receipt.amountPaidMinor == 29_000)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance == AssetAmounts(points: 10, credit: 5_000))
    }
}
