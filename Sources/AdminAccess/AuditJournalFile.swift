import Glibc
import HTTP

/// Where a journal is broken: the file, the entry's sequence number (the one expected there), its byte offset,
/// and why.
public struct AuditDamage: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let seq: UInt64
    public let offset: Int64
    public let reason: String

    public var description: String { "\(file): entry seq \(seq) at byte offset \(offset): \(reason)" }
}

/// What a read of the journal found.
public struct AuditJournalState: Sendable {
    public var entryCount: UInt64 = 0
    public var lastHash = AuditEntry.genesisHash
    /// Where the last good entry ends.
    public var end: Int64 = 0
    /// CRC32C of the journal's bytes before `end` (what a checkpoint seals).
    var crc: UInt32 = 0
    /// Bytes after the last complete line: an entry whose write a crash cut short (never acknowledged).
    public var tornTailBytes = 0
    /// The first broken entry, if any; reading stops there.
    public var damage: AuditDamage?
    /// Byte offset of entry `seq` at index `seq - 1`.
    var offsets: [Int64] = []
}

/// The files of the access layer, in `DATA/audit/`:
///
///     journal.jsonl   the audit trail: one entry per line (`AuditEntry`), hash-chained, append-only
///     private.jsonl   token hashes and remembered Idempotency-Key answers (mode 0600; never served)
///     access.lock     the writer's flock
///
/// The journal is the source of truth for users: they are rebuilt from its `users.create` and `users.delete`
/// entries, with each user's token hash from the private file. A creation writes the token record (and the
/// remembered answer) to the private file and syncs it before the journal entry is written and synced, so a
/// journaled user always has its token hash; a private record whose journal entry never became durable (a
/// crash between the two) names a user that does not exist, or an audit seq past the journal's end, and is
/// dropped at the next start.
public enum AuditJournalFile {
    public static let directoryName = "audit"
    public static let journalName = "journal.jsonl"
    public static let privateName = "private.jsonl"
    public static let lockName = "access.lock"

    public static func directory(dataDirectory: String) -> String { dataDirectory + "/" + directoryName }

    /// Reads and checks the chain of `path` after `start` (the whole chain by default; a checkpoint's state
    /// to read only the entries after it) without changing anything: each line is a well-formed entry, `seq`
    /// counts up, `previousHash` is the hash before it, `hash` recomputes. `visit` sees each good entry and its
    /// offset. A missing file is an empty journal.
    public static func read(
        path: String, visit: (AuditEntry, Int64) -> Void = { _, _ in }
    ) throws(AccessError) -> AuditJournalState {
        try read(path: path, from: AuditJournalState(), visit: visit)
    }

    static func read(
        path: String, from start: AuditJournalState, visit: (AuditEntry, Int64) -> Void
    ) throws(AccessError) -> AuditJournalState {
        precondition(start.damage == nil && start.offsets.count == Int(start.entryCount), "a verified start")
        var state = start
        guard AccessFile.exists(path) else { return state }
        let descriptor = try AccessFile.open(path, flags: O_RDONLY)
        defer { close(descriptor) }
        let scanned = try LineReader.scan(
            descriptor, path: path, from: start.end, lineBytesMax: AuditEntry.lineBytesMax
        ) { line, offset in
            let expected = state.entryCount + 1
            do throws(AuditLineError) {
                let entry = try AuditEntry.parse(line)
                guard entry.seq == expected else {
                    throw AuditLineError(reason: "seq is \(entry.seq), expected \(expected)")
                }
                guard entry.previousHash == state.lastHash else {
                    throw AuditLineError(
                        reason: "previousHash \(entry.previousHash) is not the hash of entry \(expected - 1) "
                            + "(\(state.lastHash))")
                }
                state.entryCount = expected
                state.lastHash = entry.hash
                state.offsets.append(offset)
                state.end = offset + Int64(line.count) + 1
                state.crc = AuditChecksum.updateNewline(AuditChecksum.update(state.crc, line))
                visit(entry, offset)
                return true
            } catch {
                state.damage = AuditDamage(file: path, seq: expected, offset: offset, reason: error.reason)
                return false
            }
        }
        if state.damage == nil { state.tornTailBytes = scanned.tailBytes }
        return state
    }

    /// `loyalty-switch audit verify`: the journal's state, read-only (safe while the switch serves: a line the
    /// switch is writing shows as a torn tail).
    /// The whole chain is recomputed whatever a checkpoint says; a checkpoint the chain does not match (entries
    /// it sealed changed or removed, even when re-chained) is damage too.
    public static func verify(dataDirectory: String) throws(AccessError) -> AuditJournalState {
        try verify(auditDirectory: directory(dataDirectory: dataDirectory))
    }

    static func verify(auditDirectory directory: String) throws(AccessError) -> AuditJournalState {
        let checkpoint = try? AuditJournalCheckpoint.read(directory: directory)
        var sealedHash: String?
        var state = try read(path: directory + "/" + journalName) { entry, _ in
            if entry.seq == checkpoint?.entryCount { sealedHash = entry.hash }
        }
        guard let checkpoint, state.damage == nil, checkpoint.entryCount > 0 else { return state }
        let path = directory + "/" + journalName
        if state.entryCount < checkpoint.entryCount {
            state.damage = AuditDamage(
                file: path, seq: state.entryCount + 1, offset: state.end,
                reason: "the journal ends after \(state.entryCount) entries, its checkpoint sealed "
                    + "\(checkpoint.entryCount): entries were removed")
        } else if sealedHash != checkpoint.lastHash {
            let seq = checkpoint.entryCount
            state.damage = AuditDamage(
                file: path, seq: seq, offset: state.offsets[Int(seq) - 1],
                reason: "not the entry its checkpoint sealed (hash \(checkpoint.lastHash)): the trail was rewritten")
        }
        return state
    }
}

/// One line of the private file.
enum PrivateRecord {
    /// A user's token hash.
    case token(user: String, hash: [UInt8])
    /// A remembered answer; `seq` is the audit entry written with it (nil for an answer that changed nothing).
    case idempotency(IdempotencyRecord, seq: UInt64?)
    /// A member's texts in the directory; `seq` is the audit entry written with them (nil once known durable).
    case member(MemberKey, MemberTexts, seq: UInt64?)

    func line() -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        switch self {
        case .token(let user, let hash):
            writer.member("kind", "token")
            writer.member("user", user)
            writer.member("hash", AccessCrypto.hex(hash))
        case .idempotency(let record, let seq):
            writer.member("kind", "idempotency")
            writer.member("user", record.user)
            writer.member("key", record.key)
            writer.member("digest", AccessCrypto.hex(record.digest))
            writer.member("status", Int64(record.answer.status))
            writer.member("contentType", record.answer.contentType)
            writer.member("body", String(decoding: record.answer.body, as: UTF8.self))
            writer.member("created", record.createdMs)
            if let seq { writer.member("seq", Int64(seq)) }
        case .member(let key, let texts, let seq):
            writer.member("kind", "member")
            writer.member("member", key.hex)
            if let name = texts.name { writer.member("name", name) }
            if let phone = texts.phone { writer.member("phone", phone) }
            if let birthday = texts.birthday { writer.member("birthday", birthday) }
            if let seq { writer.member("seq", Int64(seq)) }
        }
        writer.endObject()
        var bytes = writer.bytes
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    static func parse(_ line: UnsafeRawBufferPointer) -> PrivateRecord? {
        guard let document = try? JSONDocument.parse(line), let members = document.root.members else { return nil }
        var values: [String: JSONValue] = [:]
        for (key, value) in members { values[key] = value }
        if values["kind"]?.string == "member" { return member(values) }
        guard let kind = values["kind"]?.string, let user = values["user"]?.string else { return nil }
        if kind == "token" {
            guard values.count == 3, let hex = values["hash"]?.string, let hash = AccessCrypto.bytes(hex: hex),
                hash.count == 32
            else { return nil }
            return .token(user: user, hash: hash)
        }
        guard kind == "idempotency", let key = values["key"]?.string,
            let digest = values["digest"]?.string.flatMap(AccessCrypto.bytes(hex:)), digest.count == 32,
            let status = values["status"]?.integer, status >= 100 && status < 500,
            let contentType = values["contentType"]?.string, let body = values["body"]?.string,
            let created = values["created"]?.integer
        else { return nil }
        guard case .some(let seq) = self.seq(values) else { return nil }
        let answer = RememberedAnswer(status: Int(status), contentType: contentType, body: Array(body.utf8))
        return .idempotency(
            IdempotencyRecord(
                user: user, key: IdempotencyRecord.storedKey(read: key), digest: digest, answer: answer, createdMs: created),
            seq: seq)
    }

    /// A `member` record, its texts checked as the API checks them; nil when anything is off.
    private static func member(_ values: [String: JSONValue]) -> PrivateRecord? {
        let known: Set<String> = ["kind", "member", "name", "phone", "birthday", "seq"]
        guard values.keys.allSatisfy(known.contains), let hex = values["member"]?.string,
            let key = MemberKey(hex: hex), case .some(let seq) = self.seq(values)
        else { return nil }
        var texts = MemberTexts()
        for (name, path) in [("name", \MemberTexts.name), ("phone", \.phone), ("birthday", \.birthday)] {
            guard let value = values[name] else { continue }
            guard let text = value.string else { return nil }
            texts[keyPath: path] = text
        }
        guard texts.isValid, !texts.isEmpty else { return nil }
        return .member(key, texts, seq: seq)
    }

    /// The optional `seq` member: `.some(nil)` when absent, nil when malformed.
    private static func seq(_ values: [String: JSONValue]) -> UInt64?? {
        guard let value = values["seq"] else { return .some(nil) }
        guard let number = value.integer, number >= 1 else { return nil }
        return .some(UInt64(number))
    }
}
