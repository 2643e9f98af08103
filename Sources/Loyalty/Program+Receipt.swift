/// What a receipt (ISO 8583 field 63) may say about a decision, looked up off the decision path.
extension Program {
    /// An offer as a receipt describes it.
    public struct OfferSummary: Sendable, Equatable {
        public var identifier: ShortIdentifier
        public var creditBasisPoints: Int64
        public var bonusPoints: Int64
        /// For a return offer: the days within which the next purchase receives the reward; 0 otherwise.
        public var returnWithinDays: Int64
        /// For an amount offer: the amount a purchase must reach; -1 for a return offer.
        public var purchaseAtLeastMinor: Int64
        /// For an amount offer granted for the next visits: how many; 0 otherwise.
        public var validVisits: Int64
    }

    /// The id hashes of the program's offers, in precedence order.
    public var offerHashes: [UInt32] { offers.hashes }

    /// The offer whose id hash a decision recorded (`PurchaseEffect.offerAppliedHash`, `offerGrantedHash`); nil
    /// when the rules in force no longer have it.
    public func offer(withHash hash: UInt32) -> OfferSummary? {
        let index = offers.index(ofHash: hash)
        guard hash != 0, index >= 0 else { return nil }
        let entry = offers.entries[index]
        return OfferSummary(
            identifier: entry.identifier, creditBasisPoints: entry.creditBasisPoints, bonusPoints: entry.bonusPoints,
            returnWithinDays: entry.returnWithinMs / 86_400_000, purchaseAtLeastMinor: entry.purchaseAtLeastMinor,
            validVisits: Int64(entry.validVisits))
    }
}
