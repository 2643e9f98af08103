import AdminAccess
import HTTP
import Ledger

/// `POST /v1/cards {"pan", "memberId", "kind": "loyalty" | "bank"}` (operator, admin): 201 the new card, another
/// card of the member (one member, several cards: terminal requests on either earn and redeem on the member's one
/// account). 409 when the card is in use or lives on another ledger shard than the member (linking across shards
/// is not built: with the default single shard every card links); 404 for an unknown member.
///
/// The link is a ledger command (`link`) on the member's shard, keyed by the admin operation like every admin
/// change, so it is applied exactly once; a terminal auto-enrolling the same card at the same moment is ordered
/// by that shard before or after it: one of the two wins, and the other is a 409 (or the terminal's purchase
/// lands on the linked member), never two accounts. The ledger does not keep the card's kind yet: the answer
/// echoes it, lookups show `loyalty`.
final class LinkCardHandler: AdminLedgerHandler, HTTPHandler, @unchecked Sendable {

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            case (let user, let body, let idempotent)? = gate.beginChange(
                request, responder, roles: [.admin, .operator], action: "link cards")
        else {
            return
        }
        do throws(HTTPProblem) {
            let (card, memberId, kind) = try Self.read(try body.get())
            guard let memberHash = AdminIdentifier.hash(memberId, prefix: "mbr_") else {
                throw HTTPProblem(.notFound, detail: "$.memberId: no member \(memberId)")
            }
            let newHash = door.ledger.cardHash(of: card)
            let masked = card.masked
            AdminLedgerWrite(door: door, user: user, idempotent: idempotent).run(
                AdminLedger.request(cardHash: memberHash, operation: .link(newCard: card)), reason: 0,
                change: .link(newCard: newHash, newMasked: masked),
                answer: { _ in
                    AdminCardJSON.answer(201) { json in
                        AdminCardJSON.card(
                            id: AdminIdentifier.card(newHash), masked: masked, status: "active", memberId: memberId,
                            kind: kind, to: &json)
                    }
                },
                refusal: { status in
                    switch status {
                    case .unknownCard: HTTPProblem(.notFound, detail: "$.memberId: no member \(memberId)")
                    case .notPermitted: HTTPProblem(.conflict, detail: "$.pan: card \(masked) is in use")
                    case .declined:
                        HTTPProblem(
                            .conflict,
                            detail: "$.pan: card \(masked) lives on another ledger shard than the member; linking "
                                + "across shards is not built yet")
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
        return (card, memberId, kind)
    }
}
