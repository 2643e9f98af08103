/// Reading and checking the `engagement` section (docs/loyalty-rules.md, "Engagement").
extension ProgramConfiguration {
    static func readEngagement(_ reader: JSONObjectReader?) throws(ProgramConfigurationError) -> [EngagementRule] {
        guard let reader else { return [] }
        try reader.rejectUnknownKeys(["events"])
        var rules: [EngagementRule] = []
        for event in try reader.objects("events") {
            try event.rejectUnknownKeys(["type", "points", "limit"])
            guard let limit = try event.child("limit") else { throw event.fail("limit", "is required") }
            try limit.rejectUnknownKeys(["count", "period"])
            let periodText = try limit.string("period")
            guard let period = EngagementPeriod(rawValue: periodText) else {
                let allowed = EngagementPeriod.allCases.map(\.rawValue).joined(separator: ", ")
                throw limit.fail("period", "must be one of \(allowed)")
            }
            rules.append(
                EngagementRule(
                    type: try event.identifier("type"), points: try event.integer("points"),
                    limitCount: try limit.integer("count"), period: period))
        }
        return rules
    }

    func validateEngagement() throws(ProgramConfigurationError) {
        let typesMax = ProgramLimits.engagementTypesMax
        try Self.check(engagement.count <= typesMax, "engagement.events", "more than \(typesMax)")
        var seen: Set<ShortIdentifier> = []
        for (index, rule) in engagement.enumerated() {
            let path = KeyPath.join(KeyPath.join("engagement", "events"), index: index)
            try Self.check(seen.insert(rule.type).inserted, KeyPath.join(path, "type"), "duplicate type \(rule.type)")
            let pointsMax = ProgramLimits.engagementPointsMax
            try Self.check(
                (1...pointsMax).contains(rule.points), KeyPath.join(path, "points"), "must be 1...\(pointsMax)")
            let countMax = ProgramLimits.engagementLimitCountMax
            try Self.check(
                (1...countMax).contains(rule.limitCount), KeyPath.join(KeyPath.join(path, "limit"), "count"),
                "must be 1...\(countMax)")
        }
    }
}
