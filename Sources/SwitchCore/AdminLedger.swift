import AdminAccess
import Dispatch
import HTTP
import Ledger
import Synchronization

/// The admin API's door to the ledger. Requests reach the shards like ISO 8583 requests (`Ledger.submit`, in the
/// shard's next batch); each reply comes back on the shard's thread once its batch is durable, and its handler
/// only hands it on (an audit append queued for the journal thread, or an answer hopped to the connection's loop):
/// no loop or shard thread ever waits.
final class AdminLedger: LedgerReplySink, Sendable {
    /// Requests waiting for their replies by default; over the limit a request is answered 503 (the shards are far
    /// behind).
    static let waitingMaxDefault = 4096
    let waitingMax: Int
    let ledger: Ledger
    let access: AccessControl
    private let waiting = Mutex<[UInt64: @Sendable (LedgerReply) -> Void]>([:])
    private let nextTag = Atomic<UInt64>(1)
    /// Admin operation ids: above every id in the trail (which the repair made complete) and above every id a
    /// record may carry (ids start at the clock's microseconds at start), so never reused.
    private let nextOperation: Atomic<UInt64>

    init(ledger: Ledger, access: AccessControl, nowMs: Int64, waitingMax: Int = AdminLedger.waitingMaxDefault) {
        precondition(waitingMax >= 0, "a waiting limit")
        self.waitingMax = waitingMax
        self.ledger = ledger
        self.access = access
        let seen = ledger.recoveryReports.flatMap(\.adminRecords).map(\.stamp.operation).max() ?? 0
        let floor = max(access.highestOperation ?? 0, seen, UInt64(max(nowMs, 0)) * 1000)
        nextOperation = Atomic(floor + 1)
        precondition(
            floor + 1 > seen && floor + 1 > UInt64(max(nowMs, 0)) * 1000, "operation ids start above every id seen")
    }

    func newOperation() -> UInt64 {
        let operation = nextOperation.add(1, ordering: .relaxed).oldValue
        precondition(operation != 0 && operation != UInt64.max, "an operation id names one change")
        return operation
    }

    /// The ledger key of an admin operation: apart from every terminal's keys by its first word.
    static func key(operation: UInt64) -> IdempotencyKey {
        precondition(operation != 0, "operation ids start at 1")
        let key = IdempotencyKey(word0: 0x4144_4D49_4E00_0000, word1: operation)
        precondition(key.word0 >> 48 > 9999 && key.word1 == operation, "apart from every terminal key (MTI ≤ 9999)")
        return key
    }

    /// The ledger key and digest of an admin change asked with an `Idempotency-Key`: made of the user and the key
    /// (apart from operation keys and every terminal's keys by its first word), so a repeat after a crash finds
    /// the first change in the ledger's key table and gets its outcome back; the digest is the request's.
    static func key(claim: IdempotencyClaim) -> (key: IdempotencyKey, digest: ContentDigest) {
        let name = claim.name
        let digest = claim.requestDigest
        precondition(name.count == 32 && digest.count == 32, "SHA-256 names and digests")
        func word(_ bytes: [UInt8], _ index: Int) -> UInt64 {
            bytes[index * 8..<index * 8 + 8].reduce(0) { $0 << 8 | UInt64($1) }
        }
        let key = IdempotencyKey(
            word0: 0x4144_4D49_4E4B_4559, word1: word(name, 0), word2: word(name, 1), word3: word(name, 2))
        precondition(
            key.word0 >> 48 > 9999 && key.word0 != 0x4144_4D49_4E00_0000, "apart from terminal and operation keys")
        return (key, ContentDigest(high: word(digest, 0), low: word(digest, 1)))
    }

    /// Queues `request` (its tag is set here); `completion` gets the reply on a shard thread, or at once an
    /// `overloaded` reply when the shard's queue or this door is full.
    func submit(_ request: LedgerRequest, completion: @escaping @Sendable (LedgerReply) -> Void) {
        precondition(request.tag == 0, "the door gives the tag")
        var request = request
        request.tag = nextTag.add(1, ordering: .relaxed).oldValue
        precondition(request.tag != 0, "the door's tags start at 1")
        let admitted = waiting.withLock { table in
            guard table.count < waitingMax else { return false }
            precondition(table[request.tag] == nil, "a tag waits for one reply")
            table[request.tag] = completion
            return true
        }
        guard admitted else {
            completion(LedgerReply(tag: request.tag, key: request.key, status: .overloaded))
            return
        }
        guard ledger.submit(request, to: self) else {
            _ = waiting.withLock { $0.removeValue(forKey: request.tag) }
            completion(LedgerReply(tag: request.tag, key: request.key, status: .overloaded))
            return
        }
    }

    /// Queues `requests` together (one lock and at most one wake-up per shard, so a shard takes them in one batch
    /// with one fdatasync, as it does a loop's requests); `completion` gets each reply with the request's index.
    /// Requests over this door's limit or refused by a full shard queue are answered `overloaded` at once.
    func submit(_ requests: [LedgerRequest], completion: @escaping @Sendable (Int, LedgerReply) -> Void) {
        assert(requests.allSatisfy { $0.tag == 0 }, "the door gives the tags")
        var tagged: [LedgerRequest] = []
        tagged.reserveCapacity(requests.count)
        for (index, request) in requests.enumerated() {
            var request = request
            request.tag = nextTag.add(1, ordering: .relaxed).oldValue
            let admitted = waiting.withLock { table in
                guard table.count < waitingMax else { return false }
                table[request.tag] = { reply in completion(index, reply) }
                return true
            }
            if admitted {
                tagged.append(request)
            } else {
                completion(index, LedgerReply(tag: request.tag, key: request.key, status: .overloaded))
            }
        }
        precondition(tagged.count <= requests.count, "each admitted request is submitted once")
        for refused in ledger.submit(tagged, to: self) {
            guard let pending = waiting.withLock({ $0.removeValue(forKey: refused.tag) }) else { continue }
            pending(refused)
        }
    }

    func deliver(_ replies: [LedgerReply]) {
        for reply in replies {
            precondition(reply.tag != 0, "the door's tags start at 1")
            guard let completion = waiting.withLock({ $0.removeValue(forKey: reply.tag) }) else { continue }
            completion(reply)
        }
    }

    /// At start, before the admin listener opens: appends the audit entries of approved admin records the trail
    /// lacks (a crash came between the shard's sync and the journal's), with their operation ids, and waits until
    /// they are durable. Returns how many were repaired.
    func repair() throws(HTTPProblem) -> Int {
        let records = ledger.recoveryReports.flatMap(\.adminRecords).filter {
            !access.containsOperation($0.stamp.operation)
        }
        let done = Mutex<(count: Int, failure: AccessError?)>((0, nil))
        let finished = DispatchSemaphore(value: 0)
        for record in records {
            let (draft, actor) = AdminAuditText.draft(for: record)
            try access.appendAudit([draft], actor: actor, operation: record.stamp.operation) { failure in
                done.withLock { state in
                    state.count += 1
                    if state.failure == nil { state.failure = failure }
                }
                finished.signal()
            }
        }
        for _ in records { finished.wait() }
        precondition(done.withLock { $0.count } == records.count, "every repaired entry was heard from")
        if let failure = done.withLock({ $0.failure }) {
            throw HTTPProblem(.serviceUnavailable, detail: failure.message)
        }
        return records.count
    }
}
