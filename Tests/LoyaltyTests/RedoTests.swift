import Testing

@testable import Loyalty

/// `Program.redo`: the inverse of `undo`, for a refund that was itself reversed.
@Suite("Redo after a reversed refund")
struct RedoTests {
    static let program = try! Program(
        json: Array(
            """
            {"version": 1, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 10000}},
             "tiers": {"windowDays": 365, "by": "volume", "levels": [{"id": "B", "from": 0}, {"id": "S", "from": 500000}]},
             "offers": [{"id": "BIG", "from": "2020-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z",
                         "trigger": {"purchaseAtLeastMinor": 300000}, "reward": {"creditBasisPoints": 1000}}],
             "events": {"firstPurchasePoints": 10}}
            """.utf8))

    static func purchase(_ amountMinor: Int64, day: Int64) -> Transaction {
        Transaction(
            amountMinor: amountMinor, currencyCode: 364, merchantCategoryCode: 5411, merchant: ShortIdentifier("SHOP")!,
            terminal: ShortIdentifier("T1")!, timeMs: 1_767_225_600_000 + day * 86_400_000)
    }

    @Test("undo of a whole purchase then redo gives the member back: counts, volumes, tier, offer use, bonus flags")
    func fullRoundTrip() {
        let first = Self.program.evaluate(transaction: Self.purchase(400_000, day: 0), member: .new)
        let second = Self.program.evaluate(transaction: Self.purchase(200_000, day: 5), member: first.memberAfter)
        #expect(second.memberAfter.tier == 1 && first.effect.offerAppliedHash != 0)
        let undone = Self.program.undo(first.effect, refundedMinor: 400_000, member: second.memberAfter)
        #expect(undone.tier == 0 && !undone.firstPurchaseRewarded && undone.purchaseCount == 1)
        let redone = Self.program.redo(first.effect, restoredMinor: 400_000, countsAgain: true, member: undone)
        #expect(redone == second.memberAfter)
    }

    @Test("a partial refund reversed restores the volume and the tier, and counts nothing twice")
    func partialRoundTrip() {
        let first = Self.program.evaluate(transaction: Self.purchase(400_000, day: 0), member: .new)
        let second = Self.program.evaluate(transaction: Self.purchase(200_000, day: 5), member: first.memberAfter)
        let undone = Self.program.undo(first.effect, refundedMinor: 150_000, member: second.memberAfter)
        #expect(undone.tier == 0 && undone.purchaseCount == 2 && undone.purchaseVolumeMinor == 450_000)
        let redone = Self.program.redo(first.effect, restoredMinor: 150_000, countsAgain: false, member: undone)
        #expect(redone == second.memberAfter)
    }
}
