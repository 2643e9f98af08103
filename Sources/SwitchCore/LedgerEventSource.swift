import Foundation
import Ledger
import Loyalty
import LoyaltyLedger
import Network
import Notifications
import Synchronization
import SystemCalls

/// The member-notification outbox of one shard: the events of its durable log records (`LogTail`), numbered by
/// where they are in the log (position = sequence × 16 + index in the record, id `sSHARD-SEQUENCE-INDEX`), so a
/// restart, a replay or a snapshot gives the same events with the same ids. A member lives on one shard, so its
/// events come in order from one source. A reader thread tails the log every `pollIntervalMs` into a bounded
/// buffer (`eventsBufferedMax`; when it is full the reader waits, and the events stay in the log); the delivery
/// loop takes from the buffer without blocking. What every webhook finished leaves the buffer and releases the
/// log (the outbox's `LogConsumer`); undelivered records past its bound are given up by the next snapshot, never
/// by holding an authorization, and counted (`recordsDropped`).
final class LedgerEventSource: EventSource, @unchecked Sendable {
    static let eventsBufferedMax = 16_384
    static let pollIntervalMs = 10
    static let recordsPerReadMax = 512

    /// Counters for health and metrics.
    struct Counters {
        var eventsProduced: UInt64 = 0
        var recordsRead: UInt64 = 0
        /// Records given up before delivery (deleted past the hold's bound) or unreadable by this build, counted
        /// once: by the reader when it finds them gone (`recordsSkipped`), never again for the hold's release of
        /// the same records.
        var recordsDropped: UInt64 = 0
        var recordsWithoutEvents: UInt64 = 0
        var readFailures: UInt64 = 0
    }

    let shard: Int
    let tail: LogTail
    let consumer: LogConsumer
    let decider: LoyaltyDecider
    let log: LogSink
    private let state: Mutex<(buffer: [SourcedEvent], counters: Counters)>
    /// Reader-thread state: the last sequence read.
    private var readSequence: UInt64
    private var readAfterPosition: UInt64
    /// The lowest watermark of all webhooks, set once the notifier exists (what may leave the buffer and the log).
    let finishedThrough: Mutex<(@Sendable () -> UInt64)?> = Mutex(nil)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// A source reading `dataDirectory`'s shard `shard`; it reads once `start` says from where.
    init(dataDirectory: String, shard: Int, consumer: LogConsumer, decider: LoyaltyDecider, log: LogSink) {
        self.shard = shard
        tail = LogTail(root: dataDirectory, shard: shard)
        self.consumer = consumer
        self.decider = decider
        self.log = log
        state = Mutex(([], Counters()))
        readSequence = 0
        readAfterPosition = 0
    }

    /// The sequence of the record holding `position` (nil for position 0: before every record).
    static func sequence(of position: UInt64) -> UInt64? { position == 0 ? nil : max(1, position >> 4) }

    static func position(_ event: LedgerEvent) -> UInt64 { event.sequence << 4 | UInt64(event.index) }

    /// Starts reading after `position` (the lowest durable watermark of the webhooks); `finished` tells, from then
    /// on, what every webhook has durably finished.
    func start(after position: UInt64, finished finishedThrough: @escaping @Sendable () -> UInt64) {
        readSequence = Self.sequence(of: position).map { $0 - 1 } ?? 0
        readAfterPosition = position
        consumer.advance(shard: shard, from: readSequence + 1)
        self.finishedThrough.withLock { $0 = finishedThrough }
        let thread = Thread { [self] in
            setThreadName("outbox-\(shard)")
            while !stopping.load(ordering: .relaxed) {
                if !readOnce() { usleep(UInt32(Self.pollIntervalMs * 1000)) }
            }
            finished.signal()
        }
        thread.name = "outbox-\(shard)"
        thread.start()
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
    }

    var counters: Counters { state.withLock { $0.counters } }

    // MARK: EventSource (webhook loops)

    func events(after position: UInt64, limit: Int) -> [SourcedEvent] {
        state.withLock { state in
            var low = 0
            var high = state.buffer.count
            while low < high {
                let middle = (low + high) / 2
                if state.buffer[middle].position <= position { low = middle + 1 } else { high = middle }
            }
            return Array(state.buffer[low..<min(state.buffer.count, low + limit)])
        }
    }

    // MARK: Reader thread

    /// Drops what every webhook finished, then reads one batch if there is room; true when it read records.
    func readOnce() -> Bool {
        let through = finishedThrough.withLock { $0 }?() ?? 0
        let room = state.withLock { state -> Int in
            if let first = state.buffer.firstIndex(where: { $0.position > through }) {
                state.buffer.removeFirst(first)
            } else {
                state.buffer.removeAll(keepingCapacity: true)
            }
            return Self.eventsBufferedMax - state.buffer.count
        }
        // The record of the last event every webhook finished may still have later events: it stays held.
        if let sequence = Self.sequence(of: through) { consumer.advance(shard: shard, from: sequence) }
        // A record gives at most perRecordMax events: read no more records than the room surely holds.
        guard room >= LedgerEvent.perRecordMax else { return false }
        let batch: LogTail.EventBatch
        do {
            batch = try tail.events(
                after: readSequence, recordsMax: min(Self.recordsPerReadMax, room / LedgerEvent.perRecordMax),
                decider: decider)
        } catch {
            state.withLock { $0.counters.readFailures += 1 }
            log.error("notifications: the outbox cannot read shard \(shard)'s log: \(error)")
            return false
        }
        let sourced = batch.events.compactMap(sourcedEvent)
        state.withLock { state in
            state.buffer += sourced
            state.counters.eventsProduced += UInt64(sourced.count)
            state.counters.recordsRead += batch.lastSequence - readSequence - batch.gap.recordsSkipped
            state.counters.recordsDropped += batch.gap.recordsSkipped + batch.gap.recordsUnreadable
            state.counters.recordsWithoutEvents += batch.recordsWithoutEvents
        }
        if batch.gap.recordsSkipped > 0 {
            log.warning(
                "notifications: \(batch.gap.recordsSkipped) log records of shard \(shard) were dropped before their events were "
                    + "delivered (the outbox's hold bound, notifications.outboxRecordsMax)")
        }
        let moved = batch.lastSequence != readSequence
        readSequence = batch.lastSequence
        return moved
    }

    private func sourcedEvent(_ event: LedgerEvent) -> SourcedEvent? {
        let position = Self.position(event)
        guard position > readAfterPosition else { return nil }
        readAfterPosition = position
        return SourcedEvent(position: position, event: LedgerEventText.notification(event, shard: shard, decider: decider))
    }
}

/// The outbox of every shard: one source per shard under one log consumer, with their counters summed for health
/// and metrics.
final class LedgerOutbox: Sendable {
    /// The name the outbox registers with the ledger's log holds.
    static let consumerName = "notifications"

    let sources: [LedgerEventSource]
    let consumer: LogConsumer

    init(dataDirectory: String, ledger: Ledger, recordsMax: UInt64, decider: LoyaltyDecider, log: LogSink) {
        let consumer = ledger.registerLogConsumer(name: Self.consumerName, recordsMax: recordsMax)
        self.consumer = consumer
        sources = (0..<ledger.shardCount).map { shard in
            LedgerEventSource(dataDirectory: dataDirectory, shard: shard, consumer: consumer, decider: decider, log: log)
        }
    }

    /// Each shard's reader starts after what every webhook durably finished in it.
    func start(_ notifier: Notifier) {
        for source in sources {
            let shard = source.shard
            source.start(after: notifier.durableWatermark(stream: shard)) { notifier.durableWatermark(stream: shard) }
        }
    }

    func stop() { for source in sources { source.stop() } }

    /// Every shard's counters, summed. `recordsDropped` is the readers' count of records they found deleted (or
    /// could not read): a record a snapshot released past the bound is counted when the reader reaches the gap,
    /// and a released record the reader had already read is not lost (its events are in the buffer) until a
    /// restart, whose reader then counts it. Adding the hold's `recordsReleased` too counted such records twice.
    var counters: LedgerEventSource.Counters {
        var total = LedgerEventSource.Counters()
        for counters in sources.map(\.counters) {
            total.eventsProduced += counters.eventsProduced
            total.recordsRead += counters.recordsRead
            total.recordsDropped += counters.recordsDropped
            total.recordsWithoutEvents += counters.recordsWithoutEvents
            total.readFailures += counters.readFailures
        }
        return total
    }
}
