/// Rules of one kind resolved at load time into flat arrays, so that choosing the rule for a purchase is at most
/// two array reads: the merchant's resolved rule (its own, else its first group's), else the rule of the
/// merchant category, else the program default.
struct RuleTable<Rule: Sendable & Equatable>: Sendable {
    /// Every distinct rule once, with the level that defined it.
    let rules: [Rule]
    let sources: [RuleSource]
    /// By merchant index (the order of `ProgramConfiguration.merchants`); -1 when neither the merchant nor any
    /// of its groups has a rule.
    let ruleIndexByMerchantIndex: [Int32]
    /// By merchant category code, 0...9999 (10,000 entries, 40 KB: a lookup costs one load); -1 for none.
    let ruleIndexByMerchantCategory: [Int32]
    let defaultRuleIndex: Int32

    init(_ scoped: ScopedRules<Rule>, merchants: [Merchant]) {
        var rules: [Rule] = []
        var sources: [RuleSource] = []
        func append(_ rule: Rule, _ source: RuleSource) -> Int32 {
            rules.append(rule)
            sources.append(source)
            return Int32(rules.count - 1)
        }
        defaultRuleIndex = scoped.programDefault.map { append($0, .programDefault) } ?? -1
        var byCategory = [Int32](repeating: -1, count: Int(ProgramLimits.merchantCategoryCodeMax) + 1)
        for (code, rule) in scoped.byMerchantCategory.sorted(by: { $0.key < $1.key }) {
            byCategory[Int(code)] = append(rule, .merchantCategory(code))
        }
        var groupRuleIndex: [ShortIdentifier: Int32] = [:]
        for (group, rule) in scoped.byGroup.sorted(by: { $0.key < $1.key }) {
            groupRuleIndex[group] = append(rule, .group(group))
        }
        var byMerchant = [Int32](repeating: -1, count: merchants.count)
        for (index, merchant) in merchants.enumerated() {
            if let rule = scoped.byMerchant[merchant.identifier] {
                byMerchant[index] = append(rule, .merchant(merchant.identifier))
            } else if let group = merchant.groupIdentifiers.first(where: { groupRuleIndex[$0] != nil }) {
                byMerchant[index] = groupRuleIndex[group]!
            }
        }
        self.rules = rules
        self.sources = sources
        ruleIndexByMerchantIndex = byMerchant
        ruleIndexByMerchantCategory = byCategory
    }

    /// The index into `rules` of the rule that applies, or `nil` when no level has one.
    /// - Parameter merchantIndex: -1 for a merchant the program does not know.
    @inline(__always)
    func ruleIndex(merchantIndex: Int, merchantCategoryCode: UInt16) -> Int? {
        if merchantIndex >= 0 {
            let index = ruleIndexByMerchantIndex[merchantIndex]
            if index >= 0 { return Int(index) }
        }
        if merchantCategoryCode <= ProgramLimits.merchantCategoryCodeMax {
            let index = ruleIndexByMerchantCategory[Int(merchantCategoryCode)]
            if index >= 0 { return Int(index) }
        }
        return defaultRuleIndex >= 0 ? Int(defaultRuleIndex) : nil
    }
}
