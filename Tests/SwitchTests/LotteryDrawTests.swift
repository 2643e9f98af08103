import Foundation
import HTTP
import Testing

@testable import AdminAccess
@testable import SwitchCore

/// The draw (`weighted-splitmix64-v1`): deterministic from its seed, weighted by entries, without replacement; and
/// the trail's reading that `lottery verify` runs: a changed entry or winner is named.
@Suite struct LotteryDrawTests {
    static func entrants(_ weights: [Int64]) -> [LotteryDraw.Entrant] {
        LotteryDraw.sorted(weights.enumerated().map { LotteryDraw.Entrant(memberId: "mbr_\($0.offset)", entries: $0.element) })
    }

    @Test("SplitMix64 gives the reference outputs (seed 0: e220a8397b1dcdaf, 6e789e6aa1b965f4)")
    func splitMixReference() {
        var stream = SplitMix64(seed: 0)
        #expect(stream.next() == 0xE220_A839_7B1D_CDAF)
        #expect(stream.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test("the same entrants and seed draw the same winners; all entrants can win, each once")
    func deterministicWithoutReplacement() {
        let entrants = Self.entrants([5, 1, 100, 7, 3, 3, 40])
        let first = LotteryDraw.draw(entrants, winners: 3, seed: 42)
        #expect(first == LotteryDraw.draw(entrants, winners: 3, seed: 42))
        #expect(Set(first).count == 3)
        let everyone = LotteryDraw.draw(entrants, winners: entrants.count, seed: 7)
        #expect(Set(everyone) == Set(0..<entrants.count), "a member wins at most once")
        let seeds = (0..<20).map { LotteryDraw.draw(entrants, winners: 3, seed: UInt64($0)) }
        #expect(Set(seeds.map { $0.description }).count > 5, "other seeds draw otherwise")
    }

    @Test("one winner among entries 1:2:3:4 over 20000 seeds: chi-square below 16.27 (3 degrees, p 0.001)")
    func proportionalToEntries() {
        let entrants = Self.entrants([1, 2, 3, 4])
        var counts = [0, 0, 0, 0]
        let draws = 20_000
        for seed in 0..<draws { counts[LotteryDraw.draw(entrants, winners: 1, seed: UInt64(seed))[0]] += 1 }
        let expected = [1.0, 2, 3, 4].map { Double(draws) * $0 / 10 }
        let chiSquare = zip(counts, expected).reduce(0.0) { $0 + pow(Double($1.0) - $1.1, 2) / $1.1 }
        #expect(chiSquare < 16.27, "counts \(counts), chi-square \(chiSquare)")
    }

    @Test("second winners follow the remaining weights: with 1:1:98 the heavy one wins first nearly always")
    func withoutReplacementWeights() {
        let entrants = Self.entrants([1, 1, 98])
        var heavyFirst = 0
        for seed in 0..<2_000 where LotteryDraw.draw(entrants, winners: 2, seed: UInt64(seed))[0] == 2 { heavyFirst += 1 }
        #expect(heavyFirst > 1_900 && heavyFirst < 2_000, "\(heavyFirst)")
    }

    @Test("the Fenwick tree finds the range that holds a value, also after removals")
    func fenwick() {
        var tree = FenwickTree([3, 0, 2, 5])
        #expect(tree.total == 10)
        #expect([0, 2, 3, 4, 5, 9].map { tree.index(holding: $0) } == [0, 0, 2, 2, 3, 3])
        tree.remove(2)
        #expect(tree.total == 8 && tree.index(holding: 3) == 3 && tree.index(holding: 2) == 0)
    }

    @Test("the entrants digest is SHA-256 of the sorted memberId:entries lines")
    func digest() {
        let sorted = LotteryDraw.sorted([.init(memberId: "mbr_b", entries: 20), .init(memberId: "mbr_a", entries: 1)])
        #expect(sorted.map(\.memberId) == ["mbr_a", "mbr_b"])
        #expect(LotteryDraw.digest(sorted) == "e2e6c2541f107061c3d587142f43bc6f737730b43693ff56599a2ba3742d18c2")
    }

    @Test("RFC 3339 UTC times parse; offsets, impossible dates and other forms do not")
    func times() {
        #expect(LotteryTrail.parseTime("2026-12-03T08:00:00Z") == 1_796_284_800_000)
        #expect(LotteryTrail.parseTime("2026-12-03T08:00:00.250Z") == 1_796_284_800_250)
        for bad in ["2026-12-03T08:00:00+01:00", "2026-02-30T00:00:00Z", "2026-12-03 08:00:00Z", "", "2026-13-01T00:00:00Z"] {
            #expect(LotteryTrail.parseTime(bad) == nil, "\(bad)")
        }
    }

    static func entry(_ seq: UInt64, _ action: String, _ target: String, _ build: (inout JSONWriter) -> Void) -> AuditEntry {
        AuditEntry.make(
            seq: seq, time: "2026-12-03T08:00:00.000Z", actor: "usr_1", role: "admin", action: action, target: target,
            detail: AuditDetail.make(build), operation: nil, previousHash: AuditEntry.genesisHash
        ).entry
    }

    @Test("reading the trail: a draw re-runs from the entries before it; a changed entry or winner is named")
    func trailCheck() {
        let id = LotteryBook.id(0x77)
        let target = "lotteries/" + id
        let create = Self.entry(1, LotteryTrail.created, target) { json in
            json.member("closesAt", "2026-12-03T08:00:00Z")
            json.member("name", "Yalda")
            json.member("pointsPerEntry", 10)
        }
        func enter(_ seq: UInt64, _ member: String, _ entries: Int64) -> AuditEntry {
            Self.entry(seq, LotteryTrail.entered, target) { json in
                json.member("memberId", member)
                json.member("entries", entries)
            }
        }
        let sorted = LotteryDraw.sorted([.init(memberId: "mbr_a", entries: 3), .init(memberId: "mbr_b", entries: 5)])
        let drawn = LotteryTrail.run(sorted, winners: 1, seed: 99, time: "t")
        func draw(_ winners: [String]) -> AuditEntry {
            var recorded = drawn
            recorded.winners = winners.map { .init(memberId: $0, entries: 0) }
            let draft = LotteryTrail.drawDraft(0x77, recorded, entrants: 2, entries: 8)
            return Self.entry(5, draft.action, draft.target) { json in
                for (key, value) in draft.detail.members ?? [] {
                    json.key(key)
                    json.canonical(value)
                }
            }
        }
        func replay(_ entries: [AuditEntry]) -> String? {
            var lotteries: [UInt64: LotteryBook.Lottery] = [:]
            return entries.compactMap { LotteryTrail.apply($0, to: &lotteries) }.first
        }
        let winner = drawn.winners[0].memberId
        let loser = winner == "mbr_a" ? "mbr_b" : "mbr_a"
        #expect(replay([create, enter(2, "mbr_a", 3), enter(3, "mbr_b", 5), draw([winner])]) == nil)
        let changedEntry = replay([create, enter(2, "mbr_a", 4), enter(3, "mbr_b", 5), draw([winner])])
        #expect(changedEntry?.contains("draw of \(id) at audit seq 5") == true, "\(changedEntry ?? "")")
        #expect(changedEntry?.contains("entrants digest") == true)
        let changedWinner = replay([create, enter(2, "mbr_a", 3), enter(3, "mbr_b", 5), draw([loser])])
        #expect(changedWinner?.contains("winner 1 recorded \(loser)") == true, "\(changedWinner ?? "")")
        #expect(replay([enter(2, "mbr_a", 3)])?.contains("no lottery was created") == true)
    }
}
