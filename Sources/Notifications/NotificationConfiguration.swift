/// One receiver of events: where, the shared secret that signs each body, which event types, and the language of
/// `data.text`.
public struct WebhookConfiguration: Sendable {
    public var address: WebhookAddress
    public var secret: [UInt8]
    /// Event types delivered; nil delivers every type (`"events": ["*"]`).
    public var eventTypes: Set<String>?
    public var language: NotificationLanguage

    public init(
        address: WebhookAddress, secret: [UInt8], eventTypes: Set<String>? = nil,
        language: NotificationLanguage = .persian
    ) {
        precondition(!secret.isEmpty, "a webhook has a secret")
        self.address = address
        self.secret = secret
        self.eventTypes = eventTypes
        self.language = language
    }

    public func wants(_ type: String) -> Bool { eventTypes?.contains(type) ?? true }
}

/// Retries and limits of delivery, the same for every webhook (specs/configuration.md, `notifications`).
public struct DeliveryLimits: Sendable {
    /// Tries of one event before it moves to the dead-letter list (the contract asks for at least 8).
    public var triesMax = 10
    /// The first retry waits up to this long (full jitter: a uniform draw in 0...delay); the contract asks for
    /// the first retry within 5 s.
    public var retryDelayFirstMs = 1000
    /// The delay doubles per try up to this (the contract caps it at 5 minutes).
    public var retryDelayMaxMs = 300_000
    /// A TCP connect to a receiver that has not finished after this long fails the try.
    public var connectTimeoutMs = 5000
    /// A receiver that has not answered (whole head and body) this long after the request was sent fails the try.
    public var responseTimeoutMs = 10_000
    /// Open connections per webhook (each carries one request at a time): the most events in flight to it.
    public var connectionsPerWebhookMax = 4
    /// An answer longer than this (head and body) is cut: the connection closes and the try fails.
    public var responseBytesMax = 16 << 10
    /// Events read ahead per webhook and not yet acknowledged or dead-lettered; reading pauses at the limit.
    public var windowEventsMax = 4096
    /// Members with events in the window; reading pauses at the limit (one ordered stream each).
    public var membersInFlightMax = 1024
    /// Dead letters kept per webhook. At the limit an event out of tries keeps retrying at the capped delay
    /// instead (counted): nothing is dropped.
    public var deadLettersMax = 10_000
    /// Tries (first or retried) per second per webhook at most: what delivery may take from the cores it shares
    /// with authorizations. A backlog of a million events drains in about 8 minutes at the default.
    public var eventsPerSecondMax = 2000
    /// Requests a webhook starts per loop iteration, so a backlog never holds the delivery loop from its other
    /// webhooks and timers.
    public var sendsPerIterationMax = 64

    public init() {}

    /// The limits of one of `count` streams of a webhook (one per ledger shard): its connections, window, members
    /// in flight and send rate divided evenly (at least one each); tries, delays and sizes are the same.
    func shared(among count: Int) -> DeliveryLimits {
        precondition(count >= 1, "a webhook has a stream")
        var limits = self
        limits.connectionsPerWebhookMax = max(1, connectionsPerWebhookMax / count)
        limits.windowEventsMax = max(1, windowEventsMax / count)
        limits.membersInFlightMax = max(1, membersInFlightMax / count)
        limits.eventsPerSecondMax = max(1, eventsPerSecondMax / count)
        return limits
    }

    /// The contract's floor and ceiling, checked where a configuration is built in code.
    public var problem: String? {
        if triesMax < 8 { return "triesMax must be at least 8" }
        if retryDelayFirstMs < 1 || retryDelayFirstMs > 5000 { return "retryDelayFirstMs must be 1...5000" }
        if retryDelayMaxMs < retryDelayFirstMs || retryDelayMaxMs > 300_000 {
            return "retryDelayMaxMs must be retryDelayFirstMs...300000"
        }
        return nil
    }
}

/// `"notifications"`: the webhooks and the delivery limits. Progress goes to `DATA/notifications/`.
public struct NotificationConfiguration: Sendable {
    public var webhooks: [WebhookConfiguration] = []
    public var limits = DeliveryLimits()
    /// Group commit of progress: the writer waits at most this long to gather records before one fdatasync.
    public var progressCommitIntervalMs = 20
    /// Log records the outbox may keep behind a snapshot for webhooks that have not finished them; past it a
    /// snapshot deletes them anyway (authorizations never wait) and the outbox counts them as dropped.
    public var outboxRecordsMax = 4_000_000
    /// The nice value of the delivery loop's thread (the switch runs webhooks on one loop of its own, never on
    /// an ISO 8583 loop): above 0 it yields the cores to authorizations when they are busy.
    public var loopNice = 10
    /// Whether progress is fdatasync'd (off only with the switch's `"durable": false`, for benchmarks).
    public var durable = true

    public init() {}
}
