/// What the club operator configured: merchants, merchant groups, earning rules and store-credit rules, under a
/// version number.
///
/// This is the checked, plain form of the JSON file (docs/loyalty-rules.md). `Program` turns it into lookup
/// tables; keeping the two apart lets tests and tools build configurations without JSON and lets the switch keep
/// the configuration that decided a transaction next to its version.
public struct ProgramConfiguration: Sendable, Equatable {
    /// Recorded in every decision so that a replay after a rules change can pick the rules that decided it.
    public var version: Int64
    /// ISO 4217 numeric code of the money the amounts are in (364 for the Iranian rial); purchases in any other
    /// currency earn nothing, because rates in one currency say nothing about another.
    public var currencyCode: UInt16
    public var groups: [MerchantGroup]
    public var merchants: [Merchant]
    public var earning: Earning
    public var storeCredit: ScopedRules<CreditRule>
    /// Time-boxed multipliers and bonuses on points, in file order (which breaks ties, see `Program`).
    public var campaigns: [Campaign]
    /// Levels by volume or count over fixed windows; `nil`: every member is in the base tier.
    public var tiers: TierConfiguration?
    /// Personalised offers, at most `ProgramLimits.offersMax`, in precedence order.
    public var offers: [Offer]
    /// One-off bonuses: enrolment, first purchase, referral, birthday.
    public var events: EventBonuses
    /// Points for engagement events by type, each with a per-member limit per period (at most
    /// `ProgramLimits.engagementTypesMax` types).
    public var engagement: [EngagementRule]
    /// Paying with points and credit (defaults: a point pays 1 minor unit, no minimum, up to 100%, credit
    /// first, no partial approval).
    public var redemption: RedemptionPolicy
    /// Lives of points and credit (default: never expire).
    public var expiry: ExpiryPolicy
    /// The calendar campaign dates, birthdays and the birthday window are in (default: Gregorian).
    public var calendar: CalendarSystem
    /// The club's offset from UTC, for its local days, weekdays and hours: campaign times and schedules, the
    /// birthday window, the daily cap's day and the tier windows' days (default 0: UTC, as before calendars).
    public var utcOffsetMinutes: Int
    /// Days before a lot expires that its member is told (`points.expiring`); 0: never told.
    public var expiryNoticeDays: Int64
    /// Whether members are greeted on their birthday (`member.birthday`); false: never.
    public var birthdayGreeting: Bool

    public init(
        version: Int64, currencyCode: UInt16, groups: [MerchantGroup] = [], merchants: [Merchant] = [],
        earning: Earning = Earning(), storeCredit: ScopedRules<CreditRule> = ScopedRules(),
        campaigns: [Campaign] = [], tiers: TierConfiguration? = nil, offers: [Offer] = [],
        events: EventBonuses = EventBonuses(), redemption: RedemptionPolicy = RedemptionPolicy(),
        expiry: ExpiryPolicy = ExpiryPolicy(), calendar: CalendarSystem = .gregorian, utcOffsetMinutes: Int = 0,
        engagement: [EngagementRule] = [], expiryNoticeDays: Int64 = 0, birthdayGreeting: Bool = false
    ) {
        self.version = version
        self.currencyCode = currencyCode
        self.groups = groups
        self.merchants = merchants
        self.earning = earning
        self.storeCredit = storeCredit
        self.campaigns = campaigns
        self.tiers = tiers
        self.offers = offers
        self.events = events
        self.engagement = engagement
        self.redemption = redemption
        self.expiry = expiry
        self.calendar = calendar
        self.utcOffsetMinutes = utcOffsetMinutes
        self.expiryNoticeDays = expiryNoticeDays
        self.birthdayGreeting = birthdayGreeting
    }
}

/// Limits on everything a configuration may hold, so a hostile or mistaken file cannot make the tables huge and
/// so the evaluator's integer arithmetic provably cannot overflow (see `pointsPerUnitMax`).
public enum ProgramLimits {
    public static let merchantsMax = 100_000
    public static let groupsMax = 10_000
    public static let groupsPerMerchantMax = 8
    public static let serviceCodesMax = 10_000
    public static let serviceCodeMax: Int64 = 999_999
    /// Product rules per table (`earning.bySku`, `earning.byProductCategory`): looked up by hash, two per line.
    public static let productRulesMax = 100_000
    public static let creditStepsMax = 16
    /// Merchant category codes are four digits (ISO 18245).
    public static let merchantCategoryCodeMax: UInt16 = 9_999
    /// Twelve digits, what ISO 8583 field 4 can carry.
    public static let amountMinorMax: Int64 = 999_999_999_999
    /// With `amountMinorMax` this bounds points per purchase by 10^18, inside `Int64`.
    public static let pointsPerUnitMax: Int64 = 1_000_000
    public static let pointsPerVisitMax: Int64 = 1_000_000
    /// 100%: credit is a share of the purchase and never more than it.
    public static let basisPointsMax: Int64 = 10_000
    /// Campaigns are checked one by one (those in scope), so their number bounds the evaluator's loop; 256 also
    /// keeps the per-merchant campaign bit sets at four words.
    public static let campaignsMax = 256
    /// ×10 at most, so a campaign typo (2000 for 200) is refused rather than paid.
    public static let campaignMultiplierPercentMax: Int64 = 1_000
    public static let campaignBonusPointsMax: Int64 = 1_000_000
    /// Points after a multiplier are clamped here (the most the rules alone can give, since
    /// `amountMinorMax × pointsPerUnitMax` < 10^18), so no multiplier can overflow `Int64`.
    public static let pointsEarnedMax: Int64 = 1_000_000_000_000_000_000
    /// Member volumes (lifetime and per tier window) saturate here: a million purchases of `amountMinorMax`.
    public static let memberVolumeMinorMax: Int64 = 1_000_000_000_000_000_000
    /// Tier levels are checked one by one on every purchase; 8 also keeps a tier index in a byte.
    public static let tierLevelsMax = 8
    /// Ten years; also keeps `windowDays` in the 16 bits `Member` stores it in.
    public static let tierWindowDaysMax: Int64 = 3_660
    /// A tier multiplier, like a campaign's, is at most ×10.
    public static let tierMultiplierPercentMax: Int64 = 1_000
    /// Volume thresholds are at most what a member's volume can reach.
    public static let tierVolumeThresholdMax: Int64 = memberVolumeMinorMax
    /// Count thresholds are at most what a member's window count (`UInt32`) can reach.
    public static let tierCountThresholdMax = Int64(UInt32.max)
    /// Offers are checked one by one on every purchase, and `Member` keeps a use count for each in 8 slots.
    public static let offersMax = 8
    /// Use counts are a byte per offer in `Member`.
    public static let offerUsesPerMemberMax: Int64 = 255
    /// Day counts in offers (intervals, recency, return windows): ten years at most.
    public static let offerDaysMax: Int64 = 3_660
    public static let offerBonusPointsMax: Int64 = 1_000_000
    /// The largest daily cap: `Member` counts the day's points in 32 bits.
    public static let pointsPerMemberPerDayMaxLimit: Int64 = 1_000_000_000
    /// Each event bonus; all of them on one purchase stay ≤ 5 × 10^6, inside `Int32`.
    public static let eventPointsMax: Int64 = 1_000_000
    /// Days either side of the birthday; 30 keeps two years' windows apart.
    public static let birthdayWindowDaysMax: Int64 = 30
    /// A point pays at most 10^6 minor units.
    public static let pointValueMinorMax: Int64 = 1_000_000
    /// Lives of points and credit: 100 years at most.
    public static let lifeDaysMax: Int64 = 36_600
    /// Engagement types are looked up one by one per event (off the authorization path).
    public static let engagementTypesMax = 64
    /// A notice more than a year ahead tells nothing a member acts on.
    public static let expiryNoticeDaysMax: Int64 = 365
    public static let engagementPointsMax: Int64 = 1_000_000
    /// A member's count per type and period is kept in 32 bits; a thousand a period is already generous.
    public static let engagementLimitCountMax: Int64 = 1_000
}

/// A set of merchants that share rules: the branches of one business, or a coalition of neighbouring shops.
public struct MerchantGroup: Sendable, Equatable {
    /// Branches share one program; a coalition's members also spend each other's points (settlement later).
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case branches
        case coalition
    }

    public var identifier: ShortIdentifier
    public var kind: Kind

    public init(identifier: ShortIdentifier, kind: Kind) {
        self.identifier = identifier
        self.kind = kind
    }
}

/// A merchant the program knows. Unknown merchants still earn, by the merchant-category and default rules.
public struct Merchant: Sendable, Equatable {
    public var identifier: ShortIdentifier
    /// In precedence order: when several of them have a rule, the first listed wins.
    public var groupIdentifiers: [ShortIdentifier]

    public init(identifier: ShortIdentifier, groupIdentifiers: [ShortIdentifier] = []) {
        self.identifier = identifier
        self.groupIdentifiers = groupIdentifiers
    }
}

/// Rules of one kind at every level of precedence: merchant, then group, then merchant category, then default.
public struct ScopedRules<Rule: Sendable & Equatable>: Sendable, Equatable {
    public var programDefault: Rule?
    public var byMerchantCategory: [UInt16: Rule]
    public var byGroup: [ShortIdentifier: Rule]
    public var byMerchant: [ShortIdentifier: Rule]

    public init(
        programDefault: Rule? = nil, byMerchantCategory: [UInt16: Rule] = [:],
        byGroup: [ShortIdentifier: Rule] = [:], byMerchant: [ShortIdentifier: Rule] = [:]
    ) {
        self.programDefault = programDefault
        self.byMerchantCategory = byMerchantCategory
        self.byGroup = byGroup
        self.byMerchant = byMerchant
    }
}

/// How points are earned.
public struct Earning: Sendable, Equatable {
    /// Purchases below this amount earn no points by any rule (visit and service rules included), so that tiny
    /// purchases cannot be used to farm visit points. Compared with the whole purchase amount.
    public var minimumPurchaseMinor: Int64
    /// No purchase earns more points than this, whatever rule applied; `nil` means no cap.
    public var pointsPerTransactionMax: Int64?
    /// No member earns more points than this per day (the club's local day, `utcOffsetMinutes`) from purchases
    /// (event bonuses aside); `nil`: no cap.
    public var pointsPerMemberPerDayMax: Int64?
    public var rules: ScopedRules<PointsRule>
    /// Points for a service (a dental check-up, a flight segment) named by the transaction's service code; a
    /// matching service code takes precedence over every amount or visit rule.
    public var pointsByServiceCode: [UInt32: Int64]
    /// Product rules by the SKU of a basket line (field 48 `IT`); a line's SKU rule in force wins over its
    /// category's. Their points add to the purchase's (docs/basket.md).
    public var pointsBySku: [ShortIdentifier: ProductRule]
    /// Product rules by the goods category of a basket line, for lines whose SKU has no rule in force.
    public var pointsByProductCategory: [ShortIdentifier: ProductRule]

    public init(
        minimumPurchaseMinor: Int64 = 0, pointsPerTransactionMax: Int64? = nil, pointsPerMemberPerDayMax: Int64? = nil,
        rules: ScopedRules<PointsRule> = ScopedRules(), pointsByServiceCode: [UInt32: Int64] = [:],
        pointsBySku: [ShortIdentifier: ProductRule] = [:], pointsByProductCategory: [ShortIdentifier: ProductRule] = [:]
    ) {
        self.minimumPurchaseMinor = minimumPurchaseMinor
        self.pointsPerTransactionMax = pointsPerTransactionMax
        self.pointsPerMemberPerDayMax = pointsPerMemberPerDayMax
        self.rules = rules
        self.pointsByServiceCode = pointsByServiceCode
        self.pointsBySku = pointsBySku
        self.pointsByProductCategory = pointsByProductCategory
    }
}

/// One points rule: by money, or by visit for businesses that do not reward money.
public enum PointsRule: Sendable, Equatable {
    /// `points` for every whole `amountMinor` of the part paid in money; the remainder earns nothing (floor).
    case perAmount(points: Int64, amountMinor: Int64)
    /// A fixed number of points per purchase, whatever the amount.
    case perVisit(points: Int64)
}

/// Store credit returned on a purchase: the highest step the purchase reaches sets the rate for the whole
/// money part (not a marginal rate per band), e.g. 10% from 300,000 and 17% from 600,000.
public struct CreditRule: Sendable, Equatable {
    /// Strictly increasing `fromAmountMinor`; a purchase below the first step earns no credit.
    public var steps: [CreditStep]

    public init(steps: [CreditStep]) {
        self.steps = steps
    }
}

/// One step of a credit rule: purchases of at least `fromAmountMinor` earn `basisPoints` / 10,000 as credit.
public struct CreditStep: Sendable, Equatable {
    public var fromAmountMinor: Int64
    /// Hundredths of a percent, so 17% is 1700 and rates stay integers.
    public var basisPoints: Int64

    public init(fromAmountMinor: Int64, basisPoints: Int64) {
        self.fromAmountMinor = fromAmountMinor
        self.basisPoints = basisPoints
    }
}
