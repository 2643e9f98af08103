/// Tiers (bronze, silver, gold…): a member's level, qualified by purchase volume or count in fixed windows, with
/// a points multiplier and a store-credit bonus per level (docs/loyalty-rules.md, "Tiers").
///
/// Windows are fixed, not sliding: window k covers days [k × windowDays, (k + 1) × windowDays) since
/// 1970-01-01 in the club's zone (`ProgramConfiguration.utcOffsetMinutes`, UTC by default), so a member's
/// standing needs two windows of aggregates, never a purchase history. The tier at a time is the higher of what
/// the previous window qualified for and what the current window has reached so far.
public struct TierConfiguration: Sendable, Equatable {
    /// What qualifies a member for a level.
    public enum Basis: String, Sendable, Equatable, CaseIterable {
        /// The money parts of the window's purchases, minor units.
        case volume
        /// The number of the window's purchases.
        case count
    }

    public var windowDays: Int64
    public var basis: Basis
    /// In increasing `from` order; the first starts from 0 and is the base tier every member starts in.
    public var levels: [TierLevel]

    public init(windowDays: Int64, basis: Basis, levels: [TierLevel]) {
        self.windowDays = windowDays
        self.basis = basis
        self.levels = levels
    }
}

/// One level: reached when the window's volume (minor units) or count is at least `from`.
public struct TierLevel: Sendable, Equatable {
    public var identifier: ShortIdentifier
    public var from: Int64
    /// Applied to the rule's points before campaigns; 100 = ×1.
    public var pointsMultiplierPercent: Int64
    /// Added to the store-credit rate of every purchase at this level (basis points).
    public var creditBasisPointsBonus: Int64

    public init(
        identifier: ShortIdentifier, from: Int64, pointsMultiplierPercent: Int64 = 100,
        creditBasisPointsBonus: Int64 = 0
    ) {
        self.identifier = identifier
        self.from = from
        self.pointsMultiplierPercent = pointsMultiplierPercent
        self.creditBasisPointsBonus = creditBasisPointsBonus
    }
}

/// The tiers as the evaluator reads them: parallel arrays of at most `ProgramLimits.tierLevelsMax` entries.
struct TierTable: Sendable {
    /// 0 when the program has no tiers (then nothing here is read).
    let windowDays: UInt16
    let windowMs: Int64
    /// The club's offset from UTC, so windows start at its local midnight.
    let utcOffsetMs: Int64
    let byCount: Bool
    let identifiers: [ShortIdentifier]
    let thresholds: [Int64]
    let multiplierPercents: [Int64]
    let creditBasisPointsBonuses: [Int64]

    init(_ configuration: TierConfiguration?, utcOffsetMs: Int64) {
        self.utcOffsetMs = utcOffsetMs
        guard let configuration else {
            (windowDays, windowMs, byCount) = (0, 0, false)
            (identifiers, thresholds, multiplierPercents, creditBasisPointsBonuses) = ([], [], [100], [0])
            return
        }
        precondition(configuration.windowDays <= ProgramLimits.tierWindowDaysMax, "tiers are validated before tables")
        precondition(configuration.windowDays >= 1, "a tier window lasts at least a day")
        precondition(
            (1...ProgramLimits.tierLevelsMax).contains(configuration.levels.count),
            "a tier table holds 1...tierLevelsMax levels")
        precondition(configuration.levels[0].from == 0, "the first tier level is the base, from 0")
        windowDays = UInt16(configuration.windowDays)
        windowMs = configuration.windowDays * CampaignTable.millisecondsPerDay
        byCount = configuration.basis == .count
        identifiers = configuration.levels.map(\.identifier)
        thresholds = configuration.levels.map(\.from)
        multiplierPercents = configuration.levels.map(\.pointsMultiplierPercent)
        creditBasisPointsBonuses = configuration.levels.map(\.creditBasisPointsBonus)
    }

    var isEmpty: Bool { windowDays == 0 }

    /// ⌊local time ÷ windowMs⌋; times before the epoch count as window 0. Fits `UInt32`: year 9999 is
    /// < 2.95 million days, so fewer windows than that.
    @inline(__always)
    func windowIndex(_ timeMs: Int64) -> UInt32 {
        UInt32(clamping: max(0, timeMs + utcOffsetMs) / windowMs)
    }

    /// The highest level whose threshold the aggregates reach (0, the base, at least).
    @inline(__always)
    func qualifiedLevel(volumeMinor: Int64, count: UInt32) -> Int {
        precondition(!thresholds.isEmpty, "only a program with tiers qualifies members")
        let measure = byCount ? Int64(count) : volumeMinor
        var level = 0
        for index in 1..<thresholds.count where measure >= thresholds[index] { level = index }
        return level
    }

    /// The higher of what the previous window qualified for and what the current one reached; the base when
    /// the member's windows were counted under another window length.
    func level(of member: Member) -> Int {
        guard !isEmpty, member.tierWindowDays == windowDays else { return 0 }
        let level = max(
            qualifiedLevel(
                volumeMinor: member.previousTierWindowVolumeMinor, count: member.previousTierWindowPurchaseCount),
            qualifiedLevel(volumeMinor: member.tierWindowVolumeMinor, count: member.tierWindowPurchaseCount))
        precondition(level >= 0 && level < identifiers.count, "a member's level is one of the program's tiers")
        return level
    }

    /// The member's windows moved forward to `window`: the window that ended becomes the previous one, or an
    /// empty one when the member skipped whole windows. A time in an earlier window (an offline purchase
    /// uploaded late) leaves the windows as they are: `Program.count` puts it in the previous window when it
    /// belongs there, and in no window when it is older still.
    func rolled(_ member: Member, toWindow window: UInt32) -> Member {
        var rolled = member
        if member.tierWindowDays != windowDays {
            rolled.tierWindowDays = windowDays
            rolled.tierWindowIndex = window
            (rolled.tierWindowPurchaseCount, rolled.tierWindowVolumeMinor) = (0, 0)
            (rolled.previousTierWindowPurchaseCount, rolled.previousTierWindowVolumeMinor) = (0, 0)
            return rolled
        }
        guard window > member.tierWindowIndex else { return rolled }
        if window == member.tierWindowIndex + 1 {
            rolled.previousTierWindowPurchaseCount = member.tierWindowPurchaseCount
            rolled.previousTierWindowVolumeMinor = member.tierWindowVolumeMinor
        } else {
            (rolled.previousTierWindowPurchaseCount, rolled.previousTierWindowVolumeMinor) = (0, 0)
        }
        rolled.tierWindowIndex = window
        (rolled.tierWindowPurchaseCount, rolled.tierWindowVolumeMinor) = (0, 0)
        precondition(rolled.tierWindowDays == windowDays, "rolled windows are counted under the program's length")
        return rolled
    }

    /// ⌊points × percent ÷ 100⌋ clamped at `pointsEarnedMax`; the product is taken in 128 bits since
    /// 10^18 × 1000 does not fit in 64.
    @inline(__always)
    static func scaled(_ points: Int64, percent: Int64) -> Int64 {
        precondition(points >= 0 && percent >= 0, "points and multipliers are never negative")
        let base = UInt64(min(points, ProgramLimits.pointsEarnedMax))
        let product = base.multipliedFullWidth(by: UInt64(percent))
        let quotient = UInt64(100).dividingFullWidth(product).quotient  // ≤ 10^19 < UInt64.max
        return Int64(min(quotient, UInt64(ProgramLimits.pointsEarnedMax)))
    }
}

/// Saturating arithmetic for member aggregates, so no sequence of purchases or undos can overflow or go negative.
enum Aggregate {
    @inline(__always)
    static func adding(_ volume: Int64, _ amountMinor: Int64) -> Int64 {
        precondition(amountMinor >= 0, "an amount added to an aggregate is never negative")
        return min(volume, ProgramLimits.memberVolumeMinorMax - amountMinor) + amountMinor
    }

    @inline(__always)
    static func subtracting(_ volume: Int64, _ amountMinor: Int64) -> Int64 {
        precondition(amountMinor >= 0, "an amount taken from an aggregate is never negative")
        return max(0, volume - amountMinor)
    }
}
