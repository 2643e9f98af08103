import Network
import Notifications

extension SwitchServer {
    /// Starts delivery to the configured webhooks (before the loops start: each webhook adds its loop's hook).
    /// Off without webhooks. A progress file that cannot be opened or a name that does not resolve refuses the
    /// start, naming it.
    func startNotifications() throws(SwitchStartError) {
        guard var notifications = configuration.notifications, !notifications.webhooks.isEmpty else { return }
        notifications.durable = configuration.durable
        let source: EventSource
        var outbox: LedgerEventSource?
        if let test = configuration.notificationTestSource {
            source = TestEventSource(eventCount: test.events, memberCount: test.members)
            log.warning(
                "notifications: test source (\(test.events) events, \(test.members) members) instead of the ledger's",
                priority: .essential)
        } else {
            guard runtime.ledger.shardCount == 1 else {
                throw SwitchStartError(
                    message: "notifications: the ledger outbox reads one shard; this switch has \(runtime.ledger.shardCount)")
            }
            let reader = LedgerEventSource(
                dataDirectory: configuration.dataDirectory, ledger: runtime.ledger, decider: runtime.decider, log: log)
            reader.hold.recordsMax = UInt64(notifications.outboxRecordsMax)
            outbox = reader
            source = reader
        }
        let notifier: Notifier
        do {
            notifier = try Notifier(
                configuration: notifications, dataDirectory: configuration.dataDirectory, source: source,
                group: group, log: log)
        } catch {
            throw SwitchStartError(message: "notifications: \(error)")
        }
        adminMetrics.notifier.withLock { $0 = notifier }
        if let outbox {
            outbox.start(after: notifier.durableWatermark) { notifier.durableWatermark }
            adminMetrics.outbox.withLock { $0 = outbox }
        }
        for webhook in notifier.webhooks {
            log.info("notifications: delivering to \(webhook.url)", priority: .essential)
        }
    }

    /// Commits the last delivery progress (after the loops stopped).
    func stopNotifications() {
        adminMetrics.outbox.withLock { $0 }?.stop()
        adminMetrics.notifier.withLock { $0 }?.stop()
    }
}
