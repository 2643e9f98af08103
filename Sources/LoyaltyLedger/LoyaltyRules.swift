import Ledger
import Loyalty

/// One version of the loyalty rules deciding for the ledger (`DecisionRules`): a purchase is evaluated by
/// `Program.evaluate`, a refund or reversal moves the member back by `Program.undo`, its reversal by
/// `Program.redo`; the answers go into the command in the forms the log has always carried.
final class LoyaltyRules: DecisionRules {
    let program: Program

    init(_ program: Program) {
        self.program = program
    }

    var version: Int64 { program.version }

    func decide(_ purchase: PurchaseRequest, timeMs: Int64, member: MemberState) -> PurchaseDecision {
        decide(purchase, basket: [], timeMs: timeMs, member: member)
    }

    /// A basket is read only when the program has product rules; its product points are part of the decided
    /// points, so the record keeps them and a refund takes them back pro rata like the rest.
    func decide(_ purchase: PurchaseRequest, lines: [SaleLine], timeMs: Int64, member: MemberState) -> PurchaseDecision
    {
        precondition(lines.count <= SaleDetail.linesMax, "a sale keeps at most linesMax lines")
        guard program.hasProductRules, !lines.isEmpty else {
            return decide(purchase, basket: [], timeMs: timeMs, member: member)
        }
        return decide(purchase, basket: lines.map(Self.basketLine), timeMs: timeMs, member: member)
    }

    private func decide(
        _ purchase: PurchaseRequest, basket: [BasketLine], timeMs: Int64, member: MemberState
    ) -> PurchaseDecision {
        var transaction = purchase.facts.transaction
        precondition(transaction.amountMinor == purchase.amountMinor, "a purchase's amount is said once")
        transaction.timeMs = timeMs
        let decision = program.evaluate(transaction: transaction, member: member.member, basket: basket)
        return PurchaseDecision(
            amounts: AssetAmounts(points: decision.postings.pointsEarned, credit: decision.postings.creditEarnedMinor),
            rulesVersion: decision.configurationVersion, memberAfter: LoggedMemberState(decision.memberAfter),
            effect: LoggedPurchaseEffect(decision.effect), referrerBonusPoints: decision.referrerBonusPoints)
    }

    /// A sale line in the rules' terms: its codes as identifiers (same bytes, the rules' word order).
    static func basketLine(_ line: SaleLine) -> BasketLine {
        BasketLine(
            sku: identifier(line.sku)!, category: line.category == .none ? nil : identifier(line.category),
            quantity: Int64(line.quantity), amountMinor: line.amountMinor)
    }

    /// A `SaleCode`'s bytes (zero-padded, first byte lowest) read as a `ShortIdentifier`, without an array.
    static func identifier(_ code: SaleCode) -> ShortIdentifier? {
        withUnsafeBytes(of: (code.high.littleEndian, code.low.littleEndian)) { bytes in
            let count = bytes.firstIndex(of: 0) ?? bytes.count
            return ShortIdentifier(bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<count]))
        }
    }

    /// The money part between the two refunded totals is taken pro rata to the purchase amount, rounded down per
    /// total so that partial refunds add up exactly to a full one.
    func undo(
        _ state: PurchaseEffectState, purchaseAmountMinor: Int64, fromRefundedMinor: Int64, toRefundedMinor: Int64,
        member: MemberState
    ) -> LoggedMemberState {
        var remaining = state.effect
        let money = Int128(remaining.moneyMinor)
        let purchase = Int128(max(purchaseAmountMinor, 1))
        let moneyBefore = Int64(money * Int128(fromRefundedMinor) / purchase)
        let moneyAfter = Int64(money * Int128(toRefundedMinor) / purchase)
        remaining.moneyMinor -= moneyBefore
        let completes = toRefundedMinor == purchaseAmountMinor && fromRefundedMinor < toRefundedMinor
        let after = program.undo(
            remaining, refundedMinor: moneyAfter - moneyBefore, completes: completes, member: member.member)
        return LoggedMemberState(after)
    }

    func redo(
        _ state: PurchaseEffectState, purchaseAmountMinor: Int64, fromRefundedMinor: Int64, toRefundedMinor: Int64,
        member: MemberState
    ) -> LoggedMemberState {
        let effect = state.effect
        let money = Int128(effect.moneyMinor)
        let whole = Int128(max(purchaseAmountMinor, 1))
        let restored = Int64(money * Int128(toRefundedMinor) / whole - money * Int128(fromRefundedMinor) / whole)
        let after = program.redo(
            effect, restoredMinor: restored, countsAgain: toRefundedMinor == purchaseAmountMinor,
            member: member.member)
        return LoggedMemberState(after)
    }

    func tier(of member: MemberState, atTimeMs timeMs: Int64) -> UInt8 {
        UInt8(clamping: program.tier(of: member.member, atTimeMs: timeMs))
    }

    var pointValueMinor: Int64 { program.redemption.pointValueMinor }

    func spending(earnedAtTag tag: UInt32, spentAt merchant: MerchantName) -> SpendingRight {
        switch program.spending(earnedAtTag: tag, spentAt: merchant.identifier) {
        case .sameMerchant, .branches: .allowed
        case .coalition: .settles
        case .notAllowed: .notAllowed
        }
    }

    func lotOrigin(of merchant: MerchantName) -> UInt32 { program.spendingOrigin(of: merchant.identifier) }

    func tag(of merchant: MerchantName) -> UInt32 { MerchantTag.of(merchant.identifier) }

    /// The day is rounded up, so value never expires before the rules promise (a lot is gone at 00:00 UTC of its
    /// day).
    func lotExpiryDays(earnedAtTimeMs timeMs: Int64) -> (points: Int32, credit: Int32)? {
        let expiry = program.expiry
        guard expiry.pointsLifeDays != nil || expiry.creditLifeDays != nil else { return nil }
        func day(_ asset: ExpiryPolicy.Asset) -> Int32 {
            guard let expiresMs = expiry.expiryTimeMs(of: asset, earnedAtTimeMs: timeMs) else { return LotTerms.never }
            let dayMs = LotTerms.millisecondsPerDay
            return Int32(clamping: (expiresMs + dayMs - 1) / dayMs)
        }
        return (day(.points), day(.credit))
    }

    var expiryNoticeDays: Int { program.expiryNoticeDays }

    var greetsBirthdays: Bool { program.birthdayGreeting }

    func birthdayGreetingYear(month: UInt8, day: UInt8, atTimeMs timeMs: Int64) -> Int? {
        program.birthdayGreetingYear(month: Int(month), day: Int(day), atTimeMs: timeMs)
    }

    func engage(_ type: EngagementType, timeMs: Int64, counted: EngagementCount) -> EngagementDecision {
        let identifier = MerchantName(high: type.high, low: type.low).identifier
        switch program.engage(identifier, timeMs: timeMs, period: counted.period, count: counted.count) {
        case .awarded(let points, let period, let count):
            return EngagementDecision(
                outcome: .awarded, points: points, countAfter: EngagementCount(period: period, count: count),
                rulesVersion: version)
        case .limitReached:
            return EngagementDecision(outcome: .limitReached, points: 0, countAfter: counted, rulesVersion: version)
        case .unknownType:
            return EngagementDecision(outcome: .unknownType, points: 0, countAfter: counted, rulesVersion: version)
        }
    }
}
