import AdminAccess
import HTTP
import Ledger

/// `POST /v1/members {"pan", "name"?, "phone"?, "birthday"?, "referrerPan"?}` (operator, admin): 201 the member
/// as `GET` shows it; 409 when the card already belongs to a member or the member directory is full. The birthday's
/// month and day and the referrer are the ledger's (`.profile`, for rewards); the name, phone and birthday as
/// entered are the member directory's (`AccessControl.reserveMember`), durable with the audit entry.
/// The referrer is recorded as given, not checked (it may live on another shard: an unknown one earns nothing later).
final class EnrolMemberHandler: AdminLedgerHandler, HTTPHandler, @unchecked Sendable {

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            case (let user, let body, let idempotent)? = gate.beginChange(
                request, responder, roles: [.admin, .operator], action: "enrol members")
        else {
            return
        }
        do throws(HTTPProblem) {
            let (card, profile, texts) = try Self.read(try body.get())
            let hash = door.ledger.cardHash(of: card)
            let memberId = AdminIdentifier.member(hash)
            let cardId = AdminIdentifier.card(hash)
            precondition(memberId.dropFirst(4) == cardId.dropFirst(4), "a member is named by its first card's hash")
            let request = LedgerRequest(
                tag: 0, key: .zero, digest: ContentDigest(high: 0, low: 0), card: card, operation: .profile(profile))
            if !texts.isEmpty { try door.access.reserveMember() }
            AdminLedgerWrite(door: door, user: user, idempotent: idempotent).run(
                request, reason: 0, change: .enrol,
                member: texts.isEmpty ? nil : (AdminIdentifier.memberKey(hash), texts),
                answer: { reply in
                    AdminCardJSON.answer(201) { json in
                        AdminMemberJSON.write(
                            id: memberId, balance: reply.balance, available: reply.available, tier: 0,
                            cards: [(cardId, reply.card, "active", "loyalty")], profile: texts, stats: nil, to: &json)
                    }
                },
                refusal: { status in
                    switch status {
                    case .notPermitted, .cardBlocked:
                        HTTPProblem(.conflict, detail: "card \(card.masked) already belongs to a member")
                    case .unknownCard: HTTPProblem(.unprocessableContent, detail: "$.referrerPan: no such member")
                    default:
                        HTTPProblem(.unprocessableContent, detail: "$: the ledger refused the enrolment (\(status))")
                    }
                })
        } catch {
            idempotent.refuse(error)
        }
    }

    static func read(_ body: JSONValue) throws(HTTPProblem) -> (CardNumber, MemberProfile, MemberTexts) {
        var fields = try JSONFields(body)
        guard let card = try AdminCardJSON.pan(&fields, "pan") else { throw fields.missing("pan") }
        var texts = MemberTexts()
        texts.name = try fields.string("name", lengthMax: MemberTexts.nameCharactersMax)
        if let name = texts.name, let problem = MemberTexts.nameProblem(name) {
            throw HTTPProblem(.unprocessableContent, detail: "$.name: \(problem)")
        }
        texts.phone = try fields.string("phone", lengthMax: MemberTexts.phoneDigits.upperBound + 1)
        if let phone = texts.phone, let problem = MemberTexts.phoneProblem(phone) {
            throw HTTPProblem(.unprocessableContent, detail: "$.phone: \(problem)")
        }
        var profile = MemberProfile()
        let birthday = try fields.string("birthday", lengthMax: 10)
        if let birthday {
            let parts = birthday.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
                let month = UInt8(parts[1]), let day = UInt8(parts[2]), Int(parts[0]) != nil,
                (1...12).contains(month), (1...31).contains(day)
            else {
                throw HTTPProblem(.unprocessableContent, detail: "$.birthday: must be a date YYYY-MM-DD")
            }
            profile.birthMonth = month
            profile.birthDay = day
        }
        texts.birthday = birthday
        profile.referrer = try AdminCardJSON.pan(&fields, "referrerPan")
        try fields.finish()
        precondition((profile.birthMonth == 0) == (birthday == nil), "a birthday sets a month and a day")
        precondition(profile.birthMonth <= 12 && profile.birthDay <= 31, "a checked month and day")
        return (card, profile, texts)
    }
}

/// `GET /v1/members/{id}` (operator, auditor, admin, merchant): the member as the ledger knows it, read on its
/// shard, with its directory texts under `profile`. A merchant user sees the member without the profile (no
/// name, phone or birthday) and without stats: the ledger counts a member's purchases over all merchants, not
/// per merchant, and the contract gives a merchant only its own merchants' purchases.
final class MemberHandler: AdminLedgerHandler, HTTPHandler, @unchecked Sendable {

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            let user = gate.authorize(
                request, responder, roles: [.admin, .operator, .auditor, .merchant], action: "read members")
        else { return }
        let isMerchant = user.role == .merchant
        let id = String(decoding: request.parameter(0), as: UTF8.self)
        guard let hash = AdminIdentifier.hash(id, prefix: "mbr_") else {
            responder.respond(problem: HTTPProblem(.notFound, detail: "no member \(id)"))
            return
        }
        let texts = isMerchant ? nil : door.access.memberTexts(AdminIdentifier.memberKey(hash))
        AdminLedgerRead.inspect(door, cardHash: hash, responder: responder) { inspection, responder in
            guard let inspection else {
                responder.respond(problem: HTTPProblem(.notFound, detail: "no member \(id)"))
                return
            }
            assert(AdminIdentifier.member(hash) == id, "a member id names its hash")
            let cards = inspection.memberCards.map {
                (
                    AdminIdentifier.card($0.hash), $0.masked, AdminCardJSON.status($0.status),
                    AdminCardJSON.kind($0.kind, isGift: inspection.gift != nil)
                )
            }
            responder.respondJSON(.ok) { json in
                AdminMemberJSON.write(
                    id: id, balance: inspection.balance, available: inspection.available, tier: inspection.tier,
                    cards: cards, profile: texts, stats: isMerchant ? nil : inspection, withStats: !isMerchant,
                    to: &json)
            }
        }
    }
}

/// `POST /v1/members/{id}/adjustments {"asset", "amount", "reason"}` (operator up to
/// `admin.operatorAdjustmentMax` per request, admin unlimited): 201 the movement; 409 when it would make the
/// available balance negative.
final class AdjustmentHandler: HTTPHandler {
    let gate: AdminGate
    let door: AdminLedger
    let operatorMax: Int64

    init(gate: AdminGate, door: AdminLedger, operatorMax: Int64) {
        self.gate = gate
        self.door = door
        self.operatorMax = operatorMax
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            case (let user, let body, let idempotent)? = gate.beginChange(
                request, responder, roles: [.admin, .operator], action: "adjust balances")
        else {
            return
        }
        let id = String(decoding: request.parameter(0), as: UTF8.self)
        do throws(HTTPProblem) {
            let (asset, amount, reason, note) = try Self.read(try body.get())
            guard user.role == .admin || amount.magnitude <= operatorMax.magnitude else {
                throw HTTPProblem(
                    .forbidden,
                    detail: "$.amount: an operator may adjust at most \(operatorMax) per request "
                        + "(admin.operatorAdjustmentMax); larger adjustments need the admin role")
            }
            guard let hash = AdminIdentifier.hash(id, prefix: "mbr_") else {
                throw HTTPProblem(.notFound, detail: "no member \(id)")
            }
            precondition(
                amount != 0 && (user.role == .admin || amount.magnitude <= operatorMax.magnitude),
                "a checked adjustment")
            precondition(
                reason >= 1 && Int(reason) <= AdminAuditText.adjustmentReasons.count, "a reason the trail can name")
            let assetName = asset == .points ? "points" : "credit"
            let reasonName = AdminAuditText.adjustmentReasons[Int(reason) - 1]
            AdminLedgerWrite(door: door, user: user, idempotent: idempotent).run(
                AdminLedger.request(cardHash: hash, operation: .adjust(asset: asset, amount: amount)),
                reason: reason, change: .adjust(asset: asset, amount: amount), note: note,
                answer: { reply in
                    AdminCardJSON.answer(201) { json in
                        json.beginObject()
                        json.member("memberId", id)
                        json.member("kind", "adjustment")
                        json.member("asset", assetName)
                        json.member("amount", amount)
                        json.member("balanceAfter", reply.balance[asset])
                        json.member("reason", reasonName)
                        if let note { json.member("note", note) }
                        json.endObject()
                    }
                },
                refusal: { status in
                    switch status {
                    case .unknownCard: HTTPProblem(.notFound, detail: "no member \(id)")
                    case .insufficientFunds:
                        HTTPProblem(
                            .conflict, detail: "$.amount: would make the member's available \(assetName) negative")
                    default:
                        HTTPProblem(.unprocessableContent, detail: "$.amount: the ledger refused it (\(status))")
                    }
                })
        } catch {
            idempotent.refuse(error)
        }
    }

    static func read(_ body: JSONValue) throws(HTTPProblem) -> (Asset, Int64, UInt8, String?) {
        var fields = try JSONFields(body)
        guard let assetName = try fields.string("asset", lengthMax: 16) else { throw fields.missing("asset") }
        guard let amount = try fields.integer("amount", range: -999_999_999_999...999_999_999_999) else {
            throw fields.missing("amount")
        }
        guard let reason = try fields.string("reason", lengthMax: 16) else { throw fields.missing("reason") }
        let note = try fields.string("note", lengthMax: MemberTexts.noteCharactersMax)
        if let note, let problem = MemberTexts.noteProblem(note) {
            throw HTTPProblem(.unprocessableContent, detail: "$.note: \(problem)")
        }
        try fields.finish()
        let asset: Asset
        switch assetName {
        case "points": asset = .points
        case "credit": asset = .credit
        default: throw HTTPProblem(.unprocessableContent, detail: "$.asset: must be one of points, credit")
        }
        guard amount != 0 else { throw HTTPProblem(.unprocessableContent, detail: "$.amount: must not be zero") }
        guard let code = AdminAuditText.adjustmentReasons.firstIndex(of: reason) else {
            let names = AdminAuditText.adjustmentReasons.joined(separator: ", ")
            throw HTTPProblem(.unprocessableContent, detail: "$.reason: must be one of \(names)")
        }
        precondition(amount != 0 && amount.magnitude <= 999_999_999_999, "a checked amount")
        return (asset, amount, UInt8(code + 1), note)
    }
}

/// A member as `GET /v1/members/{id}` shows it (and `POST /v1/members` answers).
enum AdminMemberJSON {
    static func write(
        id: String, balance: AssetAmounts, available: AssetAmounts, tier: UInt8,
        cards: [(String, MaskedCard, String, String)], profile: MemberTexts?, stats: CardInspection?,
        withStats: Bool = true, to json: inout JSONWriter
    ) {
        precondition(id.hasPrefix("mbr_") && id.utf8.count == 36, "a member is named by its id")
        json.beginObject()
        json.member("id", id)
        json.member("tier", Int64(tier))
        json.key("balances")
        amounts(balance, gift: stats?.gift, to: &json)
        json.key("available")
        amounts(available, gift: stats?.gift, to: &json)
        json.key("cards")
        json.beginArray()
        for (cardId, masked, status, kind) in cards {
            AdminCardJSON.card(id: cardId, masked: masked, status: status, memberId: id, kind: kind, to: &json)
        }
        json.endArray()
        json.key("profile")
        json.beginObject()
        if let name = profile?.name { json.member("name", name) }
        if let phone = profile?.phone { json.member("phone", phone) }
        if let birthday = profile?.birthday { json.member("birthday", birthday) }
        json.endObject()
        if withStats {
            json.key("stats")
            json.beginObject()
            json.member("purchases", stats?.purchases ?? 0)
            json.member("volumeMinor", stats?.volumeMinor ?? 0)
            json.endObject()
        }
        json.endObject()
    }

    /// `gift`: the member's gift card value (balances only: gift value has no holds), 0 without one.
    private static func amounts(_ amounts: AssetAmounts, gift: GiftBalance? = nil, to json: inout JSONWriter) {
        json.beginObject()
        json.member("points", amounts.points)
        json.member("credit", amounts.credit)
        if let gift {
            json.member("giftValue", gift.balanceMinor)
            json.member("giftCurrency", AdminGiftCardJSON.currencyText(gift.currencyCode))
        } else {
            json.member("giftValue", Int64(0))
        }
        json.endObject()
    }
}
