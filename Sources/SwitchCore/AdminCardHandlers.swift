import AdminAccess
import HTTP
import Ledger

/// What members and cards look like in answers: ids, masked numbers, statuses; never a full card number.
enum AdminCardJSON {
    static func status(_ status: CardInspection.Status) -> String {
        switch status {
        case .active: "active"
        case .blocked: "blocked"
        case .replaced: "replaced"
        }
    }

    /// The card's kind as the ledger keeps it; a gift card's member holds gift cards only.
    static func kind(_ kind: CardKind, isGift: Bool) -> String {
        if isGift { return "gift" }
        switch kind {
        case .loyalty: return "loyalty"
        case .bank: return "bank"
        }
    }

    /// `{"id", "masked", "status", "kind", "memberId"?}` (the member where the answer knows it).
    static func card(
        id: String, masked: MaskedCard, status: String, memberId: String?, kind: String = "loyalty",
        to json: inout JSONWriter
    ) {
        precondition(id.hasPrefix("crd_") && id.utf8.count == 36, "a card is named by its id")
        precondition(
            memberId.map { $0.hasPrefix("mbr_") && $0.utf8.count == 36 } ?? true, "a member is named by its id")
        json.beginObject()
        json.member("id", id)
        json.member("masked", masked.description)
        json.member("status", status)
        json.member("kind", kind)
        if let memberId { json.member("memberId", memberId) }
        json.endObject()
    }

    /// The card number at `key`, 400 when missing or not a string, 422 when not 10...19 digits.
    static func pan(_ fields: inout JSONFields, _ key: String) throws(HTTPProblem) -> CardNumber? {
        guard let text = try fields.string(key, lengthMax: 64) else { return nil }
        guard let card = CardNumber(text) else {
            throw HTTPProblem(
                .unprocessableContent,
                detail: "\(fields.path).\(key): must be a card number of \(CardNumber.digitCountMin)..."
                    + "\(CardNumber.digitCountMax) digits")
        }
        precondition(text.utf8.count >= CardNumber.digitCountMin, "a card number has its digits")
        return card
    }

    static func answer(_ status: Int, _ build: (inout JSONWriter) -> Void) -> RememberedAnswer {
        precondition((200...299).contains(status), "a change is answered 2xx")
        var writer = JSONWriter()
        build(&writer)
        precondition(!writer.bytes.isEmpty, "an answer has a JSON body")
        return RememberedAnswer(status: status, contentType: "application/json", body: writer.bytes)
    }
}

/// `POST /v1/cards/lookup {"pan"}` (operator, admin): 200 `{"card": {...}}`; 404 for a card the ledger does not
/// know. A `POST` so that the card number travels in the body, never in a path or a log line.
final class CardLookupHandler: AdminLedgerHandler, HTTPHandler, @unchecked Sendable {

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard gate.authorize(request, responder, roles: [.admin, .operator], action: "look up cards") != nil else {
            return
        }
        let card: CardNumber
        do throws(HTTPProblem) {
            var fields = try JSONFields(try request.jsonBody())
            guard let pan = try AdminCardJSON.pan(&fields, "pan") else { throw fields.missing("pan") }
            try fields.finish()
            card = pan
        } catch {
            responder.respond(problem: error)
            return
        }
        let hash = door.ledger.cardHash(of: card)
        AdminLedgerRead.inspect(door, cardHash: hash, responder: responder) { inspection, responder in
            guard let inspection else {
                responder.respond(problem: HTTPProblem(.notFound, detail: "no card \(card.masked) in the ledger"))
                return
            }
            let memberHash = inspection.memberCards.first?.hash ?? hash
            responder.respondJSON(.ok) { json in
                json.beginObject()
                json.key("card")
                AdminCardJSON.card(
                    id: AdminIdentifier.card(hash), masked: inspection.masked,
                    status: AdminCardJSON.status(inspection.status), memberId: AdminIdentifier.member(memberHash),
                    kind: AdminCardJSON.kind(inspection.kind, isGift: inspection.gift != nil), to: &json)
                json.endObject()
            }
        }
    }
}

/// `POST /v1/cards/{id}/block {"reason"}` (operator, admin): 200 the card, status `blocked`; from then on every
/// terminal request on it is answered 62. Blocking a blocked card changes nothing and answers the same; a
/// replaced card is 409.
final class BlockCardHandler: AdminLedgerHandler, HTTPHandler, @unchecked Sendable {

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            case (let user, let body, let idempotent)? = gate.beginChange(
                request, responder, roles: [.admin, .operator], action: "block cards")
        else {
            return
        }
        let id = String(decoding: request.parameter(0), as: UTF8.self)
        do throws(HTTPProblem) {
            var fields = try JSONFields(try body.get())
            guard let reason = try fields.string("reason", lengthMax: 16) else { throw fields.missing("reason") }
            try fields.finish()
            guard let code = AdminAuditText.blockReasons.firstIndex(of: reason) else {
                let names = AdminAuditText.blockReasons.joined(separator: ", ")
                throw HTTPProblem(.unprocessableContent, detail: "$.reason: must be one of \(names)")
            }
            guard let hash = AdminIdentifier.hash(id, prefix: "crd_") else {
                throw HTTPProblem(.notFound, detail: "no card \(id)")
            }
            precondition(code >= 0 && code < AdminAuditText.blockReasons.count, "a block reason the trail can name")
            assert(AdminIdentifier.card(hash) == id, "a card id names its hash")
            AdminLedgerWrite(door: door, user: user, idempotent: idempotent).run(
                AdminLedger.request(cardHash: hash, operation: .block), reason: UInt8(code + 1), change: .block,
                answer: { reply in
                    AdminCardJSON.answer(200) { json in
                        AdminCardJSON.card(
                            id: id, masked: reply.card, status: "blocked", memberId: nil, to: &json)
                    }
                },
                refusal: { status in
                    switch status {
                    case .unknownCard: HTTPProblem(.notFound, detail: "no card \(id)")
                    default: HTTPProblem(.conflict, detail: "card \(id) was replaced; block its new card")
                    }
                })
        } catch {
            idempotent.refuse(error)
        }
    }
}

/// `POST /v1/cards/{id}/replace {"newPan"}` (operator, admin): 200 `{"old", "new"}`; the new card joins the same
/// member (balances, lots, holds, tier, history and its id stay: the ledger's `reissue`; a new card of another shard
/// forwards to the member's); the old card answers 62 at terminals. 409 when the new card is in use or the old one
/// was replaced already.
final class ReplaceCardHandler: AdminLedgerHandler, HTTPHandler, @unchecked Sendable {

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            case (let user, let body, let idempotent)? = gate.beginChange(
                request, responder, roles: [.admin, .operator], action: "replace cards")
        else {
            return
        }
        let id = String(decoding: request.parameter(0), as: UTF8.self)
        do throws(HTTPProblem) {
            var fields = try JSONFields(try body.get())
            guard let newCard = try AdminCardJSON.pan(&fields, "newPan") else { throw fields.missing("newPan") }
            try fields.finish()
            guard let hash = AdminIdentifier.hash(id, prefix: "crd_") else {
                throw HTTPProblem(.notFound, detail: "no card \(id)")
            }
            let newHash = door.ledger.cardHash(of: newCard)
            let newMasked = newCard.masked
            assert(AdminIdentifier.card(hash) == id, "a card id names its hash")
            let write = AdminLedgerWrite(door: door, user: user, idempotent: idempotent)
            // The new card is checked first for a clear 409 before anything moves; a card enrolled between the
            // check and the replace is declined by the ledger itself (`transferInNewCard`), never merged into.
            let ledger = door.ledger
            door.submit(AdminLedger.request(cardHash: newHash, operation: .inspect)) { reply in
                if reply.status == .approved { _ = ledger.takeInspection(tag: reply.tag) }
                guard reply.status == .unknownCard else {
                    idempotent.refuse(
                        AdminLedgerWrite.problem(reply.status) { _ in
                            HTTPProblem(.conflict, detail: "card \(newMasked) is in use; replace onto a new card")
                        })
                    return
                }
                precondition(reply.status == .unknownCard, "a card is replaced only onto a card nobody holds")
                Self.replace(write, id: id, hash: hash, newCard: newCard, newHash: newHash)
            }
        } catch {
            idempotent.refuse(error)
        }
    }

    static func replace(_ write: AdminLedgerWrite, id: String, hash: CardHash, newCard: CardNumber, newHash: CardHash) {
        let newId = AdminIdentifier.card(newHash)
        let newMasked = newCard.masked
        precondition(newId != id, "a card is replaced by another card")
        write.run(
            AdminLedger.request(cardHash: hash, operation: .reissue(newCard: newCard)), reason: 0,
            change: .replace(newCard: newHash, newMasked: newMasked),
            // A repeat after a crash would meet the new card in use at the check above, never the ledger's replay.
            auditBeforeAnswer: true,
            answer: { reply in
                AdminCardJSON.answer(200) { json in
                    json.beginObject()
                    json.key("old")
                    AdminCardJSON.card(id: id, masked: reply.card, status: "replaced", memberId: nil, to: &json)
                    json.key("new")
                    AdminCardJSON.card(id: newId, masked: newMasked, status: "active", memberId: nil, to: &json)
                    json.endObject()
                }
            },
            refusal: { status in
                switch status {
                case .unknownCard: HTTPProblem(.notFound, detail: "no card \(id)")
                case .cardBlocked, .notPermitted:
                    HTTPProblem(
                        .conflict,
                        detail: "card \(id) cannot be replaced by \(newMasked): the new card is in use, or the old "
                            + "one was replaced already")
                default: HTTPProblem(.conflict, detail: "card \(id) cannot be replaced (\(status))")
                }
            })
    }
}
