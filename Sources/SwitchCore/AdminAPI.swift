import AdminAccess
import HTTP
import Ledger
import LoyaltyLedger
import Metrics
import Network
import Notifications

/// The admin API's document (specs/admin-api.json, embedded by specs/embed.sh), served at `/v1/openapi.json`.
enum AdminAPIDocument {
    /// The document's bytes as served: the file exactly, with its final newline.
    static let bytes: [UInt8] = Array((embeddedJSON + "\n").utf8)
}

/// The admin API's routes as built so far (specs/admin-api.md): health, metrics, the OpenAPI document, users, the
/// audit trail, members, cards, adjustments and the notifications' dead letters. No route touches the authorization
/// path or blocks a thread: ledger work reaches the shards like ISO 8583 requests (`AdminLedger`), state changes wait
/// for the shard's and the audit journal's syncs and answer through a deferred responder.
enum AdminAPI {
    /// The router of the admin listener; `metrics` answers `GET /metrics` (behind a token when
    /// `metricsRequireToken`), `gate` guards every protected route.
    static func router(
        ledger: Ledger, metrics: AdminMetrics, gate: AdminGate, door: AdminLedger, metricsRequireToken: Bool,
        operatorAdjustmentMax: Int64, lotteries: LotteryBook, imports: MemberImports
    ) -> HTTPRouter {
        let router = HTTPRouter()
        router.add(.get, "/v1/health", HealthHandler(ledger: ledger, access: gate.access, metrics: metrics))
        router.add(.get, "/metrics", MetricsHandler(metrics: metrics, gate: metricsRequireToken ? gate : nil))
        router.add(.get, "/v1/openapi.json", DocumentHandler())
        router.add(.get, "/", DashboardHandler())
        router.add(.post, "/v1/users", CreateUserHandler(gate: gate))
        router.add(.get, "/v1/users", ListUsersHandler(gate: gate))
        router.add(.delete, "/v1/users/{id}", DeleteUserHandler(gate: gate))
        router.add(.get, "/v1/audit", AuditHandler(gate: gate))
        router.add(.get, "/v1/notifications/dead-letters", DeadLettersHandler(metrics: metrics, gate: gate))
        router.add(
            .post, "/v1/notifications/dead-letters/{id}/retry", DeadLetterRetryHandler(metrics: metrics, gate: gate))
        router.add(.post, "/v1/members", EnrolMemberHandler(gate: gate, door: door))
        router.add(.get, "/v1/members", MemberSearchHandler(gate: gate, metrics: metrics))
        router.add(.get, "/v1/members/{id}", MemberHandler(gate: gate, door: door))
        router.add(.get, "/v1/members/{id}/movements", MovementsHandler(gate: gate, door: door, metrics: metrics))
        router.add(
            .post, "/v1/members/{id}/adjustments",
            AdjustmentHandler(gate: gate, door: door, operatorMax: operatorAdjustmentMax))
        router.add(.post, "/v1/cards/lookup", CardLookupHandler(gate: gate, door: door))
        router.add(.post, "/v1/cards", LinkCardHandler(gate: gate, door: door))
        router.add(.post, "/v1/cards/{id}/block", BlockCardHandler(gate: gate, door: door))
        router.add(.post, "/v1/cards/{id}/replace", ReplaceCardHandler(gate: gate, door: door))
        router.add(.post, "/v1/gift-cards", IssueGiftCardHandler(gate: gate, door: door))
        router.add(.post, "/v1/gift-cards/{id}/load", LoadGiftCardHandler(gate: gate, door: door))
        router.add(
            .post, "/v1/events",
            EngagementEventHandler(gate: gate, door: door, decider: ledger.configuration.decider as? LoyaltyDecider))
        router.add(.post, "/v1/lotteries", CreateLotteryHandler(gate: gate, door: door, book: lotteries))
        router.add(.get, "/v1/lotteries", ListLotteriesHandler(gate: gate, book: lotteries))
        router.add(.get, "/v1/lotteries/{id}", LotteryHandler(gate: gate, book: lotteries))
        router.add(.post, "/v1/lotteries/{id}/entries", LotteryEntryHandler(gate: gate, door: door, book: lotteries))
        router.add(.post, "/v1/lotteries/{id}/draw", LotteryDrawHandler(gate: gate, door: door, book: lotteries))
        router.add(.post, "/v1/imports/members", streaming: ImportMembersHandler(gate: gate, door: door, imports: imports))
        router.add(.get, "/v1/imports/{id}", ImportStatusHandler(gate: gate, imports: imports))
        router.add(.get, "/v1/reports/segments.csv", SegmentsReportHandler(gate: gate, metrics: metrics, ledger: ledger))
        SalesReportHandler.register(in: router, gate: gate, metrics: metrics, ledger: ledger)
        router.add(.get, "/v1/reports/{name}", ReportHandler(gate: gate, ledger: ledger))
        precondition(operatorAdjustmentMax >= 0, "operatorAdjustmentMax is a magnitude")
        return router
    }
}

/// `GET /v1/health`: 200 `{"status": "ok"}` while every shard and the audit journal accept work; 503 with a
/// problem naming each shard that does not and why: stopped (its log could not be written or synced; a restart
/// recovers it) or declining (its log has no room; approvals resume by themselves once the disk or descriptors
/// free up), and the audit journal when it stopped (a failed write or sync; a restart recovers it).
final class HealthHandler: HTTPHandler {
    let ledger: Ledger
    /// The audit journal: once a write of it failed, no admin change can be made until a restart.
    let access: AccessControl
    /// The notifier's counts for the health answer.
    let metrics: AdminMetrics

    init(ledger: Ledger, access: AccessControl, metrics: AdminMetrics) {
        self.ledger = ledger
        self.access = access
        self.metrics = metrics
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        var problems: [String] = []
        for (index, condition) in ledger.health.shards.enumerated() {
            switch condition {
            case .serving, .servingWithoutReserve: break
            case .declining(let reason):
                problems.append("shard \(index) declining until its log has room again: \(reason)")
            case .stopped(let reason):
                problems.append("shard \(index) stopped: \(reason); its requests are answered 96 until a restart")
            }
        }
        if let reason = access.stoppedReason { problems.append("\(reason); admin changes are answered 503") }
        guard problems.isEmpty else {
            precondition(problems.count <= ledger.health.shards.count + 1, "one problem per shard and the journal")
            responder.respond(problem: HTTPProblem(.serviceUnavailable, detail: problems.joined(separator: "; ")))
            return
        }
        responder.respondJSON(.ok) { json in
            json.beginObject()
            json.member("status", "ok")
            if let notifier = metrics.notifier.withLock({ $0 }) { NotificationsAPI.writeHealth(notifier, outbox: metrics.outbox.withLock { $0 }, &json) }
            if let history = metrics.history.withLock({ $0 }) { SwitchServer.writeHistoryHealth(history, &json) }
            if let sales = metrics.sales.withLock({ $0 }) { SwitchServer.writeSalesHealth(sales, &json) }
            if let backups = metrics.backups.withLock({ $0 }) { SwitchServer.writeBackupHealth(backups, &json) }
            if let hold = metrics.standbyHold.withLock({ $0 }) {
                SwitchServer.writeStandbyHealth(hold, root: metrics.ledger.directory, &json)
            }
            json.endObject()
        }
    }
}

/// `GET /metrics`: the Prometheus text, streamed in chunks as reports will be.
final class MetricsHandler: HTTPHandler {
    /// Bytes per chunk of the answer.
    static let chunkBytes = 16 << 10
    let metrics: AdminMetrics
    /// Set when the configuration asks for a token (`admin.metricsRequireToken`); any role may read.
    let gate: AdminGate?

    init(metrics: AdminMetrics, gate: AdminGate?) {
        self.metrics = metrics
        self.gate = gate
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        if let gate, gate.authorize(request, responder, roles: Set(AdminRole.allCases), action: "read metrics") == nil {
            return
        }
        let text = metrics.exposition()
        precondition(Self.chunkBytes > 0, "a chunk holds bytes")
        responder.startStream(.ok, contentType: PrometheusText.contentType)
        text.withUnsafeBytes { bytes in
            var start = 0
            while start < bytes.count {
                let end = min(start + Self.chunkBytes, bytes.count)
                responder.stream(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                start = end
            }
            precondition(start == bytes.count, "the whole exposition is streamed")
        }
        responder.finishStream()
    }
}

/// `GET /v1/openapi.json`: specs/admin-api.json as embedded in the binary.
final class DocumentHandler: HTTPHandler {
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        precondition(AdminAPIDocument.bytes.last == 0x0A, "the document is served with its final newline")
        responder.respond(.ok, contentType: "application/json", body: AdminAPIDocument.bytes)
    }
}
