/// What the rules decided for one purchase: the postings, why, and under which configuration version.
///
/// The version is part of the decision so that the write-ahead log can record it and a replay after a rules
/// change applies the rules that were in force (wiring into the WAL is later work, see docs/loyalty-rules.md).
public struct Decision: Sendable, Equatable {
    public var postings: Postings
    public var explanation: Explanation
    public var configurationVersion: Int64
    /// The member's aggregates after this purchase; the ledger stores them (and logs them) when it approves.
    public var memberAfter: Member
    /// What the purchase did to the aggregates, kept with the purchase so that `Program.undo` can take back
    /// exactly that on a refund or reversal.
    public var effect: PurchaseEffect
    /// Points for the member who referred this one, on the referred member's first purchase
    /// (`events.referrerPoints`); the ledger credits them to the referrer. 0 otherwise.
    public var referrerBonusPoints: Int64 = 0
}

/// The amounts to post to the member's balances. Fixed fields rather than an array of postings, so a decision
/// costs no allocation; more kinds (bonus, tier change) become more fields.
public struct Postings: Sendable, Equatable {
    public var pointsEarned: Int64
    /// Store credit, in minor units of the purchase's currency.
    public var creditEarnedMinor: Int64

    public init(pointsEarned: Int64, creditEarnedMinor: Int64) {
        self.pointsEarned = pointsEarned
        self.creditEarnedMinor = creditEarnedMinor
    }
}

/// Which rule applied, as values (no strings are built on the authorization path); `description` renders the
/// short text for receipts, logs and tests.
public struct Explanation: Sendable, Equatable, CustomStringConvertible {
    public enum Outcome: Sendable, Equatable {
        case evaluated
        /// The purchase is in another currency than the program's: nothing is earned.
        case currencyMismatch
        /// Negative amounts, amounts beyond 12 digits, or more paid with points than the purchase.
        case invalidAmount
    }

    /// Why the points are what they are, beyond which rule gave them.
    public enum PointsNote: Sendable, Equatable {
        case awarded
        case noRule
        case belowMinimumPurchase
        /// The rule gave more than `pointsPerTransactionMax`; the cap was posted.
        case cappedPerTransaction(uncappedPoints: Int64)
        /// The member reached `pointsPerMemberPerDayMax` today: this purchase was given what was left of the
        /// day's room (possibly 0). `uncappedPoints` is before either cap.
        case cappedPerMemberPerDay(uncappedPoints: Int64)
    }

    public var outcome: Outcome
    public var pointsRule: RuleSource
    public var pointsNote: PointsNote
    public var creditRule: RuleSource
    /// The step whose rate applied; `nil` when no rule applied or the purchase reached no step.
    public var creditStep: CreditStep?
    /// The campaigns that changed the points; `.none` when none matched, or when no points were earned because
    /// no rule applied or the purchase was below the minimum (campaigns never bypass either).
    public var campaigns: CampaignEffect
    /// The tier level the purchase earned at (index into `tiers.levels`, 0 the base): the tier in force before
    /// the purchase, so a purchase that crosses a threshold earns at the old tier and `memberAfter.tier` shows
    /// the upgrade (`Program.tierIdentifier(at:)` names it).
    public var tier: UInt8
    /// That tier's points multiplier (100 when the program has no tiers).
    public var tierMultiplierPercent: Int16
    /// That tier's store-credit bonus, basis points added to the rate.
    public var tierCreditBasisPointsBonus: Int16
    /// The offer whose reward this purchase received (index into `offers`, `Program.offerIdentifier(at:)`);
    /// -1 for none.
    public var offerApplied: Int8
    /// The return offer this purchase granted, to print on its receipt ("20% credit if you come back within 20
    /// days"); -1 for none.
    public var offerGranted: Int8
    /// The one-off bonuses this purchase paid and their sum (included in `pointsEarned`, outside the caps).
    public var events: RewardedEvents
    public var eventPoints: Int32
    /// The basket's product points (`earning.bySku`, `earning.byProductCategory`), included in `pointsEarned`
    /// before the caps, and how many lines earned them.
    public var productPoints: Int64 = 0
    public var productLines: Int8 = 0

    static let nothingApplied = Explanation(
        outcome: .evaluated, pointsRule: .none, pointsNote: .noRule, creditRule: .none, creditStep: nil,
        campaigns: .none, tier: 0, tierMultiplierPercent: 100, tierCreditBasisPointsBonus: 0, offerApplied: -1,
        offerGranted: -1, events: [], eventPoints: 0)

    public var description: String {
        switch outcome {
        case .currencyMismatch: return "no reward: purchase currency is not the program's"
        case .invalidAmount: return "no reward: invalid amount"
        case .evaluated: break
        }
        var points = "points by \(pointsRule)"
        switch pointsNote {
        case .awarded: break
        case .noRule: points = "no points rule"
        case .belowMinimumPurchase: points += ", below minimum purchase"
        case .cappedPerTransaction(let uncapped): points += ", capped (uncapped \(uncapped))"
        case .cappedPerMemberPerDay(let uncapped): points += ", capped per member per day (uncapped \(uncapped))"
        }
        if tierMultiplierPercent != 100 { points += ", tiers.levels[\(tier)] ×\(tierMultiplierPercent)%" }
        if campaigns.matchedCount > 0 { points += ", \(Self.describe(campaigns))" }
        if productLines > 0 { points += ", products +\(productPoints) on \(productLines) lines" }
        var credit: String
        if let step = creditStep {
            credit = "credit by \(creditRule) at \(step.basisPoints) basis points from \(step.fromAmountMinor)"
        } else {
            credit = creditRule == .none ? "no credit rule" : "credit by \(creditRule), no step reached"
        }
        if tierCreditBasisPointsBonus > 0 {
            credit += ", +\(tierCreditBasisPointsBonus) basis points by tiers.levels[\(tier)]"
        }
        if offerApplied >= 0 { credit += "; offers[\(offerApplied)] applied" }
        if offerGranted >= 0 { credit += "; offers[\(offerGranted)] granted" }
        if eventPoints > 0 { credit += "; events +\(eventPoints)" }
        return "\(points); \(credit)"
    }

    /// "campaigns[0] ×200% +50" or "3 campaigns from campaigns[0], ×200% by campaigns[2], +50" (indexes in the
    /// configuration's `campaigns` list; `Program.campaignIdentifier(at:)` names them).
    static func describe(_ effect: CampaignEffect) -> String {
        let single = effect.matchedCount == 1
        var text =
            single
            ? "campaigns[\(effect.firstCampaignIndex)]"
            : "\(effect.matchedCount) campaigns from campaigns[\(effect.firstCampaignIndex)]"
        if effect.multiplierCampaignIndex >= 0 {
            text +=
                single
                ? " ×\(effect.multiplierPercent)%"
                : ", ×\(effect.multiplierPercent)% by campaigns[\(effect.multiplierCampaignIndex)]"
        }
        if effect.bonusPoints > 0 { text += single ? " +\(effect.bonusPoints)" : ", +\(effect.bonusPoints)" }
        return text
    }
}

/// The level of the rule that applied, with the key that selected it. Precedence, most specific first:
/// service code (points only), merchant, group, merchant category, program default.
public enum RuleSource: Sendable, Equatable, CustomStringConvertible {
    case none
    case serviceCode(UInt32)
    case merchant(ShortIdentifier)
    case group(ShortIdentifier)
    case merchantCategory(UInt16)
    case programDefault

    public var description: String {
        switch self {
        case .none: return "no rule"
        case .serviceCode(let code): return "service code \(code)"
        case .merchant(let identifier): return "merchant \(identifier)"
        case .group(let identifier): return "group \(identifier)"
        case .merchantCategory(let code): return "merchant category \(code)"
        case .programDefault: return "program default"
        }
    }
}
