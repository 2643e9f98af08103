import Network

/// One webhook's delivery, owned by one loop (everything here runs on that loop's thread, from its iteration
/// hook and its connections' callbacks). Events are read from the source into a bounded window; each member's
/// events form one ordered stream, whose head is sent, retried with back-off, and only then followed by the next;
/// other members' streams flow meanwhile, over at most `connectionsPerWebhookMax` connections. Every iteration
/// does a bounded amount of work (`sendsPerIterationMax` sends, one read batch), so a backlog or a bad receiver
/// never holds the loop from its ISO 8583 connections.
final class WebhookDelivery {
    /// Events asked of the source per iteration at most (each is rendered and signed when read, so this bounds
    /// that work per iteration too).
    static let readBatchMax = 64
    /// How long an empty source is left alone before it is asked again.
    static let sourcePollNs: UInt64 = 20_000_000

    struct Item {
        let payload: DeliveryPayload
        var tries: Int
        /// A dead letter an operator sent again: outside the window, its position is already finished.
        let revived: Bool
    }

    struct MemberStream {
        var items: [Item]
        var sending = false
        var retryAtNs: UInt64?
    }

    let webhook: WebhookConfiguration
    let address: SocketAddress
    let hostHeader: String
    let limits: DeliveryLimits
    let loop: EventLoop
    let source: EventSource
    let journal: ProgressJournal
    /// The source's index among the webhook's sources (a ledger shard): names this delivery's counters and
    /// dead letters.
    let stream: Int
    let statistics: WebhookStatistics.Stream
    let deadLetters: DeadLetterList
    let schedule: RetrySchedule
    let responseTimeoutNs: UInt64
    let connectTimeoutNs: UInt64
    let log: LogSink
    var generator = SystemRandomNumberGenerator()

    // Loop-thread state.
    var readPosition: UInt64
    var watermark: UInt64
    var finishedPastWatermark: Set<UInt64>
    /// Positions read past the watermark, in order (`unfinishedStart` is the oldest still kept): a source's
    /// positions may have gaps (the ledger's are sequence and index), so the watermark moves over what was read,
    /// not over `watermark + 1`.
    var readPositions: [UInt64] = []
    var readPositionsStart = 0
    var streams: [String: MemberStream] = [:]
    /// Members whose head may be sent, oldest first (`readyStart` is the next to take).
    var ready: [String] = []
    var readyStart = 0
    /// Members waiting for a retry, and the earliest one's time.
    var retrying: [String] = []
    var earliestRetryNs: UInt64 = .max
    var connections: [WebhookConnection] = []
    var windowCount = 0
    var sourceIdleUntilNs: UInt64 = 0
    var budget: SendBudget
    /// Sends waiting for a token of `budget` (the next wake is when one is there).
    var waitingForBudget = false

    init(
        webhook: WebhookConfiguration, address: SocketAddress, limits: DeliveryLimits, loop: EventLoop,
        source: EventSource, stream: Int, journal: ProgressJournal, statistics: WebhookStatistics,
        deadLetters: DeadLetterList, log: LogSink
    ) {
        self.webhook = webhook
        self.address = address
        hostHeader = "\(webhook.address.host):\(webhook.address.port)"
        self.limits = limits
        self.loop = loop
        self.source = source
        self.journal = journal
        self.stream = stream
        self.statistics = statistics.stream(stream)
        self.deadLetters = deadLetters
        schedule = RetrySchedule(firstDelayMs: limits.retryDelayFirstMs, delayMaxMs: limits.retryDelayMaxMs)
        responseTimeoutNs = UInt64(limits.responseTimeoutMs) * 1_000_000
        connectTimeoutNs = UInt64(limits.connectTimeoutMs) * 1_000_000
        self.log = log
        budget = SendBudget(perSecond: limits.eventsPerSecondMax, nowNs: monotonicNanoseconds())
        let state = journal.state
        watermark = state.watermark
        readPosition = state.watermark
        finishedPastWatermark = state.finishedPastWatermark
        for letter in state.revived.values.sorted(by: { $0.position < $1.position }) { revive(letter) }
    }

    /// The loop's iteration hook.
    func tick() {
        loop.preconditionInEventLoop()
        let now = monotonicNanoseconds()
        expireDeadlines(now)
        if earliestRetryNs <= now { releaseDueRetries(now) }
        readFromSource(now)
        let sends = dispatch(now)
        statistics.set(.queueDepth, windowCount)
        statistics.set(.membersInFlight, streams.count)
        requestWake(now, busy: sends == limits.sendsPerIterationMax)
    }

    /// Closes connections whose connect or answer is overdue; their tries fail (and are retried).
    func expireDeadlines(_ now: UInt64) {
        for connection in connections where connection.deadlineNs <= now {
            let failure =
                connection.isConnected
                ? "no answer within \(limits.responseTimeoutMs) ms (responseTimeoutMs)"
                : "no connection within \(limits.connectTimeoutMs) ms (connectTimeoutMs)"
            connection.failure = failure
            connection.connection?.close(.overLimit(failure))
        }
    }

    func releaseDueRetries(_ now: UInt64) {
        earliestRetryNs = .max
        retrying.removeAll { member in
            guard let due = streams[member]?.retryAtNs else { return true }
            guard due <= now else {
                earliestRetryNs = min(earliestRetryNs, due)
                return false
            }
            streams[member]?.retryAtNs = nil
            ready.append(member)
            return true
        }
    }

    /// Reads what fits into the window. An event of a type this webhook does not take is finished at once.
    func readFromSource(_ now: UInt64) {
        guard now >= sourceIdleUntilNs else { return }
        let room = limits.windowEventsMax - windowCount
        guard room > 0, streams.count < limits.membersInFlightMax else {
            statistics.add(.windowFull)
            return
        }
        let batch = source.events(after: readPosition, limit: min(room, Self.readBatchMax))
        guard !batch.isEmpty else {
            sourceIdleUntilNs = now + Self.sourcePollNs
            return
        }
        for sourced in batch {
            let position = sourced.position
            precondition(position > readPosition, "a source gives positions in order, each once")
            if position <= watermark { continue }
            if finishedPastWatermark.contains(position) {
                readPosition = position
                readPositions.append(position)
                advanceWatermark()
                continue
            }
            if !webhook.wants(sourced.event.type) {
                readPosition = position
                readPositions.append(position)
                finish(position)
                continue
            }
            let member = sourced.event.memberId
            if streams[member] == nil && streams.count >= limits.membersInFlightMax {
                statistics.add(.windowFull)
                break
            }
            readPosition = position
            readPositions.append(position)
            windowCount += 1
            enqueue(Item(payload: DeliveryPayload(sourced, webhook: webhook), tries: 0, revived: false), member)
        }
    }

    func enqueue(_ item: Item, _ member: String) {
        if streams[member] == nil {
            streams[member] = MemberStream(items: [item])
            ready.append(member)
        } else {
            streams[member]!.items.append(item)
        }
    }

    /// Sends ready members' head events on idle (or new) connections; returns how many were sent.
    func dispatch(_ now: UInt64) -> Int {
        var sends = 0
        waitingForBudget = false
        while sends < limits.sendsPerIterationMax && readyStart < ready.count {
            guard let connection = connections.first(where: { $0.isIdle }) ?? openConnection(now) else { break }
            let member = ready[readyStart]
            guard var stream = streams[member], !stream.sending, stream.retryAtNs == nil, let item = stream.items.first
            else {
                readyStart += 1
                continue
            }
            guard budget.take(nowNs: now) else {
                waitingForBudget = true
                break
            }
            readyStart += 1
            stream.sending = true
            streams[member] = stream
            connection.send(item.payload, member: member, nowNs: now)
            sends += 1
        }
        if readyStart == ready.count {
            ready.removeAll(keepingCapacity: true)
            readyStart = 0
        } else if readyStart > 1024 {
            ready.removeFirst(readyStart)
            readyStart = 0
        }
        return sends
    }

    func openConnection(_ now: UInt64) -> WebhookConnection? {
        guard connections.count < limits.connectionsPerWebhookMax else { return nil }
        let handler = WebhookConnection(delivery: self, responseBytesMax: limits.responseBytesMax)
        do {
            handler.connection = try loop.connect(to: address, handler: handler)
        } catch {
            log.warning("notifications: \(webhook.address.displayed): \(error)")
            return nil
        }
        handler.deadlineNs = now + connectTimeoutNs
        connections.append(handler)
        return handler
    }

    func connectionClosed(_ connection: WebhookConnection) {
        connections.removeAll { $0 === connection }
    }

    func requestWake(_ now: UInt64, busy: Bool) {
        var wake = earliestRetryNs
        if busy { wake = now }
        if waitingForBudget { wake = min(wake, budget.nextTokenNs(nowNs: now)) }
        if windowCount < limits.windowEventsMax && streams.count < limits.membersInFlightMax {
            wake = min(wake, max(sourceIdleUntilNs, now))
        }
        for connection in connections { wake = min(wake, connection.deadlineNs) }
        if wake != .max { loop.wakeNoLaterThan(wake) }
    }
}
