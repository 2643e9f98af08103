/// Reading and checking the `redemption` and `expiry` sections (docs/loyalty-rules.md).
extension ProgramConfiguration {
    static func readRedemption(_ reader: JSONObjectReader?) throws(ProgramConfigurationError) -> RedemptionPolicy {
        guard let reader else { return RedemptionPolicy() }
        try reader.rejectUnknownKeys([
            "pointValueMinor", "minimumBalancePoints", "maximumSharePercent", "creditBeforePoints", "partialApproval",
        ])
        let defaults = RedemptionPolicy()
        return RedemptionPolicy(
            pointValueMinor: try reader.integer("pointValueMinor", default: defaults.pointValueMinor),
            minimumBalancePoints: try reader.integer("minimumBalancePoints", default: defaults.minimumBalancePoints),
            maximumSharePercent: try reader.integer("maximumSharePercent", default: defaults.maximumSharePercent),
            creditBeforePoints: try reader.boolean("creditBeforePoints", default: defaults.creditBeforePoints),
            partialApproval: try reader.boolean("partialApproval", default: defaults.partialApproval))
    }

    static func readExpiry(_ reader: JSONObjectReader?) throws(ProgramConfigurationError) -> ExpiryPolicy {
        guard let reader else { return ExpiryPolicy() }
        try reader.rejectUnknownKeys(["pointsLifeDays", "creditLifeDays"])
        return ExpiryPolicy(
            pointsLifeDays: reader.has("pointsLifeDays") ? try reader.integer("pointsLifeDays") : nil,
            creditLifeDays: reader.has("creditLifeDays") ? try reader.integer("creditLifeDays") : nil)
    }

    func validatePolicies() throws(ProgramConfigurationError) {
        let valueMax = ProgramLimits.pointValueMinorMax
        try Self.check(
            (1...valueMax).contains(redemption.pointValueMinor), "redemption.pointValueMinor", "must be 1...\(valueMax)"
        )
        let balanceMax = ProgramLimits.pointsEarnedMax
        try Self.check(
            (0...balanceMax).contains(redemption.minimumBalancePoints), "redemption.minimumBalancePoints",
            "must be 0...\(balanceMax)")
        try Self.check(
            (0...100).contains(redemption.maximumSharePercent), "redemption.maximumSharePercent", "must be 0...100")
        let lifeMax = ProgramLimits.lifeDaysMax
        if let days = expiry.pointsLifeDays {
            try Self.check((1...lifeMax).contains(days), "expiry.pointsLifeDays", "must be 1...\(lifeMax)")
        }
        if let days = expiry.creditLifeDays {
            try Self.check((1...lifeMax).contains(days), "expiry.creditLifeDays", "must be 1...\(lifeMax)")
        }
    }
}
