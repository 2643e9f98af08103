/// Checks that hold for every configuration, whether it came from JSON or was built in code: limits, references
/// to merchants and groups that exist, credit steps in order. `Program` runs them before building its tables, so
/// the evaluator can rely on them without checking again on every purchase.
extension ProgramConfiguration {
    public func validate() throws(ProgramConfigurationError) {
        try Self.check(version >= 1, "version", "must be at least 1")
        try Self.check((1...999).contains(currencyCode), "currency", "must be an ISO 4217 numeric code 1...999")
        try validateCalendar()
        try validateGroups()
        try validateMerchants()
        try validateMerchantTags()
        try validateEarning()
        try validateProducts()
        try validateScopes(storeCredit, path: "storeCredit") { rule, path throws(ProgramConfigurationError) in
            try Self.validate(rule, path: path)
        }
        try validateCampaigns()
        try validateTiers()
        try validateOffers()
        try validateEvents()
        try validateEngagement()
        try validateNotifications()
        try validatePolicies()
    }

    static func check(_ condition: Bool, _ keyPath: String, _ problem: String) throws(ProgramConfigurationError) {
        if !condition { throw ProgramConfigurationError(keyPath: keyPath, problem: problem) }
    }

    func validateGroups() throws(ProgramConfigurationError) {
        try Self.check(groups.count <= ProgramLimits.groupsMax, "groups", "more than \(ProgramLimits.groupsMax)")
        var seen: Set<ShortIdentifier> = []
        for (index, group) in groups.enumerated() {
            let path = KeyPath.join(KeyPath.join("groups", index: index), "id")
            try Self.check(seen.insert(group.identifier).inserted, path, "duplicate group \(group.identifier)")
        }
    }

    func validateMerchants() throws(ProgramConfigurationError) {
        let limit = ProgramLimits.merchantsMax
        try Self.check(merchants.count <= limit, "merchants", "more than \(limit)")
        let groupIdentifiers = Set(groups.map(\.identifier))
        var seen: Set<ShortIdentifier> = []
        for (index, merchant) in merchants.enumerated() {
            let path = KeyPath.join("merchants", index: index)
            let identifier = merchant.identifier
            try Self.check(
                seen.insert(identifier).inserted, KeyPath.join(path, "id"), "duplicate merchant \(identifier)")
            let groupsPath = KeyPath.join(path, "groups")
            let groupsMax = ProgramLimits.groupsPerMerchantMax
            try Self.check(merchant.groupIdentifiers.count <= groupsMax, groupsPath, "more than \(groupsMax)")
            for (groupIndex, group) in merchant.groupIdentifiers.enumerated() {
                let groupPath = KeyPath.join(groupsPath, index: groupIndex)
                try Self.check(groupIdentifiers.contains(group), groupPath, "unknown group \(group)")
            }
        }
    }

    func validateEarning() throws(ProgramConfigurationError) {
        let amountRange = 0...ProgramLimits.amountMinorMax
        try Self.check(
            amountRange.contains(earning.minimumPurchaseMinor), "earning.minimumPurchaseMinor",
            "must be 0...\(ProgramLimits.amountMinorMax)")
        if let cap = earning.pointsPerTransactionMax {
            try Self.check(cap >= 0, "earning.pointsPerTransactionMax", "must not be negative")
        }
        if let cap = earning.pointsPerMemberPerDayMax {
            let limit = ProgramLimits.pointsPerMemberPerDayMaxLimit
            try Self.check((0...limit).contains(cap), "earning.pointsPerMemberPerDayMax", "must be 0...\(limit)")
        }
        let codes = earning.pointsByServiceCode
        let limit = ProgramLimits.serviceCodesMax
        try Self.check(codes.count <= limit, "earning.byServiceCode", "more than \(limit) service codes")
        for (code, points) in codes {
            let path = KeyPath.join("earning.byServiceCode", String(code))
            try Self.check(Int64(code) <= ProgramLimits.serviceCodeMax, path, "service codes are 0...999999")
            try Self.check((0...ProgramLimits.pointsPerVisitMax).contains(points), path, "points must be 0...1000000")
        }
        try validateScopes(earning.rules, path: "earning") { rule, path throws(ProgramConfigurationError) in
            try Self.validate(rule, path: path)
        }
    }

    /// Runs `validateRule` on every rule of `rules` and checks that their keys name known merchants and groups.
    func validateScopes<Rule>(
        _ rules: ScopedRules<Rule>, path: String,
        _ validateRule: (Rule, String) throws(ProgramConfigurationError) -> Void
    ) throws(ProgramConfigurationError) {
        if let rule = rules.programDefault { try validateRule(rule, KeyPath.join(path, "default")) }
        let categoriesPath = KeyPath.join(path, "byMerchantCategory")
        for (code, rule) in rules.byMerchantCategory.sorted(by: { $0.key < $1.key }) {
            let rulePath = KeyPath.join(categoriesPath, String(code))
            try Self.check(
                code <= ProgramLimits.merchantCategoryCodeMax, rulePath, "merchant category codes are 0...9999")
            try validateRule(rule, rulePath)
        }
        let groupIdentifiers = Set(groups.map(\.identifier))
        for (group, rule) in rules.byGroup.sorted(by: { $0.key < $1.key }) {
            let rulePath = KeyPath.join(KeyPath.join(path, "byGroup"), group.description)
            try Self.check(groupIdentifiers.contains(group), rulePath, "unknown group")
            try validateRule(rule, rulePath)
        }
        let merchantIdentifiers = Set(merchants.map(\.identifier))
        for (merchant, rule) in rules.byMerchant.sorted(by: { $0.key < $1.key }) {
            let rulePath = KeyPath.join(KeyPath.join(path, "byMerchant"), merchant.description)
            try Self.check(merchantIdentifiers.contains(merchant), rulePath, "unknown merchant")
            try validateRule(rule, rulePath)
        }
    }

    static func validate(_ rule: PointsRule, path: String) throws(ProgramConfigurationError) {
        switch rule {
        case .perAmount(let points, let amountMinor):
            let pointsMax = ProgramLimits.pointsPerUnitMax
            try check((0...pointsMax).contains(points), KeyPath.join(path, "points"), "must be 0...\(pointsMax)")
            let amountMax = ProgramLimits.amountMinorMax
            try check(
                (1...amountMax).contains(amountMinor), KeyPath.join(path, "perAmountMinor"), "must be 1...\(amountMax)")
        case .perVisit(let points):
            let pointsMax = ProgramLimits.pointsPerVisitMax
            try check(
                (0...pointsMax).contains(points), KeyPath.join(path, "pointsPerVisit"), "must be 0...\(pointsMax)")
        }
    }

    static func validate(_ rule: CreditRule, path: String) throws(ProgramConfigurationError) {
        let stepsPath = KeyPath.join(path, "steps")
        let stepsMax = ProgramLimits.creditStepsMax
        try check((1...stepsMax).contains(rule.steps.count), stepsPath, "must hold 1...\(stepsMax) steps")
        var previousFromAmountMinor: Int64 = -1
        for (index, step) in rule.steps.enumerated() {
            let stepPath = KeyPath.join(stepsPath, index: index)
            let fromPath = KeyPath.join(stepPath, "fromAmountMinor")
            try check(
                (0...ProgramLimits.amountMinorMax).contains(step.fromAmountMinor), fromPath,
                "must be 0...\(ProgramLimits.amountMinorMax)")
            try check(step.fromAmountMinor > previousFromAmountMinor, fromPath, "steps must be in increasing order")
            let basisPointsMax = ProgramLimits.basisPointsMax
            try check(
                (0...basisPointsMax).contains(step.basisPoints), KeyPath.join(stepPath, "basisPoints"),
                "must be 0...\(basisPointsMax)")
            previousFromAmountMinor = step.fromAmountMinor
        }
    }
}
