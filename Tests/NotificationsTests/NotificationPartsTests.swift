import Testing

@testable import Notifications

/// Webhook URLs, the retry schedule, templates and event bodies.
struct NotificationPartsTests {
    @Test("http://HOST:PORT/PATH is parsed; other schemes, user info, bad ports, hosts and paths are refused in words")
    func addresses() throws {
        let address = try WebhookAddress(url: "http://127.0.0.1:8080/hooks/loyalty?x=1")
        #expect(address.host == "127.0.0.1" && address.port == 8080 && address.path == "/hooks/loyalty?x=1")
        #expect(address.displayed == "http://127.0.0.1:8080/hooks/loyalty?…", "a token in the query is never shown")
        #expect(try WebhookAddress(url: "http://sms-relay.local").port == 80)
        #expect(try WebhookAddress(url: "http://localhost:9").resolve().description == "127.0.0.1:9")
        for bad in [
            "https://example.com/", "ftp://x/", "http://", "http://user@host/", "http://host:0/", "http://host:70000/",
            "http://ho st/", "http://host/a b", "http://host/#frag",
        ] {
            #expect(throws: WebhookAddress.Problem.self, "\(bad)") { try WebhookAddress(url: bad) }
        }
    }

    @Test("Back-off: the first retry within retryDelayFirstMs, the ceiling doubling to retryDelayMaxMs, jitter inside it")
    func schedule() {
        let defaults = DeliveryLimits()
        #expect(defaults.problem == nil && defaults.triesMax >= 8 && defaults.retryDelayFirstMs <= 5000)
        let schedule = RetrySchedule(firstDelayMs: 1000, delayMaxMs: 300_000)
        #expect((1...12).map { schedule.ceilingMs(afterFailedTries: $0) }.prefix(4) == [1000, 2000, 4000, 8000])
        #expect(schedule.ceilingMs(afterFailedTries: 10) == 300_000 && schedule.ceilingMs(afterFailedTries: 99) == 300_000)
        var generator = SystemRandomNumberGenerator()
        let draws = (0..<2000).map { _ in schedule.delayMs(afterFailedTries: 3, using: &generator) }
        #expect(draws.allSatisfy { (0...4000).contains($0) } && Set(draws).count > 500, "full jitter")
        var limits = DeliveryLimits()
        limits.triesMax = 7
        #expect(limits.problem != nil)
    }

    @Test("Every contract event type has a Persian and an English text with every placeholder filled")
    func templates() {
        let source = TestEventSource(eventCount: 100, memberCount: 3)
        #expect(NotificationTemplates.eventTypes.count == 13)
        for type in NotificationTemplates.eventTypes {
            let base = source.event(at: 1)
            let event = NotificationEvent(
                id: "x-1", type: type, timeMs: 0, memberId: "m", card: "6037991234567890", data: base.data)
            for language in NotificationLanguage.allCases {
                let text = NotificationTemplates.render(event, language: language)
                #expect(!text.contains("{") && !text.contains("}"), "\(type) \(language): \(text)")
                #expect(!text.contains("6037991234567890"))
            }
        }
        let earned = NotificationEvent(
            id: "e", type: "points.earned", timeMs: 0, memberId: "m", card: "",
            data: [EventField("points", 120), EventField("balance", 3405)])
        #expect(NotificationTemplates.render(earned, language: .english) == "You earned 120 points. Balance: 3405 points.")
        #expect(NotificationTemplates.render(earned, language: .persian).contains("۱۲۰ امتیاز"))
    }

    @Test("A body is the contract's JSON with the card masked and data.text; its signature is HMAC-SHA256 of it")
    func body() throws {
        let event = NotificationEvent(
            id: "s0-17-0", type: "points.earned", timeMs: 1_790_000_000_250, memberId: "m-9",
            card: "6037991234567890", data: [EventField("points", 5), EventField("balance", 50)])
        let webhook = WebhookConfiguration(
            address: try WebhookAddress(url: "http://127.0.0.1:1/"), secret: Array("key".utf8), language: .english)
        let payload = DeliveryPayload(SourcedEvent(position: 1, event: event), webhook: webhook)
        let text = String(decoding: payload.body, as: UTF8.self)
        #expect(
            text == #"{"id":"s0-17-0","type":"points.earned","time":"2026-09-21T14:13:20.250Z","memberId":"m-9","#
                + #""card":"603799******7890","data":{"points":5,"balance":50,"text":"You earned 5 points. "#
                + #"Balance: 50 points."}}"#)
        #expect(payload.signature == "sha256=" + HMACSHA256.hex(key: Array("key".utf8), message: payload.body))
    }

    @Test("The send budget gives 50 ms worth of tries at once, then one per 1/rate seconds, on a clock it is handed")
    func sendBudget() {
        var budget = SendBudget(perSecond: 1000, nowNs: 0)
        var taken = 0
        while budget.take(nowNs: 0) { taken += 1 }
        #expect(taken == 50)
        #expect(budget.nextTokenNs(nowNs: 0) > 0 && budget.nextTokenNs(nowNs: 0) <= 1_000_001)
        #expect(!budget.take(nowNs: 500_000) && budget.take(nowNs: 1_000_001))
        var later = 0
        while budget.take(nowNs: 10_000_000_000) { later += 1 }
        #expect(later == 50, "idle time never banks more than the burst")
        var slow = SendBudget(perSecond: 1, nowNs: 0)
        #expect(slow.take(nowNs: 0) && !slow.take(nowNs: 999_000_000) && slow.take(nowNs: 1_000_000_001))
    }
}
