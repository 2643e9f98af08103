import HTTP
import Ledger

/// `GET /v1/members/{id}/movements?after=SEQ&limit=N` (operator, auditor, admin): every change to the member's
/// balances, oldest first, from the history store (docs/history.md). Read on the admin loop by `pread`s of the
/// store's files (a page costs the member's movements after the cursor); 503 while the history is off. A member
/// the store has not seen is looked up on its shard: an enrolled member without movements gets an empty list.
final class MovementsHandler: AdminLedgerHandler, HTTPHandler, @unchecked Sendable {
    static let limitMax: Int64 = 1000
    static let limitDefault: Int64 = 100
    let metrics: AdminMetrics

    init(gate: AdminGate, door: AdminLedger, metrics: AdminMetrics) {
        self.metrics = metrics
        super.init(gate: gate, door: door)
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard gate.authorize(request, responder, roles: [.admin, .operator, .auditor], action: "read movements") != nil
        else { return }
        let id = String(decoding: request.parameter(0), as: UTF8.self)
        do throws(HTTPProblem) {
            let query = try QueryParameters.parse(request.query, allowed: ["after", "limit"])
            let after = try QueryParameters.integer(query, "after", range: 0...Int64.max) ?? 0
            let limit = try QueryParameters.integer(query, "limit", range: Int64.min...Int64.max) ?? Self.limitDefault
            guard (1...Self.limitMax).contains(limit) else {
                throw HTTPProblem(.unprocessableContent, detail: "query parameter limit must be 1...\(Self.limitMax)")
            }
            guard let member = AdminIdentifier.hash(id, prefix: "mbr_") else {
                throw HTTPProblem(.notFound, detail: "no member \(id)")
            }
            precondition(after >= 0 && (1...Self.limitMax).contains(limit), "a checked page")
            guard let store = metrics.history.withLock({ $0 })?.store else {
                throw HTTPProblem(.serviceUnavailable, detail: "the movements history is off (configuration `history`)")
            }
            guard store.knows(member: member) else {
                AdminLedgerRead.inspect(door, cardHash: member, responder: responder) { inspection, responder in
                    guard inspection != nil else {
                        responder.respond(problem: HTTPProblem(.notFound, detail: "no member \(id)"))
                        return
                    }
                    responder.respondJSON(.ok) { json in
                        json.beginObject()
                        json.key("items")
                        json.beginArray()
                        json.endArray()
                        json.key("next")
                        json.null()
                        json.endObject()
                    }
                }
                return
            }
            let page: (items: [HistoryRecord], next: UInt64?)
            do {
                page = try store.movements(member: member, after: UInt64(after), limit: Int(limit))
            } catch {
                throw HTTPProblem(.serviceUnavailable, detail: "the movements history cannot be read: \(error)")
            }
            precondition(page.items.count <= Int(limit), "a page holds at most its limit")
            precondition(page.next.map { $0 > UInt64(after) } ?? true, "the cursor only moves forward")
            precondition(page.items.first.map { $0.seq > UInt64(after) } ?? true, "a page starts after its cursor")
            responder.respondJSON(.ok) { json in
                json.beginObject()
                json.key("items")
                json.beginArray()
                for record in page.items { Self.write(record, &json) }
                json.endArray()
                json.key("next")
                if let next = page.next { json.integer(Int64(next)) } else { json.null() }
                json.endObject()
            }
        } catch {
            responder.respond(problem: error)
        }
    }

    static func write(_ record: HistoryRecord, _ json: inout JSONWriter) {
        json.beginObject()
        json.member("seq", Int64(record.seq))
        json.member("time", UTCTime.rfc3339(milliseconds: record.timeMs))
        json.member("kind", record.kindName)
        json.member("asset", record.assetName)
        json.member("amount", record.amount)
        json.member("balanceAfter", record.balanceAfter)
        if let reason = record.reasonName { json.member("reason", reason) }
        json.endObject()
    }
}
