import AdminAccess
import Foundation
import HTTP
import Ledger
import Loyalty
import LoyaltyLedger
import Reports
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `GET /v1/reports/{name}.csv?merchant=` (operator, auditor, admin; merchant for reports with merchants, only
/// its own): a report as CSV, streamed in chunks. The report runs on a thread of its own reading the data directory
/// read-only (`Reports`), never the serving shards, so authorizations are not stalled; its chunks reach the
/// connection's loop one at a time, and it waits while the client has not read `backlogBytesMax`.
final class ReportHandler: HTTPHandler, @unchecked Sendable {
    /// Reports made at the same time; one more is answered 503 (each holds one shard's books in memory).
    static let runningMax = 2
    let gate: AdminGate
    let ledger: Ledger
    let running = Atomic<Int>(0)

    init(gate: AdminGate, ledger: Ledger) {
        self.gate = gate
        self.ledger = ledger
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            let user = gate.authorize(
                request, responder, roles: [.admin, .operator, .auditor, .merchant], action: "read reports")
        else { return }
        let rules = (ledger.configuration.decider as? LoyaltyDecider)?.program
        let query: ReportQuery
        do throws(HTTPProblem) {
            query = try Self.query(request, user: user, rules: rules)
        } catch {
            responder.respond(problem: error)
            return
        }
        guard running.add(1, ordering: .relaxed).newValue <= Self.runningMax else {
            running.subtract(1, ordering: .relaxed)
            responder.respond(
                problem: HTTPProblem(
                    .serviceUnavailable, detail: "\(Self.runningMax) reports are being made; try again when one ends"),
                headers: [("Retry-After", "5")])
            return
        }
        let asOf = UTCTime.rfc3339(milliseconds: ledger.configuration.clockMs())
        let stream = ReportStream(responder.deferred(), asOf: asOf)
        let context = AdminReports.context(rules: rules, access: gate.access)
        let directory = ledger.directory
        let configuration = ledger.configuration
        let thread = Thread { [self] in
            stream.run(query, directory: directory, configuration: configuration, context: context)
            running.subtract(1, ordering: .relaxed)
        }
        thread.name = "report"
        thread.start()
    }

    /// The report and its filters from the path and query; a merchant user is kept to its own merchants.
    static func query(_ request: HTTPRequest, user: AdminUser, rules: Program?) throws(HTTPProblem) -> ReportQuery {
        let file = String(decoding: request.parameter(0), as: UTF8.self)
        guard file.hasSuffix(".csv") else { throw HTTPProblem(.notFound, detail: "reports are named NAME.csv") }
        let name = String(file.dropLast(4))
        let parameters = try QueryParameters.parse(request.query, allowed: ["from", "to", "merchant"])
        var query: ReportQuery
        do throws(ReportError) {
            query = try ReportQuery.parse(
                name: name, parameters: parameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                tag: { AdminReports.merchantTag($0, rules: rules) })
        } catch {
            if case .badParameter("name", let reason) = error { throw HTTPProblem(.notFound, detail: reason) }
            throw HTTPProblem(.badRequest, detail: "query parameter " + error.description)
        }
        guard user.role == .merchant else { return query }
        guard query.name.hasMerchants else {
            throw HTTPProblem(
                .forbidden,
                detail: "the \(name) report is not kept per merchant; a merchant user reads settlement (its merchants)")
        }
        let own = Set(user.merchants.compactMap { AdminReports.merchantTag($0, rules: rules) })
        if let asked = query.merchantTags, !asked.isSubset(of: own) {
            throw HTTPProblem(
                .forbidden, detail: "query parameter merchant: \(parameters["merchant"] ?? "") is not one of your merchants")
        }
        query.merchantTags = query.merchantTags ?? own
        return query
    }
}

/// What the report handler and `loyalty-switch report` share: the ids, merchant names and directory texts a
/// report prints.
public enum AdminReports {
    /// `rules`: the rules in force (merchant ids); `access`: the member directory (nil: names and phones empty).
    public static func context(rules: Program?, access: AccessControl?) -> ReportContext {
        ReportContext(
            memberId: { AdminIdentifier.member($0) },
            merchantName: { rules?.merchant(withTag: $0)?.description },
            memberTexts: { hash in
                guard let texts = access?.memberTexts(AdminIdentifier.memberKey(hash)) else { return nil }
                return (texts.name, texts.phone)
            })
    }

    /// A merchant id's tag when the rules configure that merchant.
    public static func merchantTag(_ id: String, rules: Program?) -> UInt32? {
        guard let identifier = ShortIdentifier(id), rules?.merchant(withTag: MerchantTag.of(identifier)) != nil else {
            return nil
        }
        return MerchantTag.of(identifier)
    }
}

/// A report's chunks on their way to one HTTP answer, with back-pressure: the producer (the report's thread)
/// hands a chunk to the connection's loop only while the client's unread bytes are under `backlogBytesMax`,
/// and stops when the connection is gone. The answer starts with the first chunk, so a directory that cannot be
/// read is still answered with a problem.
final class ReportStream: Sendable {
    /// Unread bytes the connection may hold for the client before the report waits.
    static let backlogBytesMax = 1 << 20
    /// How long the producer sleeps between looks at a full backlog.
    static let backlogPollMicroseconds: UInt32 = 1000
    private let responder: HTTPDeferredResponder
    private let asOf: String
    /// The backlog the loop last saw (nil: the connection is gone), and chunks handed over but not yet written.
    private let state = Mutex<(backlog: Int?, chunksInFlight: Int, started: Bool)>((0, 0, false))

    init(_ responder: HTTPDeferredResponder, asOf: String) {
        self.responder = responder
        self.asOf = asOf
    }

    func run(_ query: ReportQuery, directory: String, configuration: LedgerConfiguration, context: ReportContext) {
        var csv = CSVWriter { [self] chunk throws(ReportError) in try send(chunk) }
        do throws(ReportError) {
            _ = try Reports.write(query, directory: directory, configuration: configuration, context: context, to: &csv)
            finish(problem: nil)
        } catch {
            finish(problem: error == .cancelled ? nil : HTTPProblem(.serviceUnavailable, detail: error.description))
        }
    }

    func send(_ chunk: borrowing [UInt8]) throws(ReportError) {
        try waitForRoom()
        state.withLock { $0.chunksInFlight += 1 }
        let bytes = copy chunk
        let headers = [("X-Report-As-Of", asOf), ("Content-Disposition", "attachment")]
        responder.answer { [self] responder in
            let first = state.withLock { state in
                defer { state.started = true }
                return !state.started
            }
            if first { responder.startStream(.ok, contentType: "text/csv; charset=utf-8", headers: headers) }
            bytes.withUnsafeBytes { responder.stream($0) }
            let backlog = responder.streamBacklogBytes
            state.withLock {
                $0.backlog = backlog
                $0.chunksInFlight -= 1
            }
        }
    }

    /// Waits while two chunks are on their way to the loop or the client has a full window unread.
    private func waitForRoom() throws(ReportError) {
        while true {
            let (backlog, inFlight) = state.withLock { ($0.backlog, $0.chunksInFlight) }
            guard let backlog else { throw .cancelled }
            if inFlight < 2 && backlog < Self.backlogBytesMax { return }
            if inFlight == 0 {
                state.withLock { $0.chunksInFlight += 1 }
                responder.answer { [self] responder in
                    let backlog = responder.streamBacklogBytes
                    state.withLock {
                        $0.backlog = backlog
                        $0.chunksInFlight -= 1
                    }
                }
            }
            usleep(Self.backlogPollMicroseconds)
        }
    }

    /// Ends the answer: the last chunk, or a problem when nothing was sent yet (else the connection is closed, so
    /// the client sees a cut answer rather than a complete-looking one).
    func finish(problem: HTTPProblem?) {
        responder.answer { [self] responder in
            let started = state.withLock { $0.started }
            switch (started, problem) {
            case (false, let problem?): responder.respond(problem: problem)
            case (false, nil): break  // cancelled before the first chunk: the connection is gone
            case (true, nil): responder.finishStream()
            case (true, let problem?): responder.abortStream(problem.detail)
            }
        }
    }
}
