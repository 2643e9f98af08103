import ISO8583
import Ledger
import Loyalty
import LoyaltyLedger
import Network

/// Delivers ledger replies to the loop that owns the requests: one lock and at most one wake per batch.
final class InboxSink: LedgerReplySink, @unchecked Sendable {
    let inbox: LoopInbox<LedgerReply>

    init(inbox: LoopInbox<LedgerReply>) {
        self.inbox = inbox
    }

    func deliver(_ replies: [LedgerReply]) {
        inbox.push(contentsOf: replies)
    }
}

/// The switch's state for one event loop, touched only by that loop's thread: requests waiting for the ledger,
/// their deadlines, and the batch of ledger requests to send at the end of the iteration.
final class LoopContext {
    let loop: EventLoop
    let runtime: SwitchRuntime
    var pending: PendingTable
    var deadlines: DeadlineQueue
    var outgoing: [LedgerRequest] = []
    /// The ledger's per-shard command lists, kept between iterations so a submit allocates nothing.
    var submitBuffers = Ledger.SubmitBuffers()
    var sink: InboxSink!
    let budgetNs: UInt64
    /// Budget misses since start (each logged, rate-limited by the log sink).
    var budgetMissCount = 0
    /// This loop's answers, latency and requests waiting for the ledger, for `GET /metrics`.
    let metrics = LoopMetrics()
    /// Frames read and responses queued since start: at a graceful stop every request read is answered, and the
    /// log says both numbers.
    var requestsRead = 0
    var responsesSent = 0
    /// The loyalty rules in force (the embedded program, version 0, when none are configured), read from the
    /// process's one decider per use, so a reload reaches every loop at once and no loop keeps a copy. They say
    /// how redemptions, holds and captures convert and pay; receipts name things by the deciding version.
    var rules: Loyalty.Program { runtime.rules }

    init(loop: EventLoop, runtime: SwitchRuntime) {
        let configuration = runtime.configuration
        // The ranges `SwitchConfiguration(json:)` enforces; a configuration built in code must keep them too.
        precondition((1...60_000).contains(configuration.latencyBudgetMs), "latencyBudgetMs is 1...60000")
        precondition((1...(1 << 22)).contains(configuration.pendingPerLoopMax), "pendingPerLoopMax is 1...2^22")
        precondition((1...65536).contains(configuration.inFlightPerConnectionMax), "inFlightPerConnectionMax 1...65536")
        self.loop = loop
        self.runtime = runtime
        pending = PendingTable(capacity: runtime.configuration.pendingPerLoopMax)
        deadlines = DeadlineQueue(capacity: runtime.configuration.pendingPerLoopMax * 2)
        budgetNs = UInt64(runtime.configuration.latencyBudgetMs) * 1_000_000
        outgoing.reserveCapacity(1024)
        precondition(budgetNs >= 1_000_000 && budgetNs <= 60_000_000_000, "the budget is 1 ms...60 s")
        precondition(deadlines.entries.count == 2 * pending.capacity, "the deadline queue is twice the pending table")
        precondition(pending.count == 0 && deadlines.count == 0 && outgoing.isEmpty, "a new loop waits for nothing")
    }

    /// Registers the reply inbox and the per-iteration hook. Called on the loop thread (or before it starts).
    func attach() {
        loop.preconditionInEventLoop()
        precondition(sink == nil, "a loop context is attached once")
        let inbox = LoopInbox<LedgerReply>(loop: loop) { [unowned self] replies in consume(replies) }
        sink = InboxSink(inbox: inbox)
        loop.addIterationHook { [unowned self] in endOfIteration() }
        precondition(sink != nil, "attached: ledger replies have a way back")
    }

    /// After each batch of events: send the collected ledger requests in one go, then answer 91 to anything
    /// whose deadline passed.
    func endOfIteration() {
        loop.preconditionInEventLoop()
        if !outgoing.isEmpty {
            let submittedNs = monotonicNanoseconds()
            for request in outgoing {
                if let index = pending.index(of: request.tag) { pending.slots[index].submittedNs = submittedNs }
            }
            let refused = runtime.ledger.submit(outgoing, to: sink, buffers: &submitBuffers)
            outgoing.removeAll(keepingCapacity: true)
            if !refused.isEmpty { consume(refused) }
            // Refused requests free their connections' slots, and frames held back at a connection's cap take
            // them (`handleBufferedFrames`): their requests go out next iteration, not when a deadline wakes it.
            if !outgoing.isEmpty { loop.wakeNoLaterThan(monotonicNanoseconds()) }
        }
        expireDeadlines()
        precondition(pending.count >= 0 && pending.count <= pending.capacity, "pending requests within the table")
        precondition(deadlines.count <= deadlines.entries.count, "deadlines within their queue")
        metrics.waitingForLedger.set(UInt64(pending.count), at: 0)
    }

    /// Queues a request for the ledger; false when this loop cannot track more (the caller answers 91).
    /// Queues `request` for its shard and moves `state` into the pending table (left empty on success).
    func enqueue(_ request: LedgerRequest, _ state: inout PendingRequest) -> Bool {
        loop.preconditionInEventLoop()
        precondition(state.connection != nil && state.response != nil, "a request waits with its connection and answer")
        precondition(!state.answered && !state.isUndo, "a new request is not answered yet")
        precondition(request.tag == 0, "the tag is this loop's to give")
        precondition(
            state.deadlineNs > 0 && state.kind != .networkManagement && state.kind != .unsupported, "a ledger request")
        guard let tag = pending.allocate() else { return false }
        assert(tag != 0 && pending.index(of: tag) != nil, "an allocated tag names its slot")
        if deadlines.count == deadlines.entries.count {
            deadlines.dropFront { pending.index(of: $0) == nil }
        }
        guard deadlines.count < deadlines.entries.count else {
            pending.release(pending.index(of: tag)!)
            return false
        }
        let index = pending.index(of: tag)!
        let deadlineNs = state.deadlineNs
        pending.place(&state, at: index)
        assert(pending.index(of: tag) == index, "the slot keeps the tag's generation")
        deadlines.push(deadlineNs: deadlineNs, tag: tag)
        // Tagged in place in the batch (a local copy to tag first was one more 400-byte copy per request).
        outgoing.append(request)
        outgoing[outgoing.count - 1].tag = tag
        precondition(outgoing.last?.tag == tag, "the request goes out under its tag")
        precondition(pending.count <= pending.capacity && deadlines.count <= deadlines.entries.count, "bounded")
        return true
    }

    func consume(_ replies: [LedgerReply]) {
        loop.preconditionInEventLoop()
        let nowNs = monotonicNanoseconds()
        for reply in replies {
            guard let index = pending.index(of: reply.tag) else { continue }
            var entry = pending.take(index)
            // Nobody waits for an undo's reply: not counted. (A request its shard's queue refused counts with the
            // ~0 it waited.)
            if entry.submittedNs > 0 && !entry.isUndo { metrics.ledgerWait.observe(nowNs &- entry.submittedNs) }
            // A reply is matched to exactly one pending request: a second reply with the same tag finds none.
            assert(pending.index(of: reply.tag) == nil, "a released tag names no request")
            precondition(
                reply.key == (entry.isUndo ? Self.undoKey(of: entry.key) : entry.key),
                "a reply answers the request its tag names")
            precondition(!entry.isUndo || (entry.answered && entry.connection == nil), "an undo answers nobody")
            precondition(entry.answered || entry.response != nil, "an unanswered request holds its answer")
            precondition(entry.inUse && reply.tag != 0, "a reply names a request in use")
            if entry.isUndo {
                runtime.settle(entry.key)
                continue
            }
            precondition(entry.connection != nil, "a terminal's request keeps its connection")
            precondition(entry.kind != .networkManagement && entry.kind != .unsupported, "only ledger requests wait")
            if entry.answered {
                if !undoLateApproval(entry, reply) { runtime.settle(entry.key) }
            } else if var response = entry.response.take() {
                // Taken out of the entry (the slot let go of it on release): the only reference, so completing it
                // writes in place instead of copying its slot table and bytes (issue 17: ~18% of the allocations).
                precondition(
                    entry.connection?.listener.dialect === response.dialect,
                    "an answer goes to its request's connection")
                ResponseBuilder.complete(&response, reply: reply, redemption: rules.redemption)
                assert(!response.has(38) || reply.status.isApproval, "an approval code only on 00 or 10")
                let isPurchase = entry.kind == .purchase || entry.kind == .offlinePurchase
                // A gift card's answer has no loyalty receipt: its value shows in field 54 alone.
                if (isPurchase || entry.kind == .balanceInquiry) && reply.status.isApproval && reply.gift == nil {
                    // Named by the version that decided (kept across reloads and restarts: ReceiptNamesJournal).
                    // The embedded program (version 0) names nothing: its answers carry no field 63, as before.
                    if let names = runtime.decider.receiptNames(version: reply.receipt.rulesVersion)
                        ?? runtime.decider.receiptNamesInForce, names.version > 0
                    {
                        ResponseBuilder.setReceipt(&response, reply, names: names)
                    }
                }
                if reply.status == .notPermittedAtMerchant { explainRefusalAtMerchant(entry, &response) }
                if let connection = entry.connection {
                    connection.send(response, tpdu: entry.tpdu, arrivalNs: entry.deadlineNs &- budgetNs)
                    connection.recycle(consume response)  // its last use: moved into the spares, not copied
                }
            }
            entry.connection?.requestFinished()
        }
    }

    /// 58: the member holds value, but none that the rules' groups let this merchant take. The cashier's receipt
    /// and the log say so, so nobody reads it as "not enough points".
    func explainRefusalAtMerchant(_ entry: PendingRequest, _ response: inout ISOMessage) {
        precondition(!entry.answered && !entry.isUndo, "only a request still waiting is explained")
        assert(!response.has(38), "a refusal carries no approval code")
        ResponseBuilder.setReceiptText(&response, ResponseBuilder.notSpendableHereText)
        runtime.log.info(
            "\(entry.kind) card \(entry.card.map { "\($0)" } ?? "-"): declined 58, the member's value was earned "
                + "where the rules' groups do not allow spending at this merchant")
    }

    func expireDeadlines() {
        loop.preconditionInEventLoop()
        let now = monotonicNanoseconds()
        defer {
            // Without this, a loop with no traffic would notice a missed budget only at its next event or
            // its 1 s sweep: the 91 must go out when the budget ends, even if the ledger never answers.
            if let next = deadlines.oldestDeadlineNs { loop.wakeNoLaterThan(next) }
        }
        while let tag = deadlines.popExpired(now: now) {
            guard let index = pending.index(of: tag), !pending.slots[index].answered else { continue }
            precondition(!pending.slots[index].isUndo, "an undo is answered from the start and has no deadline")
            pending.slots[index].answered = true
            budgetMissCount += 1
            let entry = pending.slots[index]
            precondition(entry.deadlineNs <= now, "only a request past its deadline is answered 91")
            precondition(
                entry.connection != nil && entry.response != nil, "a request waiting keeps its connection and answer")
            runtime.markInDoubt(entry.key)
            runtime.log.warning(
                "latency budget of \(runtime.configuration.latencyBudgetMs) ms missed for \(entry.kind) "
                    + "card \(entry.card.map { "\($0)" } ?? "-"): answered 91; \(whereTimeWent(entry, nowNs: now))")
            if var response = entry.response {
                ResponseBuilder.complete(&response, code: .notAnsweredInTime)
                entry.connection?.send(response, tpdu: entry.tpdu, arrivalNs: entry.deadlineNs &- budgetNs)
            }
        }
    }

    /// Where a request's budget went, for its 91's log line: the loop's part (read to hand-over), the ledger's,
    /// and what the card's shard is doing now (busy since when, with what), so an operator can tell a slow disk
    /// from a starved core or a stalled loop.
    func whereTimeWent(_ entry: PendingRequest, nowNs: UInt64) -> String {
        precondition(entry.deadlineNs >= budgetNs && nowNs >= entry.deadlineNs, "asked after the budget ran out")
        let arrivalNs = entry.deadlineNs - budgetNs
        func milliseconds(_ nanoseconds: UInt64) -> String {
            "\(nanoseconds / 1_000_000).\(nanoseconds / 100_000 % 10) ms"
        }
        guard entry.submittedNs >= arrivalNs else {
            return "not handed to the ledger yet after \(milliseconds(nowNs - arrivalNs))"
        }
        var text = "handed to the ledger \(milliseconds(entry.submittedNs - arrivalNs)) after it was read, "
            + "waited \(milliseconds(nowNs - entry.submittedNs)) for it"
        if let card = entry.card {
            let shard = runtime.ledger.shardIndex(of: card)
            if let activity = runtime.ledger.statistics(ofShard: shard).activity {
                let busyNs = nowNs >= activity.cycleBeganNs ? nowNs - activity.cycleBeganNs : 0
                text += "; shard \(shard) busy for \(milliseconds(busyNs)) in its cycle, now \(activity.phase)"
            } else {
                text += "; shard \(shard) waiting for commands"
            }
        }
        return text
    }

    /// A request answered 91 whose ledger change was applied after all: reverse it, so that the ledger agrees
    /// with what the terminal saw. The reversal's own key is the original's with a bit no terminal key uses.
    /// Returns true when a reversal went out; the key stays in doubt until its reply.
    /// The key of the switch's own reversal of `key`: the same with a bit no terminal key uses.
    static func undoKey(of key: IdempotencyKey) -> IdempotencyKey {
        precondition(key.word0 & (1 << 47) == 0, "a request key leaves bit 47 to the switch's reversals")
        var undo = key
        undo.word0 |= 1 << 47
        precondition(
            undo != key && undo.word1 == key.word1 && undo.word3 == key.word3, "an undo key differs by one bit")
        return undo
    }

    func undoLateApproval(_ entry: PendingRequest, _ reply: LedgerReply) -> Bool {
        precondition(entry.answered && !entry.isUndo, "only a request answered 91 is undone")
        loop.preconditionInEventLoop()
        guard reply.status.isApproval, !reply.isReplay, let card = entry.card else { return false }
        let key = Self.undoKey(of: entry.key)
        var request = LedgerRequest(
            tag: 0, key: key, digest: ContentDigest(high: key.word0, low: key.word3), card: card,
            operation: .undo(originalKey: entry.key))
        if let tag = pending.allocate() {
            let index = pending.index(of: tag)!
            pending.slots[index].isUndo = true
            pending.slots[index].answered = true
            pending.slots[index].key = entry.key
            pending.slots[index].connection = nil
            pending.slots[index].response = nil
            precondition(pending.slots[index].inUse, "an undo's slot is in use until its reply")
            request.tag = tag
        } else {
            runtime.log.error("pending table full: the undo of a late approval for card \(card) is not tracked")
        }
        outgoing.append(request)
        precondition(request.key != entry.key, "an undo never reuses its original's key")
        runtime.log.warning("late ledger approval for card \(card) after a 91: reversed")
        return request.tag != 0
    }
}
