import Foundation
import Glibc
import Network
import WebhookTestSupport

@testable import Notifications

/// The module on real loops and real sockets: an event loop group, a notifier fed by a `TestEventSource`, and
/// the data directory its progress goes to.
final class DeliveryHarness {
    let group: EventLoopGroup
    let notifier: Notifier
    let source: TestEventSource

    init(
        directory: String, webhooks: [WebhookConfiguration], events: UInt64, members: UInt64, loops: Int = 2,
        limits: DeliveryLimits = DeliveryHarness.fastLimits, moreSources: [EventSource] = []
    ) throws {
        group = try EventLoopGroup(
            loopCount: loops, limits: NetworkLimits(), log: LogSink(descriptor: open("/dev/null", O_WRONLY)))
        source = TestEventSource(eventCount: events, memberCount: members)
        var configuration = NotificationConfiguration()
        configuration.webhooks = webhooks
        configuration.limits = limits
        notifier = try Notifier(
            configuration: configuration, dataDirectory: directory, sources: [source] + moreSources, group: group,
            log: LogSink(descriptor: open("/dev/null", O_WRONLY)))
        group.start()
    }

    /// Retries within milliseconds (the contract's floor of 8 tries kept), answers due within 300 ms.
    static var fastLimits: DeliveryLimits {
        var limits = DeliveryLimits()
        limits.triesMax = 8
        limits.retryDelayFirstMs = 1
        limits.retryDelayMaxMs = 20
        limits.responseTimeoutMs = 300
        limits.connectTimeoutMs = 300
        return limits
    }

    static func webhook(_ receiver: WebhookReceiver, secret: String, language: NotificationLanguage = .english)
        throws -> WebhookConfiguration
    {
        WebhookConfiguration(
            address: try WebhookAddress(url: receiver.url), secret: Array(secret.utf8), language: language)
    }

    /// Stops the loops, then commits the last progress (as the switch's graceful shutdown does).
    func stop() {
        group.stop()
        notifier.stop()
    }
}

/// A test source whose ids and members carry a prefix, standing for another ledger shard (whose positions start at
/// 1 again and whose members are its own).
final class PrefixedSource: EventSource, @unchecked Sendable {
    let base: TestEventSource
    let prefix: String

    init(prefix: String, events: UInt64, members: UInt64) {
        base = TestEventSource(eventCount: events, memberCount: members)
        self.prefix = prefix
    }

    func events(after position: UInt64, limit: Int) -> [SourcedEvent] {
        base.events(after: position, limit: limit).map { sourced in
            let event = sourced.event
            return SourcedEvent(
                position: sourced.position,
                event: NotificationEvent(
                    id: prefix + event.id, type: event.type, timeMs: event.timeMs, memberId: prefix + event.memberId,
                    card: event.card, data: event.data))
        }
    }
}
