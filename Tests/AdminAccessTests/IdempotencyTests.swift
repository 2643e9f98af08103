import AdminAccess
import Foundation
import HTTP
import Testing
import TestSupport

/// Idempotency-Key answers: replayed for the same body, 409 for another, durable across a reopen, forgotten
/// after the retention, and at `idempotencyKeysMax` a new key waits (503) rather than an old one being dropped.
@Suite("Idempotency keys")
struct IdempotencyTests {
    static let answer = RememberedAnswer(status: 422, contentType: "application/problem+json", body: Array("{}".utf8))

    static func remember(_ access: AccessControl, user: String, key: String, digest: [UInt8]) throws {
        guard case .proceed(let claim) = access.beginIdempotent(user: user, key: key, digest: digest) else {
            throw AccessError("key \(key) was not new")
        }
        let done = Completion()
        access.rememberAnswer(claim, answer, completion: done.callback)
        if let failure = done.wait() { throw failure }
    }

    @Test("same key and body: the answer again, also after a reopen; another body: conflict; another user: new")
    func replayAndConflict() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        var access = try AccessControl.openForTest(directory, clock: clock)
        let digest = AccessCrypto.sha256(Array("POST /v1/x\n{}".utf8))
        try Self.remember(access, user: "u1", key: "k", digest: digest)
        access.close()
        access = try AccessControl.openForTest(directory, clock: clock)
        defer { access.close() }
        guard case .replay(let replayed) = access.beginIdempotent(user: "u1", key: "k", digest: digest) else {
            Issue.record("no replay after a reopen")
            return
        }
        #expect(replayed == Self.answer)
        guard case .conflict = access.beginIdempotent(user: "u1", key: "k", digest: [UInt8](repeating: 1, count: 32))
        else {
            Issue.record("another body was not a conflict")
            return
        }
        guard case .proceed = access.beginIdempotent(user: "u2", key: "k", digest: digest) else {
            Issue.record("keys are scoped to the user")
            return
        }
    }

    @Test("a key is kept hashed: a card number used as Idempotency-Key is not in the private file; files that kept keys as sent still replay")
    func keysKeptHashed() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        var access = try AccessControl.openForTest(directory, clock: clock)
        let digest = AccessCrypto.sha256(Array("POST /v1/x\n{}".utf8))
        let pan = "6037991234567890"
        try Self.remember(access, user: "u1", key: pan, digest: digest)
        access.close()
        let path = directory.path + "/audit/private.jsonl"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains(pan), "the key as sent is not in the file")
        let hashed = "sha256:" + AccessCrypto.hex(AccessCrypto.sha256(Array(pan.utf8)))
        #expect(text.contains(hashed))
        // A file written before kept the key as sent: it is read as that key.
        try text.replacingOccurrences(of: hashed, with: pan).write(toFile: path, atomically: true, encoding: .utf8)
        access = try AccessControl.openForTest(directory, clock: clock)
        defer { access.close() }
        guard case .replay(let replayed) = access.beginIdempotent(user: "u1", key: pan, digest: digest) else {
            Issue.record("a key kept as sent was not found after the reopen")
            return
        }
        #expect(replayed == Self.answer)
        #expect(!(try String(contentsOfFile: path, encoding: .utf8)).contains(pan), "the start rewrote it hashed")
    }

    @Test("keys are forgotten after the retention, and at the maximum a new key is refused until then")
    func retentionAndMaximum() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        var settings = AccessSettings()
        settings.idempotencyKeysMax = 2
        let access = try AccessControl.openForTest(directory, clock: clock, settings: settings)
        defer { access.close() }
        let digest = [UInt8](repeating: 7, count: 32)
        try Self.remember(access, user: "u", key: "a", digest: digest)
        clock.advance(milliseconds: 3_600_000)
        try Self.remember(access, user: "u", key: "b", digest: digest)
        guard case .full(let seconds) = access.beginIdempotent(user: "u", key: "c", digest: digest) else {
            Issue.record("a third key was taken over the maximum")
            return
        }
        #expect(seconds == 23 * 3600, "the oldest key expires 23 hours from now")
        guard case .replay = access.beginIdempotent(user: "u", key: "a", digest: digest) else {
            Issue.record("a remembered key was dropped at the maximum")
            return
        }
        clock.advance(milliseconds: 23 * 3_600_000)
        guard case .proceed = access.beginIdempotent(user: "u", key: "a", digest: digest) else {
            Issue.record("the oldest key did not expire after 24 hours, or is not new again")
            return
        }
        guard case .full = access.beginIdempotent(user: "u", key: "c", digest: digest) else {
            Issue.record("the place the expiry freed was taken twice")
            return
        }
    }

    @Test("a request still in progress with the same key is a conflict; an abandoned one frees the key")
    func inProgress() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let access = try AccessControl.openForTest(directory, clock: VirtualClock(ms: 1_796_000_000_000))
        defer { access.close() }
        let digest = [UInt8](repeating: 3, count: 32)
        guard case .proceed(let claim) = access.beginIdempotent(user: "u", key: "k", digest: digest) else {
            Issue.record("a new key was not taken")
            return
        }
        guard case .conflict = access.beginIdempotent(user: "u", key: "k", digest: digest) else {
            Issue.record("a key in progress was taken twice")
            return
        }
        access.abandon(claim)
        guard case .proceed = access.beginIdempotent(user: "u", key: "k", digest: digest) else {
            Issue.record("an abandoned key stayed taken")
            return
        }
    }
}
