import Foundation
import Network

/// Member notifications (operations contract, "Member notifications"): every configured webhook gets the events
/// of one source, signed, in order per member, retried, dead-lettered, with its progress kept in
/// `DATA/notifications/`. Webhook i lives on loop i mod loops; a writer thread group-commits progress.
public final class Notifier: @unchecked Sendable {
    /// One webhook as health, metrics and the dead-letter routes see it.
    public struct Webhook: Sendable {
        /// The URL with its query string hidden (`WebhookAddress.displayed`).
        public let url: String
        public let statistics: WebhookStatistics
        public let deadLetters: DeadLetterList
    }

    public let webhooks: [Webhook]
    let deliveries: [WebhookDelivery]
    let journals: [ProgressJournal]
    let writer: ProgressWriter

    /// Opens (replays) each webhook's progress file and resolves its address; throws naming the webhook or file.
    /// Call before `group.start()`: each delivery adds its loop's iteration hook.
    public init(
        configuration: NotificationConfiguration, dataDirectory: String, source: EventSource, group: EventLoopGroup,
        log: LogSink
    ) throws(NotificationStartError) {
        if let problem = configuration.limits.problem { throw NotificationStartError(message: problem) }
        let directory = dataDirectory + "/notifications"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw NotificationStartError(message: "\(directory): cannot create: \(error.localizedDescription)")
        }
        var webhooks: [Webhook] = []
        var deliveries: [WebhookDelivery] = []
        var journals: [ProgressJournal] = []
        for (index, webhook) in configuration.webhooks.enumerated() {
            let address: SocketAddress
            do {
                address = try webhook.address.resolve()
            } catch {
                throw NotificationStartError(message: "notifications.webhooks[\(index)].url: \(error)")
            }
            let journal = try ProgressJournal(path: directory + "/" + Self.fileName(webhook.address))
            let letters = journal.state.deadLetters.values.sorted { $0.position < $1.position }
            let deadLetters = DeadLetterList(capacity: configuration.limits.deadLettersMax, letters: letters)
            let delivery = WebhookDelivery(
                webhook: webhook, address: address, limits: configuration.limits,
                loop: group.loops[index % group.loops.count], source: source, journal: journal,
                deadLetters: deadLetters, log: log)
            delivery.loop.addIterationHook { delivery.tick() }
            webhooks.append(Webhook(url: webhook.address.displayed, statistics: delivery.statistics, deadLetters: deadLetters))
            deliveries.append(delivery)
            journals.append(journal)
        }
        self.webhooks = webhooks
        self.deliveries = deliveries
        self.journals = journals
        writer = ProgressWriter(
            journals: journals, intervalMs: configuration.progressCommitIntervalMs, durable: configuration.durable
        ) { line in log.error(line) }
        writer.start()
    }

    /// The progress file of a webhook: named after its URL (FNV-1a, 64 bits), so reordering the configuration's
    /// list keeps each webhook's progress, and a new URL starts from the beginning of the source.
    static func fileName(_ address: WebhookAddress) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(address)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "webhook-" + String(repeating: "0", count: 16 - hex.count) + hex + ".progress"
    }

    /// The lowest watermark any webhook has made durable: every event at or below it is finished everywhere, and
    /// stays so across a crash.
    public var durableWatermark: UInt64 {
        journals.map { $0.durableWatermark.load(ordering: .acquiring) }.min() ?? 0
    }

    /// Commits the last progress and stops the writer; call after the loops stopped.
    public func stop() { writer.stop() }

    /// Every dead letter, with the index of its webhook.
    public var deadLetters: [(webhook: Int, letter: DeadLetter)] {
        webhooks.enumerated().flatMap { index, webhook in webhook.deadLetters.all.map { (index, $0) } }
    }

    /// Sends the dead letters with `eventId` again (each on its webhook); returns how many there were.
    public func retry(eventId: String) -> Int {
        var count = 0
        for (index, webhook) in webhooks.enumerated() {
            for letter in webhook.deadLetters.take(eventId: eventId) {
                let delivery = deliveries[index]
                delivery.journal.append(.revived(letter.position))
                delivery.loop.execute { delivery.revive(letter) }
                count += 1
            }
        }
        return count
    }
}

extension WebhookDelivery: @unchecked Sendable {}
