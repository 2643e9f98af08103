/// Keeping lots equal to the positive part of each balance (see `LotTable`).
///
/// Operations change balances as before; after each command the touched member's lots are reconciled with its
/// balances: a rise of the positive part forms (or joins) a lot with the command's recorded terms, a fall
/// consumes lots oldest expiry first. Doing it once, after the operation, keeps every balance change (earn,
/// redeem, capture, claw-back, undo, transfer) covered without a lot call at each site. The only decision that
/// can decline (no lot record for a credit) is checked before the operation changes anything (`canFormLots`).
extension ShardState {
    /// The positive part of a member's balance in one asset: what its lots must add up to.
    func lotTarget(member: Int, _ asset: Asset) -> Int64 {
        precondition(member >= 0 && member < members.count, "a member of the shard")
        return max(members[member].balance[asset], 0)
    }

    /// Whether crediting `credit` to the member can be held in lots: each asset whose positive part grows needs
    /// a lot of that asset to join or a free record. `reserved` may use the restore reserve.
    func canFormLots(member: Int, credit: AssetAmounts, reserved: Bool = false) -> Bool {
        precondition(member >= 0 && member < members.count, "a member of the shard")
        lots.ensureHeads(upTo: member)
        var recordsNeeded = 0
        let origin = lots.currentTerms.origin
        for asset in LotTable.assets where credit[asset] > 0 {
            let balance = members[member].balance[asset]
            let (sum, overflow) = balance.addingReportingOverflow(credit[asset])
            guard !overflow, max(sum, 0) > max(balance, 0) else { continue }
            // A credit joins a lot of its own origin; otherwise it needs a record of its own, and at the member's
            // limit it cannot have one: value of one origin never joins another's (coalition rules would blur).
            guard latestLot(member: member, asset, origin: origin) == 0 else { continue }
            if lots.heads[member].count(asset) >= lots.lotsPerMemberMax { return false }
            recordsNeeded += 1
        }
        guard recordsNeeded > 0 else { return true }
        let free = lots.records.capacity - lots.activeCount - (reserved ? 0 : lots.restoreReserve)
        return free >= recordsNeeded
    }

    /// Brings the member's lots back to its balances after a command (see the extension's comment).
    func reconcileLots(member: Int, reserved: Bool = false) {
        precondition(member >= 0 && member < members.count, "a member of the shard")
        lots.ensureHeads(upTo: member)
        for asset in LotTable.assets {
            let held = lots.heads[member].total[asset]
            let target = lotTarget(member: member, asset)
            if target > held {
                addToLots(
                    member: member, asset, target - held, expiresOnDay: lots.currentTerms[asset],
                    origin: lots.currentTerms.origin, reserved: reserved)
            } else if target < held {
                consumeLots(member: member, asset, held - target)
            }
            precondition(lots.heads[member].total[asset] == target, "a member's lots add up to its positive balance")
        }
    }

    /// The member's latest-expiring lot of `asset` with `origin` (index + 1), 0 when none.
    func latestLot(member: Int, _ asset: Asset, origin: UInt32) -> Int32 {
        var found: Int32 = 0
        var current = lots.heads[member].first(asset)
        var steps = 0
        while current != 0 && steps <= lots.lotsPerMemberMax {
            steps += 1
            if lots.records[Int(current) - 1].origin == origin { found = current }
            current = lots.records[Int(current) - 1].next
        }
        precondition(current == 0, "lot list longer than lotsPerMemberMax")
        return found
    }

    /// Adds `amount` to the lot with the same day and origin, else to a new lot in expiry order, else (at a
    /// limit) to the latest-expiring lot of the same origin, whose day becomes the later of the two: life only
    /// ever grows, and origins never mix (`canFormLots` declined a credit that would need to).
    func addToLots(
        member: Int, _ asset: Asset, _ amount: Int64, expiresOnDay: Int32, origin: UInt32, reserved: Bool
    ) {
        precondition(expiresOnDay > 0, "lot terms not resolved before apply")
        precondition(amount > 0, "a lot grows by a positive amount")
        precondition(member >= 0 && member < lots.heads.count, "a member with lot heads")
        var previous: Int32 = 0
        var current = lots.heads[member].first(asset)
        var last: Int32 = 0
        var steps = 0
        while current != 0 && steps <= lots.lotsPerMemberMax {
            steps += 1
            let lot = lots.records[Int(current) - 1]
            if lot.expiresOnDay == expiresOnDay && lot.origin == origin {
                addToLot(Int(current) - 1, amount, expiresOnDay: expiresOnDay)
                return
            }
            if lot.expiresOnDay <= expiresOnDay { previous = current }
            last = current
            current = lot.next
        }
        precondition(current == 0, "lot list longer than lotsPerMemberMax")
        let hasRoom = reserved ? lots.canTakeReservedRecord : lots.canTakeRecord
        if lots.heads[member].count(asset) < lots.lotsPerMemberMax && hasRoom {
            linkNewLot(member: member, asset, amount, expiresOnDay: expiresOnDay, origin: origin, after: previous)
            return
        }
        let sameOrigin = latestLot(member: member, asset, origin: origin)
        let target = sameOrigin != 0 ? sameOrigin : last
        precondition(target != 0, "no lot record for a credit that was not checked with canFormLots")
        let day = max(expiresOnDay, lots.records[Int(target) - 1].expiresOnDay)
        addToLot(Int(target) - 1, amount, expiresOnDay: day)
        // A lot before the last one whose day grew moves to its place in expiry order.
        if target != last { resort(member: member, asset, Int(target) - 1) }
    }

    /// Moves lot `index` of the member's `asset` list to its place by expiry day (after every lot with a day not
    /// later than its own). Bounded by `lotsPerMemberMax`.
    private func resort(member: Int, _ asset: Asset, _ index: Int) {
        precondition(lots.records[index].isActive && lots.records[index].member == Int32(member), "the member's lot")
        let day = lots.records[index].expiresOnDay
        var previous: Int32 = 0
        var current = lots.heads[member].first(asset)
        var steps = 0
        while current != 0 && Int(current) - 1 != index && steps <= lots.lotsPerMemberMax {
            steps += 1
            previous = current
            current = lots.records[Int(current) - 1].next
        }
        precondition(current != 0, "a member's lot is not in its list")
        let next = lots.records[index].next
        if previous == 0 { lots.heads[member].setFirst(asset, next) } else { lots.records[Int(previous) - 1].next = next }
        var after: Int32 = 0
        current = lots.heads[member].first(asset)
        steps = 0
        while current != 0 && lots.records[Int(current) - 1].expiresOnDay <= day && steps <= lots.lotsPerMemberMax {
            steps += 1
            after = current
            current = lots.records[Int(current) - 1].next
        }
        if after == 0 {
            lots.records[index].next = lots.heads[member].first(asset)
            lots.heads[member].setFirst(asset, Int32(index + 1))
        } else {
            lots.records[index].next = lots.records[Int(after) - 1].next
            lots.records[Int(after) - 1].next = Int32(index + 1)
        }
        precondition(lots.records[index].next != Int32(index + 1), "a lot never follows itself")
    }

    private func addToLot(_ index: Int, _ amount: Int64, expiresOnDay: Int32) {
        let record = lots.records[index]
        precondition(record.isActive && amount > 0, "value joins an active lot")
        precondition(expiresOnDay >= record.expiresOnDay, "a lot's life only grows")
        lots.records[index].amount += amount
        lots.records[index].expiresOnDay = expiresOnDay
        lots.heads[Int(record.member)].total[record.asset] += amount
        lots.counters.outstanding[record.asset] += amount
        precondition(lots.records[index].amount > record.amount, "the lot grew")
    }

    private func linkNewLot(
        member: Int, _ asset: Asset, _ amount: Int64, expiresOnDay: Int32, origin: UInt32, after previous: Int32
    ) {
        precondition(lots.heads[member].count(asset) < lots.lotsPerMemberMax, "a new lot within lotsPerMemberMax")
        let next = previous == 0 ? lots.heads[member].first(asset) : lots.records[Int(previous) - 1].next
        let index = lots.take(
            LotRecord(
                amount: amount, expiresOnDay: expiresOnDay, origin: origin, member: Int32(member), next: next,
                asset: asset, isActive: true))
        if previous == 0 {
            lots.heads[member].setFirst(asset, Int32(index + 1))
        } else {
            lots.records[Int(previous) - 1].next = Int32(index + 1)
        }
        lots.heads[member].addCount(asset, 1)
        lots.heads[member].total[asset] += amount
        lots.counters.outstanding[asset] += amount
        precondition(lots.heads[member].count(asset) <= lots.lotsPerMemberMax, "lots within lotsPerMemberMax")
    }

    /// Takes `amount` from the member's lots of `asset`, oldest expiry first, freeing emptied lots.
    func consumeLots(member: Int, _ asset: Asset, _ amount: Int64) {
        precondition(amount > 0 && amount <= lots.heads[member].total[asset], "lots hold what is consumed")
        var remaining = amount
        var steps = 0
        while remaining > 0 && steps <= lots.lotsPerMemberMax {
            steps += 1
            let first = lots.heads[member].first(asset)
            precondition(first != 0, "lots hold less than the balance they back")
            let taken = min(remaining, lots.records[Int(first) - 1].amount)
            takeFromFirstLot(member: member, asset, taken)
            remaining -= taken
        }
        precondition(remaining == 0, "lot list longer than lotsPerMemberMax")
    }

    /// Lowers the member's oldest lot of `asset` by `amount`, unlinking and freeing it when it reaches zero.
    func takeFromFirstLot(member: Int, _ asset: Asset, _ amount: Int64) {
        precondition(lots.heads[member].first(asset) != 0, "the member has a lot of the asset")
        _ = takeFromLot(Int(lots.heads[member].first(asset)) - 1, member: member, asset, amount, previous: 0)
    }

    /// The member's lots agree with its balances: sums, counts, order, ownership. Walks at most
    /// 2 × `lotsPerMemberMax` lots. Nil when sound, else what is wrong (for errors on the read side).
    func lotDisagreement(member: Int) -> String? {
        guard member >= 0, member < members.count else { return nil }
        let heads = member < lots.heads.count ? lots.heads[member] : MemberLots.empty
        for asset in LotTable.assets {
            var sum: Int64 = 0
            var count = 0
            var day: Int32 = 0
            var current = heads.first(asset)
            while current != 0 {
                guard count < lots.lotsPerMemberMax, Int(current) <= lots.records.count else {
                    return "member \(member): \(asset) lot list is too long or points outside the table"
                }
                let lot = lots.records[Int(current) - 1]
                guard lot.isActive, lot.member == Int32(member), lot.asset == asset, lot.amount > 0,
                    lot.expiresOnDay >= day
                else { return "member \(member): \(asset) lot \(current - 1) is not a sorted active lot of it" }
                sum += lot.amount
                count += 1
                day = lot.expiresOnDay
                current = lot.next
            }
            guard count == heads.count(asset), sum == heads.total[asset], sum == lotTarget(member: member, asset)
            else {
                return "member \(member): \(asset) lots sum to \(sum) but the balance is "
                    + "\(members[member].balance[asset])"
            }
        }
        return nil
    }
}

extension MemberLots {
    static let empty = MemberLots(firstPoints: 0, firstCredit: 0, total: .zero, pointsCount: 0, creditCount: 0)
}

extension ShardState {
    /// The whole lot table against the balances (for `ledger verify`): every member's lists (sums equal the
    /// positive balances), the active count, the free list, and the outstanding counters.
    func checkLotInvariants(directory: String) throws(LedgerError) {
        guard lots.heads.count <= members.count else {
            throw .damagedSnapshot(file: directory, reason: "lot heads for \(lots.heads.count) members")
        }
        var outstanding = AssetAmounts.zero
        for member in 0..<members.count {
            if let disagreement = lotDisagreement(member: member) {
                throw .damagedSnapshot(file: directory, reason: disagreement)
            }
            outstanding.points += lotTarget(member: member, .points)
            outstanding.credit += lotTarget(member: member, .credit)
        }
        guard outstanding == lots.counters.outstanding else {
            throw .damagedSnapshot(file: directory, reason: "outstanding lot counters disagree with the lots")
        }
        var active = 0
        for index in 0..<lots.records.count where lots.records[index].isActive { active += 1 }
        var free = 0
        var current = lots.freeHead
        while current != 0 && free <= lots.records.count {
            guard Int(current) <= lots.records.count, !lots.records[Int(current) - 1].isActive else {
                throw .damagedSnapshot(file: directory, reason: "lot free list reaches an active or missing lot")
            }
            free += 1
            current = lots.records[Int(current) - 1].next
        }
        guard active == lots.activeCount, active + free == lots.records.count else {
            throw .damagedSnapshot(
                file: directory,
                reason: "\(lots.activeCount) active lots recorded, \(active) active and \(free) free found")
        }
        guard lots.counters.expired.points >= 0, lots.counters.expired.credit >= 0 else {
            throw .damagedSnapshot(file: directory, reason: "negative expired counter")
        }
    }
}

extension ShardState {
    /// The terms value moved off a member keeps (a card replacement across shards): per asset the day of its
    /// latest-expiring lot, the last in its list. Lot dates do not fit in one record, so the moved value takes the
    /// latest: nothing expires sooner than it would have, older value may live longer. No lot: never (nothing
    /// positive moves).
    func movedLotTerms(member: Int) -> LotTerms {
        precondition(member >= 0 && member < members.count, "a member of the shard")
        var terms = LotTerms.neverExpires
        guard member < lots.heads.count else { return terms }
        for asset in LotTable.assets {
            var current = lots.heads[member].first(asset)
            var day = LotTerms.never
            var steps = 0
            while current != 0 && steps <= lots.lotsPerMemberMax {
                steps += 1
                day = lots.records[Int(current) - 1].expiresOnDay
                current = lots.records[Int(current) - 1].next
            }
            if asset == .points { terms.pointsExpiresOnDay = day } else { terms.creditExpiresOnDay = day }
        }
        precondition(terms.pointsExpiresOnDay > 0 && terms.creditExpiresOnDay > 0, "moved terms name resolved days")
        return terms
    }
}
