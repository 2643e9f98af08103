import ISO8583

/// One thing that happened to a member, as a webhook receives it (operations contract, "Member notifications"):
/// `{"id", "type", "time", "memberId", "card", "data": {...}}`. The id is stable (the same event always has the
/// same id, across re-sends and restarts), so a receiver that dedupes by id sees each event once.
public struct NotificationEvent: Sendable, Equatable {
    public let id: String
    /// `points.earned`, `tier.changed`, … (the contract's list; `NotificationTemplates` has a text for each).
    public let type: String
    /// When the change happened, in milliseconds since 1970 (UTC), as the ledger's clock said.
    public let timeMs: Int64
    public let memberId: String
    /// The card as a person may see it: first 6 and last 4 digits at most (`CardNumberMask`), whatever was
    /// handed in, so no payload can carry a full card number.
    public let card: String
    /// Fields of `data`, in order; `data.text` is added per webhook from the template in its language.
    public let data: [EventField]

    public init(id: String, type: String, timeMs: Int64, memberId: String, card: String, data: [EventField]) {
        precondition(!id.isEmpty && !type.isEmpty, "an event has an id and a type")
        // The id travels in a header (X-Loyalty-Event-Id) and in a route's path: letters, digits and `._:-` only.
        precondition(
            id.utf8.count <= 128 && id.utf8.allSatisfy(Self.isIdentifierByte), "an event id is 1...128 safe bytes")
        precondition(!data.contains { $0.key == "text" }, "data.text is the template's, not the source's")
        self.id = id
        self.type = type
        self.timeMs = timeMs
        self.memberId = memberId
        self.card = CardNumberMask.mask(card.utf8)
        self.data = data
    }

    static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || byte == 0x2e || byte == 0x5f
            || byte == 0x3a || byte == 0x2d
    }

    /// The value of `data[key]`, if the event has it.
    public func value(_ key: String) -> EventField.Value? {
        data.first { $0.key == key }?.value
    }
}

/// One member of an event's `data`.
public struct EventField: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case integer(Int64)
        case string(String)
    }

    public let key: String
    public let value: Value

    public init(_ key: String, _ value: Value) {
        self.key = key
        self.value = value
    }

    public init(_ key: String, _ value: Int64) { self.init(key, .integer(value)) }
    public init(_ key: String, _ value: String) { self.init(key, .string(value)) }
}

/// An event and its position in its source: positions grow by one per event, from 1, and never change meaning,
/// so a webhook's durable progress is a position (and the few acknowledged past it).
public struct SourcedEvent: Sendable {
    public let position: UInt64
    public let event: NotificationEvent

    public init(position: UInt64, event: NotificationEvent) {
        precondition(position >= 1, "positions start at 1")
        self.position = position
        self.event = event
    }
}

/// Where events come from: the ledger's write-ahead log read by a tailer (to come), or a test source. Called on
/// the loop thread of the webhook being fed, so it must not block: a source that reads files does that on its
/// own thread and hands over what it has.
public protocol EventSource: AnyObject, Sendable {
    /// Up to `limit` events with positions after `position`, in position order, each position once; fewer (or
    /// none) when no more are available yet.
    func events(after position: UInt64, limit: Int) -> [SourcedEvent]
}
