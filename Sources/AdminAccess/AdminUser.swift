import HTTP

/// What a user may do (operations-v1, "Authentication and roles").
public enum AdminRole: String, Sendable, CaseIterable {
    /// Everything, including users.
    case admin
    /// Members, cards, gift cards, adjustments, events, lottery entries, imports, reports.
    case `operator`
    /// Read-only, including the audit trail; no PAN lookups.
    case auditor
    /// Read-only reports and members' purchases at its own merchant ids.
    case merchant
}

/// A user of the admin API. The token is not here: only its hash is kept, by `AccessControl`.
public struct AdminUser: Sendable, Equatable {
    public let id: String
    public let name: String
    public let role: AdminRole
    /// Merchant ids (field 42 values) a `merchant` user sees; empty for other roles.
    public let merchants: [String]
    /// RFC 3339 UTC, when the creation was journaled.
    public let created: String

    public init(id: String, name: String, role: AdminRole, merchants: [String], created: String) {
        self.id = id
        self.name = name
        self.role = role
        self.merchants = merchants
        self.created = created
    }

    /// Limits of the fields, checked by the API (422 over them) and again when the journal is read back.
    public static let nameLengthMax = 100
    public static let merchantsMax = 100
    /// Field 42 (card acceptor identification code) is 15 characters.
    public static let merchantLengthMax = 15
}

extension AdminUser {
    /// `"id", "name", "role", "merchants"` into the open object: what the API shows and `users.create` records.
    public func writeFields(to json: inout JSONWriter) {
        json.member("id", id)
        json.member("name", name)
        json.member("role", role.rawValue)
        json.key("merchants")
        json.beginArray()
        for merchant in merchants { json.string(merchant) }
        json.endArray()
    }
}

/// Tokens: `lsk_` and 64 hexadecimal digits (256 random bits), shown once. Only SHA-256 of the token is kept, so
/// a copy of the data directory lets nobody log in.
public enum AccessToken {
    public static let prefix = "lsk_"
    public static let randomBytes = 32

    /// A new token from the system's CSPRNG.
    public static func generate() -> String {
        prefix + AccessCrypto.hex(AccessCrypto.randomBytes(randomBytes))
    }

    /// SHA-256 of the token's bytes, as kept.
    public static func hash(_ token: UnsafeRawBufferPointer) -> [UInt8] { AccessCrypto.sha256(token) }

    public static func hash(_ token: String) -> [UInt8] { Array(token.utf8).withUnsafeBytes { hash($0) } }

    /// The first characters of a token, enough to tell tokens apart in a message and too few to use.
    public static func redacted(_ token: String) -> String { String(token.prefix(prefix.count + 4)) + "…" }
}
