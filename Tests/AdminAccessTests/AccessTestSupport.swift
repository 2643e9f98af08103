import AdminAccess
import Foundation
import HTTP
import Synchronization
import Testing
import TestSupport

/// A fresh data directory under /tmp.
struct TemporaryDirectory {
    let path: String

    init(_ name: String = #function) {
        let safe = name.filter { $0.isLetter || $0.isNumber }.prefix(40)
        path = NSTemporaryDirectory() + "access-\(safe)-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var journal: String { path + "/audit/journal.jsonl" }
    var privateFile: String { path + "/audit/private.jsonl" }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Waits for the journal thread's completion of one change.
final class Completion: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let failure = Mutex<AccessError?>(nil)

    var callback: @Sendable (AccessError?) -> Void {
        { [self] error in
            failure.withLock { $0 = error }
            done.signal()
        }
    }

    /// The error the change ended with (nil: durable).
    func wait() -> AccessError? {
        done.wait()
        return failure.withLock { $0 }
    }
}

extension AccessControl {
    /// Opens `directory` with a manual clock.
    static func openForTest(
        _ directory: TemporaryDirectory, clock: VirtualClock, settings: AccessSettings = AccessSettings()
    ) throws -> AccessControl {
        try AccessControl.open(dataDirectory: directory.path, settings: settings, clockMs: { clock.nowMs }).0
    }

    /// Creates a user and waits until it is durable; returns it with its token.
    func createForTest(_ name: String, role: AdminRole = .operator, merchants: [String] = []) throws -> NewUser {
        let new = prepareUser(name: name, role: role, merchants: merchants)
        let completion = Completion()
        try createUser(
            new, actor: .commandLine, answer: RememberedAnswer(status: 201, contentType: "text/plain", body: []),
            claim: nil, completion: completion.callback)
        if let failure = completion.wait() { throw failure }
        return new
    }

    func authenticate(token: String) -> Authentication {
        Array("Bearer \(token)".utf8).withUnsafeBytes { authenticate($0) }
    }
}

extension Authentication {
    var userId: String? {
        if case .user(let user) = self { return user.id }
        return nil
    }
}
