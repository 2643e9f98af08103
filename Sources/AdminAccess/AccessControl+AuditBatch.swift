import HTTP

/// One action of a batch append: its entries, who did it, its admin operation id and the member texts it brings.
public struct AuditAppend: Sendable {
    public let drafts: [AuditDraft]
    public let actor: AuditActor
    public let operation: UInt64?
    public let member: (MemberKey, MemberTexts)?

    public init(drafts: [AuditDraft], actor: AuditActor, operation: UInt64?, member: (MemberKey, MemberTexts)? = nil) {
        precondition(!drafts.isEmpty, "an append has entries")
        self.drafts = drafts
        self.actor = actor
        self.operation = operation
        self.member = member
    }
}

extension AccessControl {
    /// Appends many actions as ONE durable unit (one queue slot, one write and one sync of each file), for bulk
    /// writers such as the member import: thousands of entries per unit instead of one unit per action, which
    /// would fill `unitsQueuedMax` and cost a queue wake-up each. Each action keeps its own actor, operation id and
    /// member texts (their places taken by `reserveMember`); the entries are numbered and chained in order.
    /// `completion` runs on the journal thread once the whole unit is durable (nil) or failed. Throws, queueing
    /// nothing, when an operation id is already in the trail (409) or the journal refuses the unit (503).
    public func appendAudit(batch: [AuditAppend], completion: @escaping @Sendable (AccessError?) -> Void) throws(HTTPProblem) {
        precondition(!batch.isEmpty, "a batch has actions")
        let now = clockMs()
        try state.withLock { state throws(HTTPProblem) in
            for case let operation? in batch.map(\.operation) where state.operations.contains(operation) {
                throw HTTPProblem(.conflict, detail: "operation \(operation) is already in the audit trail")
            }
            var seq = state.nextSeq
            var hash = state.lastHash
            var end = state.plannedEnd
            var offsets: [Int64] = []
            var unit = JournalUnit { _ in }
            var effects: [DurableEffect] = []
            let time = AuditTime.format(milliseconds: max(now, 0))
            for action in batch {
                for draft in action.drafts {
                    let (entryHash, line) = AuditEntry.line(
                        seq: seq, time: time, actor: action.actor.id, role: action.actor.role, draft: draft,
                        operation: action.operation, previousHash: hash)
                    offsets.append(end)
                    end += Int64(line.count)
                    unit.journalBytes += line
                    hash = entryHash
                    seq += 1
                }
                if let (key, texts) = action.member {
                    unit.privateBytes += PrivateRecord.member(key, texts, seq: seq - 1).line()
                    effects.append(.member(key, texts))
                }
            }
            let firstSeq = state.nextSeq
            let unitOffsets = offsets
            let unitEnd = end
            let unitEffects = effects
            unit.done = { [self] failure in
                durable(firstSeq: firstSeq, offsets: unitOffsets, end: unitEnd, effects: unitEffects, failure: failure)
                completion(failure)
            }
            do throws(AccessError) {
                try writer.enqueue(unit)
            } catch {
                throw HTTPProblem(.serviceUnavailable, detail: error.message)
            }
            state.nextSeq = seq
            state.lastHash = hash
            state.plannedEnd = end
            for case let operation? in batch.map(\.operation) {
                state.operations.insert(operation)
                state.highestOperation = max(state.highestOperation ?? 0, operation)
            }
        }
    }
}
