import Foundation
import Loyalty
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// Live state (snapshot at close) against replay-only state (a copy of the log taken before close).
@Suite struct ReviewReplayFuzzTests {
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
             "storeCredit": {"default": {"steps": [{"fromAmountMinor": 0, "basisPoints": 500}]}},
             "tiers": {"windowDays": 30, "by": "count", "levels": [{"id": "BRONZE", "from": 0},
                       {"id": "SILVER", "from": 3, "pointsMultiplierPercent": 200}]},
             "events": {"firstPurchasePoints": 100, "referrerPoints": 500, "referredFirstPurchasePoints": 200},
             "expiry": {"pointsLifeDays": 20, "creditLifeDays": 40},
             "redemption": {"pointValueMinor": 10, "partialApproval": true},
             "engagement": {"events": [{"type": "survey", "points": 30, "limit": {"count": 2, "period": "week"}},
                                       {"type": "install", "points": 90, "limit": {"count": 1, "period": "ever"}}]}}
            """.utf8))

    /// An engagement event: a survey, an install, or a type the rules do not know.
    static func engage(_ choice: Int) -> LedgerOperation {
        let identifier = ShortIdentifier(["survey", "install", "review"][choice])!
        return .engage(type: EngagementType(high: identifier.packed.high, low: identifier.packed.low))
    }

    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    @Test("random rules traffic: replay reproduces live state", arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func replayEqualsLive(seed: Int) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock()
        var configuration = testConfiguration(shards: 2, clock: clock)
        configuration.lotSweepIntervalMs = 0
        configuration.lotsPerMemberMax = 4
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        ledger.setRules(Self.rules)
        var random = Generator(state: UInt64(seed) &* 0x9E37_79B9_7F4A_7C15)
        var requests = RequestFactory()
        let merchants = ["BAKERY", "BAKERY2", "FLORIST", "GARAGE", "KIOSK"]
        var done: [(CardNumber, LedgerRequest, LedgerReply)] = []
        for _ in 0..<600 {
            let cardNumber = card(random.next(10))
            let merchant = ShortIdentifier(merchants[random.next(merchants.count)])!
            var request: LedgerRequest
            switch random.next(12) {
            case 0, 1, 2:
                let amount = Int64(1 + random.next(60)) * 1_000
                let paid = random.next(4) == 0 ? Int64(random.next(Int(amount) + 1)) : 0
                request = requests.make(
                    cardNumber,
                    .purchase(
                        transaction: Loyalty.Transaction(
                            amountMinor: amount, currencyCode: 364, merchantCategoryCode: 5411, merchant: merchant,
                            terminal: ShortIdentifier("T1")!, timeMs: 0, paidWithPointsAmountMinor: paid),
                        autoEnrol: true))
            case 3:
                request = requests.make(cardNumber, .profile(MemberProfile(referrer: card(random.next(10)))))
            case 4:
                request = requests.make(
                    cardNumber, .pay(amountMinor: Int64(1 + random.next(3_000)), policy: Self.rules.redemption,
                                     merchant: merchant))
            case 5:
                request = requests.make(
                    cardNumber, .hold(asset: .points, amount: Int64(1 + random.next(200)), allowPartial: true,
                                      expiresAfterMs: Int64(1 + random.next(3)) * 3_600_000))
                request.merchant = MerchantName(merchant)
            case 6, 7:
                guard let (original, originalRequest, reply) = done.isEmpty ? nil : done[random.next(done.count)]
                else { continue }
                switch originalRequest.operation {
                case .purchase(let transaction, _, _):
                    let amount = Int64(1 + random.next(Int(transaction.amountMinor)))
                    request = requests.make(original, .refund(originalKey: originalRequest.key, refundAmountMinor: amount))
                case .hold:
                    if random.next(2) == 0 {
                        request = requests.make(original, .capture(holdKey: originalRequest.key,
                                                                   amount: max(1, reply.debited.points / 2)))
                        request.merchant = MerchantName(merchant)
                    } else {
                        request = requests.make(original, .void(holdKey: originalRequest.key))
                    }
                default: continue
                }
            case 8, 9:
                guard let (original, originalRequest, _) = done.isEmpty ? nil : done[random.next(done.count)]
                else { continue }
                request = requests.make(original, .reverse(originalKey: originalRequest.key))
            case 10:
                request = requests.make(cardNumber, random.next(2) == 0 ? .balance : Self.engage(random.next(3)))
            default:
                clock.advance(byMs: Int64(random.next(5 * 86_400_000)))
                continue
            }
            let reply = ledger.perform(request)
            if reply.status.isApproval { done.append((request.card, request, reply)) }
        }
        usleep(300_000)
        let copy = directory.path + "/copy"
        try FileManager.default.copyItem(atPath: directory.data, toPath: copy)
        ledger.close()
        var inspectConfiguration = configuration
        inspectConfiguration.clockMs = clock.closure
        let live = try Ledger.inspect(directory: directory.data, configuration: inspectConfiguration)
        let replayed = try Ledger.inspect(directory: copy, configuration: inspectConfiguration)
        #expect(live.balance == replayed.balance)
        #expect(live.held == replayed.held && live.activeHolds == replayed.activeHolds)
        #expect(live.loyaltyPurchases == replayed.loyaltyPurchases)
        #expect(live.loyaltyVolumeMinor == replayed.loyaltyVolumeMinor)
        #expect(live.membersByTier == replayed.membersByTier)
        #expect(live.settlements == replayed.settlements)
        #expect(live.lotCounters == replayed.lotCounters && live.activeLots == replayed.activeLots)
        #expect(live.pendingTransfers == replayed.pendingTransfers)
        #expect(live.engagementCounts == replayed.engagementCounts && live.engagementCounts > 0)
        #expect(live.engagementEventsCounted == replayed.engagementEventsCounted)
        print("seed \(seed): \(done.count) approved, balance \(live.balance), settlements \(live.settlements.count), purchases \(live.loyaltyPurchases), lots \(live.activeLots)")
    }
}
