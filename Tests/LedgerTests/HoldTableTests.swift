import Testing

@testable import Ledger

/// The accounts and holds of one shard as types of their own: what each keeps true, and what its checks catch.
@Suite struct HoldTableTests {
    let members = AccountTable(capacity: 4)
    let holds: HoldTable

    init() {
        holds = HoldTable(capacity: 3, perMemberMax: 2, members: members)
        for _ in 0..<2 { _ = members.open() }
    }

    @Test("a member's held amounts follow its holds through create, release and expiry; limits per member and table")
    func heldFollowsHolds() {
        #expect(members.add(AssetAmounts(points: 500, credit: 900), to: 0))
        let first = holds.create(member: 0, asset: .points, amount: 120, expiresAtMs: 1_000, entryPosition: 7)
        let second = holds.create(member: 0, asset: .credit, amount: 300, expiresAtMs: 5_000, entryPosition: 8)
        #expect(members[0].held == AssetAmounts(points: 120, credit: 300) && members[0].holdCount == 2)
        #expect(members[0].available == AssetAmounts(points: 380, credit: 600))
        #expect(!holds.canCreate(for: 0), "holdsPerMemberMax is 2")
        #expect(holds.canCreate(for: 1))
        _ = holds.create(member: 1, asset: .points, amount: 1, expiresAtMs: 1_000, entryPosition: 9)
        #expect(!holds.canCreate(for: 1), "member 1 has room (1 of 2) but the table's 3 records are in use")
        #expect(holds.disagreement(member: 0) == nil && holds.tableDisagreement() == nil)
        holds.releaseExpired(member: 0, nowMs: 1_000)
        #expect(!holds[first].isActive && holds[second].isActive)
        #expect(members[0].held == AssetAmounts(points: 0, credit: 300) && holds.activeCount == 2)
        holds.release(second)
        #expect(members[0].held == .zero && members[0].holdCount == 0 && members[0].firstHold == 0)
        // Freed records are reused before the table grows.
        let reused = holds.create(member: 0, asset: .points, amount: 5, expiresAtMs: 9_000, entryPosition: 10)
        #expect(reused == second && holds.records.count == 3)
        #expect(holds.tableDisagreement() == nil)
    }

    @Test("a held amount or a hold count that disagrees with the member's list is named, for that member and the table")
    func checksCatchDisagreement() {
        _ = holds.create(member: 1, asset: .points, amount: 40, expiresAtMs: 1_000, entryPosition: 1)
        members[1].held.points += 1
        #expect(holds.disagreement(member: 1) == "member 1's held amounts differ from its holds")
        #expect(holds.tableDisagreement() == "member 1 held amounts disagree with its holds")
        #expect(holds.disagreement(member: 0) == nil, "member 0 has no holds and holds nothing")
        members[1].held.points -= 1
        members[1].holdCount = 2
        #expect(holds.disagreement(member: 1) == "member 1 counts 2 holds but its list has 1")
    }

    @Test("balances stop at what field 54 can show and never overflow; a refused change changes nothing")
    func balanceLimits() {
        let limit = Int64(AccountTable.balanceMagnitudeMax)
        #expect(members.add(AssetAmounts(points: limit, credit: -limit), to: 0))
        #expect(!members.add(AssetAmounts(points: 1, credit: 0), to: 0))
        #expect(!members.add(AssetAmounts(points: 0, credit: -1), to: 0))
        #expect(!members.add(AssetAmounts(points: .min, credit: 0), to: 1))
        #expect(members[0].balance == AssetAmounts(points: limit, credit: -limit) && members[1].balance == .zero)
    }

    @Test("a snapshot's free-list head or active count beyond the records is refused")
    func restoreChecks() {
        _ = holds.create(member: 0, asset: .points, amount: 1, expiresAtMs: 1, entryPosition: 1)
        #expect(holds.restore(freeHead: 2, activeCount: 1) == "free hold head 2 out of range")
        #expect(holds.restore(freeHead: 0, activeCount: 2) == "active hold count out of range")
        #expect(holds.restore(freeHead: 1, activeCount: 0) == nil)
    }
}
