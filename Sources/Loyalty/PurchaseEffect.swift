/// What one rules-decided purchase did to its member's aggregates, kept by the ledger beside the purchase so
/// that a refund or reversal can undo exactly that (`Program.undo`), and nothing a later purchase did.
public struct PurchaseEffect: Sendable, Equatable, BitwiseCopyable {
    /// The money part counted into the aggregates.
    public var moneyMinor: Int64
    /// When the purchase was decided (milliseconds since the Unix epoch).
    public var timeMs: Int64
    /// The member's previous purchase time (0: none), restored when this purchase is undone while still the
    /// latest.
    public var previousPurchaseTimeMs: Int64
    /// The tier before the purchase.
    public var tierBefore: UInt8
    /// The tier window the purchase was counted in, and under which window length (0: not counted, the program
    /// had no tiers).
    public var tierWindowDays: UInt16
    public var tierWindowIndex: UInt32
    /// Points this purchase counted against the member's daily cap on its UTC day.
    public var pointsCountedOnDay: UInt32
    /// Id hash of the offer whose reward this purchase received (0: none); undo gives the use back.
    public var offerAppliedHash: UInt32
    /// Id hash of the return offer this purchase granted (0: none); undo withdraws it if still pending.
    public var offerGrantedHash: UInt32
    /// The one-off bonuses this purchase gave; undo makes them available again.
    public var rewardedEvents: RewardedEvents
    /// `Member.birthdayRewardYear` before the purchase, restored when a birthday bonus is undone.
    public var birthdayRewardYearBefore: UInt16

    public init(moneyMinor: Int64 = 0, timeMs: Int64 = 0, previousPurchaseTimeMs: Int64 = 0, tierBefore: UInt8 = 0) {
        self.moneyMinor = moneyMinor
        self.timeMs = timeMs
        self.previousPurchaseTimeMs = previousPurchaseTimeMs
        self.tierBefore = tierBefore
        tierWindowDays = 0
        tierWindowIndex = 0
        pointsCountedOnDay = 0
        offerAppliedHash = 0
        offerGrantedHash = 0
        rewardedEvents = []
        birthdayRewardYearBefore = 0
    }

    public static let none = PurchaseEffect()

    /// Bytes of the encoded form; fixed, with reserved zero bytes for later fields.
    ///
    /// Layout (little-endian): 0 moneyMinor i64, 8 timeMs i64, 16 previousPurchaseTimeMs i64, 24 tierBefore u8,
    /// 25 rewardedEvents u8, 26 birthdayRewardYearBefore u16, 28 tierWindowIndex u32, 32 offerAppliedHash u32,
    /// 36 offerGrantedHash u32, 40 pointsCountedOnDay u32, 44 tierWindowDays u16, 46...47 reserved (zero).
    /// Records written before these fields existed decode with them zero.
    public static let encodedByteCount = 48

    public func encode(into base: UnsafeMutableRawPointer) {
        // What `init?(decoding:)` refuses must never be written: the replay would reject the record.
        precondition(moneyMinor >= 0 && timeMs >= 0 && previousPurchaseTimeMs >= 0, "an effect's amounts and times")
        precondition(rewardedEvents.isSubset(of: .all), "an effect marks only known events")
        base.initializeMemory(as: UInt8.self, repeating: 0, count: Self.encodedByteCount)
        func put<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
            base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        }
        put(moneyMinor, 0)
        put(timeMs, 8)
        put(previousPurchaseTimeMs, 16)
        put(tierBefore, 24)
        put(rewardedEvents.rawValue, 25)
        put(birthdayRewardYearBefore, 26)
        put(tierWindowIndex, 28)
        put(offerAppliedHash, 32)
        put(offerGrantedHash, 36)
        put(pointsCountedOnDay, 40)
        put(tierWindowDays, 44)
    }

    public init?(decoding base: UnsafeRawPointer) {
        func get<T: FixedWidthInteger>(_: T.Type, _ offset: Int) -> T {
            T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        self.init(
            moneyMinor: get(Int64.self, 0), timeMs: get(Int64.self, 8), previousPurchaseTimeMs: get(Int64.self, 16),
            tierBefore: get(UInt8.self, 24))
        let events = get(UInt8.self, 25)
        rewardedEvents = RewardedEvents(rawValue: events)
        birthdayRewardYearBefore = get(UInt16.self, 26)
        tierWindowIndex = get(UInt32.self, 28)
        offerAppliedHash = get(UInt32.self, 32)
        offerGrantedHash = get(UInt32.self, 36)
        pointsCountedOnDay = get(UInt32.self, 40)
        tierWindowDays = get(UInt16.self, 44)
        guard moneyMinor >= 0, timeMs >= 0, previousPurchaseTimeMs >= 0, events & ~RewardedEvents.all.rawValue == 0,
            get(UInt16.self, 46) == 0
        else { return nil }
    }
}

/// The one-off bonuses a purchase gave (`events` in the configuration), as bits.
public struct RewardedEvents: OptionSet, Sendable, Equatable, BitwiseCopyable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `events.enrolmentPoints`, given on the member's first evaluated purchase.
    public static let enrolment = RewardedEvents(rawValue: 1)
    /// `events.firstPurchasePoints`.
    public static let firstPurchase = RewardedEvents(rawValue: 2)
    /// `events.referredFirstPurchasePoints` to the member and `referrerPoints` to the referrer.
    public static let referral = RewardedEvents(rawValue: 4)
    /// `events.birthdayPoints`.
    public static let birthday = RewardedEvents(rawValue: 8)
    static let all: RewardedEvents = [.enrolment, .firstPurchase, .referral, .birthday]
}

extension PurchaseEffect {
    /// Whether `member` has been paid again, since this purchase was undone, a one-off bonus this purchase paid
    /// (a later purchase became the first purchase, or got this year's birthday bonus): counting this purchase
    /// again would pay it twice, so the ledger refuses to.
    public func bonusesPaidAgain(by member: Member) -> Bool {
        (rewardedEvents.contains(.enrolment) && member.enrolmentRewarded)
            || (rewardedEvents.contains(.firstPurchase) && member.firstPurchaseRewarded)
            || (rewardedEvents.contains(.birthday) && member.birthdayRewardYear != birthdayRewardYearBefore)
    }
}
