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

/// `GET /v1/reports/{name}.csv?merchant=` (operator, auditor, admin; merchant for reports with merchants, only
/// its own): a report as CSV, streamed in chunks. The report runs on a thread of its own reading the data directory
/// read-only (`Reports`), never the serving shards' tables, so authorizations are not stalled: rows of members and
/// cards come from a checkpoint of each shard, fresh or shared (`Ledger.reportCheckpoints`), read in place; its
/// chunks reach the connection's loop one at a time, and it waits while the client has not read `backlogBytesMax`.
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
        let stream = ReportStream(
            responder.deferred(), stalledReaderTimeoutMs: ledger.configuration.reportStalledReaderTimeoutMs
        ) { [self] in running.subtract(1, ordering: .relaxed) }
        let context = AdminReports.context(rules: rules, access: gate.access)
        let thread = Thread { [self] in
            setThreadName("report")
            // The idle scheduling class: a report's rows take only CPU the ISO loops and the shards leave (at nice 10
            // authorization p99 was ×1.33–1.77 beside 1M-row exports, ×1.12–1.35 in this class: RESULTS.md).
            setThreadIdle()
            stream.run(query, ledger: ledger, context: context)
            stream.release()
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
        precondition(query.merchantTags.map { $0.isSubset(of: own) } == true, "a merchant user reads its own merchants")
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
    /// How long a report waits before the answer when no checkpoint comes in time (`Retry-After`, seconds).
    static let retryAfterSeconds = 5
    private let responder: HTTPDeferredResponder
    /// The answer's headers, known once every shard's checkpoint is pinned (before the first chunk).
    private let headers = Mutex<[(String, String)]>([])
    /// The backlog the loop last saw (nil: the connection is gone), and chunks handed over but not yet written.
    private let state = Mutex<(backlog: Int?, chunksInFlight: Int, started: Bool)>((0, 0, false))

    /// Set when the client read nothing for `stalledReaderTimeoutMs`: the report ends with a cut answer.
    private let isStalled = Atomic<Bool>(false)
    private let stalledReaderTimeoutMs: Int
    /// Gives the report's place back (its handler's count of reports being made); called once, by `release`.
    private let onRelease: @Sendable () -> Void
    private let isReleased = Atomic<Bool>(false)

    /// `headers`: the answer's headers when they are known before the report starts (the sales reports'); the
    /// book reports set theirs once their checkpoints are pinned. `release`: gives the report's place back, before
    /// the answer's end reaches the client (so a client that asks again at once finds the place free).
    init(
        _ responder: HTTPDeferredResponder, stalledReaderTimeoutMs: Int, headers: [(String, String)] = [],
        release: @escaping @Sendable () -> Void
    ) {
        precondition(stalledReaderTimeoutMs >= 0, "a stalled reader's timeout is not negative")
        self.responder = responder
        self.stalledReaderTimeoutMs = stalledReaderTimeoutMs
        self.headers.withLock { $0 = headers }
        onRelease = release
    }

    /// Gives the report's place back; later calls do nothing. `finish` calls it before it ends the answer, the
    /// report's thread again when it returns (a path that never finished still frees its place).
    func release() {
        guard !isReleased.exchange(true, ordering: .acquiringAndReleasing) else { return }
        onRelease()
    }

    /// Pins a checkpoint per shard for reports of rows (the recovery view reads the totals of breakage and
    /// settlement), names them in the headers, then writes the report; 503 with `Retry-After` when the
    /// checkpoints do not come within `reportCheckpointWaitMs`.
    func run(_ query: ReportQuery, ledger: Ledger, context: ReportContext) {
        let configuration = ledger.configuration
        var checkpoints: [ReportCheckpoint]?
        if query.name.reading == .rows {
            do throws(LedgerError) {
                checkpoints = try ledger.reportCheckpoints(
                    reuseAgeMs: configuration.reportCheckpointReuseMs, waitMs: configuration.reportCheckpointWaitMs)
            } catch {
                finish(problem: HTTPProblem(.serviceUnavailable, detail: error.description))
                return
            }
            guard checkpoints != nil else {
                finish(
                    problem: HTTPProblem(
                        .serviceUnavailable,
                        detail: "no checkpoint of every shard within \(configuration.reportCheckpointWaitMs) ms; "
                            + "try again when it is written"),
                    headers: [("Retry-After", String(Self.retryAfterSeconds))])
                return
            }
        }
        precondition(query.name.reading != .rows || checkpoints != nil, "a report of rows reads pinned checkpoints")
        headers.withLock { $0 = Self.headers(checkpoints, clockMs: configuration.clockMs()) }
        var csv = CSVWriter { [self] chunk throws(ReportError) in try send(chunk) }
        do throws(ReportError) {
            _ = try Reports.write(
                query, directory: ledger.directory, configuration: configuration, context: context,
                checkpoints: checkpoints, to: &csv)
            finish(problem: nil)
        } catch {
            let stalled = isStalled.load(ordering: .relaxed)
            finish(
                problem: error == .cancelled && !stalled
                    ? nil
                    : HTTPProblem(
                        .serviceUnavailable,
                        detail: stalled
                            ? "the client read nothing for \(stalledReaderTimeoutMs) ms" : error.description))
        }
    }

    /// `X-Report-As-Of`: the oldest checkpoint's time (everything acknowledged before it is in the report), or now
    /// for the recovery view; `X-Report-Read`: `checkpoint` (in place) or `recovered`; `X-Report-Sequences`: the
    /// last record per shard, in shard order (checkpoints only).
    static func headers(_ checkpoints: [ReportCheckpoint]?, clockMs: Int64) -> [(String, String)] {
        var headers = [("Content-Disposition", "attachment")]
        guard let checkpoints else {
            return headers + [("X-Report-As-Of", UTCTime.rfc3339(milliseconds: clockMs)), ("X-Report-Read", "recovered")]
        }
        let asOf = checkpoints.map(\.timeMs).min() ?? clockMs
        headers.append(("X-Report-As-Of", UTCTime.rfc3339(milliseconds: asOf)))
        headers.append(("X-Report-Read", "checkpoint"))
        headers.append(("X-Report-Sequences", checkpoints.map { String($0.sequence) }.joined(separator: ",")))
        precondition(headers.count == 4, "a checkpointed report names its time, read and sequences")
        return headers
    }

    func send(_ chunk: borrowing [UInt8]) throws(ReportError) {
        try waitForRoom()
        state.withLock { $0.chunksInFlight += 1 }
        let bytes = copy chunk
        let headers = headers.withLock { $0 }
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
                precondition($0.chunksInFlight >= 0 && $0.started, "a chunk written was handed over, after the start")
            }
        }
    }

    /// Waits while two chunks are on their way to the loop or the client has a full window unread. A client that
    /// reads nothing of a full window for `reportStalledReaderTimeoutMs` loses its report (the connection is closed
    /// without the last chunk): an open but silent reader would otherwise hold one of the `runningMax` places.
    private func waitForRoom() throws(ReportError) {
        var smallestBacklog = Int.max
        var progressNs = monotonicNanoseconds()
        while true {
            let (backlog, inFlight) = state.withLock { ($0.backlog, $0.chunksInFlight) }
            guard let backlog else { throw .cancelled }
            precondition(
                backlog >= 0 && inFlight >= 0 && inFlight <= 2, "a backlog and at most two chunks on their way")
            if inFlight < 2 && backlog < Self.backlogBytesMax { return }
            let nowNs = monotonicNanoseconds()
            if backlog < smallestBacklog {
                smallestBacklog = backlog
                progressNs = nowNs
            } else if nowNs - progressNs > UInt64(stalledReaderTimeoutMs) * 1_000_000 {
                isStalled.store(true, ordering: .relaxed)
                throw .cancelled
            }
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
    func finish(problem: HTTPProblem?, headers: [(String, String)] = []) {
        release()
        responder.answer { [self] responder in
            let started = state.withLock { $0.started }
            switch (started, problem) {
            case (false, let problem?): responder.respond(problem: problem, headers: headers)
            case (false, nil): break  // cancelled before the first chunk: the connection is gone
            case (true, nil): responder.finishStream()
            case (true, let problem?): responder.abortStream(problem.detail)
            }
        }
    }
}
