import AdminAccess
import HTTP
import Ledger

/// What the lottery routes that reach the ledger share: the gate, the door and the lottery book.
class LotteryLedgerHandler: AdminLedgerHandler, @unchecked Sendable {
    let book: LotteryBook

    init(gate: AdminGate, door: AdminLedger, book: LotteryBook) {
        self.book = book
        super.init(gate: gate, door: door)
    }
}

/// `POST /v1/lotteries {"name", "pointsPerEntry", "closesAt"}` (admin): 201 the lottery as `GET` shows it. A
/// definition is an audit entry only (`lotteries.create`, its number the entry's operation id), durable before the
/// answer; 409 at `admin.lotteriesMax`, 422 for a `closesAt` not in the future.
final class CreateLotteryHandler: LotteryLedgerHandler, HTTPHandler, @unchecked Sendable {
    static let nameLengthMax = 100

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            case (let user, let body, let idempotent)? = gate.beginChange(
                request, responder, roles: [.admin], action: "create lotteries")
        else { return }
        do throws(HTTPProblem) {
            var lottery = try Self.read(try body.get())
            guard lottery.closesAtMs > book.clockMs() else {
                throw HTTPProblem(.unprocessableContent, detail: "$.closesAt: must be in the future")
            }
            try book.reserveCreation()
            lottery.number = door.newOperation()
            let answer = AdminCardJSON.answer(201) { LotteryJSON.write(lottery, to: &$0) }
            let (book, created) = (self.book, lottery)
            let answerWhenDurable = idempotent.answerWhenDurable(answer)
            do throws(HTTPProblem) {
                try door.access.appendAudit(
                    [LotteryTrail.createDraft(lottery)], actor: AuditActor(user), operation: lottery.number,
                    claim: idempotent.claim, answer: idempotent.claim == nil ? nil : answer,
                    completion: { failure in
                        book.finishCreation(failure == nil ? created : nil)
                        answerWhenDurable(failure)
                    })
            } catch {
                book.finishCreation(nil)
                throw error
            }
        } catch {
            idempotent.refuse(error)
        }
    }

    static func read(_ body: JSONValue) throws(HTTPProblem) -> LotteryBook.Lottery {
        var fields = try JSONFields(body)
        guard let name = try fields.string("name", lengthMax: nameLengthMax) else { throw fields.missing("name") }
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw HTTPProblem(
                .unprocessableContent, detail: "$.name: must be 1...\(nameLengthMax) characters, no control characters")
        }
        guard let perEntry = try fields.integer("pointsPerEntry", range: 1...1_000_000_000) else {
            throw fields.missing("pointsPerEntry")
        }
        guard let closesText = try fields.string("closesAt", lengthMax: 24) else { throw fields.missing("closesAt") }
        guard let closesAtMs = LotteryTrail.parseTime(closesText) else {
            throw HTTPProblem(
                .unprocessableContent, detail: "$.closesAt: must be an RFC 3339 time in UTC (2026-12-31T20:00:00Z)")
        }
        try fields.finish()
        return LotteryBook.Lottery(number: 0, name: name, pointsPerEntry: perEntry, closesAtMs: closesAtMs)
    }
}

/// `POST /v1/lotteries/{id}/entries {"memberId", "entries"}` (operator, admin): 201 the points debited from the
/// member (ledger kind 21, spent from its lots like a redemption). 409 when its available points are short, when the
/// lottery has closed (checked here, and again by the shard at its own time) or was drawn, or at the entrants'
/// limit; 404 for an unknown lottery or member.
final class LotteryEntryHandler: LotteryLedgerHandler, HTTPHandler, @unchecked Sendable {

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            case (let user, let body, let idempotent)? = gate.beginChange(
                request, responder, roles: [.admin, .operator], action: "buy lottery entries")
        else { return }
        let id = String(decoding: request.parameter(0), as: UTF8.self)
        do throws(HTTPProblem) {
            guard let number = LotteryBook.number(id) else { throw HTTPProblem(.notFound, detail: "no lottery \(id)") }
            var fields = try JSONFields(try body.get())
            guard let memberId = try fields.string("memberId", lengthMax: 36) else { throw fields.missing("memberId") }
            guard let entries = try fields.integer("entries", range: 1...LotteryBook.entriesPerPurchaseMax) else {
                throw fields.missing("entries")
            }
            try fields.finish()
            guard let hash = AdminIdentifier.hash(memberId, prefix: "mbr_") else {
                throw HTTPProblem(.notFound, detail: "no member \(memberId)")
            }
            let (points, closesAtMs) = try book.beginEntry(number, memberId: memberId, entries: entries)
            submit(
                LotteryPurchase(lottery: number, entries: entries, points: points, closesAtMs: closesAtMs),
                memberId: memberId, hash: hash, user: user, idempotent: idempotent)
        } catch {
            idempotent.refuse(error)
        }
    }

    private func submit(
        _ purchase: LotteryPurchase, memberId: String, hash: CardHash, user: AdminUser, idempotent: IdempotentRequest
    ) {
        let book = self.book
        let lotteryId = LotteryBook.id(purchase.lottery)
        let closes = AuditTime.format(milliseconds: purchase.closesAtMs)
        AdminLedgerWrite(door: door, user: user, idempotent: idempotent).run(
            AdminLedger.request(cardHash: hash, operation: .lotteryEntry(purchase)), reason: 0,
            change: .lotteryEntry(lottery: purchase.lottery, entries: purchase.entries, points: purchase.points),
            settled: { counted in
                book.finishEntry(purchase.lottery, memberId: memberId, entries: purchase.entries, counted: counted)
            },
            answer: { reply in
                AdminCardJSON.answer(201) { json in
                    json.beginObject()
                    json.member("lotteryId", lotteryId)
                    json.member("memberId", memberId)
                    json.member("entries", purchase.entries)
                    json.member("points", purchase.points)
                    json.member("balanceAfter", reply.balance.points)
                    json.endObject()
                }
            },
            refusal: { status in
                switch status {
                case .unknownCard: HTTPProblem(.notFound, detail: "no member \(memberId)")
                case .insufficientFunds:
                    HTTPProblem(
                        .conflict,
                        detail: "$.entries: the member's available points are short of the \(purchase.points) they cost")
                case .declined: HTTPProblem(.conflict, detail: "lottery \(lotteryId) closed at \(closes)")
                default: HTTPProblem(.unprocessableContent, detail: "$.entries: the ledger refused them (\(status))")
                }
            })
    }
}

/// `POST /v1/lotteries/{id}/draw {"winners", "seed"?}` (admin): after `closesAt`, once. 200 the lottery with its
/// winners, drawn by `LotteryDraw` (weighted by entries, without replacement) from the given seed or one drawn
/// from RAND_bytes; the seed, algorithm, entrants' digest and winners are recorded (`lotteries.draw`) before the
/// answer, so `loyalty-switch lottery verify` re-runs it. A second draw is 409; 503 while purchases are pending.
final class LotteryDrawHandler: LotteryLedgerHandler, HTTPHandler, @unchecked Sendable {
    /// Random seeds keep to 53 bits, so any JSON reader holds them exactly.
    static let randomSeedBits: UInt64 = (1 << 53) - 1

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            case (let user, let body, let idempotent)? = gate.beginChange(
                request, responder, roles: [.admin], action: "draw lotteries")
        else { return }
        let id = String(decoding: request.parameter(0), as: UTF8.self)
        do throws(HTTPProblem) {
            guard let number = LotteryBook.number(id) else { throw HTTPProblem(.notFound, detail: "no lottery \(id)") }
            var fields = try JSONFields(try body.get())
            guard let winners = try fields.integer("winners", range: 1...Int64(LotteryBook.winnersMax)) else {
                throw fields.missing("winners")
            }
            let given = try fields.integer("seed", range: 0...Int64.max)
            try fields.finish()
            let entrants = try book.beginDraw(number, winners: Int(winners))
            let seed = given.map { UInt64($0) } ?? Self.randomSeed()
            let drawn = LotteryTrail.run(
                entrants, winners: Int(winners), seed: seed, time: AuditTime.format(milliseconds: book.clockMs()))
            record(number, drawn, entrants: entrants, user: user, idempotent: idempotent)
        } catch {
            idempotent.refuse(error)
        }
    }

    private func record(
        _ number: UInt64, _ drawn: LotteryBook.Drawn, entrants: [LotteryDraw.Entrant], user: AdminUser,
        idempotent: IdempotentRequest
    ) {
        let book = self.book
        let entries = entrants.reduce(Int64(0)) { $0 + $1.entries }
        guard var lottery = book.lottery(number) else { preconditionFailure("a lottery being drawn exists") }
        lottery.drawn = drawn
        let answer = AdminCardJSON.answer(200) { [lottery] in LotteryJSON.write(lottery, to: &$0) }
        let answerWhenDurable = idempotent.answerWhenDurable(answer)
        do throws(HTTPProblem) {
            try door.access.appendAudit(
                [LotteryTrail.drawDraft(number, drawn, entrants: entrants.count, entries: entries)],
                actor: AuditActor(user), operation: nil, claim: idempotent.claim,
                answer: idempotent.claim == nil ? nil : answer,
                completion: { failure in
                    book.finishDraw(number, failure == nil ? drawn : nil)
                    answerWhenDurable(failure)
                })
        } catch {
            book.finishDraw(number, nil)
            idempotent.refuse(error)
        }
    }

    static func randomSeed() -> UInt64 {
        let bytes = AccessCrypto.randomBytes(8)
        return bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } & randomSeedBits
    }
}

/// `GET /v1/lotteries?after=ID&limit=N` (admin, operator, auditor): the lotteries by creation, paged.
final class ListLotteriesHandler: HTTPHandler {
    static let limitMax: Int64 = 1000
    let gate: AdminGate
    let book: LotteryBook

    init(gate: AdminGate, book: LotteryBook) {
        self.gate = gate
        self.book = book
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            gate.authorize(request, responder, roles: [.admin, .operator, .auditor], action: "read lotteries") != nil
        else { return }
        do throws(HTTPProblem) {
            let query = try QueryParameters.parse(request.query, allowed: ["after", "limit"])
            let limit = Int(try QueryParameters.integer(query, "limit", range: 1...Self.limitMax) ?? 100)
            var after: UInt64 = 0
            if let text = query["after"] {
                guard let number = LotteryBook.number(text) else {
                    throw HTTPProblem(.badRequest, detail: "query parameter after must be a lottery id (lty_…)")
                }
                after = number
            }
            let following = book.all().filter { $0.number > after }
            let page = following.prefix(limit)
            responder.respondJSON(.ok) { json in
                json.beginObject()
                json.key("items")
                json.beginArray()
                for lottery in page { LotteryJSON.write(lottery, to: &json) }
                json.endArray()
                json.key("next")
                if following.count > limit, let last = page.last { json.string(last.id) } else { json.null() }
                json.endObject()
            }
        } catch {
            responder.respond(problem: error)
        }
    }
}

/// `GET /v1/lotteries/{id}` (admin, operator, auditor): the definition, entrants and entries counted, its state
/// (`open`, `closed`, `drawn`) and, once drawn, the draw.
final class LotteryHandler: HTTPHandler {
    let gate: AdminGate
    let book: LotteryBook

    init(gate: AdminGate, book: LotteryBook) {
        self.gate = gate
        self.book = book
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            gate.authorize(request, responder, roles: [.admin, .operator, .auditor], action: "read lotteries") != nil
        else { return }
        let id = String(decoding: request.parameter(0), as: UTF8.self)
        guard let number = LotteryBook.number(id), let lottery = book.lottery(number) else {
            responder.respond(problem: HTTPProblem(.notFound, detail: "no lottery \(id)"))
            return
        }
        let now = book.clockMs()
        responder.respondJSON(.ok) { LotteryJSON.write(lottery, nowMs: now, to: &$0) }
    }
}

/// A lottery as the API shows it.
enum LotteryJSON {
    static func write(_ lottery: LotteryBook.Lottery, nowMs: Int64? = nil, to json: inout JSONWriter) {
        let state = lottery.drawn != nil ? "drawn" : (nowMs ?? AuditTime.nowMilliseconds()) >= lottery.closesAtMs
            ? "closed" : "open"
        json.beginObject()
        json.member("id", lottery.id)
        json.member("name", lottery.name)
        json.member("pointsPerEntry", lottery.pointsPerEntry)
        json.member("closesAt", AuditTime.format(milliseconds: lottery.closesAtMs))
        json.member("state", state)
        json.member("entrants", Int64(lottery.entrants.count))
        json.member("entries", lottery.entriesTotal)
        json.key("draw")
        if let drawn = lottery.drawn {
            json.beginObject()
            json.member("time", drawn.time)
            json.member("algorithm", drawn.algorithm)
            json.member("seed", Int64(bitPattern: drawn.seed))
            json.member("entrantsDigest", drawn.entrantsDigest)
            json.key("winners")
            json.beginArray()
            for winner in drawn.winners {
                json.beginObject()
                json.member("memberId", winner.memberId)
                json.member("entries", winner.entries)
                json.endObject()
            }
            json.endArray()
            json.endObject()
        } else {
            json.null()
        }
        json.endObject()
    }
}
