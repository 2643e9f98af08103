import Network
import Synchronization

extension WebhookDelivery {
    /// A try ended (a connection callback): acknowledged, retried later, or moved to the dead-letter list. The
    /// member's next event is sent from the next iteration hook, never from inside a connection callback.
    func finished(member: String, payload: DeliveryPayload, result: DeliveryResult) {
        guard var stream = streams[member], stream.sending, let item = stream.items.first,
            item.payload.position == payload.position, item.payload.eventId == payload.eventId
        else { preconditionFailure("a finished try is its member's head event") }
        stream.sending = false
        switch result {
        case .acknowledged:
            statistics.add(.delivered)
            complete(&stream, member, item, record: .acknowledged(item.payload.position))
        case .failed(let reason):
            let tries = item.tries + 1
            if tries >= limits.triesMax, let letter = deadLetter(item, tries: tries, reason: reason) {
                statistics.add(.deadLettered)
                log.warning(
                    "notifications: \(webhook.address.displayed): event \(payload.eventId) dead-lettered after \(tries) tries: "
                        + reason)
                complete(&stream, member, item, record: .deadLettered(letter))
            } else {
                if tries >= limits.triesMax { statistics.add(.deadLetterListFull) } else { statistics.add(.retried) }
                stream.items[0].tries = tries
                let delayMs = schedule.delayMs(afterFailedTries: tries, using: &generator)
                let due = monotonicNanoseconds() + UInt64(delayMs) * 1_000_000
                stream.retryAtNs = due
                streams[member] = stream
                retrying.append(member)
                earliestRetryNs = min(earliestRetryNs, due)
            }
        }
    }

    /// The dead letter for `item`, added to the list; nil when the list is full (the event keeps retrying).
    func deadLetter(_ item: Item, tries: Int, reason: String) -> DeadLetter? {
        let payload = item.payload
        let letter = DeadLetter(
            position: payload.position, eventId: payload.eventId, eventType: payload.eventType,
            memberId: payload.memberId, tries: tries, lastError: reason, body: payload.body)
        return deadLetters.add(letter, stream: stream) ? letter : nil
    }

    /// The head event is done: recorded, removed, and the member's next event (if any) made ready.
    func complete(_ stream: inout MemberStream, _ member: String, _ item: Item, record: ProgressRecord) {
        journal.append(record)
        stream.items.removeFirst()
        if !item.revived {
            windowCount -= 1
            precondition(windowCount >= 0, "the window counts what it holds")
            finish(item.payload.position)
        }
        if stream.items.isEmpty {
            streams[member] = nil
        } else {
            streams[member] = stream
            ready.append(member)
        }
    }

    /// `position` is finished for this webhook: the watermark moves over every finished position it reaches.
    func finish(_ position: UInt64) {
        precondition(position > watermark, "a position finishes once")
        finishedPastWatermark.insert(position)
        advanceWatermark()
    }

    /// Moves the watermark over the finished positions at the front of what was read: to just before the oldest
    /// unfinished one, or to the last read when all are finished (positions between them do not exist).
    func advanceWatermark() {
        while readPositionsStart < readPositions.count,
            finishedPastWatermark.remove(readPositions[readPositionsStart]) != nil
        {
            readPositionsStart += 1
        }
        let mark = readPositionsStart < readPositions.count ? readPositions[readPositionsStart] - 1 : readPosition
        if readPositionsStart == readPositions.count {
            readPositions.removeAll(keepingCapacity: true)
            readPositionsStart = 0
        } else if readPositionsStart > 1024 {
            readPositions.removeFirst(readPositionsStart)
            readPositionsStart = 0
        }
        precondition(mark >= watermark, "the watermark never moves back")
        watermark = mark
        journal.watermark.store(watermark, ordering: .relaxed)
    }

    /// Loop thread: a dead letter an operator sent again joins its member's stream (after what is queued there).
    func revive(_ letter: DeadLetter) {
        let payload = DeliveryPayload(
            position: letter.position, eventId: letter.eventId, eventType: letter.eventType,
            memberId: letter.memberId, body: letter.body, secret: webhook.secret)
        enqueue(Item(payload: payload, tries: 0, revived: true), letter.memberId)
    }
}

/// A webhook's dead letters, every stream's (a letter's position means something only in its stream), bounded
/// by `deadLettersMax`: added by its streams' loops, listed and taken back by admin requests on any loop (rare,
/// so a lock).
public final class DeadLetterList: Sendable {
    let capacity: Int
    private let letters: Mutex<[(stream: Int, letter: DeadLetter)]>

    init(capacity: Int, letters: [(stream: Int, letter: DeadLetter)]) {
        precondition(capacity >= 1, "a dead-letter list holds at least one")
        self.capacity = capacity
        self.letters = Mutex(letters)
    }

    /// False when the list is full.
    func add(_ letter: DeadLetter, stream: Int) -> Bool {
        letters.withLock { list in
            guard list.count < capacity else { return false }
            list.append((stream, letter))
            return true
        }
    }

    public var count: Int { letters.withLock { $0.count } }

    public var all: [DeadLetter] { letters.withLock { $0.map(\.letter) } }

    /// Removes and returns the letters with `eventId`, with their streams.
    func take(eventId: String) -> [(stream: Int, letter: DeadLetter)] {
        letters.withLock { list in
            let taken = list.filter { $0.letter.eventId == eventId }
            list.removeAll { $0.letter.eventId == eventId }
            return taken
        }
    }
}
