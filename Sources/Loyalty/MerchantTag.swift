/// A merchant's 32-bit tag: what the ledger writes on the lots a purchase forms (their origin), so that a later
/// payment knows where the value was earned (coalition spending and settlement) without storing 16-byte ids in
/// every lot. The identifier's `stableHash`; never 0 (0 means "no origin": spendable anywhere).
///
/// Two configured merchants whose tags collide are refused when the configuration is loaded
/// (`merchants[i].id`), so within one program a tag names one merchant.
public enum MerchantTag {
    public static func of(_ identifier: ShortIdentifier) -> UInt32 { identifier.stableHash }
}

extension Program {
    /// Whether value earned at the merchant tagged `earnedAt` may be spent at `spentAt` (see
    /// `spending(earnedAt:spentAt:)`). Tag 0 (value with no origin: bonuses between members, card transfers,
    /// value from before the rules) may be spent anywhere and settles nothing. A tag no configured merchant has
    /// (a merchant removed by a reload, or an unknown merchant) may be spent only at that same merchant.
    public func spending(earnedAtTag tag: UInt32, spentAt: ShortIdentifier) -> SpendingPermission {
        if tag == 0 || tag == MerchantTag.of(spentAt) { return .sameMerchant }
        guard let earnedAt = merchantIdentifierByTag[tag] else { return .notAllowed }
        return spending(earnedAt: earnedAt, spentAt: spentAt)
    }

    /// The origin the ledger writes on the lots a purchase at `merchant` forms: its tag when the merchant belongs
    /// to a group (its value is then spent where the groups allow, and a coalition settles), 0 otherwise (value
    /// spendable anywhere in the program, as when no merchant is grouped).
    public func spendingOrigin(of merchant: ShortIdentifier) -> UInt32 {
        guard let index = merchantIndexByIdentifier[merchant], !groups.groupIndexesByMerchant[Int(index)].isEmpty
        else { return 0 }
        return MerchantTag.of(merchant)
    }

    /// The configured merchant with this tag (for settlement reports).
    public func merchant(withTag tag: UInt32) -> ShortIdentifier? { merchantIdentifierByTag[tag] }
}

extension ProgramConfiguration {
    func validateMerchantTags() throws(ProgramConfigurationError) {
        var seen: [UInt32: ShortIdentifier] = [:]
        for (index, merchant) in merchants.enumerated() {
            let tag = MerchantTag.of(merchant.identifier)
            if let other = seen[tag] {
                throw ProgramConfigurationError(
                    keyPath: KeyPath.join(KeyPath.join("merchants", index: index), "id"),
                    problem: "\(merchant.identifier) and \(other) have the same 32-bit merchant tag; rename one")
            }
            seen[tag] = merchant.identifier
        }
    }
}
