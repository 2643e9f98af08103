/// An answer kept for an `Idempotency-Key`: sent again, byte for byte, to a repeat with the same body.
public struct RememberedAnswer: Sendable, Equatable {
    public let status: Int
    public let contentType: String
    public let body: [UInt8]

    public init(status: Int, contentType: String, body: [UInt8]) {
        precondition(status >= 100 && status < 500, "only answers below 500 are remembered")
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// A key claimed by a request in progress: `AccessControl` turns it into a remembered answer when the answer is
/// durable, or frees it (`abandon`) when the answer is 500 or more.
public struct IdempotencyClaim: Sendable, Hashable {
    let user: String
    let key: String
    let digest: [UInt8]
    let createdMs: Int64

    /// SHA-256 of the user and the (stored) key: what names this request in another store (the ledger's key
    /// table), the same for every repeat of it, across restarts.
    public var name: [UInt8] { AccessCrypto.sha256(Array((user + "\n" + key).utf8)) }
    /// SHA-256 of the request's method, path and canonical body: a repeat with another body differs here.
    public var requestDigest: [UInt8] { digest }
}

/// What a request with an `Idempotency-Key` does.
public enum IdempotencyDecision: Sendable {
    /// A new key: go ahead and hand the claim to the commit.
    case proceed(IdempotencyClaim)
    /// The same key with the same body was answered: send this again, change nothing.
    case replay(RememberedAnswer)
    /// 409: the key was used with another body (or method and path), or its first request is still running.
    case conflict(String)
    /// 503: `idempotencyKeysMax` keys are remembered; the oldest is forgotten in `retryAfterSeconds`.
    case full(retryAfterSeconds: Int)
}

/// Remembered answers by (user, key), kept `retentionMs` and at most `keysMax` at once. At the maximum a new
/// key is refused (503 with Retry-After until the oldest expires) rather than forgetting a key early: a
/// client that repeats within the retention must never get its request done twice. Keys are forgotten oldest
/// first. Under `AccessControl`'s lock.
struct IdempotencyStore {
    struct Key: Hashable {
        let user: String
        let key: String
    }

    enum Slot {
        case pending(IdempotencyClaim)
        case done(IdempotencyRecord)
    }

    let retentionMs: Int64
    let keysMax: Int
    private(set) var slots: [Key: Slot] = [:]
    /// Keys by the time they were claimed, oldest first, from `orderStart` on.
    private var order: [(key: Key, createdMs: Int64)] = []
    private var orderStart = 0

    init(retentionMs: Int64, keysMax: Int) {
        precondition(retentionMs > 0 && keysMax > 0, "idempotency retention and maximum are positive")
        self.retentionMs = retentionMs
        self.keysMax = keysMax
    }

    var count: Int { slots.count }

    mutating func begin(user: String, key: String, digest: [UInt8], nowMs: Int64) -> IdempotencyDecision {
        expire(nowMs: nowMs)
        let slotKey = Key(user: user, key: key)
        switch slots[slotKey] {
        case .pending(let claim):
            let same = AccessCrypto.constantTimeEqual(claim.digest, digest)
            return .conflict(
                same
                    ? "a request with this Idempotency-Key is still in progress"
                    : "this Idempotency-Key was used with another request body")
        case .done(let record):
            guard AccessCrypto.constantTimeEqual(record.digest, digest) else {
                return .conflict("this Idempotency-Key was used with another request body")
            }
            return .replay(record.answer)
        case nil:
            guard slots.count < keysMax else {
                let oldest = order[orderStart].createdMs
                let waitMs = max(oldest + retentionMs - nowMs, 1000)
                return .full(retryAfterSeconds: Int((waitMs + 999) / 1000))
            }
            let claim = IdempotencyClaim(user: user, key: key, digest: digest, createdMs: nowMs)
            slots[slotKey] = .pending(claim)
            order.append((slotKey, nowMs))
            return .proceed(claim)
        }
    }

    /// The claim's answer is durable: remember it.
    mutating func finish(_ claim: IdempotencyClaim, _ answer: RememberedAnswer) {
        let slotKey = Key(user: claim.user, key: claim.key)
        guard case .pending(let pending) = slots[slotKey], pending == claim else {
            preconditionFailure("an idempotency claim is finished once")
        }
        slots[slotKey] = .done(
            IdempotencyRecord(
                user: claim.user, key: claim.key, digest: claim.digest, answer: answer, createdMs: claim.createdMs))
    }

    /// The claim's request ended without an answer to remember (500 or more): the key is free again.
    mutating func abandon(_ claim: IdempotencyClaim) {
        let slotKey = Key(user: claim.user, key: claim.key)
        if case .pending(let pending) = slots[slotKey], pending == claim { slots[slotKey] = nil }
    }

    /// A record read back from the private file at start.
    mutating func load(_ record: IdempotencyRecord, nowMs: Int64) {
        guard record.createdMs + retentionMs > nowMs, slots.count < keysMax else { return }
        let slotKey = Key(user: record.user, key: record.key)
        slots[slotKey] = .done(record)
        order.append((slotKey, record.createdMs))
    }

    /// Remembered answers, oldest first (for rewriting the private file).
    var records: [IdempotencyRecord] {
        order[orderStart...].compactMap { entry in
            if case .done(let record) = slots[entry.key], record.createdMs == entry.createdMs { return record }
            return nil
        }
    }

    /// Forgets answers older than the retention, oldest first.
    mutating func expire(nowMs: Int64) {
        while orderStart < order.count && order[orderStart].createdMs + retentionMs <= nowMs {
            let entry = order[orderStart]
            if case .done(let record) = slots[entry.key], record.createdMs == entry.createdMs {
                slots[entry.key] = nil
            }
            orderStart += 1
        }
        if orderStart > 1024 && orderStart * 2 > order.count {
            order.removeSubrange(0..<orderStart)
            orderStart = 0
        }
    }
}

/// A remembered answer with its key and body digest, as the private file keeps it.
struct IdempotencyRecord: Sendable {
    let user: String
    let key: String
    /// SHA-256 of the method, path and canonical JSON body.
    let digest: [UInt8]
    let answer: RememberedAnswer
    let createdMs: Int64

    static let storedKeyPrefix = "sha256:"

    /// How a client's `Idempotency-Key` is remembered: `sha256:` and the hex SHA-256 of its UTF-8 bytes.
    static func storedKey(sent key: String) -> String {
        return storedKeyPrefix + AccessCrypto.hex(AccessCrypto.sha256(Array(key.utf8)))
    }

    /// A key read from the private file: files written before kept keys as sent, which are converted here.
    static func storedKey(read key: String) -> String {
        key.hasPrefix(storedKeyPrefix) && key.utf8.count == storedKeyPrefix.utf8.count + 64 ? key : storedKey(sent: key)
    }
}
