import AdminAccess
import HTTP
import Ledger

/// `POST /v1/gift-cards {"pan", "amountMinor", "currency"}` (operator, admin): 201 a gift card holding stored
/// value in its own currency (a member of its own is enrolled with it); 409 when the card is in use.
final class IssueGiftCardHandler: AdminLedgerHandler, HTTPHandler, @unchecked Sendable {

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            case (let user, let body, let idempotent)? = gate.beginChange(
                request, responder, roles: [.admin, .operator], action: "issue gift cards")
        else {
            return
        }
        do throws(HTTPProblem) {
            var fields = try JSONFields(try body.get())
            guard let card = try AdminCardJSON.pan(&fields, "pan") else { throw fields.missing("pan") }
            guard let amount = try fields.integer("amountMinor", range: 1...giftBalanceMaxMinor) else {
                throw fields.missing("amountMinor")
            }
            guard let currencyText = try fields.string("currency", lengthMax: 3) else { throw fields.missing("currency") }
            try fields.finish()
            let currency = try AdminGiftCardJSON.currency(currencyText)
            precondition(
                (1...999).contains(currency) && (1...giftBalanceMaxMinor).contains(amount), "a checked gift card")
            let hash = door.ledger.cardHash(of: card)
            let request = LedgerRequest(
                tag: 0, key: .zero, digest: ContentDigest(high: 0, low: 0), card: card,
                operation: .issueGift(amountMinor: amount, currencyCode: currency))
            AdminLedgerWrite(door: door, user: user, idempotent: idempotent).run(
                request, reason: 0, change: .issueGift(amountMinor: amount, currencyCode: currency),
                answer: { reply in AdminGiftCardJSON.answer(201, hash: hash, reply) },
                refusal: { status in
                    switch status {
                    case .notPermitted, .cardBlocked:
                        HTTPProblem(.conflict, detail: "$.pan: card \(card.masked) is already in use")
                    default:
                        HTTPProblem(.unprocessableContent, detail: "$.amountMinor: the ledger refused it (\(status))")
                    }
                })
        } catch {
            idempotent.refuse(error)
        }
    }
}

/// `POST /v1/gift-cards/{id}/load {"amountMinor"}` (operator, admin): 200 value added; 422 when the card's value
/// would pass `giftBalanceMaxMinor`, 404 for an id that is not a gift card, 409 for a blocked or replaced card.
final class LoadGiftCardHandler: AdminLedgerHandler, HTTPHandler, @unchecked Sendable {

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            case (let user, let body, let idempotent)? = gate.beginChange(
                request, responder, roles: [.admin, .operator], action: "load gift cards")
        else {
            return
        }
        let id = String(decoding: request.parameter(0), as: UTF8.self)
        do throws(HTTPProblem) {
            var fields = try JSONFields(try body.get())
            guard let amount = try fields.integer("amountMinor", range: 1...giftBalanceMaxMinor) else {
                throw fields.missing("amountMinor")
            }
            try fields.finish()
            guard let hash = AdminIdentifier.hash(id, prefix: "crd_") else {
                throw HTTPProblem(.notFound, detail: "no gift card \(id)")
            }
            precondition((1...giftBalanceMaxMinor).contains(amount), "a checked load")
            assert(AdminIdentifier.card(hash) == id, "a card id names its hash")
            AdminLedgerWrite(door: door, user: user, idempotent: idempotent).run(
                AdminLedger.request(cardHash: hash, operation: .loadGift(amountMinor: amount)),
                reason: 0, change: .loadGift(amountMinor: amount),
                answer: { reply in AdminGiftCardJSON.answer(200, hash: hash, reply) },
                refusal: { status in
                    switch status {
                    case .unknownCard: HTTPProblem(.notFound, detail: "no gift card \(id)")
                    case .cardBlocked: HTTPProblem(.conflict, detail: "gift card \(id) is blocked or replaced")
                    default:
                        HTTPProblem(
                            .unprocessableContent,
                            detail: "$.amountMinor: the card would hold more than \(giftBalanceMaxMinor) (the most one "
                                + "gift card may hold)")
                    }
                })
        } catch {
            idempotent.refuse(error)
        }
    }
}

/// What gift cards look like in answers.
enum AdminGiftCardJSON {
    /// A currency as field 49 carries it: three digits, ISO 4217 numeric, not "000".
    static func currency(_ text: String) throws(HTTPProblem) -> UInt16 {
        guard text.utf8.count == 3, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let code = UInt16(text),
            code != 0
        else {
            throw HTTPProblem(
                .unprocessableContent, detail: "$.currency: must be an ISO 4217 numeric code of three digits")
        }
        precondition(code >= 1 && code <= 999, "a currency is three digits, not 000")
        return code
    }

    static func currencyText(_ code: UInt16) -> String {
        precondition(code <= 999, "a gift card's currency is three digits")
        let digits = String(code)
        let text = String(repeating: "0", count: 3 - digits.count) + digits
        precondition(text.utf8.count == 3, "a currency is written in three digits")
        return text
    }

    /// `{"id", "masked", "kind": "gift", "memberId", "currency", "balanceMinor"}`.
    static func answer(_ status: Int, hash: CardHash, _ reply: LedgerReply) -> RememberedAnswer {
        precondition(reply.status.isApproval, "only an approved change is answered with the card")
        precondition(reply.gift.map { $0.balanceMinor >= 0 } ?? true, "a gift card never holds less than nothing")
        return AdminCardJSON.answer(status) { json in
            json.beginObject()
            json.member("id", AdminIdentifier.card(hash))
            json.member("masked", reply.card.description)
            json.member("kind", "gift")
            json.member("memberId", AdminIdentifier.member(hash))
            if let gift = reply.gift {
                json.member("currency", currencyText(gift.currencyCode))
                json.member("balanceMinor", gift.balanceMinor)
            }
            json.endObject()
        }
    }
}
