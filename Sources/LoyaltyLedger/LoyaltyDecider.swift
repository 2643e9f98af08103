import Ledger
import Loyalty
import Synchronization

/// The loyalty rules as the ledger's decider: reads back what the rules wrote (members, purchase effects, payment
/// terms), and holds the rules in force, replaced atomically by `setRules` (a reload). One per process: the
/// ledger's shards and the switch's loops ask the same one, so a version names one set of rules everywhere.
public final class LoyaltyDecider: Decider {
    /// The rules in force, and the programs of the latest versions put in force in this process (newest last,
    /// the one in force included), so a receipt names things as the version that decided did.
    private struct InForce {
        var rules: LoyaltyRules?
        var recent: [Program] = []
        /// What receipts name, per version put in force here or remembered from earlier processes (oldest first).
        var names: [ReceiptNames] = []
    }

    /// Versions kept for naming receipts: a program may hold 100,000 merchants, so only a few.
    public static let versionsKeptMax = 4

    /// Versions whose receipt names are kept (a few KB each): the switch keeps the same number on disk
    /// (`ReceiptNamesJournal`), so a repeat answered after reloads and restarts names what its decision's version did.
    public static let namesVersionsKeptMax = 64

    private let inForce: Mutex<InForce>

    public init(rules program: Program? = nil) {
        inForce = Mutex(
            InForce(
                rules: program.map(LoyaltyRules.init), recent: program.map { [$0] } ?? [],
                names: program.map { [ReceiptNames($0)] } ?? []))
    }

    /// Puts `program` in force: each shard takes it at its next batch, each loop at its next request; what was
    /// decided keeps its decision.
    public func setRules(_ program: Program) {
        let rules = LoyaltyRules(program)
        inForce.withLock { state in
            state.rules = rules
            state.recent.removeAll { $0.version == program.version }
            state.recent.append(program)
            if state.recent.count > Self.versionsKeptMax { state.recent.removeFirst() }
            Self.keep(ReceiptNames(program), in: &state)
        }
    }

    /// Remembers the receipt names of a version put in force by an earlier process (read back from disk), unless
    /// this process already has that version's.
    public func remember(_ names: ReceiptNames) {
        inForce.withLock { state in
            guard !state.names.contains(where: { $0.version == names.version }) else { return }
            Self.keep(names, in: &state)
        }
    }

    private static func keep(_ names: ReceiptNames, in state: inout InForce) {
        state.names.removeAll { $0.version == names.version }
        // Kept in version order, so the oldest is the one forgotten when more than the limit were put in force.
        let place = state.names.firstIndex { $0.version > names.version } ?? state.names.endIndex
        state.names.insert(names, at: place)
        if state.names.count > namesVersionsKeptMax { state.names.removeFirst() }
    }

    /// The receipt names of `version` (nil when neither this process nor the switch's journal kept them).
    public func receiptNames(version: Int64) -> ReceiptNames? {
        inForce.withLock { state in state.names.last { $0.version == version } }
    }

    /// The receipt names of the rules in force (nil: none).
    public var receiptNamesInForce: ReceiptNames? {
        inForce.withLock { state in state.rules.flatMap { rules in state.names.last { $0.version == rules.program.version } } }
    }

    /// The program in force (nil: none).
    public var program: Program? { inForce.withLock { $0.rules?.program } }

    /// The program of `version` when it was put in force in this process and is still kept (nil otherwise).
    public func program(version: Int64) -> Program? {
        inForce.withLock { state in state.recent.last { $0.version == version } }
    }

    public func rulesInForce() -> (any DecisionRules)? { inForce.withLock { $0.rules } }

    public func memberState(decoding logged: LoggedMemberState) -> MemberState? {
        logged.member.map(MemberState.init)
    }

    public func purchaseEffect(decoding logged: LoggedPurchaseEffect) -> PurchaseEffectState? {
        logged.effect.map(PurchaseEffectState.init)
    }

    public func summary(of state: MemberState) -> MemberSummary {
        Self.summary(of: state.member)
    }

    public func summary(decoding logged: LoggedMemberState) -> MemberSummary? {
        logged.member.map(Self.summary(of:))
    }

    static func summary(of member: Member) -> MemberSummary {
        MemberSummary(
            tier: member.tier, purchaseCount: member.purchaseCount, purchaseVolumeMinor: member.purchaseVolumeMinor,
            birthMonth: member.birthMonth, birthDay: member.birthDay,
            firstPurchaseRewarded: member.firstPurchaseRewarded, firstPurchaseTimeMs: member.firstPurchaseTimeMs,
            lastPurchaseTimeMs: member.lastPurchaseTimeMs)
    }

    public func member(_ state: MemberState, birthMonth: UInt8, birthDay: UInt8) -> MemberState {
        precondition((1...12).contains(birthMonth) && (1...31).contains(birthDay), "the ledger checks birthdays")
        var member = state.member
        member.birthMonth = birthMonth
        member.birthDay = birthDay
        return MemberState(member)
    }

    public func referred(_ state: MemberState) -> MemberState {
        var member = state.member
        member.isReferred = true
        return MemberState(member)
    }

    public func receipt(memberAfter: MemberState, effect state: PurchaseEffectState, rulesVersion: Int64)
        -> LoyaltyReceipt
    {
        let effect = state.effect
        var receipt = LoyaltyReceipt(
            isDecided: true, tier: memberAfter.member.tier, tierBefore: effect.tierBefore, rulesVersion: rulesVersion)
        receipt.offerAppliedHash = effect.offerAppliedHash
        receipt.offerGrantedHash = effect.offerGrantedHash
        return receipt
    }

    public func bonusesRewarded(_ effect: PurchaseEffectState, rulesVersion: Int64) -> [(reason: Int64, points: Int64?)] {
        let rewarded = effect.effect.rewardedEvents
        let paid = program(version: rulesVersion)?.bonusPoints
        let bonuses: [(RewardedEvents, Int64, Int64?)] = [
            (.enrolment, 1, paid?.enrolment), (.firstPurchase, 2, paid?.firstPurchase), (.referral, 3, paid?.referral),
            (.birthday, 4, paid?.birthday),
        ]
        return bonuses.filter { rewarded.contains($0.0) && $0.2 != 0 }.map { ($0.1, $0.2) }
    }

    public func bonusesPaidAgain(_ effect: PurchaseEffectState, by member: MemberState) -> Bool {
        effect.effect.bonusesPaidAgain(by: member.member)
    }

    /// The bounds a program configuration checks at load; logged terms are checked again on replay.
    public func isValid(_ terms: PaymentTerms) -> Bool {
        guard let policy = terms.policy else { return false }
        return (1...1_000_000_000).contains(policy.pointValueMinor) && policy.minimumBalancePoints >= 0
            && (0...100).contains(policy.maximumSharePercent)
    }

    public func pointValueMinor(_ terms: PaymentTerms) -> Int64 {
        guard let policy = terms.policy else { preconditionFailure("payment terms no policy writes") }
        return policy.pointValueMinor
    }

    public func allowsPartial(_ terms: PaymentTerms) -> Bool {
        guard let policy = terms.policy else { preconditionFailure("payment terms no policy writes") }
        return policy.partialApproval
    }

    public func plan(
        _ terms: PaymentTerms, requestedMinor: Int64, purchaseTotalMinor: Int64?, pointsBalance: Int64,
        creditBalanceMinor: Int64
    ) -> PaymentPlan {
        guard let policy = terms.policy else { preconditionFailure("payment terms no policy writes") }
        let plan = policy.plan(
            requestedMinor: requestedMinor, purchaseAmountMinor: purchaseTotalMinor, pointsBalance: pointsBalance,
            creditBalanceMinor: creditBalanceMinor)
        let outcome: PaymentPlan.Outcome
        switch plan.outcome {
        case .approved: outcome = .approved
        case .partiallyApproved: outcome = .partiallyApproved
        case .declined(let reason): outcome = .declined(Self.reason(reason))
        }
        return PaymentPlan(
            outcome: outcome, creditUsedMinor: plan.creditUsedMinor, pointsUsed: plan.pointsUsed,
            approvedMinor: plan.approvedMinor, allowsPartial: policy.partialApproval)
    }

    static func reason(_ reason: RedemptionPlan.DeclineReason) -> PaymentPlan.DeclineReason {
        switch reason {
        case .invalidRequest: .invalidRequest
        case .exceedsMaximumShare: .exceedsMaximumShare
        case .belowMinimumBalance: .belowMinimumBalance
        case .insufficientBalance: .insufficientBalance
        }
    }
}
