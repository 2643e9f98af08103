/// What the ledger asks of whoever decides money and points: the loyalty rules, implemented where the ledger and
/// the rules meet (the `LoyaltyLedger` module). The ledger keeps books; it never reads what a decision means.
///
/// Two halves. `Decider` reads back what a decision wrote (the member's state, a purchase's effect, a payment's
/// terms): replay and tools need it, and it never depends on the rules in force. `DecisionRules` is one version
/// of the rules deciding live; a shard asks `rulesInForce()` once per batch, so a batch is decided by one version,
/// and the log records every decision, so replay never asks the rules again.
public protocol Decider: AnyObject, Sendable {
    /// The rules deciding now; nil when none (a purchase then cannot be decided: the switch sends none).
    func rulesInForce() -> (any DecisionRules)?

    /// The member's state as kept in memory (and snapshots) from its logged form; nil when the bytes say
    /// something a writer never writes.
    func memberState(decoding logged: LoggedMemberState) -> MemberState?
    /// A purchase's effect as kept with its remembered key, from its logged form; nil when implausible.
    func purchaseEffect(decoding logged: LoggedPurchaseEffect) -> PurchaseEffectState?
    /// The member's tier, counts and profile as the ledger reports and checks them.
    func summary(of member: MemberState) -> MemberSummary
    /// The summary straight from a logged state (the member search reads one per record: decoding into the
    /// in-memory form and out of it again cost twice the decode); nil as `memberState(decoding:)`.
    func summary(decoding logged: LoggedMemberState) -> MemberSummary?
    /// The member with a birthday (month 1...12, day 1...31) or as referred by another member (enrolment).
    func member(_ member: MemberState, birthMonth: UInt8, birthDay: UInt8) -> MemberState
    func referred(_ member: MemberState) -> MemberState
    /// The receipt of a decided purchase: the tier after it (`memberAfter`), the tier before, the offers.
    func receipt(memberAfter: MemberState, effect: PurchaseEffectState, rulesVersion: Int64) -> LoyaltyReceipt
    /// Whether `member` has been paid again, since the purchase of `effect` was undone, a one-off bonus that
    /// purchase paid: counting it again would pay the bonus twice, so the ledger refuses to.
    func bonusesPaidAgain(_ effect: PurchaseEffectState, by member: MemberState) -> Bool
    /// The one-off bonuses the purchase of `effect` paid, as `BonusReason` codes with the points the deciding
    /// version pays for each (nil when that version is no longer known); bonuses marked at 0 points are left out.
    func bonusesRewarded(_ effect: PurchaseEffectState, rulesVersion: Int64) -> [(reason: Int64, points: Int64?)]

    /// Whether logged payment terms are within the bounds a configuration allows (checked live and on replay).
    func isValid(_ terms: PaymentTerms) -> Bool
    /// What a point is worth under `terms` (for a settlement between coalition merchants).
    func pointValueMinor(_ terms: PaymentTerms) -> Int64
    /// Whether `terms` approve part of a payment when the value falls short (a gift card's payment follows it).
    func allowsPartial(_ terms: PaymentTerms) -> Bool
    /// What to take from the member's balances to pay `requestedMinor` of a purchase of `purchaseTotalMinor` (nil:
    /// not given, no share cap). Pure arithmetic on the terms the command carries: replay plans alike.
    func plan(
        _ terms: PaymentTerms, requestedMinor: Int64, purchaseTotalMinor: Int64?, pointsBalance: Int64,
        creditBalanceMinor: Int64
    ) -> PaymentPlan
}

/// One version of the rules, deciding live. Every answer is written into the command, so the log keeps it.
public protocol DecisionRules: AnyObject, Sendable {
    var version: Int64 { get }
    /// Decides a purchase judged at `timeMs` for a member in state `member`.
    func decide(_ purchase: PurchaseRequest, timeMs: Int64, member: MemberState) -> PurchaseDecision
    /// Decides a purchase whose terminal sent its basket (`SaleDetail.lines`, in the terminal's order; never
    /// empty): rules may give points per SKU or category. Rules that do not read baskets decide as without.
    func decide(_ purchase: PurchaseRequest, lines: [SaleLine], timeMs: Int64, member: MemberState) -> PurchaseDecision
    /// The member's state with the part of the purchase of `effect` between two refunded totals taken back (a
    /// reversal takes all not yet refunded; the refund that completes the purchase uncounts it).
    func undo(
        _ effect: PurchaseEffectState, purchaseAmountMinor: Int64, fromRefundedMinor: Int64, toRefundedMinor: Int64,
        member: MemberState
    ) -> LoggedMemberState
    /// The member's state with that part counted again (a refund reversed).
    func redo(
        _ effect: PurchaseEffectState, purchaseAmountMinor: Int64, fromRefundedMinor: Int64, toRefundedMinor: Int64,
        member: MemberState
    ) -> LoggedMemberState
    /// The member's tier at `timeMs` (a qualification window may have ended since the last purchase).
    func tier(of member: MemberState, atTimeMs timeMs: Int64) -> UInt8
    /// What a point is worth when holds and captures settle with a coalition partner.
    var pointValueMinor: Int64 { get }
    /// Where value earned at `tag` (a lot's origin) may be spent: at `merchant` or not, and whether it settles.
    func spending(earnedAtTag tag: UInt32, spentAt merchant: MerchantName) -> SpendingRight
    /// The tag written on the lots a purchase at `merchant` forms (0: spendable anywhere).
    func lotOrigin(of merchant: MerchantName) -> UInt32
    /// The tag of the merchant where value is spent (the payee of a settlement).
    func tag(of merchant: MerchantName) -> UInt32
    /// The UTC days on which value earned at `timeMs` expires per asset (`LotTerms.never`: never); nil when the
    /// rules leave lives to the ledger's configuration.
    func lotExpiryDays(earnedAtTimeMs timeMs: Int64) -> (points: Int32, credit: Int32)?
    /// Days before a lot expires that its member is told (`points.expiring`); 0: never.
    var expiryNoticeDays: Int { get }
    /// Whether members are greeted on their birthday (`member.birthday`); false: the greeting step does nothing.
    var greetsBirthdays: Bool { get }
    /// The year of the club's calendar whose birthday `month`/`day` is the club's local day of `timeMs` (29
    /// February and 30 Esfand on the month's last day in years without them); nil when it is not, or none is set.
    func birthdayGreetingYear(month: UInt8, day: UInt8, atTimeMs timeMs: Int64) -> Int?
    /// Decides an engagement event of `type` at `timeMs` for a member whose count for the type is `counted`
    /// (zero: never counted): the points, and the count after it.
    func engage(_ type: EngagementType, timeMs: Int64, counted: EngagementCount) -> EngagementDecision
}

extension DecisionRules {
    /// Rules without basket rules decide a purchase with a basket as one without.
    public func decide(
        _ purchase: PurchaseRequest, lines: [SaleLine], timeMs: Int64, member: MemberState
    ) -> PurchaseDecision {
        decide(purchase, timeMs: timeMs, member: member)
    }
}

/// An engagement event type as the caller names it (`POST /v1/events {"type"}`): 1 to 16 printable bytes in two
/// words, first byte most significant (the decider's identifier form). The ledger keeps counts by it.
public struct EngagementType: Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The name as text (audit entries, off the authorization path): the bytes up to the first zero.
    public var description: String {
        var bytes: [UInt8] = []
        for position in 0..<16 {
            let byte = UInt8(truncatingIfNeeded: (position < 8 ? high : low) >> UInt64(56 - 8 * (position % 8)))
            if byte == 0 { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A member's count of one engagement type in one period, the period numbered by the decider (its calendar).
public struct EngagementCount: Hashable, Sendable, BitwiseCopyable {
    public var period: UInt32
    public var count: UInt32

    public init(period: UInt32, count: UInt32) {
        self.period = period
        self.count = count
    }

    public static let zero = EngagementCount(period: 0, count: 0)
}

/// What the rules decided for one engagement event; the log records it, so replay never asks the rules again.
public struct EngagementDecision: Sendable, Equatable {
    /// Raw values are logged.
    public enum Outcome: UInt8, Sendable, Equatable, BitwiseCopyable {
        /// `points` paid, `countAfter` counted.
        case awarded = 0
        /// The member's limit for the type in this period was reached: nothing paid or counted.
        case limitReached = 1
        /// The rules have no such type.
        case unknownType = 2
    }

    public var outcome: Outcome
    public var points: Int64
    public var countAfter: EngagementCount
    public var rulesVersion: Int64

    public init(outcome: Outcome, points: Int64, countAfter: EngagementCount, rulesVersion: Int64) {
        self.outcome = outcome
        self.points = points
        self.countAfter = countAfter
        self.rulesVersion = rulesVersion
    }
}

/// Whether value of one origin may pay at a merchant.
public enum SpendingRight: Sendable {
    case allowed
    /// Allowed, and owed to the merchant where it was earned (a coalition partner).
    case settles
    case notAllowed
}

/// A purchase as the switch hands it to the ledger: the amount and merchant the ledger keeps, and the facts only
/// the decider reads (currency, category, terminal, service… in the decider's own form).
public struct PurchaseRequest: Sendable, BitwiseCopyable {
    public var amountMinor: Int64
    public var merchant: MerchantName
    public var facts: PurchaseFacts

    public init(amountMinor: Int64, merchant: MerchantName, facts: PurchaseFacts) {
        self.amountMinor = amountMinor
        self.merchant = merchant
        self.facts = facts
    }
}

/// What the rules decided for one purchase: the postings and what the log records with them.
public struct PurchaseDecision: Sendable, BitwiseCopyable {
    public var amounts: AssetAmounts
    public var rulesVersion: Int64
    public var memberAfter: LoggedMemberState
    public var effect: LoggedPurchaseEffect
    /// Points for the member's referrer (paid when the member has one); 0: none.
    public var referrerBonusPoints: Int64

    public init(
        amounts: AssetAmounts, rulesVersion: Int64, memberAfter: LoggedMemberState, effect: LoggedPurchaseEffect,
        referrerBonusPoints: Int64
    ) {
        self.amounts = amounts
        self.rulesVersion = rulesVersion
        self.memberAfter = memberAfter
        self.effect = effect
        self.referrerBonusPoints = referrerBonusPoints
    }
}

/// What the ledger reads of a member's state: reports (tier, counts) and the profile checks of enrolment.
public struct MemberSummary: Sendable, Equatable {
    public var tier: UInt8
    public var purchaseCount: UInt32
    public var purchaseVolumeMinor: Int64
    public var birthMonth: UInt8
    public var birthDay: UInt8
    /// The first-purchase bonus was given (the member has bought): too late to name a referrer.
    public var firstPurchaseRewarded: Bool
    /// The first and latest purchase counted (ms since 1970, UTC; 0: none yet), for the member search.
    public var firstPurchaseTimeMs: Int64
    public var lastPurchaseTimeMs: Int64

    public init(
        tier: UInt8, purchaseCount: UInt32, purchaseVolumeMinor: Int64, birthMonth: UInt8, birthDay: UInt8,
        firstPurchaseRewarded: Bool, firstPurchaseTimeMs: Int64 = 0, lastPurchaseTimeMs: Int64 = 0
    ) {
        self.firstPurchaseTimeMs = firstPurchaseTimeMs
        self.lastPurchaseTimeMs = lastPurchaseTimeMs
        self.tier = tier
        self.purchaseCount = purchaseCount
        self.purchaseVolumeMinor = purchaseVolumeMinor
        self.birthMonth = birthMonth
        self.birthDay = birthDay
        self.firstPurchaseRewarded = firstPurchaseRewarded
    }

    /// A member the rules never saw.
    public static let none = MemberSummary(
        tier: 0, purchaseCount: 0, purchaseVolumeMinor: 0, birthMonth: 0, birthDay: 0, firstPurchaseRewarded: false)
}

/// What `Decider.plan` decided: how much credit and how many points to take, and whether that pays all asked.
public struct PaymentPlan: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case approved
        case partiallyApproved
        case declined(DeclineReason)
    }

    public enum DeclineReason: Sendable, Equatable {
        /// Amounts out of range or negative balances.
        case invalidRequest
        /// More than the terms' largest share of the purchase was asked.
        case exceedsMaximumShare
        /// Too few points to spend any (and credit did not cover the request).
        case belowMinimumBalance
        case insufficientBalance
    }

    public var outcome: Outcome
    public var creditUsedMinor: Int64
    public var pointsUsed: Int64
    /// The part of the request paid (credit plus the points' value).
    public var approvedMinor: Int64
    /// The terms approve part of a request: the share cap then only lowers the amount.
    public var allowsPartial: Bool

    public init(
        outcome: Outcome, creditUsedMinor: Int64, pointsUsed: Int64, approvedMinor: Int64, allowsPartial: Bool
    ) {
        self.outcome = outcome
        self.creditUsedMinor = creditUsedMinor
        self.pointsUsed = pointsUsed
        self.approvedMinor = approvedMinor
        self.allowsPartial = allowsPartial
    }
}
