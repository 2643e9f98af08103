/// Expiry notices (`points.expiring`): a bounded step on the shard tells each member, once per lot, the value of
/// its lots that expire within the rules' `expiryNoticeDays`, grouped by expiry day, as a log record of its own
/// (kind 28 `notice`): the record marks the day's untold lots told (`LotRecord.isNoticed`, kept in snapshots),
/// so the event is exactly as durable as the mark, and a restart, a replay or a snapshot never tells a lot twice
/// nor skips one. Lots expiring today or earlier are not told (they are the sweep's).
extension ShardState {
    /// Notice records one step writes at most (each names one member and one expiry day).
    static let noticesPerStepMax = 256

    /// The next notice from the shard's notice cursor, looking at up to `membersMax` members (counted in
    /// `looked`); nil when the step found none. The cursor is not logged: after a restart it starts again at the
    /// first member, and the marks say what was told.
    func nextNotice(nowMs: Int64, noticeDays: Int, membersMax: Int, looked: inout Int) -> ShardCommand? {
        preconditionOnShardThread()
        precondition(noticeDays >= 0 && membersMax >= 1, "notice step bounds")
        guard noticeDays > 0, members.count > 0 else { return nil }
        let today = LotTerms.day(ofMs: nowMs)
        let through = Int32(clamping: today + Int64(noticeDays))
        while looked < membersMax {
            let member = Int(lots.noticeCursor) < members.count ? Int(lots.noticeCursor) : 0
            if let day = untoldExpiryDay(member: member, after: Int32(clamping: today), through: through) {
                precondition(day > Int32(clamping: today) && day <= through, "a notice tells a day to come")
                var command = ShardCommand(kind: .notice, key: .zero)
                command.noticeMember = Int32(member)
                command.noticeDay = day
                if let card = memberCards.card(of: member, in: cards, members: members.count) {
                    command.cardHash = card.hash
                    command.masked = card.masked
                }
                return command
            }
            looked += 1
            lots.noticeCursor = member + 1 >= members.count ? 0 : Int32(member + 1)
            precondition(Int(lots.noticeCursor) < members.count, "the notice cursor names a member")
        }
        return nil
    }

    /// Applies a notice (live or on replay): marks the member's untold lots of that day told; its balance is their
    /// sum, so replay checks it told the same. A notice that finds nothing untold is refused and not logged.
    func applyNotice(_ command: ShardCommand) -> ApplyResult {
        var reply = LedgerReply(tag: 0, key: .zero, status: .approved)
        let member = Int(command.noticeMember)
        guard member >= 0, member < members.count, member < lots.heads.count, command.noticeDay > 0 else {
            reply.status = .invalidAmount
            return ApplyResult(reply: reply, isLogged: false)
        }
        var told = AssetAmounts.zero
        for asset in LotTable.assets {
            var next = lots.heads[member].first(asset)
            for _ in 0..<(lots.lotsPerMemberMax + 1) {
                guard next != 0, lots.records[Int(next) - 1].expiresOnDay <= command.noticeDay else { break }
                let index = Int(next) - 1
                if lots.records[index].expiresOnDay == command.noticeDay && !lots.records[index].isNoticed {
                    lots.records[index].isNoticed = true
                    told[asset] += lots.records[index].amount
                }
                next = lots.records[index].next
            }
        }
        guard !told.isZero else {
            reply.status = .invalidAmount
            return ApplyResult(reply: reply, isLogged: false)
        }
        precondition(!told.hasNegative, "told lots hold value")
        reply.balance = told
        return ApplyResult(reply: reply, isLogged: true)
    }

    /// The earliest day in `(after, through]` with an untold lot of the member; nil when none.
    func untoldExpiryDay(member: Int, after: Int32, through: Int32) -> Int32? {
        precondition(member >= 0 && member < members.count, "a member of the shard")
        guard member < lots.heads.count else { return nil }
        var earliest: Int32?
        for asset in LotTable.assets {
            var next = lots.heads[member].first(asset)
            // Each list is sorted by day and holds at most lotsPerMemberMax lots.
            for _ in 0..<(lots.lotsPerMemberMax + 1) {
                guard next != 0 else { break }
                let lot = lots.records[Int(next) - 1]
                if lot.expiresOnDay > through { break }
                if lot.expiresOnDay > after && !lot.isNoticed {
                    earliest = min(earliest ?? lot.expiresOnDay, lot.expiresOnDay)
                    break
                }
                next = lot.next
            }
        }
        precondition(earliest.map { $0 > after && $0 <= through } ?? true, "an untold day in the window")
        return earliest
    }
}
