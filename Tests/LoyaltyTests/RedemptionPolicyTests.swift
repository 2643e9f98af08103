import Testing

@testable import Loyalty

/// Redemption policy (RedemptionPolicy.swift, the `redemption` section): credit before or after points, the
/// maximum share, the minimum balance, whole points, partial approval, invalid requests and the largest amounts.
/// A point pays 10 rials; at most 50% of a purchase; 1,000 points needed to spend points.
@Suite("Redemption policy")
struct RedemptionPolicyTests {
    static let policy = RedemptionPolicy(
        pointValueMinor: 10, minimumBalancePoints: 1_000, maximumSharePercent: 50, creditBeforePoints: true,
        partialApproval: true)

    static func plan(
        _ policy: RedemptionPolicy = policy, request: Int64, purchase: Int64 = 100_000, points: Int64,
        credit: Int64
    ) -> RedemptionPlan {
        policy.plan(
            requestedMinor: request, purchaseAmountMinor: purchase, pointsBalance: points, creditBalanceMinor: credit)
    }

    @Test("credit first: 20,000 credit, then 3,000 points for the other 30,000 of a 50,000 request")
    func creditBeforePoints() {
        let plan = Self.plan(request: 50_000, points: 10_000, credit: 20_000)
        #expect(
            plan
                == RedemptionPlan(
                    outcome: .approved, creditUsedMinor: 20_000, pointsUsed: 3_000, pointsValueMinor: 30_000))
        #expect(plan.approvedMinor == 50_000)
    }

    @Test("points first: 1,500 points pay 15,000, credit the other 5,000")
    func pointsBeforeCredit() {
        var policy = Self.policy
        policy.creditBeforePoints = false
        let plan = Self.plan(policy, request: 20_000, points: 1_500, credit: 20_000)
        #expect(
            plan
                == RedemptionPlan(
                    outcome: .approved, creditUsedMinor: 5_000, pointsUsed: 1_500, pointsValueMinor: 15_000))
    }

    @Test("above the maximum share: partly approved up to 50%, or declined without partial approval")
    func maximumShare() {
        let partial = Self.plan(request: 60_000, points: 100_000, credit: 0)
        #expect(partial.outcome == .partiallyApproved(.exceedsMaximumShare))
        #expect(partial.approvedMinor == 50_000)
        #expect(partial.pointsUsed == 5_000)
        var strict = Self.policy
        strict.partialApproval = false
        #expect(Self.plan(strict, request: 60_000, points: 100_000, credit: 0) == .declined(.exceedsMaximumShare))
        #expect(Self.plan(strict, request: 50_000, points: 100_000, credit: 0).outcome == .approved)
    }

    @Test("without a purchase total nothing is capped: 50,000 is paid in full from 102,000 of credit")
    func noPurchaseTotal() {
        let plan = Self.policy.plan(
            requestedMinor: 50_000, purchaseAmountMinor: nil, pointsBalance: 0, creditBalanceMinor: 102_000)
        #expect(plan == RedemptionPlan(outcome: .approved, creditUsedMinor: 50_000, pointsUsed: 0, pointsValueMinor: 0))
        let capped = Self.policy.plan(
            requestedMinor: 50_000, purchaseAmountMinor: 50_000, pointsBalance: 0, creditBalanceMinor: 102_000)
        #expect(capped.outcome == .partiallyApproved(.exceedsMaximumShare) && capped.approvedMinor == 25_000)
    }

    @Test("below the minimum balance points are not spent; credit still is")
    func minimumBalance() {
        #expect(Self.plan(request: 10_000, points: 999, credit: 0) == .declined(.belowMinimumBalance))
        let creditOnly = Self.plan(request: 10_000, points: 999, credit: 5_000)
        #expect(creditOnly.outcome == .partiallyApproved(.belowMinimumBalance))
        #expect(creditOnly.creditUsedMinor == 5_000)
        #expect(creditOnly.pointsUsed == 0)
        #expect(Self.plan(request: 10_000, points: 1_000, credit: 0).outcome == .approved)
    }

    @Test("short balances are partly approved; points pay whole points only")
    func insufficientAndWholePoints() {
        let short = Self.plan(request: 20_000, points: 1_500, credit: 0)
        #expect(short.outcome == .partiallyApproved(.insufficientBalance))
        #expect(short.approvedMinor == 15_000)
        let odd = Self.plan(request: 10_005, points: 5_000, credit: 0)
        #expect(odd.outcome == .partiallyApproved(.insufficientBalance))
        #expect(odd.pointsUsed == 1_000)
        #expect(odd.approvedMinor == 10_000)
    }

    @Test("invalid requests are declined; the largest purchase and balances do not overflow")
    func invalidAndLargest() {
        #expect(Self.plan(request: 0, points: 5_000, credit: 0) == .declined(.invalidRequest))
        #expect(Self.plan(request: 100_001, points: 5_000, credit: 0) == .declined(.invalidRequest))
        #expect(Self.plan(request: 10, points: -1, credit: 0) == .declined(.invalidRequest))
        #expect(Self.plan(request: 10, points: 0, credit: -1) == .declined(.invalidRequest))
        let amount = ProgramLimits.amountMinorMax
        let plan = RedemptionPolicy().plan(
            requestedMinor: amount, purchaseAmountMinor: amount, pointsBalance: Int64.max,
            creditBalanceMinor: Int64.max)
        #expect(plan == RedemptionPlan(outcome: .approved, creditUsedMinor: amount, pointsUsed: 0, pointsValueMinor: 0))
        var pointsOnly = RedemptionPolicy(pointValueMinor: 1)
        pointsOnly.creditBeforePoints = false
        let points = pointsOnly.plan(
            requestedMinor: amount, purchaseAmountMinor: amount, pointsBalance: Int64.max, creditBalanceMinor: 0)
        #expect(points.pointsUsed == amount)
    }

    @Test("the redemption section reads into Program.redemption; defaults; errors name the key path")
    func configuration() throws {
        func program(_ section: String) throws -> Program {
            try Program(json: Array(#"{"version": 1, "currency": 364\#(section)}"#.utf8))
        }
        let json = """
            , "redemption": {"pointValueMinor": 10, "minimumBalancePoints": 1000, "maximumSharePercent": 50,
                             "creditBeforePoints": true, "partialApproval": true}
            """
        #expect(try program(json).redemption == Self.policy)
        #expect(
            try program("").redemption
                == RedemptionPolicy(
                    pointValueMinor: 1, minimumBalancePoints: 0, maximumSharePercent: 100, creditBeforePoints: true,
                    partialApproval: false))
        func error(_ body: String) -> String? {
            do {
                _ = try program(#", "redemption": {\#(body)}"#)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(error(#""partialApproval": 1"#) == "redemption.partialApproval: must be true or false")
        #expect(error(#""maximumSharePercent": 101"#) == "redemption.maximumSharePercent: must be 0...100")
        #expect(error(#""pointValueMinor": 0"#) == "redemption.pointValueMinor: must be 1...1000000")
        #expect(error(#""pointValueMinor": 1000000"#) == nil)
        #expect(
            error(#""minimumBalancePoints": -1"#) == "redemption.minimumBalancePoints: must be 0...1000000000000000000")
        #expect(error(#""lottery": true"#)?.hasPrefix("redemption.lottery: unknown key") == true)
    }
}
