import AdminAccess
import HTTP
import Ledger
import Loyalty
import LoyaltyLedger

/// `POST /v1/events {"id", "type", "memberId" | "pan"}` (operator, admin): an engagement event (a survey, a
/// review, an app install). The rules in force decide the points for `type` within the member's limit per period
/// (docs/loyalty-rules.md, "Engagement"); the ledger books them and keeps the count. 201 with the points awarded,
/// also 0 with `"limited": true` and the reason when the member's limit for the period was reached (the event is
/// recorded and audited, so a repeat is answered alike). `id` is the caller's event id, the ledger key of the
/// change: a repeat changes nothing and gets the same answer, after a restart and a snapshot too, for as long as
/// the ledger remembers keys (`requestKeyRetentionHours`); 409 when the id was used for another type or member.
final class EngagementEventHandler: HTTPHandler {
    /// Event ids are 1...64 visible ASCII characters.
    static let idLengthMax = 64

    let gate: AdminGate
    let door: AdminLedger
    /// The rules' holder (nil for a ledger that decides nothing: every type is then unknown).
    let decider: LoyaltyDecider?

    init(gate: AdminGate, door: AdminLedger, decider: LoyaltyDecider?) {
        self.gate = gate
        self.door = door
        self.decider = decider
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            case (let user, let body, let idempotent)? = gate.beginChange(
                request, responder, roles: [.admin, .operator], action: "record engagement events")
        else {
            return
        }
        do throws(HTTPProblem) {
            let event = try Self.read(try body.get(), ledger: door.ledger)
            guard let rule = decider?.program?.engagementRule(event.type) else {
                throw HTTPProblem(
                    .unprocessableContent, detail: "$.type: the program has no engagement event type \(event.type)")
            }
            submit(event, rule: rule, user: user, idempotent: idempotent)
        } catch {
            idempotent.refuse(error)
        }
    }

    private func submit(_ event: Event, rule: EngagementRule, user: AdminUser, idempotent: IdempotentRequest) {
        precondition(!event.id.isEmpty && event.id.utf8.count <= Self.idLengthMax, "a checked event id")
        precondition((event.card == nil) != (event.memberId == nil), "an event names exactly one of member and card")
        let type = EngagementType(high: event.type.packed.high, low: event.type.packed.low)
        var request = AdminLedger.request(cardHash: event.cardHash, operation: .engage(type: type))
        if let card = event.card {
            request.card = card
            request.cardHash = nil
        }
        precondition(request.cardHash == nil || request.cardHash == event.cardHash, "the event goes to its member")
        let key = door.ledger.eventKey(id: Array(event.id.utf8))
        let digest = ContentDigest(high: type.high ^ event.cardHash.high, low: type.low ^ event.cardHash.low)
        let limit = "\(rule.limitCount) per \(rule.period.rawValue)"
        let (id, typeName, memberId) = (event.id, event.type.description, event.memberId)
        AdminLedgerWrite(door: door, user: user, idempotent: idempotent).run(
            request, reason: 0, change: .engage(type: type, points: 0, limited: false),
            callerKey: (key, digest),
            changeDecided: { reply in
                precondition(reply.credited.points >= 0, "an event awards points, never takes them")
                return .engage(type: type, points: reply.credited.points, limited: reply.status == .partiallyApproved)
            },
            answer: { reply in
                AdminCardJSON.answer(201) { json in
                    json.beginObject()
                    json.member("id", id)
                    json.member("type", typeName)
                    if let memberId { json.member("memberId", memberId) }
                    json.member("card", reply.card.description)
                    json.member("pointsAwarded", reply.credited.points)
                    json.member("balanceAfter", reply.balance.points)
                    json.key("limited")
                    json.boolean(reply.status == .partiallyApproved)
                    if reply.status == .partiallyApproved {
                        json.member("detail", "the member's limit for \(typeName) (\(limit)) was reached: 0 points")
                    }
                    json.endObject()
                }
            },
            refusal: { status in
                switch status {
                case .unknownCard: HTTPProblem(.notFound, detail: "no member \(memberId ?? "with that card")")
                case .keyConflict:
                    HTTPProblem(.conflict, detail: "$.id: event \(id) was recorded for another type or member")
                case .notPermitted:
                    HTTPProblem(
                        .unprocessableContent, detail: "$.type: the program has no engagement event type \(typeName)")
                default:
                    HTTPProblem(.unprocessableContent, detail: "$: the ledger refused the event (\(status))")
                }
            })
    }

    struct Event {
        var id: String
        var type: ShortIdentifier
        var memberId: String?
        var card: CardNumber?
        var cardHash: CardHash
    }

    static func read(_ body: JSONValue, ledger: Ledger) throws(HTTPProblem) -> Event {
        var fields = try JSONFields(body)
        guard let id = try fields.string("id", lengthMax: idLengthMax) else { throw fields.missing("id") }
        guard !id.isEmpty, id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw HTTPProblem(
                .unprocessableContent, detail: "$.id: must be 1...\(idLengthMax) visible ASCII characters")
        }
        guard let typeText = try fields.string("type", lengthMax: 16) else { throw fields.missing("type") }
        guard let type = ShortIdentifier(typeText) else {
            throw HTTPProblem(.unprocessableContent, detail: "$.type: must be 1...16 printable ASCII characters")
        }
        let memberId = try fields.string("memberId", lengthMax: 36)
        let card = try AdminCardJSON.pan(&fields, "pan")
        try fields.finish()
        switch (memberId, card) {
        case (let memberId?, nil):
            guard let hash = AdminIdentifier.hash(memberId, prefix: "mbr_") else {
                throw HTTPProblem(.notFound, detail: "no member \(memberId)")
            }
            precondition(!id.isEmpty && id.utf8.count <= idLengthMax, "a checked event id")
            return Event(id: id, type: type, memberId: memberId, card: nil, cardHash: hash)
        case (nil, let card?):
            return Event(id: id, type: type, memberId: nil, card: card, cardHash: ledger.cardHash(of: card))
        default:
            throw HTTPProblem(.unprocessableContent, detail: "$: give exactly one of memberId and pan")
        }
    }
}
