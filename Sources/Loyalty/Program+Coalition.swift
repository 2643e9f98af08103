/// Where points may be spent (docs/loyalty-rules.md, "Coalition spending"): at the merchant that issued them, at
/// any branch of the same business (a shared `branches` group), or at a neighbour in a shared `coalition` group,
/// in which case the issuing merchant owes the spending merchant the points' value (a settlement pair).
public enum SpendingPermission: Sendable, Equatable {
    case sameMerchant
    /// Branches of one business: one balance sheet, nothing to settle.
    case branches(group: ShortIdentifier)
    /// A coalition: `settlement.payer` (where the points were earned) owes `settlement.payee` (where they are
    /// spent) their value in money (`RedemptionPolicy.pointValueMinor` per point).
    case coalition(group: ShortIdentifier, settlement: SettlementPair)
    /// No shared group, or a merchant the program does not know (an unknown merchant belongs to no group, so
    /// only points earned at that same merchant id may be spent there).
    case notAllowed
}

/// Who owes whom when points cross merchants in a coalition.
public struct SettlementPair: Sendable, Equatable {
    public var payer: ShortIdentifier
    public var payee: ShortIdentifier

    public init(payer: ShortIdentifier, payee: ShortIdentifier) {
        self.payer = payer
        self.payee = payee
    }
}

/// The merchants' groups as indexes, for the spending question.
struct GroupTable: Sendable {
    let identifiers: [ShortIdentifier]
    let isCoalition: [Bool]
    /// By merchant index: the merchant's group indexes in its precedence order (≤ `groupsPerMerchantMax`).
    let groupIndexesByMerchant: [[Int32]]

    init(groups: [MerchantGroup], merchants: [Merchant]) {
        identifiers = groups.map(\.identifier)
        isCoalition = groups.map { $0.kind == .coalition }
        var indexByIdentifier: [ShortIdentifier: Int32] = [:]
        for (index, group) in groups.enumerated() { indexByIdentifier[group.identifier] = Int32(index) }
        groupIndexesByMerchant = merchants.map { merchant in
            merchant.groupIdentifiers.compactMap { indexByIdentifier[$0] }
        }
    }
}

extension Program {
    /// Whether points earned at `earnedAt` may be spent at `spentAt`, and with which settlement. A shared
    /// branches group wins over a shared coalition (no settlement inside one business); among several shared
    /// groups of a kind, the first in the earning merchant's list. At most 8 × 8 comparisons, no allocation.
    public func spending(earnedAt: ShortIdentifier, spentAt: ShortIdentifier) -> SpendingPermission {
        if earnedAt == spentAt { return .sameMerchant }
        guard let earning = merchantIndexByIdentifier[earnedAt], let spending = merchantIndexByIdentifier[spentAt]
        else { return .notAllowed }
        let earningGroups = groups.groupIndexesByMerchant[Int(earning)]
        let spendingGroups = groups.groupIndexesByMerchant[Int(spending)]
        var coalition: Int32 = -1
        for group in earningGroups where spendingGroups.contains(group) {
            if !groups.isCoalition[Int(group)] { return .branches(group: groups.identifiers[Int(group)]) }
            if coalition < 0 { coalition = group }
        }
        guard coalition >= 0 else { return .notAllowed }
        return .coalition(
            group: groups.identifiers[Int(coalition)], settlement: SettlementPair(payer: earnedAt, payee: spentAt))
    }
}
