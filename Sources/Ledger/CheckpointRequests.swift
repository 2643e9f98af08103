import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One shard's newest durable checkpoint and the reports waiting for a fresh one (issue 16 item 2: a report reads a
/// checkpoint in place, so under traffic it asks the shard for one rather than recovering the log into memory).
///
/// Why a request to the shard and not an overlay of the log tail: a checkpoint is written beside the shard (it only
/// copies a 512-byte chunk before its first write to it, Checkpoint.swift), so asking for one costs the shard what a
/// periodic one costs, and the report then reads one complete state in place, whatever the traffic. An overlay would
/// need the apply code to run on a partial state (card index, lots, holds, keys of the touched members).
///
/// Reports share: a checkpoint that started at most `reuseAge` before a report asked (written or still being
/// written) serves it, and several reports waiting get the same one. The shard thread starts a checkpoint when one is
/// wanted (`isWanted`) and none is being written; with no record after its newest durable checkpoint it only
/// refreshes that one's time (nothing to write). Files are pinned: a report opens the checkpoint's file under the
/// same lock under which the shard publishes a newer one, and the older file is removed only after that publication,
/// so an open descriptor always names a complete checkpoint.
final class CheckpointRequests: @unchecked Sendable {
    /// A complete checkpoint on disk.
    struct Durable {
        var path: String
        var sequence: UInt64
        /// When it was started (monotonic nanoseconds; 0: unknown, found at open) and its state's time (wall).
        var startedNs: UInt64
        var timeMs: Int64
    }

    /// Read by the shard thread after every batch: a report waits for a checkpoint that has not started yet.
    let isWanted = Atomic<Bool>(false)
    /// Checkpoints started because a report asked (not the periodic ones), for tests and metrics.
    let startedForReports = Atomic<Int>(0)
    private let condition = NSCondition()
    private var durable: Durable?
    /// The start (monotonic) of the checkpoint being written, nil when none is.
    private var inFlightStartedNs: UInt64?

    /// The newest checkpoint file of `directory` at open (its age unknown: reused only while no record follows).
    init(directory: String) {
        guard let path = try? Snapshot.newest(in: directory),
            let sequence = Snapshot.sequence(ofFileName: path.split(separator: "/").last!)
        else { return }
        durable = Durable(path: path, sequence: sequence, startedNs: 0, timeMs: 0)
        precondition(durable!.startedNs == 0, "a checkpoint found at open has no known age")
    }

    // MARK: Shard thread (and its checkpoint thread)

    /// The sequence of the newest durable checkpoint (nil: none yet).
    var durableSequence: UInt64? {
        condition.lock()
        defer { condition.unlock() }
        return durable?.sequence
    }

    /// A checkpoint starts: it serves the reports that asked before now.
    func started(nowNs: UInt64) {
        condition.lock()
        inFlightStartedNs = nowNs
        if isWanted.exchange(false, ordering: .acquiringAndReleasing) { startedForReports.add(1, ordering: .relaxed) }
        condition.unlock()
    }

    /// The checkpoint is durable at `path`; called before older checkpoint files are removed.
    func published(path: String, sequence: UInt64, startedNs: UInt64, timeMs: Int64) {
        precondition(!path.isEmpty, "a published checkpoint has its file")
        condition.lock()
        durable = Durable(path: path, sequence: sequence, startedNs: startedNs, timeMs: timeMs)
        inFlightStartedNs = nil
        condition.broadcast()
        condition.unlock()
    }

    /// The checkpoint was abandoned or failed: waiters ask again (`isWanted`) if they still need one.
    func ended() {
        condition.lock()
        inFlightStartedNs = nil
        condition.broadcast()
        condition.unlock()
    }

    /// No record follows the newest durable checkpoint: it is the shard's state now, nothing to write.
    func refreshed(nowNs: UInt64, timeMs: Int64) {
        condition.lock()
        // A checkpoint whose thread is done but not yet published will serve the waiters itself.
        guard durable != nil, inFlightStartedNs == nil else { return condition.unlock() }
        durable!.startedNs = nowNs
        durable!.timeMs = timeMs
        precondition(durable!.startedNs == nowNs, "the durable checkpoint is refreshed")
        isWanted.store(false, ordering: .releasing)
        condition.broadcast()
        condition.unlock()
    }

    // MARK: Report threads

    /// Asks for a checkpoint started at or after `notBeforeNs` unless one is durable or being written; true when
    /// the shard must be woken to start it.
    func request(notBeforeNs: UInt64) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return requestLocked(notBeforeNs: notBeforeNs)
    }

    private func requestLocked(notBeforeNs: UInt64) -> Bool {
        if let durable, durable.startedNs >= notBeforeNs { return false }
        if let inFlight = inFlightStartedNs, inFlight >= notBeforeNs { return false }
        isWanted.store(true, ordering: .releasing)
        return true
    }

    /// Waits until a checkpoint started at or after `notBeforeNs` is durable, then opens its file (the descriptor
    /// pins it). Nil when `deadline` passes first. `wake` wakes the shard after each new request.
    func pin(notBeforeNs: UInt64, deadline: Date, wake: () -> Void) throws(LedgerError) -> (Durable, Int32)? {
        condition.lock()
        defer { condition.unlock() }
        // Each pass either returns or waits for a broadcast (a start, a publication, an end) or the deadline.
        while true {
            if let durable, durable.startedNs >= notBeforeNs {
                precondition(!durable.path.isEmpty, "a durable checkpoint has its file")
                return (durable, try FileIO.openFile(durable.path, flags: O_RDONLY))
            }
            if requestLocked(notBeforeNs: notBeforeNs) { wake() }
            guard condition.wait(until: deadline) else {
                guard let durable, durable.startedNs >= notBeforeNs else { return nil }
                return (durable, try FileIO.openFile(durable.path, flags: O_RDONLY))
            }
        }
    }
}
