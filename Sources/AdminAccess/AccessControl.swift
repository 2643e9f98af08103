import Glibc
import HTTP
import Synchronization

/// Who did something, as the trail names them.
public struct AuditActor: Sendable, Equatable {
    public let id: String
    public let role: String

    public init(id: String, role: String) {
        self.id = id
        self.role = role
    }

    public init(_ user: AdminUser) { self.init(id: user.id, role: user.role.rawValue) }

    /// `admin init` on the command line.
    public static let commandLine = AuditActor(id: "cli", role: "admin")
    /// A request without a valid token.
    public static let anonymous = AuditActor(id: "anonymous", role: "none")
}

/// The result of reading a request's `Authorization` header.
public enum Authentication: Sendable {
    case user(AdminUser)
    /// 401: no token, a malformed header, or a token no user has; the reason never contains the token.
    case refused(String)
    /// 429: the token's user is over `requestsPerSecondPerToken`.
    case limited(retryAfterSeconds: Int)
}

/// Users, tokens, roles' state, the audit journal and remembered idempotent answers, behind one lock. Requests of
/// every loop call in; the lock is held for map updates and hashing only, never for a disk write (the journal's
/// thread does those) or a read of the journal file.
///
/// A state change numbers its audit entries and queues them under the lock, so the journal's order is the order
/// of the changes; its caller answers when `completion` reports the unit durable. In memory a creation counts
/// (lists, logs in) only once durable; a deletion revokes the token at once, before it is durable.
public final class AccessControl: Sendable {
    struct UserRecord {
        var user: AdminUser
        var tokenHash: [UInt8]
        var durable: Bool
        /// The seq of its `users.create` entry: lists go in creation order.
        var seq: UInt64
    }

    struct State {
        var users: [String: UserRecord] = [:]
        /// Token hash → user id, for durable users that have not been deleted.
        var tokens: [[UInt8]: String] = [:]
        var idempotency: IdempotencyStore
        /// Members' names, phones and birthdays, by member id.
        var directory: MemberDirectory
        /// Per user: tokens available (scaled by 1000) and when they were counted.
        var buckets: [String: (milliTokens: Int64, atMs: Int64)] = [:]
        var nextSeq: UInt64 = 1
        var lastHash = AuditEntry.genesisHash
        /// Durable entries' offsets (index `seq - 1`), and where the journal will end once all queued is written.
        var offsets: [Int64] = []
        var plannedEnd: Int64 = 0
        var durableEnd: Int64 = 0
        var operations: Set<UInt64> = []
        /// Entries the journal's checkpoint file seals.
        var checkpointSeq: UInt64 = 0
        var highestOperation: UInt64?
        var refusedLastEntryMs: Int64?
        var refusedSinceEntry = 0
    }

    let directory: String
    public let settings: AccessSettings
    let clockMs: @Sendable () -> Int64
    let state: Mutex<State>
    let writer: AuditJournalWriter
    let readDescriptor: Int32
    let lockDescriptor: Int32

    init(
        directory: String, settings: AccessSettings, clockMs: @escaping @Sendable () -> Int64, state: State,
        writer: AuditJournalWriter, readDescriptor: Int32, lockDescriptor: Int32
    ) {
        self.directory = directory
        self.settings = settings
        self.clockMs = clockMs
        self.state = Mutex(state)
        self.writer = writer
        self.readDescriptor = readDescriptor
        self.lockDescriptor = lockDescriptor
    }

    /// Writes what is queued, stops the journal thread and releases the directory.
    public func close() {
        writer.stop()
        writeCheckpointAtClose()
        Glibc.close(writer.journalDescriptor)
        Glibc.close(writer.privateDescriptor)
        Glibc.close(readDescriptor)
        Glibc.close(lockDescriptor)
    }

    /// Durable users, oldest first.
    /// After a clean stop (every queued unit durable), seals the trail in a checkpoint when enough entries came
    /// since the last one. A failure to write it is ignored: the next open reads more of the journal, nothing else.
    private func writeCheckpointAtClose() {
        guard writer.failure == nil else { return }
        let (end, crc) = writer.journalSummary
        let checkpoint: AuditJournalCheckpoint? = state.withLock { state in
            precondition(state.plannedEnd == state.durableEnd && state.durableEnd == end, "the writer drained")
            let count = state.nextSeq - 1
            guard count - state.checkpointSeq >= settings.checkpointEntriesBetween else { return nil }
            var journal = AuditJournalState()
            journal.entryCount = count
            journal.end = end
            journal.crc = crc
            journal.lastHash = state.lastHash
            return Self.checkpoint(state, journal: journal, created: state.users.values.map(\.seq))
        }
        try? checkpoint?.write(directory: directory)
    }

    public var users: [AdminUser] {
        state.withLock { state in
            state.users.values.filter(\.durable).sorted { $0.seq < $1.seq }.map(\.user)
        }
    }

    public var userCount: Int { state.withLock { $0.users.values.filter(\.durable).count } }

    /// Why the journal stopped, if it did (a failed write or sync); every change is refused until a restart.
    public var stoppedReason: String? { writer.failure?.message }

    // MARK: Authentication

    /// Checks `Authorization: Bearer TOKEN` (the header's value, or nil when absent) and the token's rate. A
    /// refusal is audited as `auth.refused`, coalesced (`refusedLoginEntryIntervalMs`).
    public func authenticate(_ authorization: UnsafeRawBufferPointer?) -> Authentication {
        let outcome: Authentication
        if let token = Self.bearerToken(authorization) {
            let hash = AccessToken.hash(token)
            outcome = state.withLock { state -> Authentication in
                guard let id = state.tokens[hash], let record = state.users[id],
                    AccessCrypto.constantTimeEqual(record.tokenHash, hash)
                else { return .refused("the token is not valid") }
                if let wait = Self.take(
                    &state, user: id, nowMs: clockMs(), perSecond: settings.requestsPerSecondPerToken)
                {
                    return .limited(retryAfterSeconds: wait)
                }
                return .user(record.user)
            }
        } else {
            outcome = .refused(
                authorization == nil ? "no Authorization header" : "the Authorization header is not \"Bearer TOKEN\"")
        }
        if case .refused(let reason) = outcome { recordRefusedLogin(reason) }
        return outcome
    }

    /// The token of `Bearer TOKEN` (the scheme in any case, one or more spaces), or nil.
    static func bearerToken(_ header: UnsafeRawBufferPointer?) -> UnsafeRawBufferPointer? {
        guard let header, header.count > 7 else { return nil }
        let scheme = Array("bearer".utf8)
        for index in 0..<6 where header[index] | 0x20 != scheme[index] { return nil }
        guard header[6] == UInt8(ascii: " ") else { return nil }
        var start = 7
        while start < header.count && header[start] == UInt8(ascii: " ") { start += 1 }
        let token = UnsafeRawBufferPointer(rebasing: header[start...])
        guard !token.isEmpty, token.count <= 256, !token.contains(UInt8(ascii: " ")) else { return nil }
        return token
    }

    /// Takes one request from the user's bucket; nil when allowed, else seconds until one is available.
    static func take(_ state: inout State, user: String, nowMs: Int64, perSecond: Int) -> Int? {
        let capacity = Int64(perSecond) * 1000
        var bucket = state.buckets[user] ?? (capacity, nowMs)
        let elapsed = max(nowMs - bucket.atMs, 0)
        bucket.milliTokens = min(capacity, bucket.milliTokens + elapsed * Int64(perSecond))
        bucket.atMs = nowMs
        defer { state.buckets[user] = bucket }
        guard bucket.milliTokens >= 1000 else {
            let missing = 1000 - bucket.milliTokens
            return Int((missing / Int64(perSecond) + 999) / 1000)
        }
        bucket.milliTokens -= 1000
        return nil
    }

    /// At most one `auth.refused` entry per interval, carrying how many refusals it stands for. Not awaited:
    /// the 401 does not wait for the disk.
    func recordRefusedLogin(_ reason: String) {
        let now = clockMs()
        state.withLock { state in
            state.refusedSinceEntry += 1
            if let last = state.refusedLastEntryMs, now - last < settings.refusedLoginEntryIntervalMs { return }
            let count = state.refusedSinceEntry
            let detail = AuditDetail.make { json in
                json.member("reason", reason)
                json.member("refusals", Int64(count))
                json.member("intervalMs", settings.refusedLoginEntryIntervalMs)
            }
            let draft = AuditDraft(action: "auth.refused", target: "auth", detail: detail)
            do throws(AccessError) {
                try commit(&state, [draft], actor: .anonymous, operation: nil, nowMs: now) { _ in }
                state.refusedLastEntryMs = now
                state.refusedSinceEntry = 0
            } catch {
                // The journal is full or stopped: the count carries over to the next entry.
            }
        }
    }
}

/// An audit entry to be numbered and chained. The detail is kept as its canonical bytes (what the entry's hash
/// covers), so chaining an entry copies them: bulk writers (the member import, thousands of entries a second)
/// build them sorted in one pass instead of writing, parsing and sorting each detail.
public struct AuditDraft: Sendable {
    public let action: String
    public let target: String
    /// The detail object in canonical form (`JSONWriter.canonical`).
    public let canonicalDetail: [UInt8]

    public init(action: String, target: String, detail: JSONValue) {
        precondition(detail.kind == .object, "an audit detail is an object")
        self.action = action
        self.target = target
        canonicalDetail = JSONWriter.canonicalBytes(detail)
    }

    /// A detail object whose members `build` writes in canonical order (keys sorted by their UTF-8 bytes, each
    /// once). Debug builds check it against the parsed and sorted form, so every test run proves the order.
    public init(action: String, target: String, sortedDetail build: (inout JSONWriter) -> Void) {
        var writer = JSONWriter()
        writer.beginObject()
        build(&writer)
        writer.endObject()
        self.action = action
        self.target = target
        canonicalDetail = writer.bytes
        assert(
            (try? JSONWriter.canonicalBytes(JSONDocument.parse(writer.bytes).root)) == writer.bytes,
            "an audit detail written out of canonical order: \(String(decoding: writer.bytes, as: UTF8.self))")
    }

    /// The detail as a JSON value (parsed on each call).
    public var detail: JSONValue {
        do {
            return try JSONDocument.parse(canonicalDetail).root
        } catch {
            preconditionFailure("an audit draft holds invalid JSON: \(error)")
        }
    }
}
