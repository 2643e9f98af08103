import Glibc
import HTTP

/// What becomes true in memory once a unit is durable.
enum DurableEffect: Sendable {
    /// A created user may log in and is listed.
    case userCreated(id: String)
    /// An idempotent request's answer is remembered.
    case remember(IdempotencyClaim, RememberedAnswer)
    /// An answer remembered in memory when the unit was queued (its change was durable in the ledger already);
    /// the unit writes its private record unless the ledger keeps the answer (`keptByLedger`) as long.
    case rememberedAtQueue(IdempotencyClaim, RememberedAnswer, keptByLedger: Bool)
    /// A member's texts are in the directory (its place was reserved; a failed unit gives the place back).
    case member(MemberKey, MemberTexts)
}

extension AccessControl {
    /// Numbers and chains `drafts` after the journal's last entry, writes the unit's private records (token
    /// hashes, remembered answers) and queues it for the journal thread; `completion` runs on that thread once
    /// the unit is durable (nil) or failed. The state advances only when the unit is queued, so a refused unit
    /// leaves no gap in the chain. Under the lock.
    func commit(
        _ state: inout State, _ drafts: [AuditDraft], actor: AuditActor, operation: UInt64?, nowMs: Int64,
        privateRecords: [PrivateRecord] = [], effects: [DurableEffect] = [],
        completion: @escaping @Sendable (AccessError?) -> Void
    ) throws(AccessError) {
        var seq = state.nextSeq
        var hash = state.lastHash
        var end = state.plannedEnd
        var entryOffsets: [Int64] = []
        var unit = JournalUnit { _ in }
        let time = AuditTime.format(milliseconds: max(nowMs, 0))
        for draft in drafts {
            let (entryHash, line) = AuditEntry.line(
                seq: seq, time: time, actor: actor.id, role: actor.role, draft: draft, operation: operation,
                previousHash: hash)
            entryOffsets.append(end)
            end += Int64(line.count)
            unit.journalBytes += line
            hash = entryHash
            seq += 1
        }
        let lastSeq: UInt64? = drafts.isEmpty ? nil : seq - 1
        for record in privateRecords { unit.privateBytes += record.line() }
        for effect in effects {
            let claim: IdempotencyClaim
            let answer: RememberedAnswer
            switch effect {
            case .remember(let remembered, let text), .rememberedAtQueue(let remembered, let text, keptByLedger: false):
                (claim, answer) = (remembered, text)
            default: continue
            }
            let record = IdempotencyRecord(
                user: claim.user, key: claim.key, digest: claim.digest, answer: answer, createdMs: claim.createdMs)
            unit.privateBytes += PrivateRecord.idempotency(record, seq: lastSeq).line()
        }
        for case .member(let key, let texts) in effects {
            unit.privateBytes += PrivateRecord.member(key, texts, seq: lastSeq).line()
        }
        let firstSeq = state.nextSeq
        let offsets = entryOffsets
        let unitEnd = end
        unit.done = { [self] failure in
            durable(firstSeq: firstSeq, offsets: offsets, end: unitEnd, effects: effects, failure: failure)
            completion(failure)
        }
        try writer.enqueue(unit)
        for case .rememberedAtQueue(let claim, let answer, _) in effects { state.idempotency.finish(claim, answer) }
        state.nextSeq = seq
        state.lastHash = hash
        state.plannedEnd = end
        if let operation {
            state.operations.insert(operation)
            state.highestOperation = max(state.highestOperation ?? 0, operation)
        }
    }

    /// On the journal thread: the unit's entries can be read, its users log in, its answers are remembered.
    func durable(firstSeq: UInt64, offsets: [Int64], end: Int64, effects: [DurableEffect], failure: AccessError?) {
        state.withLock { state in
            if failure == nil && !offsets.isEmpty {
                precondition(state.offsets.count == Int(firstSeq) - 1, "entries become durable in order")
                state.offsets += offsets
                state.durableEnd = end
            }
            for effect in effects {
                switch effect {
                case .userCreated(let id):
                    guard failure == nil, var record = state.users[id] else { continue }
                    record.durable = true
                    state.users[id] = record
                    state.tokens[record.tokenHash] = id
                case .remember(let claim, let answer):
                    if failure == nil {
                        state.idempotency.finish(claim, answer)
                    } else {
                        state.idempotency.abandon(claim)
                    }
                case .rememberedAtQueue:
                    continue
                case .member(let key, let texts):
                    if failure == nil {
                        state.directory.insert(key, texts)
                    } else {
                        state.directory.release()
                    }
                }
            }
        }
    }

    // MARK: The trail for other modules

    /// Appends entries by `actor` and calls `completion` on the journal thread once they are durable; with
    /// `remember`, an Idempotency-Key's answer is remembered in the same durable unit.
    ///
    /// For ledger-changing admin actions (the next step of issue 13): such an action is logged in the ledger's
    /// own WAL record carrying the audit detail and an admin operation id, so the change and its reason are one
    /// durable unit there; the trail is then appended with `operation` set. After a crash the ledger's recovery
    /// asks `containsOperation` (or `highestOperation`) and appends ("repairs") the entries of durable records
    /// the trail lacks, again with their operation ids, so every durable change ends up with exactly one audit
    /// entry. Operation ids are the caller's, unique, and never reused; an id already present is refused (409).
    ///
    /// With `claim`, `answer` is remembered for the request's `Idempotency-Key` in the same durable unit; with
    /// `member`, the member's texts enter the directory in it too (their place taken by `reserveMember`).
    ///
    /// `changeDurable`: the change is durable already (in the ledger's record, which the start-up repair and the
    /// ledger's own key table rebuild the entry and the answer from), so its caller answers without waiting for
    /// this unit: `answer` is remembered at once, and a read of the trail waits for the queued entries
    /// (`afterQueuedDurable`). `answerKeptByLedger`: the ledger logged the change under a key made of the claim
    /// and keeps it at least as long as answers are remembered here, so a repeat after a restart gets the answer
    /// from the ledger and the unit writes no private record (the batch then syncs the journal alone).
    public func appendAudit(
        _ drafts: [AuditDraft], actor: AuditActor, operation: UInt64?, claim: IdempotencyClaim? = nil,
        answer: RememberedAnswer? = nil, member: (MemberKey, MemberTexts)? = nil, changeDurable: Bool = false,
        answerKeptByLedger: Bool = false, completion: @escaping @Sendable (AccessError?) -> Void
    ) throws(HTTPProblem) {
        precondition(!drafts.isEmpty, "an append has entries")
        precondition((claim == nil) == (answer == nil), "a claim is remembered with its answer")
        precondition(!changeDurable || member == nil, "member texts live in the private file only")
        precondition(changeDurable || !answerKeptByLedger, "the ledger keeps answers of changes durable there")
        let now = clockMs()
        var effects: [DurableEffect] = []
        if let claim, let answer {
            effects.append(
                changeDurable
                    ? .rememberedAtQueue(claim, answer, keptByLedger: answerKeptByLedger) : .remember(claim, answer))
        }
        if let (key, texts) = member { effects.append(.member(key, texts)) }
        try state.withLock { state throws(HTTPProblem) in
            if let operation, state.operations.contains(operation) {
                throw HTTPProblem(.conflict, detail: "operation \(operation) is already in the audit trail")
            }
            do throws(AccessError) {
                try commit(
                    &state, drafts, actor: actor, operation: operation, nowMs: now, effects: effects,
                    completion: completion)
            } catch {
                throw HTTPProblem(.serviceUnavailable, detail: error.message)
            }
        }
    }

    /// Runs `body` once every entry queued so far is durable (at once when none waits), on the journal thread or
    /// the caller's: a read of the trail after a change was answered sees that change's entry. When the journal
    /// cannot take the barrier (full or stopped) `body` runs at once and reads what is durable.
    public func afterQueuedDurable(_ body: @escaping @Sendable () -> Void) {
        let waiting = state.withLock { $0.plannedEnd > $0.durableEnd }
        guard waiting else { return body() }
        do throws(AccessError) {
            try writer.enqueue(JournalUnit { _ in body() })
        } catch {
            body()
        }
    }

    /// True when an entry with this admin operation id was appended (durable or queued).
    public func containsOperation(_ operation: UInt64) -> Bool {
        state.withLock { $0.operations.contains(operation) }
    }

    /// The highest admin operation id in the trail, or nil when none has one.
    public var highestOperation: UInt64? { state.withLock { $0.highestOperation } }

    /// The last entry's sequence number that is durable (0 when the trail is empty).
    public var durableSeq: UInt64 { state.withLock { UInt64($0.offsets.count) } }

    /// Durable entries after `after`, at most `limit`, and whether more follow. Reads the journal file with
    /// pread (the entries are recent, so in the page cache); each line is checked again as it is read.
    public func entries(after: UInt64, limit: Int) throws(AccessError) -> (entries: [AuditEntry], more: Bool) {
        precondition(limit >= 1, "a page has at least one entry")
        let (start, end, more) = state.withLock { state -> (Int64, Int64, Bool) in
            let count = UInt64(state.offsets.count)
            guard after < count else { return (0, 0, false) }
            let last = min(after + UInt64(limit), count)
            let end = last < count ? state.offsets[Int(last)] : state.durableEnd
            return (state.offsets[Int(after)], end, last < count)
        }
        guard end > start else { return ([], false) }
        let path = directory + "/" + AuditJournalFile.journalName
        let bytes = try AccessFile.read(readDescriptor, offset: start, count: Int(end - start), path: path)
        var entries: [AuditEntry] = []
        var lineStart = 0
        for index in bytes.indices where bytes[index] == UInt8(ascii: "\n") {
            let parsed = bytes.withUnsafeBytes { raw in
                Result { () throws(AuditLineError) in
                    try AuditEntry.parse(UnsafeRawBufferPointer(rebasing: raw[lineStart..<index]))
                }
            }
            let entry: AuditEntry
            switch parsed {
            case .success(let good): entry = good
            case .failure(let error):
                throw AccessError("\(path) at byte offset \(start + Int64(lineStart)): \(error.reason)")
            }
            entries.append(entry)
            lineStart = index + 1
        }
        return (entries, more)
    }

}
