import Ledger

/// What a report needs from outside the ledger's books, handed in so this module stays one concern: how ids are
/// spelled, the rules' names for merchants, and the member directory's texts.
public struct ReportContext: Sendable {
    /// The member id as the admin API spells it (`mbr_` and the hash).
    public var memberId: @Sendable (CardHash) -> String
    /// A merchant tag's id in the rules in force (nil: unknown, printed as `tag:HEX`).
    public var merchantName: @Sendable (UInt32) -> String?
    /// A member's name and phone from the directory (nil: none known or no directory read).
    public var memberTexts: @Sendable (CardHash) -> (name: String?, phone: String?)?

    public init(
        memberId: @escaping @Sendable (CardHash) -> String,
        merchantName: @escaping @Sendable (UInt32) -> String? = { _ in nil },
        memberTexts: @escaping @Sendable (CardHash) -> (name: String?, phone: String?)? = { _ in nil }
    ) {
        self.memberId = memberId
        self.merchantName = merchantName
        self.memberTexts = memberTexts
    }
}
