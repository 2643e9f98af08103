import HTTP
import Metrics
import Notifications

/// The admin API's view of member notifications: health detail, metrics, the dead-letter list and its retry.
enum NotificationsAPI {
    /// Dead letters listed in one answer at most (the total is given too).
    static let listedMax = 1000

    /// `"notifications": {"webhooks": N, "deadLetters": N, "queueDepth": N}` in the health answer.
    static func writeHealth(_ notifier: Notifier, _ json: inout JSONWriter) {
        json.key("notifications")
        json.beginObject()
        json.member("webhooks", Int64(notifier.webhooks.count))
        json.member("deadLetters", Int64(notifier.webhooks.reduce(0) { $0 + $1.deadLetters.count }))
        json.member("queueDepth", Int64(notifier.webhooks.reduce(0) { $0 + Int($1.statistics[.queueDepth]) }))
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
    }
}

/// `GET /v1/notifications/dead-letters`: events a webhook never acknowledged within its tries, oldest first per
/// webhook (at most `listedMax`, with the total). Notifications off: an empty list.
final class DeadLettersHandler: HTTPHandler {
    let metrics: AdminMetrics

    init(metrics: AdminMetrics) { self.metrics = metrics }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let notifier = metrics.notifier.withLock { $0 }
        let letters = notifier?.deadLetters ?? []
        responder.respondJSON(.ok) { json in
            json.beginObject()
            json.member("total", Int64(letters.count))
            json.key("deadLetters")
            json.beginArray()
            for (webhook, letter) in letters.prefix(NotificationsAPI.listedMax) {
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

/// `POST /v1/notifications/dead-letters/{id}/retry`: the event leaves the list and is sent again, on every
/// webhook that dead-lettered it (202 with how many); 404 when no webhook holds a dead letter with that id.
final class DeadLetterRetryHandler: HTTPHandler {
    let metrics: AdminMetrics

    init(metrics: AdminMetrics) { self.metrics = metrics }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let id = String(decoding: request.parameter(0), as: UTF8.self)
        let count = metrics.notifier.withLock { $0 }?.retry(eventId: id) ?? 0
        guard count > 0 else {
            responder.respond(problem: HTTPProblem(.notFound, detail: "no dead letter with id \(id)"))
            return
        }
        responder.respondJSON(.accepted) { json in
            json.beginObject()
            json.member("id", id)
            json.member("webhooks", Int64(count))
            json.endObject()
        }
    }
}
