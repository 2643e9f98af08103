import Dispatch
import Ledger
import Synchronization

/// What a running import waits for: ledger replies (on shard threads) and audit units made durable (on the
/// journal thread), handed to the import's own thread, which does all the work. A shard thread only appends.
final class MemberImportEvents: Sendable {
    enum Event: Sendable {
        case replies([LedgerReply])
        /// The audit unit of pass `pass` is durable (nil) or failed (the reason).
        case journal(pass: UInt64, failure: String?)
    }

    private let queue = Mutex<[Event]>([])
    private let wakeup = DispatchSemaphore(value: 0)

    func post(_ event: Event) {
        queue.withLock { $0.append(event) }
        wakeup.signal()
    }

    /// Every event posted so far; waits for one first (at most `timeoutMs` when given).
    func take(timeoutMs: Int?) -> [Event] {
        precondition(timeoutMs.map { $0 >= 0 } ?? true, "a wait is not negative")
        if let timeoutMs {
            _ = wakeup.wait(timeout: .now() + .milliseconds(timeoutMs))
        } else {
            wakeup.wait()
        }
        return queue.withLock { events in
            defer { events.removeAll(keepingCapacity: true) }
            return events
        }
    }
}

/// The reply sink of every member import on every ledger: the ledger's sink table is small and keeps a sink
/// for good, so imports share this one, each named by the top 24 bits of its requests' tags (the import's serial
/// number; the rest is the pass and the row's position, `MemberImporter.tag`).
final class MemberImportReplies: LedgerReplySink {
    static let shared = MemberImportReplies()
    static let serialShift: UInt64 = 40

    private let imports = Mutex<[UInt64: MemberImportEvents]>([:])
    private let nextSerial = Atomic<UInt64>(1)

    /// A serial number for a new import's tags; its replies go to `events` until `unregister`.
    func register(_ events: MemberImportEvents) -> UInt64 {
        let serial = nextSerial.add(1, ordering: .relaxed).oldValue & 0xFF_FFFF
        precondition(serial <= 0xFF_FFFF, "a serial fits the tags' top 24 bits")
        imports.withLock { $0[serial] = events }
        return serial
    }

    func unregister(_ serial: UInt64) {
        _ = imports.withLock { $0.removeValue(forKey: serial) }
    }

    func deliver(_ replies: [LedgerReply]) {
        var start = 0
        while start < replies.count {
            let serial = replies[start].tag >> Self.serialShift
            var end = start + 1
            while end < replies.count && replies[end].tag >> Self.serialShift == serial { end += 1 }
            precondition(end > start && end <= replies.count, "a run of one import's replies")
            // An import waits for all its replies before it unregisters, so a missing one is never expected.
            imports.withLock { $0[serial] }?.post(.replies(Array(replies[start..<end])))
            start = end
        }
    }
}
