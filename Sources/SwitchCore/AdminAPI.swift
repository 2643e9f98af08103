import HTTP
import Ledger
import Metrics
import Network
import Notifications

/// The admin API's document (specs/admin-api.json, embedded by specs/embed.sh), served at `/v1/openapi.json`.
enum AdminAPIDocument {
    /// The document's bytes as served: the file exactly, with its final newline.
    static let bytes: [UInt8] = Array((embeddedJSON + "\n").utf8)
}

/// The admin API's routes as built so far (specs/admin-api.md): health, metrics and the OpenAPI document.
/// Everything here reads shared state that is safe from any loop (atomics, immutable values); no route touches
/// the authorization path or waits for a shard.
enum AdminAPI {
    /// The router of the admin listener; `metrics` answers `GET /metrics`.
    static func router(ledger: Ledger, metrics: AdminMetrics) -> HTTPRouter {
        let router = HTTPRouter()
        router.add(.get, "/v1/health", HealthHandler(ledger: ledger, metrics: metrics))
        router.add(.get, "/metrics", MetricsHandler(metrics: metrics))
        router.add(.get, "/v1/openapi.json", DocumentHandler())
        router.add(.get, "/v1/notifications/dead-letters", DeadLettersHandler(metrics: metrics))
        router.add(.post, "/v1/notifications/dead-letters/{id}/retry", DeadLetterRetryHandler(metrics: metrics))
        return router
    }
}

/// `GET /v1/health`: 200 `{"status": "ok"}` while every shard accepts work; 503 with a problem naming each
/// stopped shard and why (a shard stops when its log cannot be written, and stays stopped until a restart).
final class HealthHandler: HTTPHandler {
    let ledger: Ledger
    let metrics: AdminMetrics

    init(ledger: Ledger, metrics: AdminMetrics) {
        self.ledger = ledger
        self.metrics = metrics
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        var stopped: [String] = []
        for (index, shard) in ledger.shardStatistics.enumerated() {
            if let reason = shard.stoppedReason { stopped.append("shard \(index) stopped: \(reason)") }
        }
        guard stopped.isEmpty else {
            let detail = stopped.joined(separator: "; ") + "; its requests are answered 96 until a restart recovers it"
            responder.respond(problem: HTTPProblem(.serviceUnavailable, detail: detail))
            return
        }
        responder.respondJSON(.ok) { json in
            json.beginObject()
            json.member("status", "ok")
            if let notifier = metrics.notifier.withLock({ $0 }) { NotificationsAPI.writeHealth(notifier, &json) }
            json.endObject()
        }
    }
}

/// `GET /metrics`: the Prometheus text, streamed in chunks as reports will be.
final class MetricsHandler: HTTPHandler {
    /// Bytes per chunk of the answer.
    static let chunkBytes = 16 << 10
    let metrics: AdminMetrics

    init(metrics: AdminMetrics) { self.metrics = metrics }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let text = metrics.exposition()
        responder.startStream(.ok, contentType: PrometheusText.contentType)
        text.withUnsafeBytes { bytes in
            var start = 0
            while start < bytes.count {
                let end = min(start + Self.chunkBytes, bytes.count)
                responder.stream(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                start = end
            }
        }
        responder.finishStream()
    }
}

/// `GET /v1/openapi.json`: specs/admin-api.json as embedded in the binary.
final class DocumentHandler: HTTPHandler {
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        responder.respond(.ok, contentType: "application/json", body: AdminAPIDocument.bytes)
    }
}
