import Glibc
import HTTP

/// One entry of the audit trail, as the API shows it and the journal keeps it (one JSON line each).
///
/// The chain: `hash` is SHA-256 (hex) of the canonical JSON (`JSONWriter.canonical`: keys sorted, no spaces) of
/// every other member of the entry, `previousHash` included, so each entry seals the one before it and changing,
/// removing or reordering any entry breaks every hash after it. The first entry's `previousHash` is 64 zeros.
/// `operation` is present on entries that belong to an admin operation id (ledger-changing actions; see
/// `AccessControl.appendAudit`), and then takes part in the hash like any member.
public struct AuditEntry: Sendable {
    public let seq: UInt64
    /// RFC 3339 UTC with milliseconds.
    public let time: String
    /// The user id that acted (`anonymous` for a refused login, `cli` for `admin init`).
    public let actor: String
    public let role: String
    /// A dotted name: `users.create`, `users.delete`, `auth.refused`.
    public let action: String
    /// What was acted on (`users/usr_…`).
    public let target: String
    /// An object with the action's particulars.
    public let detail: JSONValue
    public let operation: UInt64?
    public let previousHash: String
    public let hash: String

    public static let genesisHash = String(repeating: "0", count: 64)
    /// One entry's line, at most: bounds what a reader buffers and what a detail may hold.
    public static let lineBytesMax = 16 << 10
    /// Members of an entry; a line with any other is damaged.
    static let memberNames: Set<String> = [
        "seq", "time", "actor", "role", "action", "target", "detail", "operation", "previousHash", "hash",
    ]

    /// Writes the entry's members except `hash` in canonical (sorted) order: the bytes the hash covers. Returns
    /// where `hash` goes in the journal's line (right after the detail, the member before it in sorted order), so
    /// the line is these bytes with `,"hash":"…"` inserted there, without writing the entry twice.
    static func writeCovered(
        seq: UInt64, time: String, actor: String, role: String, action: String, target: String, detail: JSONValue,
        operation: UInt64?, previousHash: String, to writer: inout JSONWriter
    ) -> Int {
        writer.beginObject()
        writer.member("action", action)
        writer.member("actor", actor)
        writer.key("detail")
        writer.canonical(detail)
        return writeCoveredTail(
            seq: seq, time: time, role: role, target: target, operation: operation, previousHash: previousHash,
            to: &writer)
    }

    /// The members after `detail`, in canonical order; returns where `hash` goes (before them).
    private static func writeCoveredTail(
        seq: UInt64, time: String, role: String, target: String, operation: UInt64?, previousHash: String,
        to writer: inout JSONWriter
    ) -> Int {
        let hashAt = writer.bytes.count
        if let operation { writer.member("operation", Int64(operation)) }
        writer.member("previousHash", previousHash)
        writer.member("role", role)
        writer.member("seq", Int64(seq))
        writer.member("target", target)
        writer.member("time", time)
        writer.endObject()
        return hashAt
    }

    /// A new entry after `previousHash`, its hash computed, and its journal line (ending in a newline).
    static func make(
        seq: UInt64, time: String, actor: String, role: String, action: String, target: String, detail: JSONValue,
        operation: UInt64?, previousHash: String
    ) -> (entry: AuditEntry, line: [UInt8]) {
        precondition(seq >= 1, "audit sequence numbers start at 1")
        precondition(detail.kind == .object, "an audit detail is an object")
        var covered = JSONWriter()
        let hashAt = writeCovered(
            seq: seq, time: time, actor: actor, role: role, action: action, target: target, detail: detail,
            operation: operation, previousHash: previousHash, to: &covered)
        let (hash, bytes) = sealed(covered.bytes, hashAt: hashAt)
        let entry = AuditEntry(
            seq: seq, time: time, actor: actor, role: role, action: action, target: target, detail: detail,
            operation: operation, previousHash: previousHash, hash: hash)
        return (entry, bytes)
    }

    /// A new entry's hash and journal line from its draft's canonical detail bytes: what `make` writes, without
    /// parsing or sorting the detail (appending to the journal needs only the line and the hash for the chain).
    static func line(
        seq: UInt64, time: String, actor: String, role: String, draft: AuditDraft, operation: UInt64?,
        previousHash: String
    ) -> (hash: String, line: [UInt8]) {
        precondition(seq >= 1, "audit sequence numbers start at 1")
        var covered = JSONWriter()
        covered.beginObject()
        covered.member("action", draft.action)
        covered.member("actor", actor)
        covered.key("detail")
        covered.written(draft.canonicalDetail)
        let hashAt = writeCoveredTail(
            seq: seq, time: time, role: role, target: draft.target, operation: operation, previousHash: previousHash,
            to: &covered)
        return sealed(covered.bytes, hashAt: hashAt)
    }

    /// The hash of the covered bytes, and the journal line: them with `,"hash":"…"` inserted at `hashAt`.
    private static func sealed(_ covered: [UInt8], hashAt: Int) -> (hash: String, line: [UInt8]) {
        let hash = AccessCrypto.hex(AccessCrypto.sha256(covered))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(covered.count + 77)
        bytes += covered[..<hashAt]
        bytes += #","hash":""#.utf8
        bytes += hash.utf8
        bytes.append(UInt8(ascii: "\""))
        bytes += covered[hashAt...]
        bytes.append(UInt8(ascii: "\n"))
        precondition(bytes.count <= lineBytesMax, "an audit entry is at most \(lineBytesMax) bytes")
        return (hash, bytes)
    }

    /// The entry a journal line holds, checked: every member present with its type, no other member, and the
    /// hash recomputed. Throws the reason in words (the caller adds file, seq and offset).
    static func parse(_ line: UnsafeRawBufferPointer) throws(AuditLineError) -> AuditEntry {
        let document: JSONDocument
        do {
            document = try JSONDocument.parse(line)
        } catch {
            throw AuditLineError(reason: "not valid JSON: \(error)")
        }
        guard let members = document.root.members else { throw AuditLineError(reason: "not a JSON object") }
        var values: [String: JSONValue] = [:]
        for (key, value) in members {
            guard memberNames.contains(key) else { throw AuditLineError(reason: "unknown member \"\(key)\"") }
            guard values.updateValue(value, forKey: key) == nil else {
                throw AuditLineError(reason: "member \"\(key)\" given twice")
            }
        }
        func text(_ name: String) throws(AuditLineError) -> String {
            guard let value = values[name]?.string else { throw AuditLineError(reason: "\"\(name)\" is not a string") }
            return value
        }
        guard let seq = values["seq"]?.integer, seq >= 1 else {
            throw AuditLineError(reason: "\"seq\" is not a positive integer")
        }
        var operation: UInt64?
        if let value = values["operation"] {
            guard let number = value.integer, number >= 0 else {
                throw AuditLineError(reason: "\"operation\" is not a non-negative integer")
            }
            operation = UInt64(number)
        }
        guard let detail = values["detail"], detail.kind == .object else {
            throw AuditLineError(reason: "\"detail\" is not an object")
        }
        let (entry, _) = make(
            seq: UInt64(seq), time: try text("time"), actor: try text("actor"), role: try text("role"),
            action: try text("action"), target: try text("target"), detail: detail, operation: operation,
            previousHash: try text("previousHash"))
        let stored = try text("hash")
        guard entry.hash == stored else {
            throw AuditLineError(reason: "hash mismatch: stored \(stored), computed \(entry.hash)")
        }
        return entry
    }

    /// The entry for the API, members in the contract's order.
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("seq", Int64(seq))
        writer.member("time", time)
        writer.member("actor", actor)
        writer.member("role", role)
        writer.member("action", action)
        writer.member("target", target)
        writer.key("detail")
        writer.canonical(detail)
        if let operation { writer.member("operation", Int64(operation)) }
        writer.member("hash", hash)
        writer.member("previousHash", previousHash)
        writer.endObject()
    }
}

/// Why one journal line is not a good entry.
struct AuditLineError: Error {
    let reason: String
}

/// An audit detail object built with a writer: `AuditDetail.make { $0.member("id", id) }`.
public enum AuditDetail {
    public static func make(_ build: (inout JSONWriter) -> Void) -> JSONValue {
        var writer = JSONWriter()
        writer.beginObject()
        build(&writer)
        writer.endObject()
        do {
            return try JSONDocument.parse(writer.bytes).root
        } catch {
            preconditionFailure("the JSON writer wrote invalid JSON: \(error)")
        }
    }
}

/// Times in the trail: RFC 3339 in UTC with milliseconds (`2026-12-03T08:00:00.123Z`).
public enum AuditTime {
    public static func format(milliseconds: Int64) -> String {
        precondition(milliseconds >= 0, "times are after 1970")
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(pad(Int32(milliseconds % 1000), 3))Z"
    }

    /// Wall-clock milliseconds since 1970.
    public static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
