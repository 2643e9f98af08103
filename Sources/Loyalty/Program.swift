/// A loaded loyalty program: the configuration resolved into lookup tables, and the evaluator that decides what
/// a purchase earns.
///
/// Evaluation is pure and deterministic: it reads only its arguments and the tables, never a clock or random
/// source, so the same purchase and member always give the same decision, and a replay reproduces it. Its hot
/// path is one dictionary lookup (the merchant), array reads and integer arithmetic; it allocates nothing.
///
/// Rounding: points are `points` per *whole* `perAmountMinor` of the money part (floor); credit is
/// `moneyPart × basisPoints / 10,000` rounded down to the minor unit (floor). Thresholds (minimum purchase,
/// credit steps) compare the whole purchase amount; rewards are computed on the part paid in money, since the
/// part paid with points earns nothing.
///
/// Campaigns (docs/loyalty-rules.md): once a points rule applied and the purchase reached the minimum, the
/// highest multiplier of the matching campaigns scales the rule's points (floor, after the tier multiplier), the
/// matching campaigns' bonuses are added, and only then does the per-transaction cap apply, so the cap stays the
/// most any purchase can earn (event bonuses aside). Campaigns never change store credit.
///
/// Member-dependent rules (tiers, offers, the daily cap, event bonuses) read only the `Member` passed in and
/// write only `Decision.memberAfter` and `Decision.effect`; `undo(_:refundedMinor:member:)` reverses an effect.
/// A final class (immutable): holding or passing it costs one reference count, not one per table, which the
/// switch and the ledger do per purchase.
public final class Program: Sendable {
    /// 0 for the embedded default program (`Program.embedded`); configured programs start at 1.
    public let version: Int64
    /// `Program.anyCurrency` for the embedded default program, which earns on every purchase as the flat rate did.
    public let currencyCode: UInt16
    let merchantIndexByIdentifier: [ShortIdentifier: Int32]
    /// Configured merchants by `MerchantTag`, for lots that remember where they were earned.
    let merchantIdentifierByTag: [UInt32: ShortIdentifier]
    let pointsRules: RuleTable<PointsRule>
    let creditRules: RuleTable<CreditRule>
    let pointsByServiceCode: [UInt32: Int64]
    /// Product rules (`earning.bySku`, `earning.byProductCategory`), for purchases with a basket.
    let productRulesBySku: [ShortIdentifier: ProductRule]
    let productRulesByCategory: [ShortIdentifier: ProductRule]
    let minimumPurchaseMinor: Int64
    /// `Int64.max` when the configuration sets no cap, so the hot path needs no optional.
    let pointsPerTransactionMax: Int64
    /// `Int64.max` when the configuration sets no daily cap.
    let pointsPerMemberPerDayMax: Int64
    let campaigns: CampaignTable
    let tiers: TierTable
    let offers: OfferTable
    let events: EventBonuses
    /// Engagement event types, their points and per-member limits (Program+Engagement.swift).
    public let engagement: [EngagementRule]
    let hasBirthdayBonus: Bool
    let groups: GroupTable
    /// The club's calendar and offset: local days for the daily cap and the birthday window (campaigns and tiers
    /// hold the offset in their tables).
    public let calendar: ClubCalendar
    /// How members pay with points and credit; the ledger asks `redemption.plan(...)` on a redemption.
    public let redemption: RedemptionPolicy
    /// How long points and credit live; the ledger asks `expiry.expiryTimeMs(of:earnedAtTimeMs:)` for each lot.
    public let expiry: ExpiryPolicy
    /// Days before a lot expires that its member is told (0: never); the ledger's notice step reads it.
    public let expiryNoticeDays: Int
    /// Whether members are greeted on their birthday (`member.birthday`); the ledger's greeting step reads it.
    public let birthdayGreeting: Bool

    /// Validates `configuration` and builds the tables.
    public convenience init(configuration: ProgramConfiguration) throws(ProgramConfigurationError) {
        try self.init(configuration: configuration, version: configuration.version, currencyCode: nil)
    }

    /// `version` and `currencyCode` (nil: the configuration's) let the embedded program take values no file may.
    init(configuration: ProgramConfiguration, version: Int64, currencyCode: UInt16?) throws(ProgramConfigurationError) {
        try configuration.validate()
        self.version = version
        self.currencyCode = currencyCode ?? configuration.currencyCode
        var merchantIndex: [ShortIdentifier: Int32] = [:]
        for (index, merchant) in configuration.merchants.enumerated() {
            merchantIndex[merchant.identifier] = Int32(index)
        }
        merchantIndexByIdentifier = merchantIndex
        merchantIdentifierByTag = Dictionary(
            uniqueKeysWithValues: configuration.merchants.map { (MerchantTag.of($0.identifier), $0.identifier) })
        pointsRules = RuleTable(configuration.earning.rules, merchants: configuration.merchants)
        creditRules = RuleTable(configuration.storeCredit, merchants: configuration.merchants)
        pointsByServiceCode = configuration.earning.pointsByServiceCode
        productRulesBySku = configuration.earning.pointsBySku
        productRulesByCategory = configuration.earning.pointsByProductCategory
        minimumPurchaseMinor = configuration.earning.minimumPurchaseMinor
        pointsPerTransactionMax = configuration.earning.pointsPerTransactionMax ?? Int64.max
        pointsPerMemberPerDayMax = configuration.earning.pointsPerMemberPerDayMax ?? Int64.max
        calendar = ClubCalendar(system: configuration.calendar, utcOffsetMinutes: configuration.utcOffsetMinutes)
        campaigns = CampaignTable(
            configuration.campaigns, merchants: configuration.merchants, utcOffsetMs: calendar.utcOffsetMs)
        tiers = TierTable(configuration.tiers, utcOffsetMs: calendar.utcOffsetMs)
        offers = OfferTable(configuration.offers)
        events = configuration.events
        engagement = configuration.engagement
        hasBirthdayBonus = configuration.events.birthdayPoints > 0
        groups = GroupTable(groups: configuration.groups, merchants: configuration.merchants)
        redemption = configuration.redemption
        expiry = configuration.expiry
        expiryNoticeDays = Int(configuration.expiryNoticeDays)
        birthdayGreeting = configuration.birthdayGreeting
    }

    /// Parses, validates and loads a JSON configuration (docs/loyalty-rules.md).
    public convenience init(json bytes: [UInt8]) throws(ProgramConfigurationError) {
        try self.init(configuration: ProgramConfiguration.fromJSON(bytes))
    }

    /// The id of campaign `index` as listed in the configuration, to name the campaigns an `Explanation` counts
    /// by index (on receipts and in logs, off the authorization path).
    public func campaignIdentifier(at index: Int) -> ShortIdentifier {
        campaigns.entries[index].identifier
    }

    /// Decides what `transaction` earns for `member`, and the member's aggregates after it.
    ///
    /// Order of application (docs/loyalty-rules.md): the rule's points → the tier multiplier → campaigns
    /// (highest multiplier, then bonuses) → product points of the basket (docs/basket.md; neither multiplied nor
    /// needing a rule) → the offer's bonus → caps (per transaction, then per member per day) → event bonuses
    /// (uncapped, once each). Credit: the rule's step rate plus the tier's bonus plus the offer's rate, at most
    /// 100%, on the money part. Every evaluated purchase is counted into the member's aggregates; a wrong currency
    /// or an invalid amount leaves the member as it was (`effect` is `.none`).
    /// - Parameter basket: the lines the terminal sent (field 48 `IT`); empty when it sent none.
    public func evaluate(transaction: Transaction, member: Member, basket: [BasketLine] = []) -> Decision {
        var explanation = Explanation.nothingApplied
        guard transaction.currencyCode == currencyCode || currencyCode == Self.anyCurrency else {
            explanation.outcome = .currencyMismatch
            return decision(points: 0, creditMinor: 0, explanation, unchanged: member)
        }
        let amountMinor = transaction.amountMinor
        let paidWithPointsMinor = transaction.paidWithPointsAmountMinor
        guard (0...ProgramLimits.amountMinorMax).contains(amountMinor), (0...amountMinor).contains(paidWithPointsMinor)
        else {
            explanation.outcome = .invalidAmount
            return decision(points: 0, creditMinor: 0, explanation, unchanged: member)
        }
        let merchantIndex = merchantIndexByIdentifier[transaction.merchant].map(Int.init) ?? -1
        let moneyMinor = amountMinor - paidWithPointsMinor
        var after = member
        var effect = PurchaseEffect(
            moneyMinor: moneyMinor, timeMs: max(0, transaction.timeMs),
            previousPurchaseTimeMs: member.lastPurchaseTimeMs, tierBefore: member.tier)
        let level = tiers.isEmpty ? 0 : enterTierWindow(&after, timeMs: transaction.timeMs, &explanation)
        var points = evaluatePoints(
            transaction, merchantIndex: merchantIndex, moneyMinor: moneyMinor, tierLevel: level, &explanation)
        if !basket.isEmpty, hasProductRules, amountMinor >= minimumPurchaseMinor {
            let products = productPoints(
                basket, amountMinor: amountMinor, moneyMinor: moneyMinor, timeMs: transaction.timeMs)
            explanation.productPoints = products.points
            explanation.productLines = Int8(clamping: products.lines)
            points = min(points + products.points, ProgramLimits.pointsEarnedMax)
        }
        var basisPoints =
            evaluateCreditBasisPoints(transaction, merchantIndex: merchantIndex, &explanation)
            + tiers.creditBasisPointsBonuses[level]
        if !offers.entries.isEmpty, amountMinor >= minimumPurchaseMinor {
            let reward = applyOffers(transaction, before: member, &after, &effect, &explanation)
            points += reward.bonusPoints
            basisPoints += reward.creditBasisPoints
        }
        points = applyCaps(points, timeMs: transaction.timeMs, &after, &effect, &explanation)
        var referrerBonusPoints: Int64 = 0
        if amountMinor >= minimumPurchaseMinor,
            !after.enrolmentRewarded || !after.firstPurchaseRewarded || (hasBirthdayBonus && after.birthMonth != 0)
        {
            points += applyEvents(
                timeMs: transaction.timeMs, &after, &effect, &explanation, referrerBonusPoints: &referrerBonusPoints)
        }
        count(transaction, moneyMinor: moneyMinor, levelBefore: level, into: &after, &effect)
        let creditMinor = moneyMinor * min(basisPoints, ProgramLimits.basisPointsMax) / ProgramLimits.basisPointsMax
        precondition(points >= 0 && referrerBonusPoints >= 0, "a purchase never earns negative points")
        precondition(creditMinor >= 0 && creditMinor <= moneyMinor, "credit is a share of the money part, at most all")
        precondition(Int64(effect.pointsCountedOnDay) <= points, "the daily cap counts only points this purchase gave")
        precondition(effect.moneyMinor == moneyMinor, "the effect undoes exactly the money part counted")
        precondition(Int(after.tier) < max(1, tierCount), "the member's tier is one of the program's tiers")
        return Decision(
            postings: Postings(pointsEarned: points, creditEarnedMinor: creditMinor), explanation: explanation,
            configurationVersion: version, memberAfter: after, effect: effect, referrerBonusPoints: referrerBonusPoints)
    }

    /// A decision that leaves the member as it was (nothing counted: wrong currency, invalid amount).
    @inline(__always)
    func decision(points: Int64, creditMinor: Int64, _ explanation: Explanation, unchanged member: Member) -> Decision {
        Decision(
            postings: Postings(pointsEarned: points, creditEarnedMinor: creditMinor), explanation: explanation,
            configurationVersion: version, memberAfter: member, effect: .none)
    }

    /// Moves the member's tier windows to the purchase's window and returns the level the purchase earns at:
    /// the tier in force before it (an upgrade this purchase causes shows in `memberAfter.tier`).
    func enterTierWindow(_ member: inout Member, timeMs: Int64, _ explanation: inout Explanation) -> Int {
        precondition(!tiers.isEmpty, "a program without tiers has no tier windows")
        member = tiers.rolled(member, toWindow: tiers.windowIndex(timeMs))
        let level = tiers.level(of: member)
        precondition(level >= 0 && level < tiers.identifiers.count, "the tier earned at is one of the program's tiers")
        explanation.tier = UInt8(level)
        explanation.tierMultiplierPercent = Int16(tiers.multiplierPercents[level])
        explanation.tierCreditBasisPointsBonus = Int16(tiers.creditBasisPointsBonuses[level])
        return level
    }

    /// Service code first (a service is rewarded as such), then the resolved amount or visit rule; the minimum
    /// purchase, then the tier multiplier, then campaigns apply to whichever rule gave the points. Caps come
    /// later (`applyCaps`).
    func evaluatePoints(
        _ transaction: Transaction, merchantIndex: Int, moneyMinor: Int64, tierLevel: Int,
        _ explanation: inout Explanation
    ) -> Int64 {
        precondition(moneyMinor >= 0 && moneyMinor <= transaction.amountMinor, "the money part is part of the purchase")
        precondition(tierLevel >= 0 && tierLevel < tiers.multiplierPercents.count, "tier level out of the table")
        var points: Int64
        if let code = transaction.serviceCode, let servicePoints = pointsByServiceCode[code] {
            explanation.pointsRule = .serviceCode(code)
            points = servicePoints
        } else if let index = pointsRules.ruleIndex(
            merchantIndex: merchantIndex, merchantCategoryCode: transaction.merchantCategoryCode)
        {
            explanation.pointsRule = pointsRules.sources[index]
            switch pointsRules.rules[index] {
            case .perAmount(let pointsPerUnit, let unitMinor): points = moneyMinor / unitMinor * pointsPerUnit
            case .perVisit(let pointsPerVisit): points = pointsPerVisit
            }
        } else {
            return 0
        }
        if transaction.amountMinor < minimumPurchaseMinor {
            explanation.pointsNote = .belowMinimumPurchase
            return 0
        }
        let tierPercent = tiers.multiplierPercents[tierLevel]
        if tierPercent != 100 { points = TierTable.scaled(points, percent: tierPercent) }
        if campaigns.wordCount > 0 {
            points = applyCampaigns(transaction, merchantIndex: merchantIndex, points: points, &explanation)
        }
        precondition(points >= 0, "validated rules never give negative points")
        explanation.pointsNote = .awarded
        return points
    }

    /// The per-transaction cap (the most any purchase earns, campaigns and offers included), then the member's
    /// daily cap (the purchase that reaches it gets the remainder, later ones 0). The explanation keeps the
    /// uncapped number.
    @inline(__always)
    func applyCaps(
        _ uncapped: Int64, timeMs: Int64, _ member: inout Member, _ effect: inout PurchaseEffect,
        _ explanation: inout Explanation
    ) -> Int64 {
        precondition(uncapped >= 0, "points before the caps are never negative")
        var points = uncapped
        if points > pointsPerTransactionMax {
            explanation.pointsNote = .cappedPerTransaction(uncappedPoints: uncapped)
            points = pointsPerTransactionMax
        }
        guard pointsPerMemberPerDayMax != Int64.max else { return points }
        let awarded = applyDailyCap(points, uncapped: uncapped, timeMs: timeMs, &member, &effect, &explanation)
        precondition(awarded >= 0 && awarded <= points, "the daily cap only lowers the points")
        return awarded
    }

    /// Days are the club's local days since the epoch (UTC days by default). A purchase timed on a day before
    /// the member's counted day (an offline purchase uploaded late) is capped on its own and not counted, since
    /// that day's count is gone. Counts stay ≤ the cap ≤ 10^9, inside the `UInt32` that `Member` keeps them in.
    @inline(never)
    func applyDailyCap(
        _ points: Int64, uncapped: Int64, timeMs: Int64, _ member: inout Member, _ effect: inout PurchaseEffect,
        _ explanation: inout Explanation
    ) -> Int64 {
        let day = UInt32(clamping: calendar.localDay(max(0, timeMs)))
        let countedToday = member.pointsDayNumber == day ? Int64(member.pointsEarnedOnDay) : 0
        let room = max(0, pointsPerMemberPerDayMax - countedToday)
        var awarded = points
        if points > room {
            explanation.pointsNote = .cappedPerMemberPerDay(uncappedPoints: uncapped)
            awarded = room
        }
        precondition(awarded >= 0 && awarded <= room, "a purchase gets at most what is left of the day's room")
        guard day >= member.pointsDayNumber else { return awarded }
        member.pointsDayNumber = day
        member.pointsEarnedOnDay = UInt32(countedToday + awarded)
        effect.pointsCountedOnDay = UInt32(awarded)
        return awarded
    }

    /// Kept out of line: most purchases of most programs meet no campaign, and the hot path stays short.
    @inline(never)
    func applyCampaigns(
        _ transaction: Transaction, merchantIndex: Int, points: Int64, _ explanation: inout Explanation
    ) -> Int64 {
        let effect = campaigns.effect(
            merchantIndex: merchantIndex, merchantCategoryCode: transaction.merchantCategoryCode,
            timeMs: transaction.timeMs)
        guard effect.matchedCount > 0 else { return points }
        precondition(
            effect.firstCampaignIndex >= 0 && Int(effect.matchedCount) <= campaigns.entries.count,
            "matched campaigns are campaigns of the table")
        explanation.campaigns = effect
        return effect.apply(to: points)
    }

    /// The rate of the highest step the whole purchase reaches (0 when none or no rule); applied by the caller to
    /// the money part together with the tier's bonus.
    func evaluateCreditBasisPoints(
        _ transaction: Transaction, merchantIndex: Int, _ explanation: inout Explanation
    ) -> Int64 {
        guard
            let index = creditRules.ruleIndex(
                merchantIndex: merchantIndex, merchantCategoryCode: transaction.merchantCategoryCode)
        else { return 0 }
        explanation.creditRule = creditRules.sources[index]
        var reached: CreditStep?
        for step in creditRules.rules[index].steps {
            if transaction.amountMinor < step.fromAmountMinor { break }
            reached = step
        }
        guard let step = reached else { return 0 }
        precondition((0...ProgramLimits.basisPointsMax).contains(step.basisPoints), "credit steps are validated")
        explanation.creditStep = step
        return step.basisPoints
    }
}

/// Tiers as receipts and inquiries see them.
extension Program {
    /// The id of tier level `index` (`Explanation.tier`, `Member.tier`), for receipts and logs.
    public func tierIdentifier(at index: Int) -> ShortIdentifier {
        tiers.identifiers[index]
    }

    /// Tier levels configured (0: the program has no tiers).
    public var tierCount: Int { tiers.identifiers.count }

    /// The member's tier at `timeMs` (a balance inquiry, a receipt after a window ended): their windows moved
    /// forward to that time, without counting anything.
    public func tier(of member: Member, atTimeMs timeMs: Int64) -> Int {
        guard !tiers.isEmpty else { return 0 }
        return tiers.level(of: tiers.rolled(member, toWindow: tiers.windowIndex(timeMs)))
    }
}
