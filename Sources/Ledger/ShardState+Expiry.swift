/// Lot expiry: lazily when a command touches a member, and by a bounded sweep the shard logs as its own record.
///
/// Both use the time recorded in the log (the command's or the sweep's), so replay expires exactly what the
/// writer expired. A lot with `expiresOnDay` D is gone from 00:00 UTC of day D (at `D × 86_400_000` ms, not a
/// millisecond before).
///
/// Holds: a hold keeps the value it reserves. Expiry takes only what is not held (`balance − held`), oldest lot
/// first; a held remainder stays in its (overdue) lot, is spent first by the hold's capture, and expires at the
/// next touch or sweep once the hold is voided or lapses. So an approved hold can always be captured in full,
/// and expiry never makes `available` negative.
extension ShardState {
    /// Expires the member's overdue lots at `nowMs`; returns what left the balance. Bounded by the lot lists.
    @discardableResult
    func expireLots(member: Int, nowMs: Int64) -> AssetAmounts {
        precondition(member < members.count, "a member of the shard")
        guard member < lots.heads.count else { return .zero }
        let heads = lots.heads[member]
        guard heads.firstPoints != 0 || heads.firstCredit != 0 else { return .zero }
        let today = LotTerms.day(ofMs: nowMs)
        var expired = AssetAmounts.zero
        for asset in LotTable.assets {
            for _ in 0..<(lots.lotsPerMemberMax + 1) {
                let first = lots.heads[member].first(asset)
                guard first != 0, Int64(lots.records[Int(first) - 1].expiresOnDay) <= today else { break }
                let unheld = max(members[member].balance[asset] - members[member].held[asset], 0)
                let amount = min(lots.records[Int(first) - 1].amount, unheld)
                guard amount > 0 else { break }
                members[member].balance[asset] -= amount
                precondition(
                    members[member].balance[asset] >= members[member].held[asset], "expiry never takes held value")
                takeFromFirstLot(member: member, asset, amount)
                lots.counters.expired[asset] += amount
                expired[asset] += amount
                if lots.heads[member].first(asset) == first { break }
            }
        }
        precondition(expired.points >= 0 && expired.credit >= 0, "expiry only takes value away")
        return expired
    }

    /// Fills in the days the configuration decides (0 in the command) from the command's day, rounds them up to
    /// the bucket, and sets the option bit when the terms differ from "never, no origin" (so records of
    /// commands that form no dated lot keep their old size). Called before apply; the result is logged.
    func resolveLotTerms(_ command: inout ShardCommand, nowMs: Int64) {
        switch command.kind {
        case .earn, .reverse, .adjust, .engage: break
        default: return  // a transfer's terms come from its source member (`movedLotTerms`)
        }
        let today = LotTerms.day(ofMs: nowMs)
        var terms = command.lotTerms
        // A reversal's credit takes the configured lives, unless the rules gave it theirs (applyRulesExpiry).
        if command.kind == .reverse && terms == .neverExpires { terms = .configured }
        terms.pointsExpiresOnDay = resolvedDay(terms.pointsExpiresOnDay, lifeDays: limits.pointsLifeDays, today)
        terms.creditExpiresOnDay = resolvedDay(terms.creditExpiresOnDay, lifeDays: limits.creditLifeDays, today)
        precondition(terms.pointsExpiresOnDay >= 1 && terms.creditExpiresOnDay >= 1, "lot terms are resolved days")
        command.lotTerms = terms
        if terms == .neverExpires {
            command.options.remove(.hasLotTerms)
        } else {
            command.options.insert(.hasLotTerms)
        }
    }

    private func resolvedDay(_ requested: Int32, lifeDays: Int?, _ today: Int64) -> Int32 {
        var day: Int64
        if requested != 0 {
            day = Int64(requested)
        } else if let lifeDays {
            day = today + Int64(lifeDays)
        } else {
            return LotTerms.never
        }
        guard day < Int64(LotTerms.never) else { return LotTerms.never }
        let bucket = Int64(limits.lotBucketDays)
        precondition(bucket >= 1, "lotBucketDays is positive")
        day = max(day, 1)
        day = (day + bucket - 1) / bucket * bucket
        precondition(day >= 1, "a resolved day is after the epoch")
        return Int32(min(day, Int64(LotTerms.never)))
    }

    // MARK: Sweep

    /// The largest sweep step any configuration may set (`lotSweepMembersPerStep`).
    static let sweepMembersPerStepMax = 1 << 20

    /// The next sweep step: up to `membersMax` members from the cursor; the shard's live step ends after the
    /// first member whose value expires (`stopsAtExpiry`: each record then tells one member's `points.expired`).
    /// Nil when there are no members.
    func sweepCommand(membersMax: Int = .max, stopsAtExpiry: Bool = false) -> ShardCommand? {
        guard members.count > 0, membersMax >= 1 else { return nil }
        let first = Int(lots.sweepCursor) < members.count ? Int(lots.sweepCursor) : 0
        let end = min(first + min(membersMax, limits.lotSweepMembersPerStep), members.count)
        precondition(first >= 0 && first < end && end <= members.count, "a sweep step covers members of the shard")
        var command = ShardCommand(kind: .expireLots, key: .zero)
        command.sweepFirstMember = Int32(first)
        command.sweepEndMember = Int32(end)
        command.sweepStopsAtExpiry = stopsAtExpiry
        return command
    }

    /// Applies a sweep step (at its recorded time on replay). Logged only when something expired; its
    /// recorded "balance" is the amounts it expired, so replay checks it expired the same. The cursor moves on
    /// either way (an unlogged step changed nothing else, and the next step's range is in its own record).
    /// A live step ends after the first member whose value expired and names that member's first card; a
    /// replayed record's range is applied whole (records written before then may span several such members and
    /// name no card: they tell nobody).
    func applySweep(_ command: inout ShardCommand, nowMs: Int64) -> ApplyResult {
        var reply = LedgerReply(tag: 0, key: .zero, status: .approved)
        let first = Int(command.sweepFirstMember)
        let end = Int(command.sweepEndMember)
        // Bounded by the hard maximum, not the configured step: the step size is not a recorded limit, and a
        // record written under a larger one must still replay.
        guard first >= 0, first <= end, end <= members.count, end - first <= Self.sweepMembersPerStepMax else {
            reply.status = .invalidAmount
            return ApplyResult(reply: reply, isLogged: false)
        }
        var expired = AssetAmounts.zero
        for member in first..<end {
            let amounts = expireLots(member: member, nowMs: nowMs)
            expired.points += amounts.points
            expired.credit += amounts.credit
            if command.sweepStopsAtExpiry && !amounts.isZero {
                command.sweepEndMember = Int32(member + 1)
                if let card = memberCards.card(of: member, in: cards, members: members.count) {
                    command.cardHash = card.hash
                    command.masked = card.masked
                }
                break
            }
        }
        lots.sweepCursor = Int(command.sweepEndMember) >= members.count ? 0 : command.sweepEndMember
        precondition(
            lots.sweepCursor >= 0 && (lots.sweepCursor == 0 || Int(lots.sweepCursor) < members.count),
            "the sweep cursor names a member or the start")
        precondition(expired.points >= 0 && expired.credit >= 0, "a sweep only takes value away")
        reply.balance = expired
        return ApplyResult(reply: reply, isLogged: !expired.isZero)
    }
}

extension LedgerConfiguration {
    func validateLots() {
        // At most 64: a payment's spending masks have one bit per lot (SpendingMasks).
        precondition(lotsPerMemberMax >= 1 && lotsPerMemberMax <= 64, "lotsPerMemberMax must be 1...64")
        precondition(settlementPairsPerShardMax >= 1 && settlementPairsPerShardMax < Int(Int32.max), "settlements")
        precondition(
            lotsPerShardMax > 2 * transfersInFlightMax && lotsPerShardMax < Int(Int32.max),
            "lotsPerShardMax must exceed the restore reserve (2 × transfersInFlightMax)")
        precondition(lotBucketDays >= 1 && lotBucketDays <= 366, "lotBucketDays must be 1...366")
        precondition(pointsLifeDays.map { $0 >= 1 && $0 <= 100 * 366 } ?? true, "pointsLifeDays must be 1...36600")
        precondition(creditLifeDays.map { $0 >= 1 && $0 <= 100 * 366 } ?? true, "creditLifeDays must be 1...36600")
        precondition(lotSweepIntervalMs >= 0, "lotSweepIntervalMs")
        precondition(
            lotSweepMembersPerStep >= 1 && lotSweepMembersPerStep <= ShardState.sweepMembersPerStepMax,
            "lotSweepMembersPerStep")
    }
}
