import Foundation
import Loyalty
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// Gift cards on the ledger: stored value of its own, issued and loaded, paid and asked for in its own currency,
/// restored by a reversal exactly once, kept across a restart (log and snapshot).
@Suite struct LedgerGiftCardTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()
    static let shop = ShortIdentifier("SHOP1")!
    static let euro: UInt16 = 978
    static let wholePolicy = RedemptionPolicy(pointValueMinor: 100, creditBeforePoints: true)

    static var partialPolicy: RedemptionPolicy {
        var policy = wholePolicy
        policy.partialApproval = true
        return policy
    }

    mutating func terminal(
        _ card: CardNumber, _ operation: LedgerOperation, currency: UInt16 = euro
    ) -> LedgerRequest {
        var request = requests.make(card, operation)
        request.currencyCode = currency
        return request
    }

    mutating func pay(_ card: CardNumber, _ amount: Int64, currency: UInt16 = euro, partial: Bool = false)
        -> LedgerRequest
    {
        let policy = partial ? Self.partialPolicy : Self.wholePolicy
        return terminal(card, .pay(amountMinor: amount, policy: policy, merchant: Self.shop), currency: currency)
    }

    mutating func issued(_ ledger: Ledger, _ card: CardNumber, _ amount: Int64) -> LedgerReply {
        ledger.perform(requests.make(card, .issueGift(amountMinor: amount, currencyCode: Self.euro)))
    }

    @Test("issue, load, pay, short (51), partial (10) and inquiry move only the gift value, in its own currency")
    mutating func issueLoadPay() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: testConfiguration(clock: clock))
        defer { ledger.close() }
        let issue = issued(ledger, card(1), 5_000)
        #expect(issue.status == .approved && issue.gift == GiftBalance(currencyCode: 978, balanceMinor: 5_000))
        #expect(issued(ledger, card(1), 1).status == .notPermitted, "a card in use is not issued again")
        #expect(ledger.perform(requests.make(card(2), earn(10))).status == .approved)
        #expect(issued(ledger, card(2), 1).status == .notPermitted, "a loyalty card is not turned into a gift card")
        let load = ledger.perform(requests.make(card(1), .loadGift(amountMinor: 2_000)))
        #expect(load.status == .approved && load.gift?.balanceMinor == 7_000)
        #expect(ledger.perform(requests.make(card(2), .loadGift(amountMinor: 5))).status == .unknownCard)

        let paid = ledger.perform(pay(card(1), 3_000))
        #expect(paid.status == .approved && paid.receipt.amountPaidMinor == 3_000 && paid.gift?.balanceMinor == 4_000)
        #expect(paid.debited == .zero && paid.balance == .zero, "points and credit are not touched")
        #expect(ledger.perform(pay(card(1), 100, currency: 364)).status == .notPermitted, "other currency: 57")
        #expect(ledger.perform(pay(card(1), 100, currency: 0)).status == .notPermitted, "no field 49: 57")
        let short = ledger.perform(pay(card(1), 10_000))
        #expect(short.status == .insufficientFunds && short.gift?.balanceMinor == 4_000)
        let partial = ledger.perform(pay(card(1), 10_000, partial: true))
        #expect(partial.status == .partiallyApproved && partial.receipt.amountPaidMinor == 4_000)
        #expect(partial.gift?.balanceMinor == 0)
        #expect(ledger.perform(pay(card(1), 1, partial: true)).status == .insufficientFunds, "nothing left: 51")
        let inquiry = ledger.perform(terminal(card(1), .balance))
        #expect(inquiry.status == .approved && inquiry.gift == GiftBalance(currencyCode: 978, balanceMinor: 0))
        #expect(ledger.perform(terminal(card(2), .balance)).gift == nil, "a loyalty card's answer has no gift value")
        let hold = ledger.perform(
            requests.make(card(1), .hold(asset: .points, amount: 1, allowPartial: false, expiresAfterMs: 60_000)))
        #expect(hold.status == .notPermitted, "gift value cannot be held")
    }

    @Test("a card holds at most giftBalanceMaxMinor: issuing or loading to the limit works, one more is refused")
    mutating func balanceLimit() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: testConfiguration(clock: clock))
        defer { ledger.close() }
        #expect(issued(ledger, card(1), giftBalanceMaxMinor + 1).status == .invalidAmount)
        #expect(issued(ledger, card(1), giftBalanceMaxMinor - 10).status == .approved)
        let toLimit = ledger.perform(requests.make(card(1), .loadGift(amountMinor: 10)))
        #expect(toLimit.status == .approved && toLimit.gift?.balanceMinor == giftBalanceMaxMinor)
        let beyond = ledger.perform(requests.make(card(1), .loadGift(amountMinor: 1)))
        #expect(beyond.status == .invalidAmount)
        #expect(ledger.perform(terminal(card(1), .balance)).gift?.balanceMinor == giftBalanceMaxMinor)
    }

    @Test("giftCardsPerShardMax bounds the gift table: the card after the limit is refused, nothing enrolled")
    mutating func tableLimit() throws {
        var configuration = testConfiguration(clock: clock)
        configuration.giftCardsPerShardMax = 2
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration)
        defer { ledger.close() }
        #expect(issued(ledger, card(1), 10).status == .approved)
        #expect(issued(ledger, card(2), 10).status == .approved)
        #expect(issued(ledger, card(3), 10).status == .capacityExceeded)
        #expect(ledger.perform(terminal(card(3), .balance)).status == .unknownCard, "the refused card is unknown")
    }

    @Test("a reversal gives a payment back exactly once; repeats get the original answer, byte for byte")
    mutating func reversalAndRepeats() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: testConfiguration(clock: clock))
        defer { ledger.close() }
        #expect(issued(ledger, card(1), 5_000).status == .approved)
        let payment = pay(card(1), 1_200)
        let first = ledger.perform(payment)
        let repeated = ledger.perform(payment)
        #expect(repeated.isReplay && repeated.status == first.status && repeated.receipt == first.receipt)
        #expect(repeated.gift?.balanceMinor == 3_800, "a repeat pays nothing more")
        let reversal = requests.make(card(1), .reverse(originalKey: payment.key))
        #expect(ledger.perform(reversal).status == .approved)
        #expect(ledger.perform(reversal).isReplay)
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: payment.key))).status == .approved)
        #expect(ledger.perform(terminal(card(1), .balance)).gift?.balanceMinor == 5_000, "restored once")
        let afterReversal = ledger.perform(payment)
        #expect(afterReversal.isReversed && afterReversal.receipt == first.receipt)
    }

    @Test("gift value and its stamped changes come back after a crash (log) and after a clean close (snapshot)")
    mutating func restart() throws {
        var ledger = try Ledger.open(directory: directory.path, configuration: testConfiguration(clock: clock))
        var issue = requests.make(card(1), .issueGift(amountMinor: 5_000, currencyCode: Self.euro))
        issue.admin = AdminStamp(operation: 21, actor: 7, role: 1, reason: 0)
        #expect(ledger.perform(issue).status == .approved)
        var load = requests.make(card(1), .loadGift(amountMinor: 500))
        load.admin = AdminStamp(operation: 22, actor: 7, role: 1, reason: 0)
        #expect(ledger.perform(load).status == .approved)
        let payment = pay(card(1), 2_000)
        let paid = ledger.perform(payment)
        ledger.close(snapshot: false)

        ledger = try Ledger.open(directory: directory.path, configuration: testConfiguration(clock: clock))
        let records = ledger.recoveryReports.flatMap(\.adminRecords)
        #expect(
            records.map(\.change) == [.issueGift(amountMinor: 5_000, currencyCode: 978), .loadGift(amountMinor: 500)])
        #expect(records.map(\.stamp.operation) == [21, 22])
        let replayed = ledger.perform(payment)
        #expect(replayed.isReplay && replayed.receipt == paid.receipt, "the remembered answer survives replay")
        #expect(ledger.perform(terminal(card(1), .balance)).gift?.balanceMinor == 3_500)
        ledger.close()

        ledger = try Ledger.open(directory: directory.path, configuration: testConfiguration(clock: clock))
        defer { ledger.close() }
        #expect(ledger.recoveryReports.allSatisfy { $0.recordsReplayed == 0 }, "everything came from the snapshot")
        #expect(ledger.perform(terminal(card(1), .balance)).gift == GiftBalance(currencyCode: 978, balanceMinor: 3_500))
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: payment.key))).status == .approved)
        #expect(ledger.perform(terminal(card(1), .balance)).gift?.balanceMinor == 5_500)
        #expect(ledger.perform(requests.make(card(1), .loadGift(amountMinor: 1))).gift?.balanceMinor == 5_501)
    }

    @Test("the remembered outcome keeps its size: the gift currency sits in the receipt's alignment gap")
    func layout() {
        #expect(MemoryLayout<LoyaltyReceipt>.size == 32 && MemoryLayout<GiftAccount>.stride == 16)
        #expect(MemoryLayout<LoyaltyReceipt>.offset(of: \.giftCurrencyCode) == 12)
        #expect(MemoryLayout<LoyaltyReceipt>.offset(of: \.rulesVersion) == 16)
    }
}

extension LedgerGiftCardTests {
    @Test("a gift card replaced on its shard carries its value to the new card; to another shard it is refused")
    mutating func replacement() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: testConfiguration(shards: 2, clock: clock))
        defer { ledger.close() }
        let (giftCard, number) = card(onShard: 0, of: ledger, startingAt: 1)
        #expect(issued(ledger, giftCard, 900).status == .approved)
        let (sameShard, _) = card(onShard: 0, of: ledger, startingAt: number + 1)
        let (otherShard, _) = card(onShard: 1, of: ledger, startingAt: number + 1)
        #expect(ledger.perform(requests.make(giftCard, .replace(newCard: otherShard))).status == .notPermitted)
        #expect(ledger.perform(requests.make(giftCard, .replace(newCard: sameShard))).status == .approved)
        #expect(ledger.perform(terminal(sameShard, .balance)).gift?.balanceMinor == 900)
        #expect(ledger.perform(pay(giftCard, 100)).status == .cardBlocked, "the old card is replaced: 62")
    }
}
