import Glibc
import HTTP

/// One event as one webhook receives it: the exact JSON body and its signature, made once when the event enters
/// the webhook's window and sent as is on every try (the id and the body never change between tries).
struct DeliveryPayload: Sendable {
    let position: UInt64
    let eventId: String
    let eventType: String
    let memberId: String
    let body: [UInt8]
    /// `sha256=` and the HMAC-SHA256 of `body` in hex.
    let signature: String

    init(_ sourced: SourcedEvent, webhook: WebhookConfiguration) {
        let event = sourced.event
        position = sourced.position
        eventId = event.id
        eventType = event.type
        memberId = event.memberId
        body = Self.body(event, text: NotificationTemplates.render(event, language: webhook.language))
        signature = "sha256=" + HMACSHA256.hex(key: webhook.secret, message: body)
    }

    /// A payload read back from the dead-letter records (the body as it was sent).
    init(position: UInt64, eventId: String, eventType: String, memberId: String, body: [UInt8], secret: [UInt8]) {
        self.position = position
        self.eventId = eventId
        self.eventType = eventType
        self.memberId = memberId
        self.body = body
        signature = "sha256=" + HMACSHA256.hex(key: secret, message: body)
    }

    /// `{"id","type","time","memberId","card","data":{...,"text"}}`; `time` in RFC 3339 UTC with milliseconds.
    static func body(_ event: NotificationEvent, text: String) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.member("id", event.id)
        json.member("type", event.type)
        json.member("time", UTCText.rfc3339(milliseconds: event.timeMs))
        json.member("memberId", event.memberId)
        json.member("card", event.card)
        json.key("data")
        json.beginObject()
        for field in event.data {
            switch field.value {
            case .integer(let number): json.member(field.key, number)
            case .string(let value): json.member(field.key, value)
            }
        }
        json.member("text", text)
        json.endObject()
        json.endObject()
        precondition(json.isComplete, "an event body is one JSON object")
        return json.bytes
    }
}

/// RFC 3339 in UTC from milliseconds since 1970, by the C library's `gmtime_r` (the ledger's `UTCTime` does the
/// same for its own records; this module does not import the ledger).
enum UTCText {
    static func rfc3339(milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
        let millisecond = Int(milliseconds - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millisecond), 3))Z"
    }
}
