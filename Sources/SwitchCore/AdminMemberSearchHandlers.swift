import AdminAccess
import Foundation
import HTTP
import Ledger
import Reports
import SystemCalls

/// `GET /v1/members?tier=&minVolumeMinor=&lastPurchaseBefore=&lastPurchaseAfter=&phone=&cardSuffix=&limit=&after=`
/// (operator, auditor, admin): members matching every filter given, in member id order, `limit` (1...500,
/// default 50) per page; `next` is the cursor for `after` (null on the last page). Answered on the admin loop from
/// the member search's index (`MemberSearchIndex`), never from a shard: a page costs at most one pass over the
/// index from the cursor on. Each item is a summary of the member (docs/segments.md): id, tier, masked first
/// card, profile texts and purchase stats; `GET /v1/members/{id}` has the balances.
final class MemberSearchHandler: HTTPHandler {
    static let limitMax: Int64 = 500
    static let limitDefault: Int64 = 50
    static let parameters: Set<String> = [
        "tier", "minVolumeMinor", "lastPurchaseBefore", "lastPurchaseAfter", "phone", "cardSuffix", "limit", "after",
    ]
    let gate: AdminGate
    let metrics: AdminMetrics

    init(gate: AdminGate, metrics: AdminMetrics) {
        self.gate = gate
        self.metrics = metrics
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard gate.authorize(request, responder, roles: [.admin, .operator, .auditor], action: "search members") != nil
        else { return }
        do throws(HTTPProblem) {
            let query = try QueryParameters.parse(request.query, allowed: Self.parameters).mapValues {
                Self.percentDecoded($0)
            }
            let (filter, after, limit) = try Self.read(query, access: gate.access)
            guard let indexer = metrics.search.withLock({ $0 }) else {
                throw HTTPProblem(.serviceUnavailable, detail: "the member search is off (configuration `search`)")
            }
            guard indexer.isReady else {
                responder.respond(
                    problem: HTTPProblem(.serviceUnavailable, detail: "the member search is being built; try again"),
                    headers: [("Retry-After", "1")])
                return
            }
            let page = indexer.index.search(filter, after: after, limit: limit)
            precondition(page.rows.count <= limit, "a page holds at most its limit")
            precondition(page.next == nil || !page.rows.isEmpty, "a cursor follows a page with rows")
            let access = gate.access
            responder.respondJSON(.ok) { json in
                json.beginObject()
                json.key("items")
                json.beginArray()
                for row in page.rows { Self.write(row, texts: access.memberTexts(AdminIdentifier.memberKey(row.id)), &json) }
                json.endArray()
                json.key("next")
                if let next = page.next { json.string(AdminIdentifier.member(next)) } else { json.null() }
                json.endObject()
            }
        } catch {
            responder.respond(problem: error)
        }
    }

    /// The filter, cursor and page size; a 400 naming the query parameter for anything wrong.
    static func read(_ query: [String: String], access: AccessControl) throws(HTTPProblem)
        -> (MemberSearchFilter, CardHash?, Int)
    {
        var filter = MemberSearchFilter()
        filter.tier = try QueryParameters.integer(query, "tier", range: 0...255).map { UInt8($0) }
        filter.minVolumeMinor = try QueryParameters.integer(query, "minVolumeMinor", range: 0...Int64.max)
        filter.lastPurchaseBeforeMs = try time(query, "lastPurchaseBefore")
        filter.lastPurchaseAfterMs = try time(query, "lastPurchaseAfter")
        if let suffix = query["cardSuffix"] {
            guard suffix.utf8.count == 4, suffix.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = UInt16(suffix)
            else { throw HTTPProblem(.badRequest, detail: "query parameter cardSuffix must be the last 4 digits of a card") }
            filter.cardSuffix = value
        }
        if let phone = query["phone"] {
            if let problem = MemberTexts.phoneProblem(phone) {
                throw HTTPProblem(.badRequest, detail: "query parameter phone \(problem)")
            }
            filter.members = access.members(withPhone: phone).map { CardHash(high: $0.high, low: $0.low) }
        }
        let limit = try QueryParameters.integer(query, "limit", range: 1...limitMax) ?? limitDefault
        var after: CardHash?
        if let cursor = query["after"] {
            guard let hash = AdminIdentifier.hash(cursor, prefix: "mbr_") else {
                throw HTTPProblem(.badRequest, detail: "query parameter after must be a cursor a previous page gave (next)")
            }
            after = hash
        }
        precondition((1...limitMax).contains(limit), "a checked page size")
        precondition(filter.cardSuffix.map { $0 <= 9999 } ?? true, "a card suffix is four digits")
        return (filter, after, Int(limit))
    }

    private static func time(_ query: [String: String], _ name: String) throws(HTTPProblem) -> Int64? {
        guard let text = query[name] else { return nil }
        do throws(ReportError) {
            return try SegmentsQuery.time(text, name: name)
        } catch {
            throw HTTPProblem(.badRequest, detail: "query parameter \(error.description)")
        }
    }

    /// `%XX` escapes decoded (a client may send `+` as `%2B` and `:` as `%3A`); a malformed escape stays as is,
    /// and the parameter's own check then refuses it.
    static func percentDecoded(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        return text.removingPercentEncoding ?? text
    }

    static func write(_ row: MemberSearchRow, texts: MemberTexts?, _ json: inout JSONWriter) {
        json.beginObject()
        json.member("id", AdminIdentifier.member(row.id))
        json.member("tier", Int64(row.tier))
        json.member("card", row.firstCard.description)
        json.key("profile")
        json.beginObject()
        if let name = texts?.name { json.member("name", name) }
        if let phone = texts?.phone { json.member("phone", phone) }
        json.endObject()
        json.key("stats")
        json.beginObject()
        json.member("purchases", Int64(row.purchases))
        json.member("volumeMinor", row.volumeMinor)
        json.key("firstPurchase")
        if row.purchases > 0 { json.string(UTCTime.rfc3339(milliseconds: row.firstPurchaseTimeMs)) } else { json.null() }
        json.key("lastPurchase")
        if row.purchases > 0 { json.string(UTCTime.rfc3339(milliseconds: row.lastPurchaseTimeMs)) } else { json.null() }
        json.endObject()
        json.endObject()
    }
}

/// `GET /v1/reports/segments.csv?from=&to=&vipTop=&vipMinMinor=` (operator, auditor, admin): the segments report
/// (`SegmentsReport`) over the configured member activity source (`segments.source`), made on a thread of its own
/// and answered whole. Memory: the activity map (one entry per member active in the window, at most
/// `segments.membersMax`) and the CSV's bytes (about 100 per member). 503 when no source is wired.
final class SegmentsReportHandler: HTTPHandler {
    let gate: AdminGate
    let metrics: AdminMetrics
    let ledger: Ledger

    init(gate: AdminGate, metrics: AdminMetrics, ledger: Ledger) {
        self.gate = gate
        self.metrics = metrics
        self.ledger = ledger
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard gate.authorize(request, responder, roles: [.admin, .operator, .auditor], action: "read reports") != nil
        else { return }
        do throws(HTTPProblem) {
            let pairs = try QueryParameters.parse(request.query, allowed: ["from", "to", "vipTop", "vipMinMinor"])
            guard let setup = metrics.segments.withLock({ $0 }) else {
                throw HTTPProblem(.serviceUnavailable, detail: "the segments report is not set up")
            }
            let query: SegmentsQuery
            do throws(ReportError) {
                query = try SegmentsQuery.parse(
                    pairs.map { ($0.key, MemberSearchHandler.percentDecoded($0.value)) },
                    nowMs: ledger.configuration.clockMs(), windowDays: setup.configuration.windowDays)
            } catch {
                throw HTTPProblem(.badRequest, detail: "query parameter " + error.description)
            }
            guard let source = setup.source else {
                // Like the other reports this build does not make: not built yet (the sales store's source is not wired).
                throw HTTPProblem(
                    .notFound,
                    detail: "segments.source \(setup.configuration.source.rawValue) is not built yet in this build")
            }
            let deferred = responder.deferred()
            let context = AdminReports.context(rules: nil, access: gate.access)
            let index = setup.index
            let membersMax = setup.configuration.membersMax
            precondition(membersMax >= 1, "the report holds at least one member")
            let thread = Thread {
                setThreadName("report-segments")
                setThreadIdle()  // like the books' reports: only CPU the loops and the shards leave
                let collected = CollectedBytes()
                var csv = CSVWriter { chunk throws(ReportError) in collected.bytes += chunk }
                do throws(ReportError) {
                    try SegmentsReport.write(
                        query, source: source, membersMax: membersMax,
                        member: { id in index?.row(id).map { ($0.tier, $0.firstCard) } }, context: context, to: &csv)
                    let body = collected.bytes
                    deferred.answer { $0.respond(.ok, contentType: "text/csv; charset=utf-8", body: body) }
                } catch {
                    let status: HTTPStatus = if case .badParameter = error { .badRequest } else { .serviceUnavailable }
                    let problem = HTTPProblem(status, detail: "query parameter " + error.description)
                    deferred.answer { $0.respond(problem: problem) }
                }
            }
            thread.name = "report-segments"
            thread.start()
        } catch {
            responder.respond(problem: error)
        }
    }
}

/// The report's bytes as the CSV writer hands them over (one thread writes them, then hands them on).
private final class CollectedBytes: @unchecked Sendable {
    var bytes: [UInt8] = []
}
