import AdminAccess
import HTTP
import Ledger

/// `POST /v1/cards {"pan", "memberId", "kind": "loyalty" | "bank"}` (operator, admin): 201 the new card, another
/// card of the member (one member, several cards: terminal requests on either earn and redeem on the member's one
/// account). 409 when the card is in use; 404 for an unknown member. The ledger keeps the card's kind: lookups and
/// member reads show it.
///
/// The link is a ledger command (`attach`) on the member's shard, keyed by the admin operation like every admin
/// change, so it is applied exactly once; a terminal auto-enrolling the same card at the same moment is ordered
/// by that shard before or after it: one of the two wins, and the other is a 409 (or the terminal's purchase
/// lands on the linked member), never two accounts. A card whose hash places it on another ledger shard also gets
/// a forwarding record there, written as the second half of a transfer (the answer waits for it): that shard
/// hands the card's terminal requests to the member's shard (Ledger/ShardState+Forwarding.swift).
final class LinkCardHandler: AdminLedgerHandler, HTTPHandler, @unchecked Sendable {

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            case (let user, let body, let idempotent)? = gate.beginChange(
                request, responder, roles: [.admin, .operator], action: "link cards")
        else {
            return
        }
        do throws(HTTPProblem) {
            let (card, memberId, kindName) = try Self.read(try body.get())
            let kind: CardKind = kindName == "bank" ? .bank : .loyalty
            guard let memberHash = AdminIdentifier.hash(memberId, prefix: "mbr_") else {
                throw HTTPProblem(.notFound, detail: "$.memberId: no member \(memberId)")
            }
            let newHash = door.ledger.cardHash(of: card)
            let masked = card.masked
            precondition(kindName == "bank" || kindName == "loyalty", "a checked card kind")
            assert(AdminIdentifier.member(memberHash) == memberId, "a member id names its hash")
            AdminLedgerWrite(door: door, user: user, idempotent: idempotent).run(
                AdminLedger.request(cardHash: memberHash, operation: .link(newCard: card, kind: kind)), reason: 0,
                change: .link(newCard: newHash, newMasked: masked),
                answer: { _ in
                    AdminCardJSON.answer(201) { json in
                        AdminCardJSON.card(
                            id: AdminIdentifier.card(newHash), masked: masked, status: "active", memberId: memberId,
                            kind: kindName, to: &json)
                    }
                },
                refusal: { status in
                    switch status {
                    case .unknownCard: HTTPProblem(.notFound, detail: "$.memberId: no member \(memberId)")
                    case .notPermitted: HTTPProblem(.conflict, detail: "$.pan: card \(masked) is in use")
                    default: HTTPProblem(.conflict, detail: "$.pan: card \(masked) cannot be linked (\(status))")
                    }
                })
        } catch {
            idempotent.refuse(error)
        }
    }

    static func read(_ body: JSONValue) throws(HTTPProblem) -> (CardNumber, String, String) {
        var fields = try JSONFields(body)
        guard let card = try AdminCardJSON.pan(&fields, "pan") else { throw fields.missing("pan") }
        guard let memberId = try fields.string("memberId", lengthMax: 64) else { throw fields.missing("memberId") }
        guard let kind = try fields.string("kind", lengthMax: 16) else { throw fields.missing("kind") }
        try fields.finish()
        guard kind == "loyalty" || kind == "bank" else {
            throw HTTPProblem(.unprocessableContent, detail: "$.kind: must be one of loyalty, bank")
        }
        precondition(!memberId.isEmpty && (kind == "loyalty" || kind == "bank"), "a checked link")
        return (card, memberId, kind)
    }
}
