/// A personalised offer (docs/loyalty-rules.md, "Personalised offers"): decided at the POS from the member's own
/// history before the purchase (how many purchases, the average ticket, the average interval between purchases,
/// the days since the last one), triggered by this purchase's amount or by the member coming back within N days,
/// rewarded with store credit and/or points, at most `usesPerMemberMax` times per member.
public struct Offer: Sendable, Equatable {
    /// How the offer is set off once a member is eligible.
    public enum Trigger: Sendable, Equatable {
        /// This purchase, when its whole amount is at least `amountMinor`, receives the reward.
        case purchaseAtLeast(amountMinor: Int64)
        /// This purchase grants the offer (shown on its receipt); the member's next purchase receives the reward
        /// if it comes within `days` days of this one, and consumes the grant either way.
        case returnWithin(days: Int64)
    }

    /// 1–16 printable ASCII, unique; members' use counts follow the id (by hash), not the position in the list.
    public var identifier: ShortIdentifier
    /// Purchases are eligible for `fromTimeMs ≤ time < untilTimeMs` (UTC, as for campaigns).
    public var fromTimeMs: Int64
    public var untilTimeMs: Int64
    public var eligibility: OfferEligibility
    public var trigger: Trigger
    /// Basis points added to the purchase's store-credit rate (2000 = 20% of the money part).
    public var creditBasisPoints: Int64
    /// Points added before the caps.
    public var bonusPoints: Int64
    public var usesPerMemberMax: Int64
    /// An amount offer only: 0 (the default) rewards any purchase reaching the amount while the member is
    /// eligible, and a receipt announces it when the member is eligible and the purchase did not reach it; N ≥ 1
    /// grants it instead (shown on the granting purchase's receipt) for the member's next N purchases: the first
    /// of them that reaches the amount receives the reward, and the grant ends there or after the N-th.
    public var validVisits: Int64

    public init(
        identifier: ShortIdentifier, fromTimeMs: Int64, untilTimeMs: Int64, eligibility: OfferEligibility = .init(),
        trigger: Trigger, creditBasisPoints: Int64 = 0, bonusPoints: Int64 = 0, usesPerMemberMax: Int64 = 1,
        validVisits: Int64 = 0
    ) {
        self.validVisits = validVisits
        self.identifier = identifier
        self.fromTimeMs = fromTimeMs
        self.untilTimeMs = untilTimeMs
        self.eligibility = eligibility
        self.trigger = trigger
        self.creditBasisPoints = creditBasisPoints
        self.bonusPoints = bonusPoints
        self.usesPerMemberMax = usesPerMemberMax
    }
}

/// Who an offer is for, read from `Member` before the purchase. Every bound is optional and inclusive; a bound on
/// the average ticket or on recency needs at least one purchase, a bound on the interval at least two.
public struct OfferEligibility: Sendable, Equatable {
    public var purchasesAtLeast: Int64
    /// ⌊volume ÷ purchases⌋, minor units.
    public var averageTicketMinMinor: Int64?
    public var averageTicketMaxMinor: Int64?
    /// ⌊(last − first purchase time) ÷ (purchases − 1)⌋ compared with the days in milliseconds: "frequent"
    /// is a small maximum, "infrequent" a large minimum.
    public var averageIntervalDaysMin: Int64?
    public var averageIntervalDaysMax: Int64?
    /// Time since the last purchase, compared with the days in milliseconds.
    public var daysSinceLastPurchaseMin: Int64?
    public var daysSinceLastPurchaseMax: Int64?

    public init(
        purchasesAtLeast: Int64 = 0, averageTicketMinMinor: Int64? = nil, averageTicketMaxMinor: Int64? = nil,
        averageIntervalDaysMin: Int64? = nil, averageIntervalDaysMax: Int64? = nil,
        daysSinceLastPurchaseMin: Int64? = nil, daysSinceLastPurchaseMax: Int64? = nil
    ) {
        self.purchasesAtLeast = purchasesAtLeast
        self.averageTicketMinMinor = averageTicketMinMinor
        self.averageTicketMaxMinor = averageTicketMaxMinor
        self.averageIntervalDaysMin = averageIntervalDaysMin
        self.averageIntervalDaysMax = averageIntervalDaysMax
        self.daysSinceLastPurchaseMin = daysSinceLastPurchaseMin
        self.daysSinceLastPurchaseMax = daysSinceLastPurchaseMax
    }
}

/// The offers as the evaluator reads them: integers only, at most `ProgramLimits.offersMax` (8) entries, so every
/// loop over them is bounded by 8.
struct OfferTable: Sendable {
    struct Entry: Sendable {
        let identifier: ShortIdentifier
        let hash: UInt32
        let fromTimeMs: Int64
        let untilTimeMs: Int64
        let purchasesAtLeast: Int64
        /// Unset bounds are 0 and `Int64.max`; the `needs` flags say whether any bound of that kind was set.
        let ticketMinMinor: Int64
        let ticketMaxMinor: Int64
        let needsTicket: Bool
        let intervalMinMs: Int64
        let intervalMaxMs: Int64
        let needsInterval: Bool
        let recencyMinMs: Int64
        let recencyMaxMs: Int64
        let needsRecency: Bool
        /// -1 for a return offer.
        let purchaseAtLeastMinor: Int64
        /// 0 for a purchase offer.
        let returnWithinMs: Int64
        let creditBasisPoints: Int64
        let bonusPoints: Int64
        let usesPerMemberMax: Int
        /// 0: an amount offer that rewards any qualifying purchase (or a return offer); N: granted for N visits.
        let validVisits: UInt8

        /// Offers a purchase grants (pending until the next purchases) rather than rewards at once.
        var isGranted: Bool { returnWithinMs > 0 || validVisits > 0 }
    }

    let entries: [Entry]
    let hashes: [UInt32]

    init(_ offers: [Offer]) {
        precondition(offers.count <= ProgramLimits.offersMax, "offers are validated before tables")
        entries = offers.map(Self.entry)
        hashes = entries.map(\.hash)
    }

    static func entry(_ offer: Offer) -> Entry {
        let dayMs = CampaignTable.millisecondsPerDay
        let rule = offer.eligibility
        var purchaseAtLeastMinor: Int64 = -1
        var returnWithinMs: Int64 = 0
        switch offer.trigger {
        case .purchaseAtLeast(let amountMinor): purchaseAtLeastMinor = amountMinor
        case .returnWithin(let days): returnWithinMs = days * dayMs
        }
        return Entry(
            identifier: offer.identifier, hash: hash(of: offer.identifier), fromTimeMs: offer.fromTimeMs,
            untilTimeMs: offer.untilTimeMs, purchasesAtLeast: rule.purchasesAtLeast,
            ticketMinMinor: rule.averageTicketMinMinor ?? 0, ticketMaxMinor: rule.averageTicketMaxMinor ?? Int64.max,
            needsTicket: rule.averageTicketMinMinor != nil || rule.averageTicketMaxMinor != nil,
            intervalMinMs: (rule.averageIntervalDaysMin ?? 0) * dayMs,
            intervalMaxMs: rule.averageIntervalDaysMax.map { $0 * dayMs } ?? Int64.max,
            needsInterval: rule.averageIntervalDaysMin != nil || rule.averageIntervalDaysMax != nil,
            recencyMinMs: (rule.daysSinceLastPurchaseMin ?? 0) * dayMs,
            recencyMaxMs: rule.daysSinceLastPurchaseMax.map { $0 * dayMs } ?? Int64.max,
            needsRecency: rule.daysSinceLastPurchaseMin != nil || rule.daysSinceLastPurchaseMax != nil,
            purchaseAtLeastMinor: purchaseAtLeastMinor, returnWithinMs: returnWithinMs,
            creditBasisPoints: offer.creditBasisPoints, bonusPoints: offer.bonusPoints,
            usesPerMemberMax: Int(offer.usesPerMemberMax), validVisits: UInt8(clamping: offer.validVisits))
    }

    /// The id's `stableHash` (members store it).
    static func hash(of identifier: ShortIdentifier) -> UInt32 { identifier.stableHash }

    /// The index of the offer with id hash `hash`, or -1.
    func index(ofHash hash: UInt32) -> Int {
        for index in 0..<hashes.count where hashes[index] == hash { return index }
        return -1
    }

    /// Whether the member's history before the purchase fits the entry's eligibility.
    @inline(__always)
    func isEligible(_ entry: Entry, _ history: OfferHistory) -> Bool {
        history.purchaseCount >= entry.purchasesAtLeast
            && (!entry.needsTicket
                || (entry.ticketMinMinor...entry.ticketMaxMinor).contains(history.averageTicketMinor))
            && (!entry.needsInterval || (entry.intervalMinMs...entry.intervalMaxMs).contains(history.averageIntervalMs))
            && (!entry.needsRecency || (entry.recencyMinMs...entry.recencyMaxMs).contains(history.sinceLastPurchaseMs))
    }

    /// `uses` with one more use of the offer with id hash `hash`: its slot, else an empty slot, else the slot
    /// of an offer the program no longer has. With at most 8 offers one of them always exists.
    func recordingUse(_ uses: OfferUses, hash: UInt32) -> OfferUses {
        var uses = uses
        if let slot = uses.slot(ofHash: hash) {
            let count = uses.count(atSlot: slot)
            uses.set(slot: slot, hash: hash, count: count == UInt8.max ? count : count + 1)
            return uses
        }
        // Empty slots first, so a removed offer's count survives as long as possible (a file rolled back to it
        // finds its counts); then the slot of an offer the program no longer has.
        for slot in 0..<OfferUses.slotCount where uses.hash(atSlot: slot) == 0 {
            uses.set(slot: slot, hash: hash, count: 1)
            return uses
        }
        for slot in 0..<OfferUses.slotCount where index(ofHash: uses.hash(atSlot: slot)) < 0 {
            uses.set(slot: slot, hash: hash, count: 1)
            return uses
        }
        preconditionFailure("at most \(ProgramLimits.offersMax) offers, so a slot is always free")
    }
}

/// The member's history as offers read it, computed once per purchase (two divisions) rather than per offer.
/// A measure that needs more purchases than the member has is -1, which every bound (all ≥ 0) refuses.
struct OfferHistory {
    let purchaseCount: Int64
    /// ⌊volume ÷ purchases⌋; -1 before the first purchase.
    let averageTicketMinor: Int64
    /// ⌊(last − first) ÷ (purchases − 1)⌋ in milliseconds; -1 before the second purchase.
    let averageIntervalMs: Int64
    /// The purchase's time minus the last purchase's; -1 before the first purchase (and for a purchase timed
    /// before the last one).
    let sinceLastPurchaseMs: Int64

    init(_ member: Member, timeMs: Int64) {
        let count = Int64(member.purchaseCount)
        purchaseCount = count
        averageTicketMinor = count > 0 ? member.purchaseVolumeMinor / count : -1
        averageIntervalMs = count > 1 ? (member.lastPurchaseTimeMs - member.firstPurchaseTimeMs) / (count - 1) : -1
        // Both times ≥ 0 here, so the difference cannot overflow whatever time the transaction claims.
        sinceLastPurchaseMs = count > 0 ? max(-1, max(0, timeMs) - member.lastPurchaseTimeMs) : -1
    }
}
