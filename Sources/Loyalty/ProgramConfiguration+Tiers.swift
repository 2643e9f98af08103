/// Reading and checking the `tiers` section (docs/loyalty-rules.md, "Tiers").
extension ProgramConfiguration {
    static func readTiers(_ reader: JSONObjectReader?) throws(ProgramConfigurationError) -> TierConfiguration? {
        guard let reader else { return nil }
        try reader.rejectUnknownKeys(["windowDays", "by", "levels"])
        guard let basis = TierConfiguration.Basis(rawValue: try reader.string("by")) else {
            let allowed = TierConfiguration.Basis.allCases.map(\.rawValue).joined(separator: ", ")
            throw reader.fail("by", "must be one of \(allowed)")
        }
        var levels: [TierLevel] = []
        for level in try reader.objects("levels") {
            try level.rejectUnknownKeys(["id", "from", "pointsMultiplierPercent", "creditBasisPointsBonus"])
            levels.append(
                TierLevel(
                    identifier: try level.identifier("id"), from: try level.integer("from"),
                    pointsMultiplierPercent: try level.integer("pointsMultiplierPercent", default: 100),
                    creditBasisPointsBonus: try level.integer("creditBasisPointsBonus", default: 0)))
        }
        return TierConfiguration(windowDays: try reader.integer("windowDays"), basis: basis, levels: levels)
    }

    /// Window length, 1...8 levels, the first from 0, thresholds strictly increasing, multipliers and bonuses in
    /// range, ids unique.
    func validateTiers() throws(ProgramConfigurationError) {
        guard let tiers else { return }
        let windowMax = ProgramLimits.tierWindowDaysMax
        try Self.check((1...windowMax).contains(tiers.windowDays), "tiers.windowDays", "must be 1...\(windowMax)")
        let levelsMax = ProgramLimits.tierLevelsMax
        try Self.check(
            (1...levelsMax).contains(tiers.levels.count), "tiers.levels", "must hold 1...\(levelsMax) levels")
        let thresholdMax =
            tiers.basis == .count ? ProgramLimits.tierCountThresholdMax : ProgramLimits.tierVolumeThresholdMax
        var seen: Set<ShortIdentifier> = []
        var previousFrom: Int64 = -1
        for (index, level) in tiers.levels.enumerated() {
            let path = KeyPath.join("tiers.levels", index: index)
            try Self.check(
                seen.insert(level.identifier).inserted, KeyPath.join(path, "id"), "duplicate tier \(level.identifier)")
            let fromPath = KeyPath.join(path, "from")
            if index == 0 {
                try Self.check(level.from == 0, fromPath, "the first level is the base tier and must be from 0")
            }
            try Self.check((0...thresholdMax).contains(level.from), fromPath, "must be 0...\(thresholdMax)")
            try Self.check(level.from > previousFrom, fromPath, "levels must be in increasing order")
            previousFrom = level.from
            let multiplierMax = ProgramLimits.tierMultiplierPercentMax
            try Self.check(
                (0...multiplierMax).contains(level.pointsMultiplierPercent),
                KeyPath.join(path, "pointsMultiplierPercent"),
                "must be 0...\(multiplierMax)")
            let basisPointsMax = ProgramLimits.basisPointsMax
            try Self.check(
                (0...basisPointsMax).contains(level.creditBasisPointsBonus),
                KeyPath.join(path, "creditBasisPointsBonus"),
                "must be 0...\(basisPointsMax)")
        }
    }
}
