import Network
import Notifications

/// The source webhooks get until the ledger's outbox feeds them (issue 15, the outbox step): none.
final class NoEventSource: EventSource {
    func events(after position: UInt64, limit: Int) -> [SourcedEvent] { [] }
}

extension SwitchServer {
    /// Starts delivery to the configured webhooks (before the loops start: each webhook adds its loop's hook).
    /// Off without webhooks. A progress file that cannot be opened or a name that does not resolve refuses the
    /// start, naming it.
    func startNotifications() throws(SwitchStartError) {
        guard var notifications = configuration.notifications, !notifications.webhooks.isEmpty else { return }
        notifications.durable = configuration.durable
        let source: EventSource
        if let test = configuration.notificationTestSource {
            source = TestEventSource(eventCount: test.events, memberCount: test.members)
            log.warning(
                "notifications: test source (\(test.events) events, \(test.members) members) instead of the ledger's",
                priority: .essential)
        } else {
            source = NoEventSource()
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
        for webhook in notifier.webhooks {
            log.info("notifications: delivering to \(webhook.url)", priority: .essential)
        }
    }

    /// Commits the last delivery progress (after the loops stopped).
    func stopNotifications() {
        adminMetrics.notifier.withLock { $0 }?.stop()
    }
}
