import Foundation
import Glibc
import Testing
import WebhookTestSupport

@testable import SwitchCore

/// Member notifications through the real `loyalty-switch` binary, fed by its test source
/// (`--notifications-test-source EVENTS:MEMBERS`), delivering to a real receiver (Python's http.server, checking
/// signatures with Python's hmac); dead letters, health and metrics over the admin API; SIGKILL and restart.
@Suite(.serialized)
struct NotificationsEndToEndTests {
    static func settings(_ receiver: WebhookReceiver, secret: String, extra: [String: Any] = [:]) -> SwitchSettings {
        var settings = SwitchSettings()
        var notifications: [String: Any] = [
            "webhooks": [["url": receiver.url, "secret": secret, "events": ["*"], "language": "fa"]],
            "retryDelayFirstMs": 1, "retryDelayMaxMs": 20, "responseTimeoutMs": 300, "connectTimeoutMs": 300,
        ]
        notifications.merge(extra) { $1 }
        settings.notifications = notifications
        return settings
    }

    static func json(_ text: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw SwitchTestError("not a JSON object: \(text)")
        }
        return object
    }

    @Test("Every event of the switch's test source reaches a receiver answering 200, 500, late and reset at random: signed, in order per member, Persian text; metrics pass promtool")
    func deliversThroughTheSwitch() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let receiver = try WebhookReceiver(
            directory: directory.path, secret: "shared", arguments: ["--weights", "70,10,5,10,0,0", "--sleep", "0.6"])
        defer { receiver.stop() }
        let server = try SwitchProcess(
            directory: directory, settings: Self.settings(receiver, secret: "shared", extra: ["triesMax": 100]),
            arguments: ["--notifications-test-source", "300:15"])
        defer { server.stop() }
        let all = Set((1...300).map { "test-\($0)" })
        #expect(receiver.wait(timeout: 120) { _ in receiver.acknowledgedIds == all }, "\(server.log)")
        let requests = receiver.requests
        #expect(requests.allSatisfy { $0.signatureOk && $0.id == $0.bodyId })
        #expect(WebhookReceiver.orderViolation(requests, allowingRepeats: true) == nil)
        #expect(requests.allSatisfy { $0.text.unicodeScalars.contains { (0x0600...0x06FF).contains($0.value) } })
        let port = try #require(server.adminPort)
        let metrics = try AdminClient.get(port, "/metrics")
        let verdict = try AdminClient.promtool(metrics)
        #expect(verdict.status == 0 && verdict.output.isEmpty, "promtool: \(verdict.output)")
        let samples = AdminClient.samples(metrics)
        let label = "{webhook=\"\(receiver.url)\"}"
        #expect(samples["loyalty_notifications_delivered_total\(label)"] == 300)
        #expect(samples["loyalty_notifications_retried_total\(label)"] == Double(requests.count - 300))
        #expect(samples["loyalty_notifications_queue_depth\(label)"] == 0)
        #expect(samples["loyalty_notifications_dead_letters\(label)"] == 0)
        let health = try Self.json(try AdminClient.get(port, "/v1/health"))
        let detail = try #require(health["notifications"] as? [String: Any])
        #expect(detail["webhooks"] as? Int == 1 && detail["deadLetters"] as? Int == 0)
    }

    @Test("An event failing triesMax times is listed by GET /v1/notifications/dead-letters (admin, operator, auditor), counted in health and metrics, and delivered after an audited, idempotent POST .../retry (admin, operator)")
    func deadLettersOverTheAdminAPI() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let receiver = try WebhookReceiver(
            directory: directory.path, secret: "k", arguments: ["--fail-ids", "test-7", "--fail-count", "8"])
        defer { receiver.stop() }
        let admin = try AdminAccessClient.initialize(directory)
        let server = try SwitchProcess(
            directory: directory, settings: Self.settings(receiver, secret: "k", extra: ["triesMax": 8]),
            arguments: ["--notifications-test-source", "40:4"])
        defer { server.stop() }
        let port = try #require(server.adminPort)
        let operatorUser = try AdminAccessClient.createUser(port, token: admin, name: "Olga", role: "operator")
        let auditor = try AdminAccessClient.createUser(port, token: admin, name: "Aud", role: "auditor")
        let merchant = try AdminAccessClient.createUser(
            port, token: admin, name: "Shop", role: "merchant", merchants: ["SHOP000000001"])
        let list = "/v1/notifications/dead-letters"
        var listing: [String: Any] = [:]
        let listed = eventually(timeout: 60) {
            listing = (try? AdminAccessClient.call(port, "GET", list, token: auditor.token).json) ?? [:]
            return listing["total"] as? Int == 1
        }
        #expect(listed, "\(listing)")
        let letter = try #require((listing["deadLetters"] as? [[String: Any]])?.first)
        #expect(letter["id"] as? String == "test-7" && letter["tries"] as? Int == 8)
        #expect(letter["lastError"] as? String == "answered 500" && letter["webhook"] as? String == receiver.url)
        #expect(receiver.wait(timeout: 30) { _ in receiver.acknowledgedIds.count == 39 }, "the others go on")
        let health = try Self.json(try AdminClient.get(port, "/v1/health"))
        #expect((health["notifications"] as? [String: Any])?["deadLetters"] as? Int == 1)
        let samples = AdminClient.samples(try AdminClient.get(port, "/metrics"))
        #expect(samples["loyalty_notifications_dead_lettered_total{webhook=\"\(receiver.url)\"}"] == 1)

        let retry = "/v1/notifications/dead-letters/test-7/retry"
        let refusals: [(String?, String, String, Int)] = [
            (nil, "GET", list, 401), (nil, "POST", retry, 401), (merchant.token, "GET", list, 403),
            (merchant.token, "POST", retry, 403), (auditor.token, "POST", retry, 403),
        ]
        for (token, method, path, code) in refusals {
            let answer = try AdminAccessClient.call(port, method, path, token: token)
            #expect(answer.code == code, "\(method) \(path): \(answer.code) \(answer.body)")
        }
        for token in [admin, operatorUser.token] {
            #expect(try AdminAccessClient.call(port, "GET", list, token: token).json["total"] as? Int == 1)
        }
        let before = try AdminAccessClient.audit(port, token: admin)
        #expect(!before.contains { $0["action"] as? String == "notifications.retry" }, "a refused retry is not one")

        let first = try AdminAccessClient.call(port, "POST", retry, token: operatorUser.token, key: "retry-7")
        #expect(first.code == 202 && first.json["webhooks"] as? Int == 1, "\(first.code) \(first.body)")
        let replay = try AdminAccessClient.call(port, "POST", retry, token: operatorUser.token, key: "retry-7")
        #expect(replay.code == 202 && replay.body == first.body, "\(replay.code) \(replay.body)")
        #expect(replay.header("idempotency-replayed") == "true")
        let again = try AdminAccessClient.call(port, "POST", retry, token: admin)
        #expect(again.code == 404 && again.body.contains("no dead letter with id test-7"), "\(again.body)")
        #expect(receiver.wait(timeout: 30) { _ in receiver.acknowledgedIds.contains("test-7") })
        #expect(try AdminAccessClient.call(port, "GET", list, token: admin).json["total"] as? Int == 0)

        let entries = try AdminAccessClient.audit(port, token: auditor.token).filter {
            $0["action"] as? String == "notifications.retry"
        }
        #expect(entries.count == 1, "one entry for the retry, none for its replay or the 404: \(entries)")
        let entry = try #require(entries.first)
        #expect(entry["actor"] as? String == operatorUser.id && entry["role"] as? String == "operator")
        #expect(entry["target"] as? String == "notifications/dead-letters/test-7")
        let detail = entry["detail"] as? [String: Any]
        #expect(detail?["id"] as? String == "test-7" && detail?["webhooks"] as? Int == 1)
        server.stop()
        let verify = try AdminAccessClient.command(["audit", "verify", "--data", directory.data])
        #expect(verify.status == 0 && verify.output.contains("chain intact"), "\(verify.output)")
    }

    @Test("SIGKILL during delivery, three times: every event arrives, re-sends carry the same id, and each restart resumes rather than starting over")
    func killAndResume() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let receiver = try WebhookReceiver(directory: directory.path, secret: "k", arguments: ["--delay", "0.003"])
        defer { receiver.stop() }
        let settings = Self.settings(receiver, secret: "k")
        let arguments = ["--notifications-test-source", "2400:60"]
        for run in 0..<3 {
            let server = try SwitchProcess(directory: directory, settings: settings, run: run, arguments: arguments)
            let target = 500 * (run + 1)
            #expect(receiver.wait(timeout: 60) { _ in receiver.acknowledgedIds.count >= target })
            server.stop()
            let acknowledged = receiver.acknowledgedIds
            let before = receiver.requests.count
            let next = try SwitchProcess(directory: directory, settings: settings, run: 10 + run, arguments: arguments)
            _ = receiver.wait(timeout: 30) { requests in requests.count >= before + 200 }
            next.stop()
            let resent = Set(receiver.requests.dropFirst(before).map(\.id)).intersection(acknowledged)
            #expect(resent.count < 100, "run \(run): \(resent.count) of \(acknowledged.count) acknowledged events sent again")
        }
        let last = try SwitchProcess(directory: directory, settings: settings, run: 99, arguments: arguments)
        defer { last.stop() }
        #expect(receiver.wait(timeout: 120) { _ in receiver.acknowledgedIds.count == 2400 })
        let requests = receiver.requests
        #expect(Set(requests.map(\.id)) == Set((1...2400).map { "test-\($0)" }), "no event lost, none invented")
        #expect(requests.allSatisfy { $0.signatureOk && $0.id == $0.bodyId })
        let violation = WebhookReceiver.orderViolation(requests, allowingRepeats: true)
        #expect(violation == nil, "\(violation ?? "")")
    }

    @Test("While a receiver never answers and its webhook has a backlog, purchases are approved as usual and the admin API answers")
    func stuckReceiverLeavesAuthorizationsAlone() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let receiver = try WebhookReceiver(
            directory: directory.path, secret: "k", arguments: ["--weights", "0,0,1,0,0,0", "--sleep", "60"])
        defer { receiver.stop() }
        let server = try SwitchProcess(
            directory: directory,
            settings: Self.settings(receiver, secret: "k", extra: ["responseTimeoutMs": 60_000, "triesMax": 8]),
            arguments: ["--notifications-test-source", "5000:100"])
        defer { server.stop() }
        #expect(receiver.wait(timeout: 30) { requests in requests.count == 4 }, "every connection holds a request")
        let client = try SwitchClient(port: server.port)
        var terminal = Terminal()
        for index in 1...50 {
            let request = terminal.purchase(Wire.card(index), 10_000)
            expectWellFormed(try client.exchange(request), to: request, mti: "0210", code: "00")
        }
        let port = try #require(server.adminPort)
        let health = try Self.json(try AdminClient.get(port, "/v1/health"))
        #expect((health["notifications"] as? [String: Any])?["queueDepth"] as? Int ?? 0 > 0)
        #expect(receiver.requests.count == 4, "no more than connectionsPerWebhookMax requests wait on it")
    }

    @Test("A bad notifications section refuses the start naming its path: unknown key, bad URL, missing secret, too few tries, unknown event type")
    func configurationRefusals() throws {
        try ConfigurationFileTests.expectRefusal(
            #"{"notifications": {"webhooks": [{"url": "http://127.0.0.1:9/", "secret": "s", "colour": 1}]}}"#,
            "notifications.webhooks[0].colour: unknown key")
        try ConfigurationFileTests.expectRefusal(
            #"{"notifications": {"webhooks": [{"url": "https://example.com/", "secret": "s"}]}}"#,
            "notifications.webhooks[0].url: must be http://HOST:PORT/PATH")
        try ConfigurationFileTests.expectRefusal(
            #"{"notifications": {"webhooks": [{"url": "http://127.0.0.1:9/"}]}}"#,
            "notifications.webhooks[0].secret: is required")
        try ConfigurationFileTests.expectRefusal(
            #"{"notifications": {"triesMax": 7}}"#, "notifications.triesMax: must be 8...1000")
        try ConfigurationFileTests.expectRefusal(
            #"{"notifications": {"retryDelayFirstMs": 6000}}"#, "notifications.retryDelayFirstMs: must be 1...5000")
        try ConfigurationFileTests.expectRefusal(
            #"{"notifications": {"webhooks": [{"url": "http://127.0.0.1:9/", "secret": "s", "events": ["points.earnt"]}]}}"#,
            "notifications.webhooks[0].events: unknown event type points.earnt")
        try ConfigurationFileTests.expectRefusal(
            #"{"notifications": {"webhooks": [{"url": "http://127.0.0.1:9/", "secret": "s", "language": "de"}]}}"#,
            "notifications.webhooks[0].language: must be fa or en")
    }

    @Test("Every notifications key is read into the configuration")
    func keys() throws {
        let configuration = try ConfigurationFileTests.load(
            #"{"notifications": {"webhooks": [{"url": "http://127.0.0.1:9/a", "secret": "s", "#
                + #""events": ["points.earned", "tier.changed"], "language": "en"}], "triesMax": 9, "#
                + #""retryDelayFirstMs": 2, "retryDelayMaxMs": 3, "connectTimeoutMs": 11, "responseTimeoutMs": 12, "#
                + #""connectionsPerWebhookMax": 5, "responseBytesMax": 300, "windowEventsMax": 7, "#
                + #""membersInFlightMax": 6, "deadLettersMax": 4, "sendsPerIterationMax": 3, "eventsPerSecondMax": 10, "#
                + #""progressCommitIntervalMs": 8}}"#)
        let notifications = try #require(configuration.notifications)
        let webhook = try #require(notifications.webhooks.first)
        #expect(webhook.address.description == "http://127.0.0.1:9/a" && webhook.secret == Array("s".utf8))
        #expect(webhook.eventTypes == ["points.earned", "tier.changed"] && webhook.language == .english)
        let limits = notifications.limits
        #expect(limits.triesMax == 9 && limits.retryDelayFirstMs == 2 && limits.retryDelayMaxMs == 3)
        #expect(limits.connectTimeoutMs == 11 && limits.responseTimeoutMs == 12 && limits.connectionsPerWebhookMax == 5)
        #expect(limits.responseBytesMax == 300 && limits.windowEventsMax == 7 && limits.membersInFlightMax == 6)
        #expect(limits.deadLettersMax == 4 && limits.sendsPerIterationMax == 3 && limits.eventsPerSecondMax == 10)
        #expect(notifications.progressCommitIntervalMs == 8)
    }
}
