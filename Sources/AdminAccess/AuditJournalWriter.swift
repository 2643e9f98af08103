import Foundation
import Glibc
import Synchronization
import SystemCalls

/// What one state change writes: private records first, then journal entries, durable together.
struct JournalUnit: Sendable {
    var privateBytes: [UInt8] = []
    var journalBytes: [UInt8] = []
    /// Called on the writer thread once both are durable (or with the error that stopped the writer).
    var done: @Sendable (AccessError?) -> Void
}

/// The journal's own thread, with group commit: it takes every unit queued since its last batch, appends their
/// private records and syncs the private file, then appends their entries and syncs the journal (at most two
/// fdatasyncs per batch, whatever the batch's size; one when no unit has a private record, as for admin changes
/// whose answers the ledger keeps), then tells each unit. The private file goes first so a
/// durable entry never lacks the token hash or remembered answer it relies on. No loop thread ever waits for a
/// disk here. A failed write or sync stops the writer for good (like a ledger shard): every unit after it gets
/// the error, and a restart recovers from what is on disk.
final class AuditJournalWriter: Sendable {
    struct Queue {
        var units: [JournalUnit] = []
        var stopping = false
        var failure: AccessError?
    }

    let journalPath: String
    let privatePath: String
    let journalDescriptor: Int32
    let privateDescriptor: Int32
    /// Units waiting, at most `unitsQueuedMax`.
    let unitsQueuedMax: Int
    private let queue = Mutex(Queue())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// File ends, touched by the writer thread only (after `start`).
    private nonisolated(unsafe) var journalEnd: Int64
    private nonisolated(unsafe) var privateEnd: Int64
    /// CRC32C of the journal's bytes before `journalEnd` (for its checkpoint), writer thread only.
    private nonisolated(unsafe) var journalCRC: UInt32

    init(
        journalPath: String, journalDescriptor: Int32, journalEnd: Int64, journalCRC: UInt32 = 0,
        privatePath: String, privateDescriptor: Int32, privateEnd: Int64, unitsQueuedMax: Int
    ) {
        precondition(unitsQueuedMax >= 1, "the journal queue holds at least one unit")
        self.journalPath = journalPath
        self.privatePath = privatePath
        self.journalDescriptor = journalDescriptor
        self.privateDescriptor = privateDescriptor
        self.journalEnd = journalEnd
        self.journalCRC = journalCRC
        self.privateEnd = privateEnd
        self.unitsQueuedMax = unitsQueuedMax
    }

    func start() {
        let thread = Thread { [self] in
            // Named inside: called outside, it renamed the caller (the process's main thread) "audit-journal".
            setThreadName("audit-journal")
            run()
        }
        thread.name = "audit-journal"
        thread.start()
    }

    /// Queues a unit, in the order its entries were numbered (the caller holds its own lock across numbering and
    /// enqueueing). Throws when the queue is full or the writer stopped.
    func enqueue(_ unit: JournalUnit) throws(AccessError) {
        try queue.withLock { queue throws(AccessError) in
            if let failure = queue.failure { throw failure }
            guard !queue.stopping else { throw AccessError("the audit journal is closing") }
            guard queue.units.count < unitsQueuedMax else {
                throw AccessError("the audit journal has \(unitsQueuedMax) changes waiting (unitsQueuedMax)")
            }
            queue.units.append(unit)
        }
        wakeup.signal()
    }

    /// Writes what is queued, then ends the thread and returns.
    func stop() {
        let alreadyStopping = queue.withLock { queue in
            defer { queue.stopping = true }
            return queue.stopping
        }
        guard !alreadyStopping else { return }
        wakeup.signal()
        finished.wait()
    }

    var failure: AccessError? { queue.withLock { $0.failure } }

    /// Where the journal ends and the CRC32C of its bytes; only once `stop` returned (the thread is over).
    var journalSummary: (end: Int64, crc: UInt32) {
        precondition(queue.withLock { $0.stopping }, "read after stop")
        return (journalEnd, journalCRC)
    }

    private func run() {
        while true {
            wakeup.wait()
            let (batch, stopping) = queue.withLock { queue in
                defer { queue.units.removeAll(keepingCapacity: true) }
                return (queue.units, queue.stopping)
            }
            if !batch.isEmpty { write(batch) }
            if stopping && queue.withLock({ $0.units.isEmpty }) { break }
        }
        finished.signal()
    }

    private func write(_ batch: [JournalUnit]) {
        var failure = queue.withLock { $0.failure }
        if failure == nil {
            do throws(AccessError) {
                try append(batch.flatMap(\.privateBytes), to: privateDescriptor, path: privatePath, end: &privateEnd)
                let journalBytes = batch.flatMap(\.journalBytes)
                try append(journalBytes, to: journalDescriptor, path: journalPath, end: &journalEnd)
                journalCRC = journalBytes.withUnsafeBytes { AuditChecksum.update(journalCRC, $0) }
            } catch {
                failure = AccessError("audit journal stopped: \(error.message); restart to recover")
                queue.withLock { $0.failure = failure }
            }
        }
        for unit in batch { unit.done(failure) }
    }

    private func append(_ bytes: [UInt8], to descriptor: Int32, path: String, end: inout Int64) throws(AccessError) {
        guard !bytes.isEmpty else { return }
        let offset = end
        try bytes.withUnsafeBytes { raw in
            Result { () throws(AccessError) in try AccessFile.writeAll(descriptor, raw, offset: offset, path: path) }
        }.get()
        try AccessFile.dataSync(descriptor, path: path)
        end += Int64(bytes.count)
    }
}
