/// Holds: amounts set aside on a member's balance until a capture posts them, a void releases them or they expire
/// (TigerBeetle's pending transfers, posted or voided once). This type owns the hold records, their free list, the
/// count of active ones and each member's list of them, and so their invariants: a member's `held` per asset is
/// the sum of its active holds, its list has `holdCount` entries and at most `perMemberMax`, and `activeCount`
/// counts the active records. Shard thread only, like the rest of `ShardState`.
final class HoldTable {
    let records: FixedStorage<HoldRecord>
    /// The members whose `firstHold`, `holdCount` and `held` this table keeps (the shard's accounts).
    private let members: AccountTable
    let perMemberMax: Int
    /// Index + 1 of the first free record; 0 when the free list is empty.
    private(set) var freeHead: Int32 = 0
    private(set) var activeCount = 0

    init(capacity: Int, perMemberMax: Int, members: AccountTable) {
        precondition(perMemberMax >= 1, "a member may hold at least one hold")
        records = FixedStorage(capacity: capacity)
        self.perMemberMax = perMemberMax
        self.members = members
    }

    subscript(index: Int) -> HoldRecord { records[index] }

    /// Whether `member` may place one more hold: a free record and room in its list.
    func canCreate(for member: Int) -> Bool {
        precondition(member >= 0 && member < members.count, "a hold's member is in the table")
        return (freeHead != 0 || !records.isFull) && Int(members[member].holdCount) < perMemberMax
    }

    /// Creates an active hold at the head of the member's list; the caller checked `canCreate` and the available
    /// balance.
    func create(member: Int, asset: Asset, amount: Int64, expiresAtMs: Int64, entryPosition: Int64) -> Int {
        precondition(canCreate(for: member), "hold created beyond the limits")
        precondition(amount > 0, "a hold sets aside a positive amount")
        let record = HoldRecord(
            amount: amount, expiresAtMs: expiresAtMs, entryPosition: entryPosition, member: Int32(member),
            next: members[member].firstHold, asset: asset, isActive: true)
        let index: Int
        if freeHead != 0 {
            index = Int(freeHead) - 1
            precondition(!records[index].isActive, "the free list holds an active hold")
            freeHead = records[index].next
            records[index] = record
        } else {
            index = records.append(record)
        }
        members[member].firstHold = Int32(index + 1)
        members[member].holdCount += 1
        members[member].held[asset] += amount
        activeCount += 1
        precondition(activeCount <= records.count, "more active holds than records")
        precondition(Int(members[member].holdCount) <= perMemberMax, "a member's holds stay within perMemberMax")
        precondition(members[member].held[asset] >= amount, "a member's held amount covers its new hold")
        return index
    }

    /// Unlinks an active hold from its member and returns it to the free list.
    /// `previous` is the hold before it in the member's list (index + 1), or nil to search for it.
    func release(_ index: Int, previous knownPrevious: Int32? = nil) {
        let hold = records[index]
        precondition(hold.isActive, "releasing a hold that is not active")
        let member = Int(hold.member)
        precondition(member >= 0 && member < members.count, "a hold's member is in the table")
        let previous = knownPrevious ?? findPrevious(index, member: member)
        precondition(previous >= 0 && Int(previous) <= records.count && Int(previous) != index + 1, "a hold's previous")
        if previous == 0 {
            members[member].firstHold = hold.next
        } else {
            records[Int(previous) - 1].next = hold.next
        }
        precondition(members[member].holdCount > 0, "released a hold of a member that has none")
        members[member].holdCount -= 1
        members[member].held[hold.asset] -= hold.amount
        precondition(members[member].held[hold.asset] >= 0, "held amount went negative")
        records[index].isActive = false
        records[index].next = freeHead
        freeHead = Int32(index + 1)
        activeCount -= 1
        precondition(activeCount >= 0, "active hold count went negative")
        precondition(members[member].firstHold != freeHead, "a released hold leaves its member's list")
    }

    /// Releases the member's holds that expired at `nowMs`. Bounded by `perMemberMax`.
    func releaseExpired(member: Int, nowMs: Int64) {
        precondition(member >= 0 && member < members.count, "a hold's member is in the table")
        var previous: Int32 = 0
        var current = members[member].firstHold
        var steps = 0
        // A while, not `for _ in 0..<bound where current != 0`: that form runs the whole bound for every member
        // (a `where` skips, it does not stop), and each pass retained the table's arrays: 3 % of the shard's time.
        while current != 0 && steps <= perMemberMax {
            steps += 1
            let next = records[Int(current) - 1].next
            if records[Int(current) - 1].expiresAtMs <= nowMs {
                release(Int(current) - 1, previous: previous)
            } else {
                previous = current
            }
            current = next
        }
        precondition(current == 0, "hold list longer than holdsPerMemberMax")
        precondition(Int(members[member].holdCount) <= perMemberMax, "a member's holds stay within perMemberMax")
    }

    private func findPrevious(_ index: Int, member: Int) -> Int32 {
        precondition(index >= 0 && index < records.count, "a hold of the table")
        var previous: Int32 = 0
        var current = members[member].firstHold
        var steps = 0
        while current != 0 && steps <= perMemberMax {
            steps += 1
            if Int(current) - 1 == index { return previous }
            previous = current
            current = records[Int(current) - 1].next
        }
        preconditionFailure("active hold is not in its member's list")
    }

    /// What a snapshot recorded beside the records (loaded into `records` directly); nil when they cannot be.
    func restore(freeHead: Int32, activeCount: Int) -> String? {
        guard freeHead >= 0, Int(freeHead) <= records.count else { return "free hold head \(freeHead) out of range" }
        guard activeCount >= 0, activeCount <= records.count else { return "active hold count out of range" }
        self.freeHead = freeHead
        self.activeCount = activeCount
        precondition(self.activeCount <= records.count && Int(self.freeHead) <= records.count, "restored in range")
        return nil
    }

    /// The whole table checked (`ledger verify`, a snapshot loaded): the active records counted, and every member's
    /// held amounts equal to the sum of its active holds. Walks every record and member once.
    func tableDisagreement() -> String? {
        precondition(activeCount >= 0 && activeCount <= records.count, "active holds are among the records")
        var heldByMember = [Int32: AssetAmounts]()
        var active = 0
        for index in 0..<records.count where records[index].isActive {
            active += 1
            let hold = records[index]
            guard hold.member >= 0, Int(hold.member) < members.count else {
                return "hold \(index) names member \(hold.member), beyond the members"
            }
            heldByMember[hold.member, default: .zero][hold.asset] += hold.amount
        }
        guard active == activeCount else { return "active hold count \(activeCount) but \(active) found" }
        for index in 0..<members.count where members[index].held != (heldByMember[Int32(index)] ?? .zero) {
            return "member \(index) held amounts disagree with its holds"
        }
        return nil
    }

    /// The member's list checked against its record (a bounded walk: at most `perMemberMax` holds), nil when
    /// it agrees: checked on both sides of the log for the member a command touched.
    func disagreement(member: Int) -> String? {
        guard activeCount >= 0, activeCount <= records.count else { return "active hold count out of range" }
        guard member >= 0 else { return nil }
        var sum = AssetAmounts.zero
        var count = 0
        var current = members[member].firstHold
        while current != 0 {
            guard count < perMemberMax, Int(current) <= records.count else {
                return "member \(member)'s hold list is longer than \(perMemberMax) or leaves the table"
            }
            let hold = records[Int(current) - 1]
            guard hold.isActive, Int(hold.member) == member else {
                return "member \(member)'s hold list reaches a hold that is not its own active one"
            }
            sum[hold.asset] += hold.amount
            count += 1
            current = hold.next
        }
        guard count == Int(members[member].holdCount) else {
            return "member \(member) counts \(members[member].holdCount) holds but its list has \(count)"
        }
        guard sum == members[member].held else { return "member \(member)'s held amounts differ from its holds" }
        return nil
    }
}
