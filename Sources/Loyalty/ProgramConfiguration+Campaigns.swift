/// Reading and checking the `campaigns` section (docs/loyalty-rules.md). Kept apart from the rule levels because
/// campaigns are a list of self-contained objects rather than rules keyed by level.
extension ProgramConfiguration {
    static let campaignKeys: Set<String> = [
        "id", "from", "until", "daysOfWeek", "hours", "scope", "pointsMultiplierPercent", "bonusPoints",
    ]

    /// - Parameter calendar: the program's calendar and offset, in which `from` and `until` are written.
    static func readCampaigns(
        _ reader: JSONObjectReader, _ calendar: ClubCalendar
    ) throws(ProgramConfigurationError) -> [Campaign] {
        var campaigns: [Campaign] = []
        for campaign in try reader.objects("campaigns") {
            try campaign.rejectUnknownKeys(campaignKeys)
            var daysOfWeek: [Int] = []
            for (index, element) in try campaign.array("daysOfWeek").enumerated() {
                let path = KeyPath.join(KeyPath.join(campaign.path, "daysOfWeek"), index: index)
                let error = ProgramConfigurationError(keyPath: path, problem: "must be an ISO weekday 1...7")
                daysOfWeek.append(Int(try JSONObjectReader.integer(element, orThrow: error)))
            }
            var hours: HourWindow?
            if let window = try campaign.child("hours") {
                try window.rejectUnknownKeys(["from", "until"])
                hours = HourWindow(
                    fromHour: Int(try window.integer("from")), untilHour: Int(try window.integer("until")))
            }
            campaigns.append(
                Campaign(
                    identifier: try campaign.identifier("id"), fromTimeMs: try readTime(campaign, "from", calendar),
                    untilTimeMs: try readTime(campaign, "until", calendar), daysOfWeek: daysOfWeek, hours: hours,
                    scope: try readCampaignScope(campaign.child("scope")),
                    pointsMultiplierPercent: campaign.has("pointsMultiplierPercent")
                        ? try campaign.integer("pointsMultiplierPercent") : nil,
                    bonusPoints: try campaign.integer("bonusPoints", default: 0)))
        }
        return campaigns
    }

    static func readCampaignScope(_ reader: JSONObjectReader?) throws(ProgramConfigurationError) -> CampaignScope {
        guard let reader else { return CampaignScope() }
        try reader.rejectUnknownKeys(["merchants", "groups", "merchantCategories"])
        func identifiers(_ key: String) throws(ProgramConfigurationError) -> [ShortIdentifier] {
            var identifiers: [ShortIdentifier] = []
            for (index, element) in try reader.array(key).enumerated() {
                let path = KeyPath.join(KeyPath.join(reader.path, key), index: index)
                let error = ProgramConfigurationError(
                    keyPath: path, problem: "must be 1...16 printable ASCII characters")
                identifiers.append(try JSONObjectReader.identifier(element, orThrow: error))
            }
            return identifiers
        }
        var codes: [UInt16] = []
        for (index, element) in try reader.array("merchantCategories").enumerated() {
            let path = KeyPath.join(KeyPath.join(reader.path, "merchantCategories"), index: index)
            guard let text = element as? String, text.utf8.count == 4,
                text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                let code = UInt16(text)
            else { throw ProgramConfigurationError(keyPath: path, problem: "merchant category codes are 4 digits") }
            codes.append(code)
        }
        return CampaignScope(
            merchants: try identifiers("merchants"), groups: try identifiers("groups"), merchantCategoryCodes: codes)
    }

    /// Limits, ranges and references for every campaign, for JSON and code-built configurations alike.
    func validateCampaigns() throws(ProgramConfigurationError) {
        let limit = ProgramLimits.campaignsMax
        try Self.check(campaigns.count <= limit, "campaigns", "more than \(limit)")
        var seen: Set<ShortIdentifier> = []
        let merchantIdentifiers = Set(merchants.map(\.identifier))
        let groupIdentifiers = Set(groups.map(\.identifier))
        for (index, campaign) in campaigns.enumerated() {
            let path = KeyPath.join("campaigns", index: index)
            try Self.check(
                seen.insert(campaign.identifier).inserted, KeyPath.join(path, "id"),
                "duplicate campaign \(campaign.identifier)")
            try Self.check(
                campaign.fromTimeMs < campaign.untilTimeMs, KeyPath.join(path, "until"), "must be after from")
            try Self.validateSchedule(campaign, path: path)
            try Self.validateReward(campaign, path: path)
            let scopePath = KeyPath.join(path, "scope")
            for (position, merchant) in campaign.scope.merchants.enumerated() {
                let merchantPath = KeyPath.join(KeyPath.join(scopePath, "merchants"), index: position)
                try Self.check(merchantIdentifiers.contains(merchant), merchantPath, "unknown merchant \(merchant)")
            }
            for (position, group) in campaign.scope.groups.enumerated() {
                let groupPath = KeyPath.join(KeyPath.join(scopePath, "groups"), index: position)
                try Self.check(groupIdentifiers.contains(group), groupPath, "unknown group \(group)")
            }
            for (position, code) in campaign.scope.merchantCategoryCodes.enumerated() {
                let codePath = KeyPath.join(KeyPath.join(scopePath, "merchantCategories"), index: position)
                try Self.check(
                    code <= ProgramLimits.merchantCategoryCodeMax, codePath, "merchant category codes are 0...9999")
            }
        }
    }

    static func validateSchedule(_ campaign: Campaign, path: String) throws(ProgramConfigurationError) {
        var days: Set<Int> = []
        for (position, day) in campaign.daysOfWeek.enumerated() {
            let dayPath = KeyPath.join(KeyPath.join(path, "daysOfWeek"), index: position)
            try check((1...7).contains(day), dayPath, "must be an ISO weekday 1...7")
            try check(days.insert(day).inserted, dayPath, "duplicate weekday \(day)")
        }
        if let hours = campaign.hours {
            let hoursPath = KeyPath.join(path, "hours")
            try check((0...23).contains(hours.fromHour), KeyPath.join(hoursPath, "from"), "must be 0...23")
            try check(
                (hours.fromHour + 1...24).contains(hours.untilHour), KeyPath.join(hoursPath, "until"),
                "must be after from and at most 24 (a window over midnight is two campaigns)")
        }
    }

    static func validateReward(_ campaign: Campaign, path: String) throws(ProgramConfigurationError) {
        let multiplierMax = ProgramLimits.campaignMultiplierPercentMax
        if let percent = campaign.pointsMultiplierPercent {
            try check(
                (0...multiplierMax).contains(percent), KeyPath.join(path, "pointsMultiplierPercent"),
                "must be 0...\(multiplierMax)")
        }
        let bonusMax = ProgramLimits.campaignBonusPointsMax
        try check(
            (0...bonusMax).contains(campaign.bonusPoints), KeyPath.join(path, "bonusPoints"), "must be 0...\(bonusMax)")
        try check(
            campaign.pointsMultiplierPercent != nil || campaign.bonusPoints > 0, path,
            "must set pointsMultiplierPercent or a bonusPoints above 0")
    }
}
