import AdminAccess
import HTTP
import Metrics
import Notifications

/// The admin API's view of member notifications: health detail, metrics, the dead-letter list and its retry.
enum NotificationsAPI {
    /// Dead letters listed in one answer at most (the total is given too).
    static let listedMax = 1000

    /// `"notifications": {"webhooks": N, "deadLetters": N, "queueDepth": N}` in the health answer.
    static func writeHealth(_ notifier: Notifier, outbox: LedgerOutbox?, _ json: inout JSONWriter) {
        json.key("notifications")
        json.beginObject()
        json.member("webhooks", Int64(notifier.webhooks.count))
        json.member("deadLetters", Int64(notifier.webhooks.reduce(0) { $0 + $1.deadLetters.count }))
        json.member("queueDepth", Int64(notifier.webhooks.reduce(0) { $0 + Int($1.statistics[.queueDepth]) }))
        if let outbox {
            let counters = outbox.counters
            json.member("eventsProduced", Int64(counters.eventsProduced))
            json.member("recordsDropped", Int64(counters.recordsDropped))
        }
        json.endObject()
    }
}

extension AdminMetrics {
    func writeNotifications(_ text: inout PrometheusText) {
        guard let notifier = notifier.withLock({ $0 }) else { return }
        let counters: [(String, String, WebhookStatistics.Counter)] = [
            ("loyalty_notifications_delivered_total", "Events acknowledged (2xx) by each webhook.", .delivered),
            ("loyalty_notifications_retried_total", "Failed tries of events that were tried again later.", .retried),
            (
                "loyalty_notifications_dead_lettered_total",
                "Events moved to the dead-letter list after their last try.", .deadLettered
            ),
            (
                "loyalty_notifications_dead_letter_list_full_total",
                "Events out of tries kept retrying because the dead-letter list was full.", .deadLetterListFull
            ),
        ]
        for (name, help, counter) in counters {
            text.family(name, type: .counter, help: help)
            for webhook in notifier.webhooks {
                text.sample([("webhook", webhook.url)], value: webhook.statistics[counter])
            }
        }
        text.family(
            "loyalty_notifications_queue_depth", type: .gauge,
            help: "Events read for each webhook and not yet acknowledged or dead-lettered.")
        for webhook in notifier.webhooks {
            text.sample(
                [("webhook", webhook.url)], value: webhook.statistics[.queueDepth])
        }
        text.family("loyalty_notifications_dead_letters", type: .gauge, help: "Dead letters waiting, per webhook.")
        for webhook in notifier.webhooks {
            text.sample([("webhook", webhook.url)], value: UInt64(webhook.deadLetters.count))
        }
        guard let outbox = outbox.withLock({ $0 }) else { return }
        let read = outbox.counters
        let outboxCounters: [(String, String, UInt64)] = [
            ("loyalty_outbox_events_total", "Events read from the ledger's durable log records.", read.eventsProduced),
            ("loyalty_outbox_records_read_total", "Durable log records the outbox read.", read.recordsRead),
            (
                "loyalty_outbox_records_dropped_total",
                "Log records given up before their events were delivered (outboxRecordsMax) or unreadable.",
                read.recordsDropped
            ),
            ("loyalty_outbox_read_failures_total", "Failed reads of the log by the outbox.", read.readFailures),
        ]
        for (name, help, value) in outboxCounters {
            text.family(name, type: .counter, help: help)
            text.sample([], value: value)
        }
    }
}

/// `GET /v1/notifications/dead-letters` (admin, operator, auditor): events a webhook never acknowledged within
/// its tries, oldest first per webhook (at most `listedMax`, with the total). Notifications off: an empty list.
final class DeadLettersHandler: HTTPHandler {
    let metrics: AdminMetrics
    let gate: AdminGate

    init(metrics: AdminMetrics, gate: AdminGate) {
        self.metrics = metrics
        self.gate = gate
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            gate.authorize(request, responder, roles: [.admin, .operator, .auditor], action: "list dead letters")
                != nil
        else { return }
        let notifier = metrics.notifier.withLock { $0 }
        let letters = notifier?.deadLetters ?? []
        precondition(letters.isEmpty || notifier != nil, "dead letters come from the notifier")
        responder.respondJSON(.ok) { json in
            json.beginObject()
            json.member("total", Int64(letters.count))
            json.key("deadLetters")
            json.beginArray()
            for (webhook, letter) in letters.prefix(NotificationsAPI.listedMax) {
                precondition(webhook >= 0 && webhook < notifier!.webhooks.count, "a letter names one of the webhooks")
                json.beginObject()
                json.member("id", letter.eventId)
                json.member("type", letter.eventType)
                json.member("memberId", letter.memberId)
                json.member("webhook", notifier!.webhooks[webhook].url)
                json.member("tries", Int64(letter.tries))
                json.member("lastError", letter.lastError)
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
    }
}

/// `POST /v1/notifications/dead-letters/{id}/retry` (admin, operator): the event leaves the list and is sent
/// again, on every webhook that dead-lettered it (202 with how many); 404 when no webhook holds a dead letter
/// with that id. Audited as `notifications.retry` (target `notifications/dead-letters/ID`): the retry happens and
/// is answered only once the entry is durable, so no retry goes unaudited; a journal that cannot take the entry
/// is a 503 and nothing is retried. Honours Idempotency-Key like the other POSTs.
final class DeadLetterRetryHandler: HTTPHandler {
    let metrics: AdminMetrics
    let gate: AdminGate

    init(metrics: AdminMetrics, gate: AdminGate) {
        self.metrics = metrics
        self.gate = gate
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            let user = gate.authorize(request, responder, roles: [.admin, .operator], action: "retry dead letters")
        else { return }
        let body = try? request.jsonBody()
        guard let idempotent = IdempotentRequest.begin(request, responder, user: user, access: gate.access, body: body)
        else { return }
        let id = String(decoding: request.parameter(0), as: UTF8.self)
        let notifier = metrics.notifier.withLock { $0 }
        // The answer is remembered before the retry, so it names the webhooks holding the letter now; a retry of
        // the same id racing this one finds none left and sends nothing twice.
        let webhooks = notifier?.deadLetters.count { $0.letter.eventId == id } ?? 0
        guard let notifier, webhooks > 0 else {
            idempotent.refuse(HTTPProblem(.notFound, detail: "no dead letter with id \(id)"))
            return
        }
        precondition(webhooks >= 1 && !notifier.webhooks.isEmpty, "a retry names a letter some webhook holds")
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("id", id)
        writer.member("webhooks", Int64(webhooks))
        writer.endObject()
        let answer = RememberedAnswer(status: 202, contentType: "application/json", body: writer.bytes)
        let detail = AuditDetail.make { json in
            json.member("id", id)
            json.member("webhooks", Int64(webhooks))
        }
        let draft = AuditDraft(
            action: "notifications.retry", target: "notifications/dead-letters/" + id, detail: detail)
        let respond = idempotent.answerWhenDurable(answer)
        do throws(HTTPProblem) {
            try gate.access.appendAudit(
                [draft], actor: AuditActor(user), operation: nil, claim: idempotent.claim,
                answer: idempotent.claim == nil ? nil : answer
            ) { failure in
                if failure == nil { _ = notifier.retry(eventId: id) }
                respond(failure)
            }
        } catch {
            idempotent.refuse(error)
        }
    }
}
