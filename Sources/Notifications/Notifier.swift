import Foundation
import Network

/// Member notifications (operations contract, "Member notifications"): every configured webhook gets the events
/// of its sources (one per ledger shard), signed, in order per member (a member's events all come from one
/// source), retried, dead-lettered, with the progress of each (webhook, source) kept in `DATA/notifications/`.
/// The delivery of webhook i from source s lives on loop (i × sources + s) mod loops (the switch gives
/// notifications a loop of their own); a writer thread group-commits progress.
public final class Notifier: @unchecked Sendable {
    /// One webhook as health, metrics and the dead-letter routes see it.
    public struct Webhook: Sendable {
        /// The URL with its query string hidden (`WebhookAddress.displayed`).
        public let url: String
        public let statistics: WebhookStatistics
        public let deadLetters: DeadLetterList
    }

    public let webhooks: [Webhook]
    /// Webhook i's delivery from source s is at i × sourceCount + s (and so is its journal).
    let deliveries: [WebhookDelivery]
    let journals: [ProgressJournal]
    let sourceCount: Int
    let writer: ProgressWriter

    /// A notifier of one source.
    public convenience init(
        configuration: NotificationConfiguration, dataDirectory: String, source: EventSource, group: EventLoopGroup,
        log: LogSink
    ) throws(NotificationStartError) {
        try self.init(
            configuration: configuration, dataDirectory: dataDirectory, sources: [source], group: group, log: log)
    }

    /// Opens (replays) each (webhook, source)'s progress file and resolves each webhook's address; throws naming
    /// the webhook or file. Call before `group.start()`: each delivery adds its loop's iteration hook. A
    /// webhook's connections, window, members in flight and send rate are shared evenly among its sources.
    public init(
        configuration: NotificationConfiguration, dataDirectory: String, sources: [EventSource],
        group: EventLoopGroup, log: LogSink
    ) throws(NotificationStartError) {
        precondition(!sources.isEmpty, "a notifier has a source")
        if let problem = configuration.limits.problem { throw NotificationStartError(message: problem) }
        let directory = dataDirectory + "/notifications"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw NotificationStartError(message: "\(directory): cannot create: \(error.localizedDescription)")
        }
        let limits = configuration.limits.shared(among: sources.count)
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
            var opened: [ProgressJournal] = []
            for stream in sources.indices {
                opened.append(try ProgressJournal(path: directory + "/" + Self.fileName(webhook.address, stream: stream)))
            }
            let letters = opened.enumerated().flatMap { stream, journal in
                journal.state.deadLetters.values.sorted { $0.position < $1.position }.map { (stream, $0) }
            }
            let deadLetters = DeadLetterList(capacity: configuration.limits.deadLettersMax, letters: letters)
            let statistics = WebhookStatistics(streams: sources.count)
            for (stream, journal) in opened.enumerated() {
                let delivery = WebhookDelivery(
                    webhook: webhook, address: address, limits: limits,
                    loop: group.loops[(index * sources.count + stream) % group.loops.count], source: sources[stream],
                    stream: stream, journal: journal, statistics: statistics, deadLetters: deadLetters, log: log)
                delivery.loop.addIterationHook { delivery.tick() }
                deliveries.append(delivery)
            }
            webhooks.append(Webhook(url: webhook.address.displayed, statistics: statistics, deadLetters: deadLetters))
            journals += opened
        }
        self.webhooks = webhooks
        self.deliveries = deliveries
        self.journals = journals
        sourceCount = sources.count
        writer = ProgressWriter(
            journals: journals, intervalMs: configuration.progressCommitIntervalMs, durable: configuration.durable
        ) { line in log.error(line) }
        writer.start()
    }

    /// The progress file of a webhook's stream from source `stream`: named after its URL (FNV-1a, 64 bits), so
    /// reordering the configuration's list keeps each webhook's progress, and a new URL starts from the beginning
    /// of the source. Source 0 keeps the name it had when there was one source (`webhook-HASH.progress`), the
    /// others add theirs (`webhook-HASH-s1.progress`).
    static func fileName(_ address: WebhookAddress, stream: Int) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(address)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "webhook-" + String(repeating: "0", count: 16 - hex.count) + hex + (stream == 0 ? "" : "-s\(stream)")
            + ".progress"
    }

    /// The lowest watermark any webhook has made durable in source `stream`: every event of it at or below it is
    /// finished everywhere, and stays so across a crash.
    public func durableWatermark(stream: Int) -> UInt64 {
        precondition(stream >= 0 && stream < sourceCount, "a source of this notifier")
        return journals.indices.filter { $0 % sourceCount == stream }
            .map { journals[$0].durableWatermark.load(ordering: .acquiring) }.min() ?? 0
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
            for (stream, letter) in webhook.deadLetters.take(eventId: eventId) {
                let delivery = deliveries[index * sourceCount + stream]
                delivery.journal.append(.revived(letter.position))
                delivery.loop.execute { delivery.revive(letter) }
                count += 1
            }
        }
        return count
    }
}

extension WebhookDelivery: @unchecked Sendable {}
