import Ledger
import Loyalty

extension LedgerOperation {
    /// A purchase for the loyalty rules to decide (`LedgerOperation.purchase`), from the transaction the switch
    /// read; its `timeMs` is not read (the ledger's time or `saleTimeMs` is).
    public static func purchase(transaction: Transaction, saleTimeMs: Int64? = nil, autoEnrol: Bool) -> Self {
        .purchase(
            PurchaseRequest(
                amountMinor: transaction.amountMinor, merchant: MerchantName(transaction.merchant),
                facts: PurchaseFacts(transaction)),
            saleTimeMs: saleTimeMs, autoEnrol: autoEnrol)
    }

    /// A payment with stored value under the rules' redemption `policy` (`LedgerOperation.pay`).
    public static func pay(
        amountMinor: Int64, purchaseTotalMinor: Int64? = nil, policy: RedemptionPolicy, merchant: ShortIdentifier
    ) -> Self {
        .pay(
            amountMinor: amountMinor, purchaseTotalMinor: purchaseTotalMinor, terms: PaymentTerms(policy),
            merchant: MerchantName(merchant))
    }
}

extension Ledger {
    /// The loyalty decider the ledger was opened with (`LedgerConfiguration.decider`).
    public var loyaltyDecider: LoyaltyDecider {
        guard let decider = configuration.decider as? LoyaltyDecider else {
            preconditionFailure("the ledger was opened without a LoyaltyDecider")
        }
        return decider
    }

    /// Puts loyalty rules in force (`LoyaltyDecider.setRules`): each shard takes them at its next batch.
    public func setRules(_ program: Program) {
        loyaltyDecider.setRules(program)
    }
}
