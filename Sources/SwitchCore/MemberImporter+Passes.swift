import AdminAccess
import Dispatch
import Glibc
import HTTP
import Ledger

/// One pass of an import: up to `MemberImporter.rowsPerPass` rows going through their two ledger stages
/// (enrolments, then opening balances) and their two audit units. Several passes are in flight at once, each at
/// its own stage, so the shards' and the journal's syncs overlap instead of being waited for in turn.
final class MemberImportPass {
    enum Stage {
        case enrolling
        case recordingBalances
        /// Both stages answered: waiting for the audit units to be durable.
        case journaling
    }

    /// What became of one row.
    struct RowOutcome {
        var changed = false
        var problem: MemberImportRow.Problem?
        /// The card's member exists now (enrolled here or before): its balances may be recorded.
        var enrolled = false
        /// A place in the member directory was taken for the row's texts.
        var reserved = false
    }

    let serial: UInt64
    let rows: [MemberImporter.PendingRow]
    var outcomes: [RowOutcome]
    var stage = Stage.enrolling
    /// The current stage's requests, their replies, and (for balances) the row and asset of each.
    var requests: [LedgerRequest] = []
    var replies: [LedgerReply?] = []
    var owners: [(index: Int, asset: Asset)] = []
    /// Positions in `requests` not yet queued (first time, or refused by a full shard queue).
    var toSubmit: [Int] = []
    var outstanding = 0
    var journalUnitsPending = 0

    init(serial: UInt64, rows: [MemberImporter.PendingRow]) {
        self.serial = serial
        self.rows = rows
        outcomes = Array(repeating: RowOutcome(), count: rows.count)
        precondition(!rows.isEmpty && rows.count <= MemberImporter.rowsPerPass, "a pass holds 1...rowsPerPass rows")
    }

    func begin(_ stage: Stage, _ requests: [LedgerRequest]) {
        precondition(toSubmit.isEmpty && outstanding == 0, "a stage starts once the last one is answered")
        precondition(requests.count <= 2 * rows.count, "an enrolment or two opening balances per row")
        self.stage = stage
        self.requests = requests
        replies = Array(repeating: nil, count: requests.count)
        toSubmit = Array(requests.indices)
        outstanding = 0
        precondition(replies.count == requests.count && toSubmit.count == requests.count, "a reply place per request")
    }

    /// Every request of the current stage is answered.
    var isAnswered: Bool { toSubmit.isEmpty && outstanding == 0 }
}

extension MemberImporter {
    typealias PendingRow = (number: Int, row: MemberImportRow, hash: CardHash)

    /// The ledger key of an import's change on a card: the card's keyed hash and the kind of change (1 enrolment,
    /// 2 opening points, 3 opening credit), apart from terminals' and admin operations' keys by its first word.
    static func key(_ kind: UInt64, _ hash: CardHash) -> IdempotencyKey {
        precondition(kind >= 1 && kind <= 3, "an enrolment, opening points or opening credit")
        let key = IdempotencyKey(word0: 0x494D_504F_5254_0000 | kind, word1: hash.high, word2: hash.low)
        precondition(key.word0 >> 48 > 9999, "apart from every terminal key (MTI ≤ 9999)")
        return key
    }

    /// A request's tag: the import's serial (MemberImportReplies), the pass's serial and the request's position.
    func tag(pass: UInt64, position: Int) -> UInt64 {
        precondition(position >= 0 && position < 1 << 20, "a position fits its 20 bits")
        precondition(replySerial <= 0xFF_FFFF, "an import's serial fits its 24 bits")
        let tag = replySerial << MemberImportReplies.serialShift | (pass & 0xF_FFFF) << 20 | UInt64(position)
        precondition(tag >> MemberImportReplies.serialShift == replySerial, "a reply finds its import by the tag")
        return tag
    }

    /// Who the audit entries name: the user, or `cli` for the command line.
    var auditActor: AuditActor { AdminAuditText.actor(AdminStamp(operation: 0, actor: actor, role: role, reason: 0)) }

    private func stamp(reason: UInt8) -> AdminStamp {
        let stamp = AdminStamp(operation: door.newOperation(), actor: actor, role: role, reason: reason)
        precondition(stamp.operation != 0, "an imported change has an operation id")
        return stamp
    }

    /// Starts a pass with the first `rowsPerPass` pending rows: its enrolments are queued as the budget allows.
    func beginPass() {
        preconditionOnWorkingThread()
        precondition(!pending.isEmpty && stopReason == nil, "a pass starts with rows, while the import goes on")
        precondition(passes.count < Self.passesInFlightMax, "passes in flight within their limit")
        let rows = Array(pending.prefix(Self.rowsPerPass))
        pending.removeFirst(rows.count)
        let pass = MemberImportPass(serial: nextPass, rows: rows)
        nextPass += 1
        var requests: [LedgerRequest] = []
        requests.reserveCapacity(rows.count)
        for (index, item) in rows.enumerated() {
            // A member whose texts are in the directory already (a re-run) needs no place: a full directory
            // must not refuse the rows of members it holds.
            if !item.row.texts.isEmpty && door.access.memberTexts(AdminIdentifier.memberKey(item.hash)) == nil {
                do throws(HTTPProblem) {
                    try door.access.reserveMember()
                    pass.outcomes[index].reserved = true
                } catch {
                    pass.outcomes[index].problem = .init(row: item.number, column: "name", reason: error.detail)
                }
            }
            let profile = item.row.profile
            var request = LedgerRequest(
                tag: 0, key: Self.key(1, item.hash),
                digest: ContentDigest(high: UInt64(profile.birthMonth) << 8 | UInt64(profile.birthDay), low: 1),
                card: item.row.card, operation: .profile(profile))
            // Named by its number, not `cardHash`: a request named by hash carries no masked form, and the card
            // table would keep `-` for it (reports showed imported cards so). The ledger hashes it to `item.hash`.
            request.admin = stamp(reason: 0)
            requests.append(request)
        }
        precondition(requests.count == rows.count, "one enrolment per row")
        pass.begin(.enrolling, requests)
        passes.append(pass)
        submitQueued()
    }

    /// Waits for events, applies them, moves passes on and retires the finished ones at the head (in file order).
    func pump() {
        preconditionOnWorkingThread()
        let backingOff = passes.contains { !$0.toSubmit.isEmpty }
        for event in events.take(timeoutMs: backingOff ? 5 : nil) {
            switch event {
            case .replies(let replies):
                for reply in replies {
                    let serial = reply.tag >> 20 & 0xF_FFFF
                    let position = Int(reply.tag & 0xF_FFFF)
                    guard let pass = passes.first(where: { $0.serial & 0xF_FFFF == serial }) else { continue }
                    precondition(pass.outstanding >= 1 && requestsInFlight >= 1, "a reply answers a request in flight")
                    precondition(
                        position < pass.requests.count && pass.replies[position] == nil, "a request is answered once")
                    pass.outstanding -= 1
                    requestsInFlight -= 1
                    if reply.status == .overloaded {
                        pass.toSubmit.append(position)
                    } else {
                        overloadedRounds = 0
                        pass.replies[position] = reply
                        if reply.status == .systemError && stopReason == nil {
                            stopReason = "a ledger shard stopped after an I/O failure; restart the switch and run "
                                + "the import again"
                        }
                    }
                }
            case .journal(let serial, let failure):
                guard let pass = passes.first(where: { $0.serial == serial }) else { continue }
                precondition(pass.journalUnitsPending >= 1, "a unit is made durable once")
                pass.journalUnitsPending -= 1
                if let failure, stopReason == nil { stopReason = failure }
            }
        }
        if backingOff { overloadedRounds += 1 }
        giveUpOnOverload()
        for pass in passes where pass.isAnswered {
            switch pass.stage {
            case .enrolling: enrolled(pass)
            case .recordingBalances: balancesRecorded(pass)
            case .journaling: break
            }
        }
        submitQueued()
        while let head = passes.first, head.stage == .journaling, head.journalUnitsPending == 0 {
            passes.removeFirst()
            retire(head)
        }
        precondition(
            requestsInFlight >= 0 && requestsInFlight <= Self.requestsInFlightMax, "requests within the budget")
        precondition(passes.count <= Self.passesInFlightMax, "passes in flight within their limit")
    }

    /// Requests a full shard queue kept refusing this long (or that wait while the import stops) are answered
    /// `overloaded` for good: their rows are rejected, the others go on.
    private func giveUpOnOverload() {
        let stopping = stopRequested.load(ordering: .relaxed)
        guard overloadedRounds > Self.overloadedRetriesMax || stopping else { return }
        for pass in passes where !pass.toSubmit.isEmpty {
            for position in pass.toSubmit {
                precondition(pass.replies[position] == nil, "only an unanswered request is given up on")
                pass.replies[position] = LedgerReply(tag: 0, key: pass.requests[position].key, status: .overloaded)
            }
            pass.toSubmit.removeAll()
        }
    }

    /// Queues waiting requests, oldest pass first, while the import's budget (`requestsInFlightMax`) allows.
    private func submitQueued() {
        for pass in passes where !pass.toSubmit.isEmpty {
            let room = Self.requestsInFlightMax - requestsInFlight
            precondition(room <= Self.requestsInFlightMax, "requests in flight are never negative")
            guard room > 0 else { return }
            let positions = Array(pass.toSubmit.prefix(room))
            pass.toSubmit.removeFirst(positions.count)
            var batch: [LedgerRequest] = []
            batch.reserveCapacity(positions.count)
            for position in positions {
                var request = pass.requests[position]
                request.tag = tag(pass: pass.serial, position: position)
                batch.append(request)
            }
            pass.outstanding += positions.count
            requestsInFlight += positions.count
            for reply in door.ledger.submit(batch, to: MemberImportReplies.shared) {
                pass.outstanding -= 1
                requestsInFlight -= 1
                pass.toSubmit.append(Int(reply.tag & 0xF_FFFF))
            }
            precondition(
                pass.outstanding >= 0 && requestsInFlight <= Self.requestsInFlightMax, "requests within the budget")
        }
    }

    /// The enrolments are answered: the new members' audit unit is queued, the opening balances submitted.
    private func enrolled(_ pass: MemberImportPass) {
        precondition(pass.isAnswered && pass.stage == .enrolling, "enrolments are all answered")
        precondition(pass.replies.count == pass.rows.count, "one enrolment per row")
        var appends: [AuditAppend] = []
        for (index, item) in pass.rows.enumerated() {
            let reply = pass.replies[index]!
            let texts = pass.outcomes[index].reserved ? (AdminIdentifier.memberKey(item.hash), item.row.texts) : nil
            switch reply.status {
            case .approved where !reply.isReplay:
                pass.outcomes[index].changed = true
                pass.outcomes[index].enrolled = true
                let record = AdminRecord(
                    stamp: pass.requests[index].admin!, change: .enrol, card: item.hash, masked: reply.card, timeMs: 0)
                let (draft, actor) = AdminAuditText.draft(for: record)
                appends.append(AuditAppend(drafts: [draft], actor: actor, operation: record.stamp.operation, member: texts))
            case .approved, .notPermitted, .cardBlocked, .keyConflict:
                // Enrolled before (by an import, the API or a terminal): nothing to enrol; texts a crash kept
                // out of the directory are filled in.
                pass.outcomes[index].enrolled = true
                if let texts, door.access.memberTexts(texts.0) == nil {
                    pass.outcomes[index].changed = true
                    appends.append(textsAppend(texts, card: item.hash, masked: reply.card))
                } else if texts != nil {
                    door.access.releaseMember()
                }
            default:
                if texts != nil { door.access.releaseMember() }
                pass.outcomes[index].problem = problem(reply.status, row: item.number, column: "pan")
            }
        }
        appendAudit(appends, pass: pass)
        var requests: [LedgerRequest] = []
        pass.owners = []
        if stopReason == nil {
            for (index, item) in pass.rows.enumerated()
            where pass.outcomes[index].enrolled && pass.outcomes[index].problem == nil {
                for (asset, amount, kind) in [(Asset.points, item.row.points, 2), (Asset.credit, item.row.credit, 3)]
                where amount > 0 {
                    var request = AdminLedger.request(cardHash: item.hash, operation: .adjust(asset: asset, amount: amount))
                    request.key = Self.key(UInt64(kind), item.hash)
                    request.digest = ContentDigest(high: UInt64(amount), low: 2)
                    request.admin = stamp(reason: Self.migrationReason)
                    requests.append(request)
                    pass.owners.append((index, asset))
                }
            }
        }
        precondition(pass.owners.count == requests.count, "each opening balance knows its row and asset")
        pass.begin(requests.isEmpty ? .journaling : .recordingBalances, requests)
    }

    /// The opening balances are answered: their audit unit is queued.
    private func balancesRecorded(_ pass: MemberImportPass) {
        precondition(pass.isAnswered && pass.stage == .recordingBalances, "opening balances are all answered")
        precondition(pass.owners.count == pass.replies.count, "each reply knows its row and asset")
        var appends: [AuditAppend] = []
        let note = "import \(id)"
        for (position, reply) in pass.replies.enumerated() {
            let reply = reply!
            let (index, asset) = pass.owners[position]
            let column = asset == .points ? "points" : "credit"
            switch reply.status {
            case .approved where !reply.isReplay:
                pass.outcomes[index].changed = true
                guard case .adjust(_, let amount) = pass.requests[position].operation else { continue }
                let record = AdminRecord(
                    stamp: pass.requests[position].admin!, change: .adjust(asset: asset, amount: amount),
                    card: pass.rows[index].hash, masked: reply.card, timeMs: 0)
                let (draft, actor) = AdminAuditText.draft(for: record, note: note)
                appends.append(AuditAppend(drafts: [draft], actor: actor, operation: record.stamp.operation))
            case .approved:
                break  // recorded by an earlier run
            case .keyConflict:
                pass.outcomes[index].problem = .init(
                    row: pass.rows[index].number, column: column,
                    reason: "another opening \(column) balance was imported for this card before; correct it with "
                        + "an adjustment (POST /v1/members/{id}/adjustments)")
            default:
                pass.outcomes[index].problem = problem(reply.status, row: pass.rows[index].number, column: column)
            }
        }
        appendAudit(appends, pass: pass)
        pass.begin(.journaling, [])
    }

    /// Texts of a member enrolled before without them (a crash came between its enrolment and its audit entry):
    /// an entry of their own, with no ledger change.
    private func textsAppend(_ member: (MemberKey, MemberTexts), card: CardHash, masked: MaskedCard) -> AuditAppend {
        precondition(!member.1.isEmpty, "only texts to keep get an entry")
        let draft = AuditDraft(action: "members.profile", target: "members/" + AdminIdentifier.member(card)) { json in
            json.member("card", masked.description)
            json.member("import", id)
        }
        return AuditAppend(drafts: [draft], actor: auditActor, operation: nil, member: member)
    }

    /// Queues a pass's entries as one audit unit (one group commit); a full journal queue is waited out, a
    /// refused unit stops the import (its entries are repaired from the ledger at the next start).
    private func appendAudit(_ appends: [AuditAppend], pass: MemberImportPass) {
        guard !appends.isEmpty else { return }
        precondition(appends.count <= 2 * pass.rows.count, "at most an entry or two per row")
        let events = events
        let serial = pass.serial
        var attempts = 0
        while true {
            do throws(HTTPProblem) {
                try door.access.appendAudit(batch: appends) { error in
                    events.post(.journal(pass: serial, failure: error.map { "the audit journal failed: \($0.message)" }))
                }
                pass.journalUnitsPending += 1
                return
            } catch {
                attempts += 1
                guard error.status == .serviceUnavailable, attempts < 1000, door.access.stoppedReason == nil else {
                    for append in appends where append.member != nil { door.access.releaseMember() }
                    if stopReason == nil { stopReason = "the audit journal refused an entry: \(error.detail)" }
                    return
                }
                usleep(5_000)
            }
        }
    }

    /// Counts a finished pass's rows and reports progress.
    private func retire(_ pass: MemberImportPass) {
        precondition(
            pass.stage == .journaling && pass.journalUnitsPending == 0 && pass.isAnswered, "a pass retires done")
        let snapshot = status.withLock { status in
            for outcome in pass.outcomes {
                status.rowsRead += 1
                if let problem = outcome.problem {
                    status.reject(problem)
                } else if outcome.changed {
                    status.rowsImported += 1
                } else {
                    status.rowsSkipped += 1
                }
            }
            return status
        }
        precondition(snapshot.rowsRead >= pass.outcomes.count, "every row of the pass is counted")
        progress?(snapshot)
    }

    private func problem(_ status: LedgerStatus, row: Int, column: String) -> MemberImportRow.Problem {
        precondition(status != .approved && row >= 1, "a refused row of the file")
        let reason: String
        switch status {
        case .capacityExceeded: reason = "a ledger table is full (members, cards or lots)"
        case .overloaded: reason = "the ledger stayed overloaded; run the import again"
        case .systemError: reason = "the ledger shard stopped after an I/O failure"
        default: reason = "the ledger refused it (\(status))"
        }
        return .init(row: row, column: column, reason: reason)
    }
}
