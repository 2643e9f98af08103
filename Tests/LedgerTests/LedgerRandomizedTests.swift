import Foundation
import TestSupport
import Testing

@testable import Ledger

/// Random workloads: conservation of value, repeats, and identical state after replay from the log and from a
/// snapshot. Seeded, so a failure reproduces.
@Suite struct LedgerRandomizedTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()

    struct Workload {
        var generator: SplitMix64
        var requests = RequestFactory()
        var earns: [(LedgerRequest, CardNumber)] = []
        var holds: [(LedgerRequest, CardNumber)] = []
        var done: [(LedgerRequest, LedgerReply)] = []
        let cardCount = 6

        init(seed: UInt64) { generator = SplitMix64(seed: seed) }

        mutating func next() -> LedgerRequest {
            let card = card(Int.random(in: 0..<cardCount, using: &generator))
            let amount = Int64.random(in: 1...50, using: &generator)
            switch Int.random(in: 0..<9, using: &generator) {
            case 0, 1:
                return remember(
                    requests.make(card, earn(amount, credit: amount / 3, purchase: amount * 10)), card, in: \.earns)
            case 2: return requests.make(card, .redeem(asset: .points, amount: amount, allowPartial: amount % 2 == 0))
            case 3:
                let hold = LedgerOperation.hold(
                    asset: .points, amount: amount, allowPartial: false, expiresAfterMs: 5_000)
                return remember(requests.make(card, hold), card, in: \.holds)
            case 4: return finishHold(amount: amount) ?? requests.make(card, .balance)
            case 5: return reverseSomething() ?? requests.make(card, .balance)
            case 6: return refundSomething(amount: amount) ?? requests.make(card, .balance)
            case 7: return done.randomElement(using: &generator)?.0 ?? requests.make(card, .balance)
            default: return requests.make(card, .balance)
            }
        }

        mutating func remember(
            _ request: LedgerRequest, _ card: CardNumber,
            in list: WritableKeyPath<Workload, [(LedgerRequest, CardNumber)]>
        ) -> LedgerRequest {
            self[keyPath: list].append((request, card))
            return request
        }

        mutating func finishHold(amount: Int64) -> LedgerRequest? {
            guard let (hold, card) = holds.randomElement(using: &generator) else { return nil }
            if Bool.random(using: &generator) { return requests.make(card, .void(holdKey: hold.key)) }
            return requests.make(card, .capture(holdKey: hold.key, amount: amount))
        }

        mutating func reverseSomething() -> LedgerRequest? {
            guard let (original, _) = done.randomElement(using: &generator) else { return nil }
            return requests.make(original.card, .reverse(originalKey: original.key))
        }

        mutating func refundSomething(amount: Int64) -> LedgerRequest? {
            guard let (purchase, card) = earns.randomElement(using: &generator) else { return nil }
            return requests.make(card, .refund(originalKey: purchase.key, refundAmountMinor: amount * 3))
        }
    }

    /// Balance and available per card, by inquiry (cards never seen answer unknownCard).
    func balances(_ ledger: Ledger, _ requests: inout RequestFactory, cardCount: Int) -> [LedgerReply] {
        (0..<cardCount).map { index in
            var reply = ledger.perform(requests.make(card(index), .balance))
            reply.tag = 0
            reply.key = .zero
            return reply
        }
    }

    @Test("1500 random operations: value is conserved, repeats replay, and log replay and snapshot give the same state")
    func randomWorkload() throws {
        defer { directory.remove() }
        var workload = Workload(seed: 0x1ED6E5)
        let configuration = testConfiguration(clock: clock)
        var ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        var moved: [Int: Int64] = [:]
        for step in 0..<1500 {
            if step % 100 == 0 { clock.advance(byMs: 2_000) }
            let request = workload.next()
            let reply = ledger.perform(request)
            #expect(reply.status != .systemError && reply.status != .overloaded)
            #expect(reply.available.points <= reply.balance.points, "available above balance")
            var isHold = false
            if case .hold = request.operation { isHold = true }
            if reply.status.isApproval && !reply.isReplay && !isHold {
                let number = Int(request.card.description.suffix(4))!
                moved[number, default: 0] += reply.credited.points - reply.debited.points
            }
            if !reply.isReplay && reply.status != .keyConflict { workload.done.append((request, reply)) }
        }
        let summary = Dictionary(grouping: workload.done) {
            "\($0.0.operation)".prefix(while: { $0 != "(" }) + " \($0.1.status)"
        }
        .mapValues(\.count)
        print(
            "randomized: " + summary.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
        var probes = RequestFactory(startingAt: 1_000_000)
        let before = balances(ledger, &probes, cardCount: workload.cardCount)
        #expect(before.filter { $0.status == .approved }.count == workload.cardCount)
        for (index, reply) in before.enumerated() {
            #expect(
                reply.balance.points == moved[index, default: 0],
                "card \(index): balance is not the sum of its movements")
        }
        for (request, reply) in workload.done.prefix(200) {
            var again = ledger.perform(request)
            if reply.status == .declined && again.status == .declined { continue }
            #expect(again.isReplay)
            let wasReversed = workload.done.contains { done in
                if case .reverse(let original) = done.0.operation {
                    return original == request.key && done.1.status == .approved
                }
                return false
            }
            #expect(again.isReversed == wasReversed, "isReversed on the replay of \(request.key)")
            again.isReplay = false
            again.isReversed = false
            #expect(again == reply)
        }
        ledger.close(snapshot: false)
        ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(balances(ledger, &probes, cardCount: workload.cardCount) == before, "state after log replay")
        ledger.close()
        ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(ledger.recoveryReports[0].recordsReplayed == 0)
        #expect(balances(ledger, &probes, cardCount: workload.cardCount) == before, "state after snapshot load")
        ledger.close()
    }
}
