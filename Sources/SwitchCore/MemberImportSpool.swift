import AdminAccess
import Foundation
import Glibc
import HTTP
import SystemCalls

/// An upload on its way to `DATA/imports/ID.csv`: the admin loop hands each piece of the body over (`offer`), the
/// upload's own thread writes it to the file and hashes it for the `Idempotency-Key` (`write`), so a loop never
/// waits for a disk. At most `windowBytes` (plus the last piece) wait between them: past that `offer` answers
/// `.pause`, the connection stops reading, and the writer resumes it once it has taken them, so a disk slower
/// than the client pushes back on the client instead of filling memory. Memory per upload: two buffers of about
/// `windowBytes`, whatever the file's size.
///
/// The file is removed whenever the upload does not complete (the client went away or stalled, the disk is full,
/// the switch stops): nothing is imported from part of a file. Each request gets one answer, the first of the
/// loop's refusal (`refuse`), the writer's failure and the writer's 202 (`claimAnswer`); the upload's thread
/// sends it, a refusal only once the file is removed and the upload's place given back (MemberImports).
final class MemberImportSpool: @unchecked Sendable {
    static let windowBytes = 1 << 20

    enum Outcome {
        /// Every byte is in the file; `digest` is the request's idempotency digest.
        case complete(digest: [UInt8], bytes: Int64)
        /// Given up with nobody to answer (the client went away, the switch stops); the file is removed.
        case cancelled(String)
        /// The loop refused the upload first (`refuse`): the file is removed, `problem` is the answer.
        case refused(HTTPProblem)
        /// The file could not be written (507 for a full disk or a file size limit, else 503); it is removed.
        case failed(HTTPProblem)
    }

    private struct State {
        var pending: [UInt8] = []
        var ended = false
        var cancelled: String?
        var failed = false
        /// `offer` answered `.pause`: the writer resumes the connection when it takes the bytes.
        var loopPaused = false
        var answered = false
        /// The loop's refusal, when it claimed the answer: the writer's outcome once the file is removed.
        var refusal: HTTPProblem?
    }

    let id: String
    let path: String
    let bytesMax: Int
    /// Asks the connection's loop to read again (after a `.pause`).
    let resume: @Sendable () -> Void
    private let condition = NSCondition()
    private var state = State()

    init(id: String, path: String, bytesMax: Int, resume: @escaping @Sendable () -> Void) {
        precondition(bytesMax >= 0, "an upload's limit is not negative")
        self.id = id
        self.path = path
        self.bytesMax = bytesMax
        self.resume = resume
        state.pending.reserveCapacity(Self.windowBytes + (64 << 10))
    }

    // MARK: The loop's side

    /// Takes a copy of `bytes` for the writer. `.pause` once `windowBytes` wait (the writer resumes reading),
    /// `.discard` once the upload failed or was given up.
    func offer(_ bytes: UnsafeRawBufferPointer) -> HTTPBodyDemand {
        condition.lock()
        defer { condition.unlock() }
        guard !state.failed, state.cancelled == nil else { return .discard }
        precondition(!state.ended, "no bytes after the end of the body")
        state.pending.append(contentsOf: bytes)
        condition.signal()
        guard state.pending.count < Self.windowBytes else {
            state.loopPaused = true
            return .pause
        }
        return .more
    }

    /// The whole body was offered.
    func end() {
        condition.lock()
        state.ended = true
        condition.signal()
        condition.unlock()
    }

    /// Gives the upload up: the writer stops and removes the file.
    func cancel(_ reason: String) {
        condition.lock()
        if state.cancelled == nil { state.cancelled = reason }
        state.pending = []
        condition.signal()
        condition.unlock()
    }

    /// Gives the upload up and leaves `problem` as the writer's outcome (`refused`), unless the writer claimed the
    /// answer first (a full disk): the loop does not answer, so the client hears of it only once the file is
    /// removed and the place free, and may send the right file at once (admin.importsRunningMax).
    func refuse(_ problem: HTTPProblem) {
        condition.lock()
        if state.cancelled == nil { state.cancelled = "the upload was refused" }
        state.pending = []
        if !state.answered {
            state.answered = true
            state.refusal = problem
        }
        precondition(
            state.answered && state.cancelled != nil && state.pending.isEmpty, "a refused upload takes no more")
        condition.signal()
        condition.unlock()
    }

    /// True when nobody answered yet (the loop did not refuse, the writer did not fail): the writer answers 202.
    func claimAnswer() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !state.answered else { return false }
        state.answered = true
        precondition(state.refusal == nil && !state.failed, "the writer answers only an upload nobody refused")
        return true
    }

    // MARK: The writer's side

    /// Writes the body to `path` as it comes, until its end, a failure or a cancel. On the upload's thread.
    func write() -> Outcome {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return fail(errno: errno, at: 0, descriptor: nil) }
        let digest = IdempotencyDigest.stream(method: "POST", path: "/v1/imports/members")
        var taken: [UInt8] = []
        taken.reserveCapacity(Self.windowBytes + (64 << 10))
        var written: Int64 = 0
        while true {
            let next = take(into: &taken)
            if let reason = next.cancelled {
                close(descriptor)
                unlink(path)
                return refusal().map(Outcome.refused) ?? .cancelled(reason)
            }
            let failure: Int32? = taken.withUnsafeBytes { bytes in
                guard Self.writeAll(descriptor, bytes) else { return errno }
                digest.update(bytes)
                return nil
            }
            if let failure { return fail(errno: failure, at: written, descriptor: descriptor) }
            written += Int64(taken.count)
            precondition(written <= Int64(bytesMax), "the connection checked the body's length")
            guard next.ended else { continue }
            guard close(descriptor) == 0 else { return fail(errno: errno, at: written, descriptor: nil) }
            return .complete(digest: digest.finish(), bytes: written)
        }
    }

    /// Waits for bytes, the end or a cancel; swaps the waiting bytes into `taken` (so the loop fills the other
    /// buffer meanwhile) and resumes a paused connection.
    private func take(into taken: inout [UInt8]) -> (ended: Bool, cancelled: String?) {
        taken.removeAll(keepingCapacity: true)
        condition.lock()
        while state.pending.isEmpty && !state.ended && state.cancelled == nil { condition.wait() }
        if let reason = state.cancelled {
            condition.unlock()
            return (false, reason)
        }
        swap(&taken, &state.pending)
        precondition(state.pending.isEmpty, "the loop fills the emptied buffer")
        let ended = state.ended
        let wake = state.loopPaused
        state.loopPaused = false
        condition.unlock()
        if wake { resume() }
        return (ended, nil)
    }

    /// The loop's refusal, when it claimed the answer.
    private func refusal() -> HTTPProblem? {
        condition.lock()
        defer { condition.unlock() }
        return state.refusal
    }

    /// The whole of `bytes`, retrying short writes and EINTR; false with `errno` set on a failure.
    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        do throws(FileCallFailure) {
            try FileCalls.writeAll(descriptor, bytes, path: "")
            return true
        } catch {
            return false
        }
    }

    /// The file cannot be written: removed, the loop told (a paused connection resumes and drops the rest of the
    /// body), and the problem to answer: 507 when the disk or the file size limit is full, else 503 (or the loop's
    /// refusal when it came first).
    private func fail(errno code: Int32, at offset: Int64, descriptor: Int32?) -> Outcome {
        if let descriptor { close(descriptor) }
        unlink(path)
        condition.lock()
        state.failed = true
        state.pending = []
        let wake = state.loopPaused
        state.loopPaused = false
        let refusal = state.refusal
        state.answered = true
        condition.unlock()
        if wake { resume() }
        if let refusal { return .refused(refusal) }
        precondition(offset >= 0 && offset <= Int64(bytesMax), "the failure is inside the body")
        let reason = "\(String(cString: strerror(code))) (errno \(code))"
        let full = code == ENOSPC || code == EDQUOT || code == EFBIG
        let status = full ? HTTPStatus.insufficientStorage : HTTPStatus.serviceUnavailable
        return .failed(
            HTTPProblem(
                status,
                detail: "the upload could not be written to \(path) at byte \(offset): \(reason); "
                    + "nothing was imported" + (full ? ", free some space and send it again" : "")))
    }
}
