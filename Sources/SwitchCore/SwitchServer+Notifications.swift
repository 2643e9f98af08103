import Network
import Notifications

extension SwitchServer {
    /// Starts delivery to the configured webhooks on a loop of its own (`notificationsGroup`, at
    /// `notifications.loopNice`), so webhooks' connections, timers and retries never take an ISO 8583 loop's turn;
    /// one outbox reader per shard feeds it. Before the loops start: each webhook adds its loop's hook. Off without
    /// webhooks. A progress file that cannot be opened or a name that does not resolve refuses the start, naming it.
    func startNotifications() throws(SwitchStartError) {
        guard var notifications = configuration.notifications, !notifications.webhooks.isEmpty else { return }
        notifications.durable = configuration.durable
        let sources: [EventSource]
        var outbox: LedgerOutbox?
        if let test = configuration.notificationTestSource {
            sources = [TestEventSource(eventCount: test.events, memberCount: test.members)]
            log.warning(
                "notifications: test source (\(test.events) events, \(test.members) members) instead of the ledger's",
                priority: .essential)
        } else {
            let ledger = LedgerOutbox(
                dataDirectory: configuration.dataDirectory, ledger: runtime.ledger,
                recordsMax: UInt64(notifications.outboxRecordsMax), decider: runtime.decider, log: log)
            outbox = ledger
            sources = ledger.sources
        }
        let loop: EventLoopGroup
        do {
            loop = try EventLoopGroup(
                loopCount: 1, limits: configuration.network, log: log, namePrefix: "notify-loop",
                threadNice: notifications.loopNice)
        } catch {
            throw SwitchStartError(message: "notifications: their own loop: \(error)")
        }
        let notifier: Notifier
        do {
            notifier = try Notifier(
                configuration: notifications, dataDirectory: configuration.dataDirectory, sources: sources,
                group: loop, log: log)
        } catch {
            throw SwitchStartError(message: "notifications: \(error)")
        }
        precondition(notifier.webhooks.count == notifications.webhooks.count, "one delivery per configured webhook")
        precondition(!sources.isEmpty && notificationsGroup == nil, "notifications start once, from some source")
        notificationsGroup = loop
        adminMetrics.notifier.withLock { $0 = notifier }
        if let outbox {
            outbox.start(notifier)
            adminMetrics.outbox.withLock { $0 = outbox }
        }
        for webhook in notifier.webhooks {
            log.info(
                "notifications: delivering to \(webhook.url) from \(sources.count) shard(s) on their own loop, nice "
                    + "\(notifications.loopNice)", priority: .essential)
        }
    }

    /// Stops the delivery loop (its connections close), then the outbox readers, then commits the last progress.
    func stopNotifications() {
        notificationsGroup?.stop()
        adminMetrics.outbox.withLock { $0 }?.stop()
        adminMetrics.notifier.withLock { $0 }?.stop()
    }
}
