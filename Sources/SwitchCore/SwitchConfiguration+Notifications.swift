import Notifications

extension SwitchConfiguration {
    /// `"notifications": {"webhooks": [...], limits}`: every key checked like the rest of the file; a URL the
    /// client cannot use is refused with its path (`notifications.webhooks[0].url`).
    static func notifications(_ object: JSONReader) throws(ConfigurationError) -> NotificationConfiguration {
        var configuration = NotificationConfiguration()
        if let list = try object.objects("webhooks", count: 0...64) {
            configuration.webhooks = try list.map { (webhook) throws(ConfigurationError) in try Self.webhook(webhook) }
        }
        var limits = configuration.limits
        limits.triesMax = try object.integer("triesMax", range: 8...1000) ?? limits.triesMax
        limits.retryDelayFirstMs = try object.integer("retryDelayFirstMs", range: 1...5000) ?? limits.retryDelayFirstMs
        limits.retryDelayMaxMs = try object.integer("retryDelayMaxMs", range: 1...300_000) ?? limits.retryDelayMaxMs
        guard limits.retryDelayMaxMs >= limits.retryDelayFirstMs else {
            throw object.error("retryDelayMaxMs", "must be at least retryDelayFirstMs (\(limits.retryDelayFirstMs))")
        }
        limits.connectTimeoutMs = try object.integer("connectTimeoutMs", range: 10...120_000) ?? limits.connectTimeoutMs
        limits.responseTimeoutMs =
            try object.integer("responseTimeoutMs", range: 10...300_000) ?? limits.responseTimeoutMs
        limits.connectionsPerWebhookMax =
            try object.integer("connectionsPerWebhookMax", range: 1...256) ?? limits.connectionsPerWebhookMax
        limits.responseBytesMax = try object.integer("responseBytesMax", range: 256...(1 << 20)) ?? limits.responseBytesMax
        limits.windowEventsMax = try object.integer("windowEventsMax", range: 1...(1 << 20)) ?? limits.windowEventsMax
        limits.membersInFlightMax =
            try object.integer("membersInFlightMax", range: 1...(1 << 20)) ?? limits.membersInFlightMax
        limits.deadLettersMax = try object.integer("deadLettersMax", range: 1...1_000_000) ?? limits.deadLettersMax
        limits.eventsPerSecondMax =
            try object.integer("eventsPerSecondMax", range: 1...1_000_000) ?? limits.eventsPerSecondMax
        limits.sendsPerIterationMax =
            try object.integer("sendsPerIterationMax", range: 1...4096) ?? limits.sendsPerIterationMax
        configuration.limits = limits
        configuration.progressCommitIntervalMs =
            try object.integer("progressCommitIntervalMs", range: 1...10_000) ?? configuration.progressCommitIntervalMs
        configuration.outboxRecordsMax =
            try object.integer("outboxRecordsMax", range: 1...1_000_000_000) ?? configuration.outboxRecordsMax
        configuration.loopNice = try object.integer("loopNice", range: 0...19) ?? configuration.loopNice
        try object.rejectUnknownKeys()
        precondition(configuration.webhooks.count <= 64, "at most 64 webhooks")
        precondition(
            configuration.limits.retryDelayFirstMs >= 1
                && configuration.limits.retryDelayMaxMs >= configuration.limits.retryDelayFirstMs,
            "the backoff starts at 1 ms or more and never shrinks")
        precondition(
            configuration.limits.triesMax >= 8 && configuration.limits.sendsPerIterationMax >= 1,
            "delivery limits in range")
        precondition(
            configuration.progressCommitIntervalMs >= 1 && configuration.outboxRecordsMax >= 1,
            "progress limits in range")
        return configuration
    }

    static func webhook(_ object: JSONReader) throws(ConfigurationError) -> WebhookConfiguration {
        guard let url = try object.string("url") else { throw object.error("url", "is required (http://HOST:PORT/PATH)") }
        let address: WebhookAddress
        do {
            address = try WebhookAddress(url: url)
        } catch {
            throw object.error("url", error.description)
        }
        guard let secret = try object.nonEmptyString("secret", meaning: "shared secret (signs each body)") else {
            throw object.error("secret", "is required (the shared secret that signs each body)")
        }
        var eventTypes: Set<String>?
        if let value = object.value("events") {
            guard let list = value as? [String], !list.isEmpty else {
                throw object.error("events", "must be a non-empty list of event types, or [\"*\"]")
            }
            if list != ["*"] {
                let known = Set(NotificationTemplates.eventTypes)
                if let unknown = list.first(where: { !known.contains($0) }) {
                    throw object.error(
                        "events", "unknown event type \(unknown) (known: \(known.sorted().joined(separator: ", ")), or *)")
                }
                eventTypes = Set(list)
            }
        }
        let languageName = try object.string("language") ?? NotificationLanguage.persian.rawValue
        guard let language = NotificationLanguage(rawValue: languageName) else {
            throw object.error("language", "must be fa or en")
        }
        try object.rejectUnknownKeys()
        precondition(
            !secret.isEmpty && eventTypes.map { !$0.isEmpty } ?? true, "a webhook signs with a secret, for some events")
        return WebhookConfiguration(address: address, secret: Array(secret.utf8), eventTypes: eventTypes, language: language)
    }
}
