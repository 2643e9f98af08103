import Foundation
import Ledger
import Loyalty
import Network
import LoyaltyLedger
import Notifications
import Synchronization

/// The member-notification outbox: the events of shard 0's durable log records (`LogTail`), numbered by where
/// they are in the log (position = sequence × 16 + index in the record, id `s0-SEQUENCE-INDEX`), so a restart,
/// a replay or a snapshot gives the same events with the same ids. A reader thread tails the log every
/// `pollIntervalMs` into a bounded buffer (`eventsBufferedMax`; when it is full the reader waits, and the events
/// stay in the log); webhooks' loops take from the buffer without blocking. What every webhook finished leaves
/// the buffer and releases the log (`LogHold`); undelivered records past the hold's bound are given up by the
/// next snapshot, never by holding an authorization, and counted (`recordsDropped`).
final class LedgerEventSource: EventSource, @unchecked Sendable {
    static let eventsBufferedMax = 16_384
    static let pollIntervalMs = 10
    static let recordsPerReadMax = 512

    /// Counters for health and metrics.
    struct Counters {
        var eventsProduced: UInt64 = 0
        var recordsRead: UInt64 = 0
        /// Records given up before delivery (deleted past the hold's bound) or unreadable by this build.
        var recordsDropped: UInt64 = 0
        var recordsWithoutEvents: UInt64 = 0
        var readFailures: UInt64 = 0
    }

    let shard = 0
    let tail: LogTail
    let hold: LogHold
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

    /// A source reading `dataDirectory`'s shard 0; it reads once `start` says from where.
    init(dataDirectory: String, ledger: Ledger, decider: LoyaltyDecider, log: LogSink) {
        precondition(ledger.shardCount == 1, "the outbox reads one shard")
        tail = LogTail(root: dataDirectory, shard: shard)
        hold = ledger.logHold(shard: shard)
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
        hold.hold(from: readSequence + 1)
        self.finishedThrough.withLock { $0 = finishedThrough }
        let thread = Thread { [self] in
            while !stopping.load(ordering: .relaxed) {
                if !readOnce() { usleep(UInt32(Self.pollIntervalMs * 1000)) }
            }
            finished.signal()
        }
        thread.name = "notifications-outbox"
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
        if let sequence = Self.sequence(of: through) { hold.hold(from: sequence) }
        // A record gives at most perRecordMax events: read no more records than the room surely holds.
        guard room >= LedgerEvent.perRecordMax else { return false }
        let batch: LogTail.EventBatch
        do {
            batch = try tail.events(
                after: readSequence, recordsMax: min(Self.recordsPerReadMax, room / LedgerEvent.perRecordMax),
                decider: decider)
        } catch {
            state.withLock { $0.counters.readFailures += 1 }
            log.error("notifications: the outbox cannot read the log: \(error)")
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
                "notifications: \(batch.gap.recordsSkipped) log records were dropped before their events were "
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
