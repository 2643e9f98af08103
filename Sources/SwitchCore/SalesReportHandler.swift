import AdminAccess
import Foundation
import HTTP
import Ledger
import Loyalty
import LoyaltyLedger
import Reports
import Synchronization
import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// `GET /v1/reports/{sales,items,credit-conversion}.csv?from=&to=&merchant=` (admin, operator, auditor; a merchant
/// user reads sales and items of its own merchants): the sales store's reports (`SalesReports`), streamed like the
/// books' reports (`ReportStream`) from a thread of their own that reads the store's files in order, never a
/// serving shard. 404 saying so while the sales store is off.
final class SalesReportHandler: HTTPHandler, @unchecked Sendable {
    /// Sales reports made at the same time (beside the books' own); one more is answered 503.
    static let runningMax = 2
    /// How long credit-conversion waits for the store to hold every record the checkpoint views hold.
    static let catchUpWaitMs = 5_000
    let name: SalesReportName
    let gate: AdminGate
    let metrics: AdminMetrics
    let ledger: Ledger
    /// Reports of the three routes running now (one count shared by them).
    final class Running: Sendable { let count = Atomic<Int>(0) }
    let running: Running

    init(_ name: SalesReportName, gate: AdminGate, metrics: AdminMetrics, ledger: Ledger, running: Running) {
        self.name = name
        self.gate = gate
        self.metrics = metrics
        self.ledger = ledger
        self.running = running
    }

    /// The three routes, sharing one count of reports running.
    static func register(in router: HTTPRouter, gate: AdminGate, metrics: AdminMetrics, ledger: Ledger) {
        let running = Running()
        precondition(!SalesReportName.allCases.isEmpty, "the sales store has reports")
        for name in SalesReportName.allCases {
            router.add(
                .get, "/v1/reports/\(name.rawValue).csv",
                SalesReportHandler(name, gate: gate, metrics: metrics, ledger: ledger, running: running))
        }
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            let user = gate.authorize(
                request, responder, roles: [.admin, .operator, .auditor, .merchant], action: "read reports")
        else { return }
        let query: SalesReportQuery
        let store: SalesStore
        do throws(HTTPProblem) {
            query = try Self.query(name, request, user: user, nowMs: ledger.configuration.clockMs())
            guard let indexer = metrics.sales.withLock({ $0 }) else {
                throw HTTPProblem(.notFound, detail: "the \(name.rawValue) report reads the sales store, which is off (sales)")
            }
            store = indexer.store
        } catch {
            responder.respond(problem: error)
            return
        }
        guard running.count.add(1, ordering: .relaxed).newValue <= Self.runningMax else {
            running.count.subtract(1, ordering: .relaxed)
            responder.respond(
                problem: HTTPProblem(
                    .serviceUnavailable, detail: "\(Self.runningMax) sales reports are being made; try again when one ends"),
                headers: [("Retry-After", "5")])
            return
        }
        let stream = ReportStream(
            responder.deferred(), stalledReaderTimeoutMs: ledger.configuration.reportStalledReaderTimeoutMs,
            headers: [
                ("Content-Disposition", "attachment"),
                ("X-Report-As-Of", UTCTime.rfc3339(milliseconds: ledger.configuration.clockMs())),
            ]
        ) { [running] in running.count.subtract(1, ordering: .relaxed) }
        let context = AdminReports.context(rules: nil, access: gate.access)
        let directory = ledger.directory
        let configuration = ledger.configuration
        let thread = Thread {
            setThreadName("report-sales")
            setThreadIdle()  // like the books' reports: only CPU the loops and the shards leave
            stream.runSales(query, store: store, directory: directory, configuration: configuration, context: context)
            stream.release()
        }
        thread.name = "report-sales"
        thread.start()
    }

    /// The filters from the query; a merchant user is kept to its own merchants (403 for another merchant, or for
    /// credit-conversion, which is not kept per merchant).
    static func query(
        _ name: SalesReportName, _ request: HTTPRequest, user: AdminUser, nowMs: Int64
    ) throws(HTTPProblem) -> SalesReportQuery {
        let parameters = try QueryParameters.parse(request.query, allowed: ["from", "to", "merchant"])
        var query: SalesReportQuery
        do throws(ReportError) {
            query = try SalesReportQuery.parse(
                name: name,
                parameters: parameters.sorted { $0.key < $1.key }.map { ($0.key, MemberSearchHandler.percentDecoded($0.value)) },
                nowMs: nowMs, merchant: merchantName)
        } catch {
            throw HTTPProblem(.badRequest, detail: "query parameter " + error.description)
        }
        guard user.role == .merchant else { return query }
        guard name.hasMerchants else {
            throw HTTPProblem(
                .forbidden, detail: "the \(name.rawValue) report is not kept per merchant; a merchant user reads sales and items")
        }
        let own = user.merchants.compactMap(merchantName)
        if let asked = query.merchants, !asked.allSatisfy(own.contains) {
            throw HTTPProblem(
                .forbidden, detail: "query parameter merchant: \(parameters["merchant"] ?? "") is not one of your merchants")
        }
        query.merchants = query.merchants ?? own
        precondition(
            query.merchants.map { $0.allSatisfy(own.contains) } == true, "a merchant user reads its own merchants")
        return query
    }

    /// A merchant id as field 42 carries it (nil: not an identifier).
    static func merchantName(_ id: String) -> MerchantName? { ShortIdentifier(id).map(MerchantName.init) }
}

extension ReportStream {
    /// Makes a sales report into the stream; credit-conversion first reads the books' credit from the checkpoint
    /// views, then waits (bounded) until the store holds every record those views hold.
    func runSales(
        _ query: SalesReportQuery, store: SalesStore, directory: String, configuration: LedgerConfiguration,
        context: ReportContext
    ) {
        var csv = CSVWriter { [self] chunk throws(ReportError) in try send(chunk) }
        do throws(ReportError) {
            var anchor: SalesReports.CreditAnchor?
            if query.name == .creditConversion {
                let books = try SalesReports.creditAnchor(directory: directory, configuration: configuration)
                var waitedMs = 0
                while waitedMs < SalesReportHandler.catchUpWaitMs
                    && zip(store.indexedSequences, books.lastSequences).contains(where: { $0 < $1 })
                {
                    usleep(50_000)
                    waitedMs += 50
                }
                precondition(waitedMs <= SalesReportHandler.catchUpWaitMs + 50, "the wait for the store is bounded")
                anchor = books
            }
            try SalesReports.write(query, store: store, anchor: anchor, context: context, to: &csv)
            finish(problem: nil)
        } catch {
            finish(problem: error == .cancelled ? nil : HTTPProblem(.serviceUnavailable, detail: error.description))
        }
    }
}
