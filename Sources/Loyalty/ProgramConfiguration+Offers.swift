/// Reading and checking the `offers` section (docs/loyalty-rules.md, "Personalised offers").
extension ProgramConfiguration {
    static let offerKeys: Set<String> = [
        "id", "from", "until", "eligibility", "trigger", "reward", "usesPerMemberMax", "validVisits",
    ]
    static let eligibilityKeys: Set<String> = [
        "purchasesAtLeast", "averageTicketMinMinor", "averageTicketMaxMinor", "averageIntervalDaysMin",
        "averageIntervalDaysMax", "daysSinceLastPurchaseMin", "daysSinceLastPurchaseMax",
    ]

    /// - Parameter calendar: the program's calendar and offset, in which `from` and `until` are written.
    static func readOffers(
        _ reader: JSONObjectReader, _ calendar: ClubCalendar
    ) throws(ProgramConfigurationError) -> [Offer] {
        var offers: [Offer] = []
        for offer in try reader.objects("offers") {
            try offer.rejectUnknownKeys(offerKeys)
            guard let reward = try offer.child("reward") else { throw offer.fail("reward", "is missing") }
            try reward.rejectUnknownKeys(["creditBasisPoints", "bonusPoints"])
            offers.append(
                Offer(
                    identifier: try offer.identifier("id"), fromTimeMs: try readTime(offer, "from", calendar),
                    untilTimeMs: try readTime(offer, "until", calendar),
                    eligibility: try readEligibility(offer.child("eligibility")),
                    trigger: try readTrigger(offer),
                    creditBasisPoints: try reward.integer("creditBasisPoints", default: 0),
                    bonusPoints: try reward.integer("bonusPoints", default: 0),
                    usesPerMemberMax: try offer.integer("usesPerMemberMax", default: 1),
                    validVisits: try offer.integer("validVisits", default: 0)))
        }
        return offers
    }

    static func readEligibility(_ reader: JSONObjectReader?) throws(ProgramConfigurationError) -> OfferEligibility {
        guard let reader else { return OfferEligibility() }
        try reader.rejectUnknownKeys(eligibilityKeys)
        func optional(_ key: String) throws(ProgramConfigurationError) -> Int64? {
            reader.has(key) ? try reader.integer(key) : nil
        }
        return OfferEligibility(
            purchasesAtLeast: try reader.integer("purchasesAtLeast", default: 0),
            averageTicketMinMinor: try optional("averageTicketMinMinor"),
            averageTicketMaxMinor: try optional("averageTicketMaxMinor"),
            averageIntervalDaysMin: try optional("averageIntervalDaysMin"),
            averageIntervalDaysMax: try optional("averageIntervalDaysMax"),
            daysSinceLastPurchaseMin: try optional("daysSinceLastPurchaseMin"),
            daysSinceLastPurchaseMax: try optional("daysSinceLastPurchaseMax"))
    }

    /// Exactly one of `{"purchaseAtLeastMinor": X}` and `{"returnWithinDays": N}`.
    static func readTrigger(_ offer: JSONObjectReader) throws(ProgramConfigurationError) -> Offer.Trigger {
        guard let trigger = try offer.child("trigger") else { throw offer.fail("trigger", "is missing") }
        if trigger.has("returnWithinDays") {
            try trigger.rejectUnknownKeys(["returnWithinDays"])
            return .returnWithin(days: try trigger.integer("returnWithinDays"))
        }
        try trigger.rejectUnknownKeys(["purchaseAtLeastMinor"])
        return .purchaseAtLeast(amountMinor: try trigger.integer("purchaseAtLeastMinor"))
    }

    /// Limits, ranges, unique ids (and id hashes), a reward above zero, ordered bounds.
    func validateOffers() throws(ProgramConfigurationError) {
        let limit = ProgramLimits.offersMax
        try Self.check(offers.count <= limit, "offers", "more than \(limit)")
        var seen: [UInt32: ShortIdentifier] = [:]
        for (index, offer) in offers.enumerated() {
            let path = KeyPath.join("offers", index: index)
            let hash = OfferTable.hash(of: offer.identifier)
            if let other = seen[hash] {
                let problem =
                    other == offer.identifier
                    ? "duplicate offer \(offer.identifier)" : "id hash collides with offer \(other); choose another id"
                throw ProgramConfigurationError(keyPath: KeyPath.join(path, "id"), problem: problem)
            }
            seen[hash] = offer.identifier
            try Self.check(offer.fromTimeMs < offer.untilTimeMs, KeyPath.join(path, "until"), "must be after from")
            try Self.validateOfferEligibility(offer.eligibility, path: KeyPath.join(path, "eligibility"))
            try Self.validateOfferTrigger(offer.trigger, path: KeyPath.join(path, "trigger"))
            try Self.validateOfferVisits(offer, path: KeyPath.join(path, "validVisits"))
            try Self.validateOfferReward(offer, path: path)
        }
    }

    static func validateOfferEligibility(_ rule: OfferEligibility, path: String) throws(ProgramConfigurationError) {
        let countMax = Int64(UInt32.max)
        try check(
            (0...countMax).contains(rule.purchasesAtLeast), KeyPath.join(path, "purchasesAtLeast"),
            "must be 0...\(countMax)")
        let amountMax = ProgramLimits.amountMinorMax
        let daysMax = ProgramLimits.offerDaysMax
        let bounds: [(String, Int64?, String, Int64?, Int64)] = [
            (
                "averageTicketMinMinor", rule.averageTicketMinMinor, "averageTicketMaxMinor",
                rule.averageTicketMaxMinor,
                amountMax
            ),
            (
                "averageIntervalDaysMin", rule.averageIntervalDaysMin, "averageIntervalDaysMax",
                rule.averageIntervalDaysMax, daysMax
            ),
            (
                "daysSinceLastPurchaseMin", rule.daysSinceLastPurchaseMin, "daysSinceLastPurchaseMax",
                rule.daysSinceLastPurchaseMax, daysMax
            ),
        ]
        for (minimumKey, minimum, maximumKey, maximum, limit) in bounds {
            if let minimum {
                try check((0...limit).contains(minimum), KeyPath.join(path, minimumKey), "must be 0...\(limit)")
            }
            if let maximum {
                try check((0...limit).contains(maximum), KeyPath.join(path, maximumKey), "must be 0...\(limit)")
            }
            if let minimum, let maximum {
                try check(minimum <= maximum, KeyPath.join(path, maximumKey), "must not be below \(minimumKey)")
            }
        }
    }

    static func validateOfferTrigger(_ trigger: Offer.Trigger, path: String) throws(ProgramConfigurationError) {
        switch trigger {
        case .purchaseAtLeast(let amountMinor):
            let amountMax = ProgramLimits.amountMinorMax
            try check(
                (0...amountMax).contains(amountMinor), KeyPath.join(path, "purchaseAtLeastMinor"),
                "must be 0...\(amountMax)")
        case .returnWithin(let days):
            let daysMax = ProgramLimits.offerDaysMax
            try check((1...daysMax).contains(days), KeyPath.join(path, "returnWithinDays"), "must be 1...\(daysMax)")
        }
    }

    /// `validVisits` limits an amount offer to the next visits; a return offer is already for the next one.
    static func validateOfferVisits(_ offer: Offer, path: String) throws(ProgramConfigurationError) {
        guard offer.validVisits != 0 else { return }
        let visitsMax = Int64(UInt8.max)
        try check((1...visitsMax).contains(offer.validVisits), path, "must be 1...\(visitsMax)")
        if case .returnWithin = offer.trigger {
            throw ProgramConfigurationError(
                keyPath: path, problem: "only for a purchaseAtLeastMinor trigger (a return offer is for the next visit)"
            )
        }
    }

    static func validateOfferReward(_ offer: Offer, path: String) throws(ProgramConfigurationError) {
        let basisPointsMax = ProgramLimits.basisPointsMax
        try check(
            (0...basisPointsMax).contains(offer.creditBasisPoints), KeyPath.join(path, "reward.creditBasisPoints"),
            "must be 0...\(basisPointsMax)")
        let bonusMax = ProgramLimits.offerBonusPointsMax
        try check(
            (0...bonusMax).contains(offer.bonusPoints), KeyPath.join(path, "reward.bonusPoints"),
            "must be 0...\(bonusMax)")
        try check(
            offer.creditBasisPoints > 0 || offer.bonusPoints > 0, KeyPath.join(path, "reward"),
            "must give creditBasisPoints or bonusPoints above 0")
        let usesMax = ProgramLimits.offerUsesPerMemberMax
        try check(
            (1...usesMax).contains(offer.usesPerMemberMax), KeyPath.join(path, "usesPerMemberMax"),
            "must be 1...\(usesMax)")
    }
}
