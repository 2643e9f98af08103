/// Campaigns resolved at load time into bit sets, so that finding the campaigns of a purchase is a few word reads
/// and only campaigns already in scope have their time window checked.
///
/// Campaign `i` is bit `i % 64` of word `i / 64`. A purchase's candidates are the union of the campaigns that
/// apply everywhere, those whose scope holds its merchant (directly or through one of its groups) and those
/// whose scope holds its merchant category; each candidate is then checked against the time, weekday and hour.
struct CampaignTable: Sendable {
    /// One campaign as the evaluator needs it: integers and masks only.
    struct Entry: Sendable {
        let identifier: ShortIdentifier
        let fromTimeMs: Int64
        let untilTimeMs: Int64
        /// Bit `d` set for ISO weekday `d` (1...7).
        let weekdayMask: UInt8
        /// Bit `h` set for local hour `h` (0...23).
        let hourMask: UInt32
        /// -1 when the campaign sets no multiplier.
        let multiplierPercent: Int64
        let bonusPoints: Int64
    }

    static let millisecondsPerDay: Int64 = 86_400_000
    static let millisecondsPerHour: Int64 = 3_600_000

    let entries: [Entry]
    /// Words per bit set: 0 when there are no campaigns (evaluation then returns at once), at most 4.
    let wordCount: Int
    let everywhere: [UInt64]
    /// `wordCount` words per merchant index.
    let byMerchantIndex: [UInt64]
    /// `wordCount` words per merchant category code 0...9999; empty when no campaign is scoped by category.
    let byMerchantCategory: [UInt64]
    /// The union of all windows' bounds, to skip every campaign at once outside any of them.
    let earliestFromTimeMs: Int64
    let latestUntilTimeMs: Int64
    /// The club's offset from UTC: weekdays and hours are those of its local day (bounds are instants already).
    let utcOffsetMs: Int64

    init(_ campaigns: [Campaign], merchants: [Merchant], utcOffsetMs: Int64) {
        precondition(campaigns.count <= ProgramLimits.campaignsMax, "campaigns are validated before tables")
        let wordCount = (campaigns.count + 63) / 64
        var everywhere = [UInt64](repeating: 0, count: wordCount)
        var byMerchant = [UInt64](repeating: 0, count: merchants.count * wordCount)
        let categoryCount =
            campaigns.contains { !$0.scope.merchantCategoryCodes.isEmpty }
            ? Int(ProgramLimits.merchantCategoryCodeMax) + 1 : 0
        var byCategory = [UInt64](repeating: 0, count: categoryCount * wordCount)
        for (index, campaign) in campaigns.enumerated() {
            let word = index / 64
            let bit = UInt64(1) << UInt64(index % 64)
            if campaign.scope.isEverywhere { everywhere[word] |= bit }
            let scopedMerchants = Set(campaign.scope.merchants)
            let scopedGroups = Set(campaign.scope.groups)
            for (merchantIndex, merchant) in merchants.enumerated()
            where scopedMerchants.contains(merchant.identifier)
                || merchant.groupIdentifiers.contains(where: scopedGroups.contains)
            {
                byMerchant[merchantIndex * wordCount + word] |= bit
            }
            for code in campaign.scope.merchantCategoryCodes {
                byCategory[Int(code) * wordCount + word] |= bit
            }
        }
        entries = campaigns.map(Self.entry)
        self.wordCount = wordCount
        self.everywhere = everywhere
        byMerchantIndex = byMerchant
        byMerchantCategory = byCategory
        earliestFromTimeMs = campaigns.map(\.fromTimeMs).min() ?? 0
        latestUntilTimeMs = campaigns.map(\.untilTimeMs).max() ?? 0
        self.utcOffsetMs = utcOffsetMs
    }

    static func entry(_ campaign: Campaign) -> Entry {
        var weekdayMask: UInt8 = campaign.daysOfWeek.isEmpty ? 0b1111_1110 : 0
        for day in campaign.daysOfWeek { weekdayMask |= UInt8(1) << UInt8(day) }
        var hourMask: UInt32 = 0
        for hour in (campaign.hours?.fromHour ?? 0)..<(campaign.hours?.untilHour ?? 24) {
            hourMask |= UInt32(1) << UInt32(hour)
        }
        return Entry(
            identifier: campaign.identifier, fromTimeMs: campaign.fromTimeMs, untilTimeMs: campaign.untilTimeMs,
            weekdayMask: weekdayMask, hourMask: hourMask, multiplierPercent: campaign.pointsMultiplierPercent ?? -1,
            bonusPoints: campaign.bonusPoints)
    }

    /// The combined effect of every campaign that matches the purchase, in configuration order.
    /// - Parameter merchantIndex: -1 for a merchant the program does not know (only everywhere and category
    ///   campaigns can match it).
    func effect(merchantIndex: Int, merchantCategoryCode: UInt16, timeMs: Int64) -> CampaignEffect {
        var effect = CampaignEffect.none
        guard wordCount > 0, timeMs >= earliestFromTimeMs, timeMs < latestUntilTimeMs else { return effect }
        // Integer calendar arithmetic on the club's local time; floor division so the formulas hold for any time.
        let localMs = timeMs + utcOffsetMs
        let dayNumber = Self.floorDivide(localMs, Self.millisecondsPerDay)
        let weekday = (dayNumber % 7 + 7 + 3) % 7 + 1  // 1970-01-01 was a Thursday (ISO 4)
        let hour = (localMs - dayNumber * Self.millisecondsPerDay) / Self.millisecondsPerHour
        let weekdayBit = UInt8(1) << UInt8(weekday)
        let hourBit = UInt32(1) << UInt32(hour)
        let categoryKnown = !byMerchantCategory.isEmpty && merchantCategoryCode <= ProgramLimits.merchantCategoryCodeMax
        for word in 0..<wordCount {
            var candidates = everywhere[word]
            if merchantIndex >= 0 { candidates |= byMerchantIndex[merchantIndex * wordCount + word] }
            if categoryKnown { candidates |= byMerchantCategory[Int(merchantCategoryCode) * wordCount + word] }
            while candidates != 0 {  // at most 64 passes: each clears one bit
                let bit = candidates.trailingZeroBitCount
                candidates &= candidates - 1
                let entry = entries[word * 64 + bit]
                guard timeMs >= entry.fromTimeMs, timeMs < entry.untilTimeMs, entry.weekdayMask & weekdayBit != 0,
                    entry.hourMask & hourBit != 0
                else { continue }
                effect.add(entry, index: word * 64 + bit)
            }
        }
        return effect
    }

    @inline(__always)
    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }
}

/// What the campaigns that matched a purchase did to its points, as a few small integers (no list, no names):
/// how many matched, the first of them, the multiplier that applied and whose it was, and the bonus they add.
///
/// Campaigns are named by their index in the configuration (`campaigns[2]`, as in error key paths;
/// `Program.campaignIdentifier(at:)` gives the id) because two optional identifiers made every `Decision` 72 bytes
/// bigger, and copying it cost ~20 ns per evaluation (measured with loyalty-bench), half the evaluation itself.
///
/// Combination rule: the highest multiplier among matching campaigns that set one applies (ties go to the first
/// in configuration order), and the bonuses of all matching campaigns add up. Multipliers do not compound, so an
/// operator can read a campaign's effect without knowing what else runs that day.
public struct CampaignEffect: Sendable, Equatable {
    /// ≤ `campaignsMax` (256).
    public var matchedCount: UInt16
    /// Index of the first matching campaign in configuration order; -1 when none matched.
    public var firstCampaignIndex: Int16
    /// Index of the campaign whose multiplier applied; -1 when no matching campaign sets one.
    public var multiplierCampaignIndex: Int16
    /// 100 (×1) when no matching campaign sets a multiplier; ≤ `campaignMultiplierPercentMax` (1000).
    public var multiplierPercent: Int16
    /// The sum of the matching campaigns' bonuses, ≤ 256 × 1,000,000, which fits `Int32`.
    public var bonusPoints: Int32

    public init(
        matchedCount: UInt16, firstCampaignIndex: Int16, multiplierCampaignIndex: Int16, multiplierPercent: Int16,
        bonusPoints: Int32
    ) {
        self.matchedCount = matchedCount
        self.firstCampaignIndex = firstCampaignIndex
        self.multiplierCampaignIndex = multiplierCampaignIndex
        self.multiplierPercent = multiplierPercent
        self.bonusPoints = bonusPoints
    }

    public static let none = CampaignEffect(
        matchedCount: 0, firstCampaignIndex: -1, multiplierCampaignIndex: -1, multiplierPercent: 100, bonusPoints: 0)

    mutating func add(_ entry: CampaignTable.Entry, index: Int) {
        matchedCount += 1
        if firstCampaignIndex < 0 { firstCampaignIndex = Int16(index) }
        if entry.multiplierPercent >= 0,
            multiplierCampaignIndex < 0 || entry.multiplierPercent > Int64(multiplierPercent)
        {
            multiplierCampaignIndex = Int16(index)
            multiplierPercent = Int16(entry.multiplierPercent)
        }
        bonusPoints += Int32(entry.bonusPoints)
    }

    /// ⌊points × multiplier ÷ 100⌋ (clamped at `pointsEarnedMax`), then the bonus. The product is taken in
    /// 128 bits because 10^18 points × 1000% does not fit in 64.
    public func apply(to points: Int64) -> Int64 {
        precondition(points >= 0 && multiplierPercent >= 0, "points and multipliers are never negative")
        let base = UInt64(min(points, ProgramLimits.pointsEarnedMax))
        let product = base.multipliedFullWidth(by: UInt64(multiplierPercent))
        let quotient = UInt64(100).dividingFullWidth(product).quotient  // ≤ 10^19 < UInt64.max
        let multiplied = Int64(min(quotient, UInt64(ProgramLimits.pointsEarnedMax)))
        return multiplied + Int64(bonusPoints)
    }
}
