/// One thing a durable log record says happened to a member, as the notification outbox reads it back
/// (`LogTail.events`): the record's sequence and the event's index within it make its stable identity, so the same
/// record always yields the same events, whoever reads it and however often.
public struct LedgerEvent: Sendable, Equatable {
    /// `points.earned`, `tier.changed`, … (the operations contract's list).
    public let type: String
    public let sequence: UInt64
    /// The event's place among its record's events, from 0.
    public let index: Int
    /// The record's time (the ledger's clock), milliseconds since 1970, UTC.
    public let timeMs: Int64
    /// The member's key: the keyed hash of its first card (the admin API's member id), also when the record names
    /// another of its cards (a linked, replacing or forwarding card: `WALRecord.Body.member`).
    public let member: CardHash
    /// The card the record names, as a person may see it.
    public let masked: MaskedCard
    /// Integer facts of `data`, in order (`points`, `balance`, `tier`, …).
    public let fields: [Field]
    /// The other card a record names (a replacement's new card), masked; `.none` otherwise.
    public let otherCard: MaskedCard

    public struct Field: Sendable, Equatable {
        public let key: String
        public let value: Int64

        public init(_ key: String, _ value: Int64) {
            self.key = key
            self.value = value
        }
    }

    init(
        type: String, sequence: UInt64, index: Int, timeMs: Int64, member: CardHash, masked: MaskedCard, fields: [Field],
        otherCard: MaskedCard = .none
    ) {
        precondition(sequence >= 1 && index >= 0 && index < LedgerEvent.perRecordMax, "an event of a record")
        self.type = type
        self.sequence = sequence
        self.index = index
        self.timeMs = timeMs
        self.member = member
        self.masked = masked
        self.fields = fields
        self.otherCard = otherCard
    }

    /// Events one record yields at most (a purchase: earned, tier changed, offer, four bonuses).
    public static let perRecordMax = 16

    /// `data[key]`, if the event has it.
    public func value(_ key: String) -> Int64? { fields.first { $0.key == key }?.value }
}
