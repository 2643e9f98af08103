import AdminAccess
import Dispatch
import Glibc
import HTTP
import Ledger
import Synchronization

extension MemberImporter {
    /// What became of one row of a batch.
    struct RowOutcome {
        var changed = false
        var problem: MemberImportRow.Problem?
        /// The card's member exists now (enrolled here or before): its balances may be recorded.
        var enrolled = false
    }

    /// The ledger key of an import's change on a card: the card's keyed hash and the kind of change (1 enrolment,
    /// 2 opening points, 3 opening credit), apart from terminals' and admin operations' keys by its first word.
    static func key(_ kind: UInt64, _ hash: CardHash) -> IdempotencyKey {
        IdempotencyKey(word0: 0x494D_504F_5254_0000 | kind, word1: hash.high, word2: hash.low)
    }

    /// Writes the first `rowsPerBatch` pending rows: their enrolments in one pass to the shards, the audit entries
    /// of the new ones, their opening balances in a second pass, and those entries; then counts them.
    func writeBatch(_ progress: (MemberImportStatus) -> Void) {
        let batch = Array(pending.prefix(Self.rowsPerBatch))
        pending.removeFirst(batch.count)
        var outcomes = [RowOutcome](repeating: RowOutcome(), count: batch.count)
        enrol(batch, &outcomes)
        if stopReason == nil { recordBalances(batch, &outcomes) }
        let snapshot = status.withLock { status in
            for outcome in outcomes {
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
        progress(snapshot)
    }

    /// Who the audit entries name: the user, or `cli` for the command line.
    var auditActor: AuditActor { AdminAuditText.actor(AdminStamp(operation: 0, actor: actor, role: role, reason: 0)) }

    private func stamp(reason: UInt8) -> AdminStamp {
        AdminStamp(operation: door.newOperation(), actor: actor, role: role, reason: reason)
    }

    private func enrol(_ batch: [(number: Int, row: MemberImportRow, hash: CardHash)], _ outcomes: inout [RowOutcome]) {
        var requests: [LedgerRequest] = []
        var reserved = [Bool](repeating: false, count: batch.count)
        for (index, item) in batch.enumerated() {
            if !item.row.texts.isEmpty {
                do throws(HTTPProblem) {
                    try door.access.reserveMember()
                    reserved[index] = true
                } catch {
                    outcomes[index].problem = .init(row: item.number, column: "name", reason: error.detail)
                }
            }
            let profile = item.row.profile
            var request = LedgerRequest(
                tag: 0, key: Self.key(1, item.hash),
                digest: ContentDigest(high: UInt64(profile.birthMonth) << 8 | UInt64(profile.birthDay), low: 1),
                card: item.row.card, operation: .profile(profile))
            request.cardHash = item.hash
            request.admin = stamp(reason: 0)
            requests.append(request)
        }
        let replies = submitAll(requests)
        let appends = AuditAppends(access: door.access)
        for (index, reply) in replies.enumerated() {
            let item = batch[index]
            let texts = reserved[index] ? (AdminIdentifier.memberKey(item.hash), item.row.texts) : nil
            switch reply.status {
            case .approved where !reply.isReplay:
                outcomes[index].changed = true
                outcomes[index].enrolled = true
                let record = AdminRecord(
                    stamp: requests[index].admin!, change: .enrol, card: item.hash, masked: reply.card, timeMs: 0)
                appends.append(record, note: nil, member: texts)
            case .approved, .notPermitted, .cardBlocked, .keyConflict:
                // Enrolled before (by an import, the API or a terminal): nothing to enrol; texts a crash kept
                // out of the directory are filled in.
                outcomes[index].enrolled = true
                if let texts, door.access.memberTexts(texts.0) == nil {
                    outcomes[index].changed = true
                    appends.appendTexts(member: texts, card: item.hash, masked: reply.card, importId: id, actor: auditActor)
                } else if texts != nil {
                    door.access.releaseMember()
                }
            default:
                if texts != nil { door.access.releaseMember() }
                outcomes[index].problem = problem(reply.status, row: item.number, column: "pan")
            }
        }
        if let failure = appends.wait() { stopReason = failure }
    }

    private func recordBalances(
        _ batch: [(number: Int, row: MemberImportRow, hash: CardHash)], _ outcomes: inout [RowOutcome]
    ) {
        var requests: [LedgerRequest] = []
        var owners: [(index: Int, asset: Asset)] = []
        for (index, item) in batch.enumerated() where outcomes[index].enrolled && outcomes[index].problem == nil {
            for (asset, amount, kind) in [(Asset.points, item.row.points, 2), (Asset.credit, item.row.credit, 3)]
            where amount > 0 {
                var request = AdminLedger.request(cardHash: item.hash, operation: .adjust(asset: asset, amount: amount))
                request.key = Self.key(UInt64(kind), item.hash)
                request.digest = ContentDigest(high: UInt64(amount), low: 2)
                request.admin = stamp(reason: Self.migrationReason)
                requests.append(request)
                owners.append((index, asset))
            }
        }
        guard !requests.isEmpty else { return }
        let replies = submitAll(requests)
        let appends = AuditAppends(access: door.access)
        let note = "import \(id)"
        for (position, reply) in replies.enumerated() {
            let (index, asset) = owners[position]
            let column = asset == .points ? "points" : "credit"
            switch reply.status {
            case .approved where !reply.isReplay:
                outcomes[index].changed = true
                guard case .adjust(_, let amount) = requests[position].operation else { continue }
                let record = AdminRecord(
                    stamp: requests[position].admin!, change: .adjust(asset: asset, amount: amount),
                    card: batch[index].hash, masked: reply.card, timeMs: 0)
                appends.append(record, note: note, member: nil)
            case .approved:
                break  // recorded by an earlier run
            case .keyConflict:
                outcomes[index].problem = .init(
                    row: batch[index].number, column: column,
                    reason: "another opening \(column) balance was imported for this card before; correct it with "
                        + "an adjustment (POST /v1/members/{id}/adjustments)")
            default:
                outcomes[index].problem = problem(reply.status, row: batch[index].number, column: column)
            }
        }
        if let failure = appends.wait() { stopReason = failure }
    }

    private func problem(_ status: LedgerStatus, row: Int, column: String) -> MemberImportRow.Problem {
        let reason: String
        switch status {
        case .capacityExceeded: reason = "a ledger table is full (members, cards or lots)"
        case .overloaded: reason = "the ledger stayed overloaded; run the import again"
        case .systemError: reason = "the ledger shard stopped after an I/O failure"
        default: reason = "the ledger refused it (\(status))"
        }
        return .init(row: row, column: column, reason: reason)
    }

    /// Submits every request through the door and waits for all replies (in request order). Requests a full
    /// shard queue refused are sent again after a pause; a stopped shard stops the import.
    func submitAll(_ requests: [LedgerRequest]) -> [LedgerReply] {
        let replies = Mutex([LedgerReply?](repeating: nil, count: requests.count))
        var waiting = Array(requests.indices)
        var retries = 0
        while !waiting.isEmpty {
            let group = DispatchGroup()
            let indices = waiting
            for _ in indices { group.enter() }
            door.submit(indices.map { requests[$0] }) { position, reply in
                replies.withLock { $0[indices[position]] = reply }
                group.leave()
            }
            group.wait()
            waiting = replies.withLock { replies in waiting.filter { replies[$0]?.status == .overloaded } }
            guard !waiting.isEmpty else { break }
            retries += 1
            if retries > Self.overloadedRetriesMax || stopRequested.load(ordering: .relaxed) { break }
            usleep(5_000)
        }
        let done = replies.withLock { $0 }
        if done.contains(where: { $0?.status == .systemError }), stopReason == nil {
            stopReason = "a ledger shard stopped after an I/O failure; restart the switch and run the import again"
        }
        return done.map { $0! }
    }
}

/// Audit units of one pass, appended as the ledger's replies come, and waited for together (the journal syncs
/// them in one group). A unit the journal refuses stops the import with its reason.
final class AuditAppends: Sendable {
    let access: AccessControl
    private let group = DispatchGroup()
    private let failure = Mutex<String?>(nil)

    init(access: AccessControl) { self.access = access }

    func append(_ record: AdminRecord, note: String?, member: (MemberKey, MemberTexts)?) {
        let (draft, actor) = AdminAuditText.draft(for: record, note: note)
        enqueue([draft], actor: actor, operation: record.stamp.operation, member: member)
    }

    /// Texts of a member enrolled before without them (a crash came between its enrolment and its audit entry):
    /// an entry of their own, with no ledger change.
    func appendTexts(
        member: (MemberKey, MemberTexts), card: CardHash, masked: MaskedCard, importId: String, actor: AuditActor
    ) {
        let draft = AuditDraft(
            action: "members.profile", target: "members/" + AdminIdentifier.member(card),
            detail: AuditDetail.make { json in
                json.member("card", masked.description)
                json.member("import", importId)
            })
        enqueue([draft], actor: actor, operation: nil, member: member)
    }

    private func enqueue(
        _ drafts: [AuditDraft], actor: AuditActor, operation: UInt64?, member: (MemberKey, MemberTexts)?
    ) {
        var attempts = 0
        while true {
            group.enter()
            do throws(HTTPProblem) {
                try access.appendAudit(drafts, actor: actor, operation: operation, member: member) { [self] error in
                    if let error { failure.withLock { $0 = $0 ?? "the audit journal failed: \(error.message)" } }
                    group.leave()
                }
                return
            } catch {
                group.leave()
                attempts += 1
                // A full journal queue empties as it syncs: wait for ours, then try again.
                guard error.status == .serviceUnavailable, attempts < 100, access.stoppedReason == nil else {
                    if member != nil { access.releaseMember() }
                    failure.withLock { $0 = $0 ?? "the audit journal refused an entry: \(error.detail)" }
                    return
                }
                group.wait()
                usleep(1_000)
            }
        }
    }

    /// Waits for every unit; the first failure, or nil.
    func wait() -> String? {
        group.wait()
        return failure.withLock { $0 }
    }
}
