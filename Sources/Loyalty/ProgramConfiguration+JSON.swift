import Foundation

/// Reading a program configuration from the JSON format documented in docs/loyalty-rules.md.
///
/// Loading happens once per configuration version, off the authorization path, so it may use Foundation's
/// `JSONSerialization` and dictionaries freely; `Program` then turns the result into flat tables.
extension ProgramConfiguration {
    /// Parses and validates a configuration; every error names the key path of the offending value.
    public static func fromJSON(_ bytes: [UInt8]) throws(ProgramConfigurationError) -> ProgramConfiguration {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw ProgramConfigurationError(keyPath: "", problem: "not valid JSON (\(error.localizedDescription))")
        }
        guard let root = object as? [String: Any] else {
            throw ProgramConfigurationError(keyPath: "", problem: "top level must be an object")
        }
        let reader = JSONObjectReader(object: root, path: "")
        try reader.rejectUnknownKeys([
            "version", "currency", "groups", "merchants", "earning", "storeCredit", "campaigns", "tiers", "offers",
            "events", "redemption", "expiry", "calendar", "utcOffset", "engagement",
            "notifications",
        ])
        let calendarSystem = try readCalendar(reader)
        let utcOffsetMinutes = try readUTCOffset(reader)
        let calendar = ClubCalendar(system: calendarSystem, utcOffsetMinutes: utcOffsetMinutes)
        let notifications = try readNotifications(reader.child("notifications"))
        let configuration = ProgramConfiguration(
            version: try reader.integer("version"),
            currencyCode: try reader.integer("currency", as: UInt16.self),
            groups: try readGroups(reader),
            merchants: try readMerchants(reader),
            earning: try readEarning(reader.child("earning"), calendar),
            storeCredit: try readScopes(reader.child("storeCredit"), extraKeys: [], readRule: readCreditRule),
            campaigns: try readCampaigns(reader, calendar),
            tiers: try readTiers(reader.child("tiers")),
            offers: try readOffers(reader, calendar),
            events: try readEvents(reader.child("events")),
            redemption: try readRedemption(reader.child("redemption")),
            expiry: try readExpiry(reader.child("expiry")),
            calendar: calendarSystem, utcOffsetMinutes: utcOffsetMinutes,
            engagement: try readEngagement(reader.child("engagement")),
            expiryNoticeDays: notifications.expiryNoticeDays, birthdayGreeting: notifications.birthdayGreeting)
        try configuration.validate()
        return configuration
    }

    static func readGroups(_ reader: JSONObjectReader) throws(ProgramConfigurationError) -> [MerchantGroup] {
        var groups: [MerchantGroup] = []
        for group in try reader.objects("groups") {
            try group.rejectUnknownKeys(["id", "kind"])
            let kindText = try group.string("kind")
            guard let kind = MerchantGroup.Kind(rawValue: kindText) else {
                let allowed = MerchantGroup.Kind.allCases.map(\.rawValue).joined(separator: ", ")
                throw group.fail("kind", "must be one of \(allowed)")
            }
            groups.append(MerchantGroup(identifier: try group.identifier("id"), kind: kind))
        }
        return groups
    }

    static func readMerchants(_ reader: JSONObjectReader) throws(ProgramConfigurationError) -> [Merchant] {
        var merchants: [Merchant] = []
        for merchant in try reader.objects("merchants") {
            try merchant.rejectUnknownKeys(["id", "groups"])
            var groupIdentifiers: [ShortIdentifier] = []
            for (index, element) in try merchant.array("groups").enumerated() {
                let path = KeyPath.join(KeyPath.join(merchant.path, "groups"), index: index)
                let error = ProgramConfigurationError(keyPath: path, problem: "must be a group id string")
                groupIdentifiers.append(try JSONObjectReader.identifier(element, orThrow: error))
            }
            merchants.append(Merchant(identifier: try merchant.identifier("id"), groupIdentifiers: groupIdentifiers))
        }
        return merchants
    }

    static func readEarning(
        _ reader: JSONObjectReader?, _ calendar: ClubCalendar
    ) throws(ProgramConfigurationError) -> Earning {
        guard let reader else { return Earning() }
        let rules = try readScopes(
            reader,
            extraKeys: [
                "minimumPurchaseMinor", "pointsPerTransactionMax", "pointsPerMemberPerDayMax", "byServiceCode",
                "bySku", "byProductCategory",
            ],
            readRule: readPointsRule)
        var pointsByServiceCode: [UInt32: Int64] = [:]
        for (key, value) in try reader.members("byServiceCode") {
            let path = KeyPath.join(KeyPath.join(reader.path, "byServiceCode"), key)
            guard let code = UInt32(key) else {
                throw ProgramConfigurationError(keyPath: path, problem: "service codes are whole numbers")
            }
            let error = ProgramConfigurationError(keyPath: path, problem: "points must be a whole number")
            pointsByServiceCode[code] = try JSONObjectReader.integer(value, orThrow: error)
        }
        return Earning(
            minimumPurchaseMinor: try reader.integer("minimumPurchaseMinor", default: 0),
            pointsPerTransactionMax: reader.has("pointsPerTransactionMax")
                ? try reader.integer("pointsPerTransactionMax") : nil,
            pointsPerMemberPerDayMax: reader.has("pointsPerMemberPerDayMax")
                ? try reader.integer("pointsPerMemberPerDayMax") : nil,
            rules: rules, pointsByServiceCode: pointsByServiceCode,
            pointsBySku: try readProductRules(reader, "bySku", calendar),
            pointsByProductCategory: try readProductRules(reader, "byProductCategory", calendar))
    }

    /// Reads `default`, `byMerchantCategory`, `byGroup` and `byMerchant` with `readRule`; `extraKeys` are the
    /// section's other keys, read by the caller.
    static func readScopes<Rule>(
        _ reader: JSONObjectReader?, extraKeys: Set<String>,
        readRule: (JSONObjectReader) throws(ProgramConfigurationError) -> Rule
    ) throws(ProgramConfigurationError) -> ScopedRules<Rule> {
        guard let reader else { return ScopedRules() }
        try reader.rejectUnknownKeys(extraKeys.union(["default", "byMerchantCategory", "byGroup", "byMerchant"]))
        var rules = ScopedRules<Rule>()
        if let rule = try reader.child("default") { rules.programDefault = try readRule(rule) }
        for (key, rule) in try ruleObjects(reader, "byMerchantCategory") {
            guard key.count == 4, let code = UInt16(key) else {
                throw ProgramConfigurationError(keyPath: rule.path, problem: "merchant category codes are 4 digits")
            }
            rules.byMerchantCategory[code] = try readRule(rule)
        }
        for (key, rule) in try ruleObjects(reader, "byGroup") {
            rules.byGroup[try identifierKey(key, rule.path)] = try readRule(rule)
        }
        for (key, rule) in try ruleObjects(reader, "byMerchant") {
            rules.byMerchant[try identifierKey(key, rule.path)] = try readRule(rule)
        }
        return rules
    }

    static func ruleObjects(
        _ reader: JSONObjectReader, _ key: String
    ) throws(ProgramConfigurationError) -> [(key: String, rule: JSONObjectReader)] {
        guard let scope = try reader.child(key) else { return [] }
        var rules: [(key: String, rule: JSONObjectReader)] = []
        for (memberKey, _) in try reader.members(key) {
            guard let rule = try scope.child(memberKey) else { continue }
            rules.append((memberKey, rule))
        }
        return rules
    }

    static func identifierKey(_ key: String, _ path: String) throws(ProgramConfigurationError) -> ShortIdentifier {
        guard let identifier = ShortIdentifier(key) else {
            throw ProgramConfigurationError(keyPath: path, problem: "must be 1...16 printable ASCII characters")
        }
        return identifier
    }

    /// `{"points": P, "perAmountMinor": A}` or `{"pointsPerVisit": V}`, exactly one of the two forms.
    static func readPointsRule(_ reader: JSONObjectReader) throws(ProgramConfigurationError) -> PointsRule {
        if reader.has("pointsPerVisit") {
            try reader.rejectUnknownKeys(["pointsPerVisit"])
            return .perVisit(points: try reader.integer("pointsPerVisit"))
        }
        try reader.rejectUnknownKeys(["points", "perAmountMinor"])
        return .perAmount(points: try reader.integer("points"), amountMinor: try reader.integer("perAmountMinor"))
    }

    /// `{"steps": [{"fromAmountMinor": T, "basisPoints": B}, ...]}`.
    static func readCreditRule(_ reader: JSONObjectReader) throws(ProgramConfigurationError) -> CreditRule {
        try reader.rejectUnknownKeys(["steps"])
        var steps: [CreditStep] = []
        for step in try reader.objects("steps") {
            try step.rejectUnknownKeys(["fromAmountMinor", "basisPoints"])
            steps.append(
                CreditStep(
                    fromAmountMinor: try step.integer("fromAmountMinor"), basisPoints: try step.integer("basisPoints")))
        }
        return CreditRule(steps: steps)
    }
}
