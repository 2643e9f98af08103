/// What the rules know about one member: aggregates the ledger keeps per member and the rules read and advance,
/// never the member's history itself, so a decision costs the same for ten purchases or ten thousand.
///
/// The ledger stores one per member and records the state after every rules-decided change in its write-ahead
/// log (`encode(into:)`), so a replay sets exactly the state the rules in force produced, whatever the rules are
/// now. Fixed size and plain integers: copying one allocates nothing.
///
/// Every aggregate is bounded: counts saturate at `UInt32.max`, volumes at `ProgramLimits.memberVolumeMinorMax`
/// (10^18, a million purchases of the largest amount), so no sequence of purchases can overflow them.
public struct Member: Sendable, Equatable, BitwiseCopyable {
    // Stored widest first (8-byte, then 4-, 2- and 1-byte fields) so the struct packs into 127 bytes with no
    // padding: every evaluation copies one into its decision. The encoded layout is separate (Member+Encoding).

    /// The money parts (minor units) of the purchases counted in `purchaseCount`, for the average ticket.
    public var purchaseVolumeMinor: Int64
    /// The first purchase, in milliseconds since the Unix epoch; 0 before the first purchase.
    public var firstPurchaseTimeMs: Int64
    /// The latest purchase; 0 before the first purchase.
    public var lastPurchaseTimeMs: Int64
    /// Tier qualification (Tier.swift): money parts counted in the current window (`tierWindowIndex`) and in
    /// the window just before it (zero when the member bought nothing in it).
    public var tierWindowVolumeMinor: Int64
    public var previousTierWindowVolumeMinor: Int64
    /// When the pending "come back within N days" offer (`pendingOfferHash`) was granted.
    public var pendingOfferGrantTimeMs: Int64
    /// How often each offer was used by this member, by offer id hash (8 slots).
    public var offerUses: OfferUses

    /// Purchases decided by the rules and not undone.
    public var purchaseCount: UInt32
    /// The member's current qualification window: ⌊time ÷ windowDays days⌋ since the Unix epoch.
    public var tierWindowIndex: UInt32
    public var tierWindowPurchaseCount: UInt32
    public var previousTierWindowPurchaseCount: UInt32
    /// Per-member daily points cap: the club's local day (days since the Unix epoch in the program's UTC offset)
    /// `pointsEarnedOnDay` counts.
    public var pointsDayNumber: UInt32
    /// Points counted against `earning.pointsPerMemberPerDayMax` on that day.
    public var pointsEarnedOnDay: UInt32
    /// The id hash of an offer granted and not yet used (0: none): a "come back within N days" offer, or an
    /// amount offer limited to the next visits (`validVisits`).
    public var pendingOfferHash: UInt32

    /// The window length the tier window fields were counted under (0: never counted; a program with another
    /// length starts the member's windows afresh).
    public var tierWindowDays: UInt16
    /// The year (of the program's calendar: 2026 or 1405) whose birthday bonus was last given (0: never).
    public var birthdayRewardYear: UInt16

    /// Index into the program's tier levels after the latest decision; 0 is the base tier (also when the program
    /// has no tiers). `Program.tier(of:atTimeMs:)` gives the tier at a later time (after a window ended).
    public var tier: UInt8
    /// Birthday, for the birthday bonus: month 1...12 and day 1...31 of the program's calendar (Esfand 12 is
    /// month 12 under `persian`); 0 when unknown.
    public var birthMonth: UInt8
    public var birthDay: UInt8
    /// The member was referred by another member: their first purchase gives the referrer a bonus.
    public var isReferred: Bool
    /// The enrolment bonus was given (on the member's first evaluated purchase).
    public var enrolmentRewarded: Bool
    /// The first-purchase (and referral) bonus was given; cleared again when that purchase is undone.
    public var firstPurchaseRewarded: Bool
    /// For a pending amount offer: the visits left to use it (each purchase below its amount uses one); 0 for a
    /// return offer (its next purchase consumes it either way).
    public var pendingOfferVisitsLeft: UInt8

    public init(
        purchaseCount: UInt32 = 0, purchaseVolumeMinor: Int64 = 0, firstPurchaseTimeMs: Int64 = 0,
        lastPurchaseTimeMs: Int64 = 0, tier: UInt8 = 0, birthMonth: UInt8 = 0, birthDay: UInt8 = 0,
        isReferred: Bool = false
    ) {
        self.purchaseCount = purchaseCount
        self.purchaseVolumeMinor = purchaseVolumeMinor
        self.firstPurchaseTimeMs = firstPurchaseTimeMs
        self.lastPurchaseTimeMs = lastPurchaseTimeMs
        self.tier = tier
        tierWindowDays = 0
        tierWindowIndex = 0
        tierWindowPurchaseCount = 0
        tierWindowVolumeMinor = 0
        previousTierWindowPurchaseCount = 0
        previousTierWindowVolumeMinor = 0
        pointsDayNumber = 0
        pointsEarnedOnDay = 0
        pendingOfferHash = 0
        pendingOfferGrantTimeMs = 0
        pendingOfferVisitsLeft = 0
        offerUses = OfferUses()
        self.birthMonth = birthMonth
        self.birthDay = birthDay
        self.isReferred = isReferred
        enrolmentRewarded = false
        firstPurchaseRewarded = false
        birthdayRewardYear = 0
    }

    /// A member who has not bought anything yet.
    public static let new = Member()
}
