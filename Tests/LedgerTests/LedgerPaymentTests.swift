import Foundation
import Loyalty
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// Paying a purchase with store credit and points under the program's redemption rules.
@Suite struct LedgerPaymentTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()
    static let shop = ShortIdentifier("SHOP1")!

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
        let reply = ledger.perform(
            requests.make(card(1), .pay(amountMinor: 7_000, policy: policy, merchant: Self.shop)))
        #expect(reply.status == .approved && reply.receipt.amountPaidMinor == 7_000)
        #expect(reply.debited == AssetAmounts(points: 20, credit: 5_000))
        #expect(reply.balance == AssetAmounts(points: 280, credit: 0))
    }

    @Test("points first: 70 points pay 7,000; then 1 point and 50 of credit pay 150 (whole points only)")
    mutating func pointsBeforeCredit() throws {
        let ledger = try fundedLedger()
        defer { directory.remove() }
        let policy = RedemptionPolicy(pointValueMinor: 100, creditBeforePoints: false)
        var reply = ledger.perform(
            requests.make(card(1), .pay(amountMinor: 7_000, policy: policy, merchant: Self.shop)))
        #expect(reply.status == .approved && reply.debited == AssetAmounts(points: 70, credit: 0))
        reply = ledger.perform(requests.make(card(1), .pay(amountMinor: 150, policy: policy, merchant: Self.shop)))
        #expect(reply.debited == AssetAmounts(points: 1, credit: 50) && reply.receipt.amountPaidMinor == 150)
        // 229 points pay 22,900; credit covers the other 2,100 of 25,000.
        reply = ledger.perform(requests.make(card(1), .pay(amountMinor: 25_000, policy: policy, merchant: Self.shop)))
        #expect(reply.status == .approved && reply.debited == AssetAmounts(points: 229, credit: 2_100))
    }

    @Test("below the minimum points balance only credit pays; partial approval says how much, or 51 without it")
    mutating func minimumBalanceAndPartial() throws {
        let ledger = try fundedLedger()
        defer { directory.remove() }
        var policy = RedemptionPolicy(pointValueMinor: 100, minimumBalancePoints: 500, creditBeforePoints: true)
        var reply = ledger.perform(
            requests.make(card(1), .pay(amountMinor: 6_000, policy: policy, merchant: Self.shop)))
        #expect(reply.status == .insufficientFunds && reply.debited == .zero && reply.balance.credit == 5_000)
        policy.partialApproval = true
        reply = ledger.perform(requests.make(card(1), .pay(amountMinor: 6_000, policy: policy, merchant: Self.shop)))
        #expect(reply.status == .partiallyApproved && reply.receipt.amountPaidMinor == 5_000)
        #expect(reply.debited == AssetAmounts(points: 0, credit: 5_000))
        reply = ledger.perform(requests.make(card(1), .pay(amountMinor: 1_000, policy: policy, merchant: Self.shop)))
        #expect(reply.status == .insufficientFunds, "no credit left and the points are under the minimum")
    }

    @Test("the share cap: at most 40% of a 10,000 purchase total is paid (partial), refused without partial")
    mutating func maximumShare() throws {
        let ledger = try fundedLedger()
        defer { directory.remove() }
        var policy = RedemptionPolicy(pointValueMinor: 100, maximumSharePercent: 40, creditBeforePoints: true)
        func pay(_ card: CardNumber, _ amount: Int64, total: Int64?) -> LedgerOperation {
            .pay(amountMinor: amount, purchaseTotalMinor: total, policy: policy, merchant: Self.shop)
        }
        var reply = ledger.perform(requests.make(card(1), pay(card(1), 10_000, total: 10_000)))
        #expect(reply.status == .invalidAmount && reply.debited == .zero)
        policy.partialApproval = true
        reply = ledger.perform(requests.make(card(1), pay(card(1), 10_000, total: 10_000)))
        #expect(reply.status == .partiallyApproved && reply.receipt.amountPaidMinor == 4_000)
        #expect(reply.debited == AssetAmounts(points: 0, credit: 4_000))
        // 2,500 of a 10,000 purchase is inside the 40%: paid in full.
        reply = ledger.perform(requests.make(card(1), pay(card(1), 2_500, total: 10_000)))
        #expect(reply.status == .approved && reply.debited == AssetAmounts(points: 15, credit: 1_000))
        // Nothing left to pay with: 51, not 13 (the cap is not why it fails).
        reply = ledger.perform(requests.make(card(2), pay(card(2), 10_000, total: 10_000)))
        #expect(reply.status == .unknownCard)
        _ = ledger.perform(requests.make(card(2), earn(0, credit: 0)))
        reply = ledger.perform(requests.make(card(2), pay(card(2), 10_000, total: 10_000)))
        #expect(reply.status == .insufficientFunds)
    }

    @Test("without a purchase total the share cap does not apply: a payment is met in full from the balances")
    mutating func shareCapNeedsPurchaseTotal() throws {
        var ledger = try fundedLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        let policy = RedemptionPolicy(pointValueMinor: 100, maximumSharePercent: 40, creditBeforePoints: true)
        let payment = requests.make(card(1), .pay(amountMinor: 10_000, policy: policy, merchant: Self.shop))
        let reply = ledger.perform(payment)
        #expect(reply.status == .approved && reply.receipt.amountPaidMinor == 10_000)
        #expect(reply.debited == AssetAmounts(points: 50, credit: 5_000))
        // A total below the payment is refused (13), whatever the balances.
        let below = ledger.perform(
            requests.make(
                card(1), .pay(amountMinor: 1_000, purchaseTotalMinor: 999, policy: policy, merchant: Self.shop)))
        #expect(below.status == .invalidAmount && below.debited == .zero)
        // The record says there was no total: replay decides the same.
        ledger.close(snapshot: false)
        ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        #expect(ledger.perform(payment).debited == AssetAmounts(points: 50, credit: 5_000))
        #expect(ledger.perform(requests.make(card(1), .balance)).balance == AssetAmounts(points: 250, credit: 0))
    }

    @Test("a reversal gives both assets back; replay after a restart decides every payment identically")
    mutating func reversalAndReplay() throws {
        var ledger = try fundedLedger()
        defer {
            ledger.close()
            directory.remove()
        }
        let policy = RedemptionPolicy(pointValueMinor: 100, creditBeforePoints: true, partialApproval: true)
        let payment = requests.make(card(1), .pay(amountMinor: 6_000, policy: policy, merchant: Self.shop))
        let first = ledger.perform(payment)
        #expect(first.debited == AssetAmounts(points: 10, credit: 5_000))
        let second = requests.make(card(1), .pay(amountMinor: 50_000, policy: policy, merchant: Self.shop))
        #expect(ledger.perform(second).receipt.amountPaidMinor == 29_000)
        let reversal = ledger.perform(requests.make(card(1), .reverse(originalKey: payment.key)))
        #expect(reversal.status == .approved && reversal.balance == AssetAmounts(points: 10, credit: 5_000))
        ledger.close(snapshot: false)
        ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        let repeated = ledger.perform(second)
        #expect(
            repeated.isReplay && repeated.status == .partiallyApproved && repeated.receipt.amountPaidMinor == 29_000)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance == AssetAmounts(points: 10, credit: 5_000))
    }
}

/// Coalitions: value earned at one merchant is spent where the groups allow, and a partner's value is settled.
@Suite struct LedgerCoalitionTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    /// BAKERY and FLORIST share the coalition MALL; BAKERY2 is a branch of BAKERY; GARAGE is grouped apart;
    /// KIOSK is in no group (its points are spendable anywhere). 1 point per 1,000; a point pays 10.
    static let rules = try! Loyalty.Program(
        json: Array(
            """
            {"version": 1, "currency": 364,
             "groups": [{"id": "MALL", "kind": "coalition"}, {"id": "BAKERY-CO", "kind": "branches"},
                        {"id": "CARS", "kind": "branches"}],
             "merchants": [{"id": "BAKERY", "groups": ["BAKERY-CO", "MALL"]}, {"id": "BAKERY2", "groups": ["BAKERY-CO"]},
                           {"id": "FLORIST", "groups": ["MALL"]}, {"id": "GARAGE", "groups": ["CARS"]},
                           {"id": "KIOSK"}],
             "earning": {"default": {"points": 1, "perAmountMinor": 1000}},
             "redemption": {"pointValueMinor": 10, "partialApproval": true}}
            """.utf8))

    static func purchase(_ amountMinor: Int64, at merchant: String) -> LedgerOperation {
        LedgerPurchaseTests.purchase(amountMinor, merchant: merchant)
    }

    static func pay(_ amountMinor: Int64, at merchant: String) -> LedgerOperation {
        .pay(amountMinor: amountMinor, policy: rules.redemption, merchant: ShortIdentifier(merchant)!)
    }

    func totals() throws -> LedgerTotals {
        try Ledger.inspect(directory: directory.data, configuration: testConfiguration(clock: clock))
    }

    @Test("earn at BAKERY, spend at FLORIST: BAKERY owes FLORIST; not at GARAGE; a reversal takes the debt back")
    mutating func earnAtOneSpendAtAnother() throws {
        var ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(Self.rules)
        defer {
            ledger.close()
            directory.remove()
        }
        #expect(ledger.perform(requests.make(card(1), Self.purchase(100_000, at: "BAKERY"))).credited.points == 100)
        // GARAGE shares no group with BAKERY: nothing of those points may pay there (58, "not here").
        #expect(ledger.perform(requests.make(card(1), Self.pay(500, at: "GARAGE"))).status == .notPermittedAtMerchant)
        // A branch of the same business spends them with nothing to settle.
        #expect(ledger.perform(requests.make(card(1), Self.pay(100, at: "BAKERY2"))).debited.points == 10)
        let atFlorist = requests.make(card(1), Self.pay(600, at: "FLORIST"))
        #expect(ledger.perform(atFlorist).debited.points == 60)
        ledger.close()
        var settlement = try totals().settlements
        #expect(settlement.count == 1 && settlement.first?.points == 60 && settlement.first?.valueMinor == 600)
        #expect(settlement.first?.payer == MerchantTag.of(ShortIdentifier("BAKERY")!))
        #expect(settlement.first?.payee == MerchantTag.of(ShortIdentifier("FLORIST")!))
        ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(Self.rules)
        // Points earned at KIOSK (in no group) pay anywhere, GARAGE included, and settle nothing.
        _ = ledger.perform(requests.make(card(1), Self.purchase(5_000, at: "KIOSK")))
        let garage = ledger.perform(requests.make(card(1), Self.pay(500, at: "GARAGE")))
        #expect(garage.status == .partiallyApproved && garage.debited.points == 5)
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: atFlorist.key))).status == .approved)
        // The returned points keep their BAKERY origin: still not for GARAGE, again for FLORIST.
        #expect(ledger.perform(requests.make(card(1), Self.pay(100, at: "GARAGE"))).status == .notPermittedAtMerchant)
        ledger.close(snapshot: false)
        settlement = try totals().settlements
        #expect(settlement.first?.points == 0 && settlement.first?.valueMinor == 0, "the reversal settled back")
        ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(Self.rules)
        #expect(ledger.perform(requests.make(card(1), Self.pay(900, at: "FLORIST"))).debited.points == 90)
        ledger.close()
        settlement = try totals().settlements
        #expect(settlement.first?.points == 90 && settlement.first?.valueMinor == 900)
        let csv = LedgerSettlement.csv(try totals()) { Self.rules.merchant(withTag: $0)?.description }
        #expect(csv == "payer,payee,points,credit_minor,value_minor\nBAKERY,FLORIST,90,0,900\n")
    }
}

extension LedgerCoalitionTests {
    @Test("settlementPairsPerShardMax: a payment that needs one more pair is declined (96) and changes nothing")
    mutating func settlementPairLimit() throws {
        var configuration = testConfiguration(clock: clock)
        configuration.settlementPairsPerShardMax = 1
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        ledger.setRules(Self.rules)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), Self.purchase(100_000, at: "BAKERY")))
        _ = ledger.perform(requests.make(card(2), Self.purchase(100_000, at: "FLORIST")))
        #expect(ledger.perform(requests.make(card(1), Self.pay(100, at: "FLORIST"))).status == .approved)
        // The same pair again fits; the other direction is a second pair.
        #expect(ledger.perform(requests.make(card(1), Self.pay(100, at: "FLORIST"))).status == .approved)
        let refused = ledger.perform(requests.make(card(2), Self.pay(100, at: "BAKERY")))
        #expect(refused.status == .capacityExceeded)
        #expect(refused.debited == .zero && refused.balance.points == 100)
        // Value that settles nothing still pays at the limit.
        #expect(ledger.perform(requests.make(card(2), Self.pay(100, at: "FLORIST"))).status == .approved)
    }
}

extension LedgerCoalitionTests {
    /// A hold or capture request naming the merchant it spends at.
    mutating func atMerchant(_ operation: LedgerOperation, _ merchant: String) -> LedgerRequest {
        var request = requests.make(card(1), operation)
        request.merchant = MerchantName(ShortIdentifier(merchant)!)
        return request
    }

    @Test("holds and captures follow the coalition: GARAGE cannot hold BAKERY points, FLORIST can and settles")
    mutating func holdAndCaptureInACoalition() throws {
        var ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(Self.rules)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), Self.purchase(100_000, at: "BAKERY")))
        _ = ledger.perform(requests.make(card(1), Self.purchase(5_000, at: "KIOSK")))
        let hold = LedgerOperation.hold(asset: .points, amount: 50, allowPartial: false, expiresAfterMs: 60_000)
        #expect(ledger.perform(atMerchant(hold, "GARAGE")).status == .notPermittedAtMerchant, "only 5 KIOSK points")
        let partial = LedgerOperation.hold(asset: .points, amount: 50, allowPartial: true, expiresAfterMs: 60_000)
        #expect(ledger.perform(atMerchant(partial, "GARAGE")).debited.points == 5)
        let atFlorist = atMerchant(hold, "FLORIST")
        #expect(ledger.perform(atFlorist).status == .approved)
        let capture = atMerchant(.capture(holdKey: atFlorist.key, amount: 40), "FLORIST")
        #expect(ledger.perform(capture).debited.points == 40)
        ledger.close(snapshot: false)
        let settlement = try totals().settlements
        #expect(settlement.count == 1 && settlement.first?.points == 40 && settlement.first?.valueMinor == 400)
        ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        ledger.setRules(Self.rules)
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: capture.key))).status == .approved)
        ledger.close()
        #expect(try totals().settlements.first?.valueMinor == 0, "the capture's reversal settled back")
    }
}
