import Ledger
import Loyalty
import LoyaltyLedger
import Testing

/// The loyalty rules as the ledger's decider: the opaque bytes hold the rules' own forms unchanged (so format-5
/// logs and snapshots read as before), and every answer equals what the rules say directly.
@Suite struct LoyaltyDeciderTests {
    static let program = try! Program(
        json: Array(
            """
            {"version": 4, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 1000}},
             "tiers": {"windowDays": 30, "by": "volume",
                       "levels": [{"id": "BRONZE", "from": 0}, {"id": "GOLD", "from": 100000}]},
             "redemption": {"pointValueMinor": 10, "maximumSharePercent": 50, "partialApproval": true}}
            """.utf8))
    static let merchant = ShortIdentifier("SHOP-1")!
    static let dayMs: Int64 = 86_400_000

    static func transaction(_ amountMinor: Int64) -> Transaction {
        Transaction(
            amountMinor: amountMinor, currencyCode: 364, merchantCategoryCode: 5411, merchant: merchant,
            terminal: ShortIdentifier("T1")!, timeMs: 0)
    }

    @Test("the in-memory forms fit the ledger's bytes exactly: a member record and a remembered key keep their size")
    func layouts() {
        #expect(MemoryLayout<Member>.size == MemberState.byteCount)
        #expect(MemoryLayout<Member>.alignment == MemoryLayout<MemberState>.alignment)
        #expect(MemoryLayout<MemberState>.size == MemberState.byteCount)
        #expect(MemoryLayout<PurchaseEffect>.size == PurchaseEffectState.byteCount)
        #expect(MemoryLayout<PurchaseEffect>.alignment == MemoryLayout<PurchaseEffectState>.alignment)
        #expect(MemoryLayout<Transaction>.size <= PurchaseFacts.byteCount)
        #expect(MemoryLayout<PaymentTerms>.size == PaymentTerms.byteCount)
        #expect(Member.encodedByteCount == LoggedMemberState.byteCount)
        #expect(PurchaseEffect.encodedByteCount == LoggedPurchaseEffect.byteCount)
        #expect(MemberState.zero.member == Member.new, "all zero bytes are a member the rules never saw")
    }

    @Test("a decision's bytes are the rules' own: the logged member is Member.encode's, the kept one reads back")
    func decisionBytes() throws {
        let decider = LoyaltyDecider(rules: Self.program)
        let rules = try #require(decider.rulesInForce())
        let purchase = LedgerOperation.purchase(transaction: Self.transaction(120_000), autoEnrol: true)
        guard case .purchase(let request, _, _) = purchase else { Issue.record("not a purchase"); return }
        let timeMs = 20_000 * Self.dayMs
        let decision = rules.decide(request, timeMs: timeMs, member: .zero)
        var transaction = Self.transaction(120_000)
        transaction.timeMs = timeMs
        let direct = Self.program.evaluate(transaction: transaction, member: .new)
        #expect(decision.amounts == AssetAmounts(points: 120, credit: 0) && decision.rulesVersion == 4)
        #expect(decision.memberAfter == LoggedMemberState(direct.memberAfter))
        #expect(decision.effect == LoggedPurchaseEffect(direct.effect))
        let member = try #require(decider.memberState(decoding: decision.memberAfter))
        #expect(member.member == direct.memberAfter && member == MemberState(direct.memberAfter))
        let effect = try #require(decider.purchaseEffect(decoding: decision.effect))
        let receipt = decider.receipt(memberAfter: member, effect: effect, rulesVersion: 4)
        #expect(receipt.isDecided && receipt.tier == 1 && receipt.tierBefore == 0 && receipt.rulesVersion == 4)
        #expect(decider.summary(of: member).purchaseVolumeMinor == 120_000)
        #expect(rules.tier(of: member, atTimeMs: timeMs + 70 * Self.dayMs) == 0, "two windows later: base tier")
    }

    @Test("refunds in parts take back exactly what one full refund does; reversing them restores the member")
    func undoAndRedoProRata() throws {
        let decider = LoyaltyDecider(rules: Self.program)
        let rules = try #require(decider.rulesInForce())
        guard case .purchase(let request, _, _) = LedgerOperation.purchase(
            transaction: Self.transaction(150_000), autoEnrol: true)
        else { return }
        let decision = rules.decide(request, timeMs: 20_000 * Self.dayMs, member: .zero)
        let bought = try #require(decider.memberState(decoding: decision.memberAfter))
        let effect = try #require(decider.purchaseEffect(decoding: decision.effect))
        func undo(_ from: Int64, _ to: Int64, _ member: MemberState) throws -> MemberState {
            let logged = rules.undo(
                effect, purchaseAmountMinor: 150_000, fromRefundedMinor: from, toRefundedMinor: to, member: member)
            return try #require(decider.memberState(decoding: logged))
        }
        let whole = try undo(0, 150_000, bought)
        let inParts = try undo(100_001, 150_000, try undo(0, 100_001, bought))
        #expect(whole == inParts && whole.member.purchaseCount == 0 && whole.member.purchaseVolumeMinor == 0)
        #expect(try undo(0, 100_001, bought).member.purchaseCount == 1, "only the refund that completes uncounts")
        let redone = rules.redo(
            effect, purchaseAmountMinor: 150_000, fromRefundedMinor: 0, toRefundedMinor: 150_000, member: whole)
        #expect(decider.memberState(decoding: redone)?.member.purchaseVolumeMinor == 150_000)
    }

    @Test("payment terms are logged as pay records always were, and plan as the redemption policy does")
    func paymentTerms() {
        let decider = LoyaltyDecider()
        let policy = Self.program.redemption
        let terms = PaymentTerms(policy)
        var expected = [UInt8](repeating: 0, count: 18)
        expected[0] = 10
        expected[16] = 50
        expected[17] = 1 | 2
        #expect(terms.withUnsafeBytes { Array($0) } == expected)
        #expect(decider.isValid(terms) && decider.pointValueMinor(terms) == 10)
        for (request, points, credit) in [(Int64(40_000), Int64(5_000), Int64(0)), (60_000, 0, 100), (10, 0, 0)] {
            let plan = decider.plan(
                terms, requestedMinor: request, purchaseTotalMinor: 100_000, pointsBalance: points,
                creditBalanceMinor: credit)
            let direct = policy.plan(
                requestedMinor: request, purchaseAmountMinor: 100_000, pointsBalance: points,
                creditBalanceMinor: credit)
            #expect(plan.approvedMinor == direct.approvedMinor && plan.pointsUsed == direct.pointsUsed)
            #expect(plan.creditUsedMinor == direct.creditUsedMinor && plan.allowsPartial)
        }
        var foreign = terms
        foreign.withUnsafeMutableBytesForTest { $0[17] |= 8 }
        #expect(!decider.isValid(foreign), "a flag no policy writes")
    }

    @Test("rules are swapped whole: a shard asking after setRules gets the new version, never a mix")
    func setRulesSwaps() throws {
        let decider = LoyaltyDecider()
        #expect(decider.rulesInForce() == nil && decider.program == nil)
        decider.setRules(Self.program)
        #expect(decider.rulesInForce()?.version == 4 && decider.program === Self.program)
    }
}

extension PaymentTerms {
    mutating func withUnsafeMutableBytesForTest(_ body: (UnsafeMutableRawBufferPointer) -> Void) {
        Swift.withUnsafeMutableBytes(of: &self, body)
    }
}
