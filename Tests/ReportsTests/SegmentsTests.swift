import Ledger
@testable import Reports
import Testing

/// A source of purchases held in memory (the sales store's stand-in for these tests).
struct PurchaseList: MemberActivitySource {
    var purchases: [MemberPurchase]

    func forEachPurchase(fromMs: Int64, toMs: Int64, _ body: (MemberPurchase) throws -> Void) throws {
        for purchase in purchases { try body(purchase) }
    }
}

/// RFM scoring, segments and VIPs, pure: quintile edges, ties, an empty window, one member, refunds.
@Suite struct SegmentsTests {
    static let day: Int64 = 86_400_000
    static func member(_ number: UInt64) -> CardHash { CardHash(high: number << 40, low: number) }
    static func purchase(_ number: UInt64, day: Int64, _ amount: Int64) -> MemberPurchase {
        MemberPurchase(member: member(number), timeMs: day * Self.day, amountMinor: amount)
    }

    static func scores(_ purchases: [MemberPurchase], to: Int64 = 100, vip: Segments.VIPRule = .init()) throws
        -> [Segments.Score]
    {
        let activity = try Segments.activity(
            PurchaseList(purchases: purchases), fromMs: 0, toMs: to * day, membersMax: 1000)
        return Segments.score(activity, toMs: to * day, vip: vip)
    }

    @Test("quintiles: ten distinct values give two of each score; the edges are exact")
    func quintileEdges() {
        #expect(Segments.quintiles(Array(1...10)) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
        #expect(Segments.quintiles([5, 4, 3, 2, 1]) == [5, 4, 3, 2, 1])
        #expect(Segments.quintiles(Array(1...6)) == [1, 2, 3, 4, 5, 5])
    }

    @Test("ties share the higher score; all equal or one value scores 5; none scores nothing")
    func quintileTies() {
        #expect(Segments.quintiles([7, 7, 7, 7]) == [5, 5, 5, 5])
        #expect(Segments.quintiles([1, 2, 2, 2, 3]) == [1, 4, 4, 4, 5])
        #expect(Segments.quintiles([42]) == [5])
        #expect(Segments.quintiles([]) == [])
    }

    @Test("an empty window scores no member; refunds only (no purchase in the window) are not scored")
    func emptyWindow() throws {
        #expect(try Self.scores([]).isEmpty)
        #expect(try Self.scores([Self.purchase(1, day: 10, -500)]).isEmpty)
    }

    @Test("one member: recency in whole days to the window's end, 5-5-5 champions")
    func oneMember() throws {
        let scores = try Self.scores([Self.purchase(1, day: 90, 1000), Self.purchase(1, day: 95, 500)])
        #expect(scores.count == 1)
        let only = scores[0]
        #expect(only.activity.frequency == 2 && only.activity.monetaryMinor == 1500)
        #expect(only.recencyDays == 4)
        #expect((only.recency, only.frequency, only.monetary) == (5, 5, 5) && only.segment == .champions)
    }

    @Test("a refund makes monetary 0 or below: it keeps its frequency, scores lowest on M and is never a VIP")
    func refunds() throws {
        let purchases = [
            Self.purchase(1, day: 50, 1000), Self.purchase(1, day: 51, -1000),
            Self.purchase(2, day: 50, 300), Self.purchase(2, day: 60, -900),
            Self.purchase(3, day: 50, 200),
        ]
        let scores = try Self.scores(purchases, vip: Segments.VIPRule(top: 3))
        let byMember = Dictionary(uniqueKeysWithValues: scores.map { ($0.member, $0) })
        #expect(byMember[Self.member(1)]?.activity.monetaryMinor == 0)
        #expect(byMember[Self.member(2)]?.activity.monetaryMinor == -600)
        #expect(byMember[Self.member(2)]?.activity.frequency == 1)
        #expect(byMember[Self.member(2)]?.monetary == 2 && byMember[Self.member(3)]?.monetary == 5)
        #expect(scores.filter(\.vip).map(\.member) == [Self.member(3)])
    }

    @Test("purchases outside [from, to) are not counted")
    func window() throws {
        let activity = try Segments.activity(
            PurchaseList(purchases: [Self.purchase(1, day: 9, 100), Self.purchase(1, day: 10, 200), Self.purchase(1, day: 20, 400)]),
            fromMs: 10 * Self.day, toMs: 20 * Self.day, membersMax: 10)
        #expect(activity[Self.member(1)]?.monetaryMinor == 200 && activity[Self.member(1)]?.frequency == 1)
    }

    @Test("VIP: top N by monetary (ties by member id), or monetary at least X, or either")
    func vips() throws {
        let purchases = (1...6).map { Self.purchase(UInt64($0), day: 50, Int64($0 <= 2 ? 1000 : $0 * 100)) }
        let top = try Self.scores(purchases, vip: Segments.VIPRule(top: 1))
        #expect(top.filter(\.vip).map(\.member) == [Self.member(1)])
        let minimum = try Self.scores(purchases, vip: Segments.VIPRule(minMinor: 500))
        #expect(Set(minimum.filter(\.vip).map(\.member)) == Set([1, 2, 5, 6].map { Self.member($0) }))
        let either = try Self.scores(purchases, vip: Segments.VIPRule(top: 2, minMinor: 600))
        #expect(Set(either.filter(\.vip).map(\.member)) == Set([1, 2, 6].map { Self.member($0) }))
        #expect(try Self.scores(purchases).allSatisfy { !$0.vip })
    }

    @Test("rows come in member id order")
    func order() throws {
        let purchases = [Self.purchase(9, day: 1, 10), Self.purchase(2, day: 1, 10), Self.purchase(5, day: 1, 10)]
        #expect(try Self.scores(purchases).map(\.member) == [2, 5, 9].map { Self.member($0) })
    }

    @Test("the segment table: first match wins, every pattern has a segment")
    func segmentTable() {
        #expect(Segments.Segment.of(recency: 5, frequency: 5, monetary: 5) == .champions)
        #expect(Segments.Segment.of(recency: 3, frequency: 4, monetary: 1) == .loyal)
        #expect(Segments.Segment.of(recency: 5, frequency: 1, monetary: 1) == .new)
        #expect(Segments.Segment.of(recency: 3, frequency: 3, monetary: 3) == .potentialLoyalists)
        #expect(Segments.Segment.of(recency: 1, frequency: 5, monetary: 5) == .atRisk)
        #expect(Segments.Segment.of(recency: 2, frequency: 3, monetary: 1) == .needAttention)
        #expect(Segments.Segment.of(recency: 1, frequency: 1, monetary: 2) == .hibernating)
        var seen: Set<Segments.Segment> = []
        for r in UInt8(1)...5 {
            for f in UInt8(1)...5 { for m in UInt8(1)...5 { seen.insert(Segments.Segment.of(recency: r, frequency: f, monetary: m)) } }
        }
        #expect(seen == Set(Segments.Segment.allCases))
    }

    @Test("more members than membersMax in the window is an error naming from, not a bigger map")
    func memberBound() {
        let purchases = (1...5).map { Self.purchase(UInt64($0), day: 1, 10) }
        #expect(throws: ReportError.self) {
            _ = try Segments.activity(PurchaseList(purchases: purchases), fromMs: 0, toMs: Self.day * 2, membersMax: 4)
        }
    }

    @Test("query: dates and RFC 3339 times, defaults from windowDays, each bad parameter named")
    func query() throws {
        let now: Int64 = 1_780_000_000_000
        let defaults = try SegmentsQuery.parse([], nowMs: now, windowDays: 30)
        #expect(defaults.toMs == now && defaults.fromMs == now - 30 * Self.day)
        let dated = try SegmentsQuery.parse(
            [("from", "2026-01-01"), ("to", "2026-12-03T08:00:00Z"), ("vipTop", "10"), ("vipMinMinor", "5000")],
            nowMs: now, windowDays: 30)
        #expect(dated.fromMs == 1_767_225_600_000 && dated.toMs == 1_796_284_800_000)
        #expect(dated.vip == Segments.VIPRule(top: 10, minMinor: 5000))
        #expect(try SegmentsQuery.time("2026-12-03T11:30:00.250+03:30", name: "t") == 1_796_284_800_250)
        for (name, value) in [
            ("from", "yesterday"), ("to", "2026-02-30"), ("vipTop", "0"), ("vipTop", "x"), ("vipMinMinor", "-1"),
            ("merchant", "M1"), ("to", "2026-12-03T08:00:00"),
        ] {
            #expect(throws: ReportError.self, "\(name)=\(value)") {
                _ = try SegmentsQuery.parse([(name, value)], nowMs: now, windowDays: 30)
            }
            do {
                _ = try SegmentsQuery.parse([(name, value)], nowMs: now, windowDays: 30)
            } catch {
                guard case .badParameter(let named, _) = error else { Issue.record("\(error)"); continue }
                #expect(named == name)
            }
        }
        #expect(throws: ReportError.self) {
            _ = try SegmentsQuery.parse([("from", "2026-02-01"), ("to", "2026-01-01")], nowMs: now, windowDays: 30)
        }
    }
}
