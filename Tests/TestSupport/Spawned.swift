import CTestSpawn
import Foundation
import Glibc
import Synchronization

/// A child left running while the test drives it (the switch, a webhook receiver, a crash child, a load script):
/// started with posix_spawn, reaped with waitpid, every wait bounded. See `ChildProcess` for why not Foundation's
/// `Process`.
public final class Spawned: Sendable {
    /// How a child ended.
    public enum Termination: Equatable, Sendable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        /// From waitpid's status word (WIFEXITED / WEXITSTATUS / WTERMSIG).
        init(waitStatus: Int32) {
            self = (waitStatus & 0x7f) == 0 ? .exited((waitStatus >> 8) & 0xff) : .signalled(waitStatus & 0x7f)
        }

        /// The exit status, or the signal's number (as Foundation's `terminationStatus`).
        public var status: Int32 {
            switch self {
            case .exited(let status), .signalled(let status): status
            }
        }

        public var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .signalled(let signal): "ended by signal \(signal)"
            }
        }
    }

    /// Where a child's standard output or error goes.
    public enum Destination: Sendable {
        case null
        /// Appended to this file (created when missing).
        case file(String)
        /// This descriptor of ours (the caller closes its copy).
        case descriptor(Int32)
    }

    public let pid: pid_t
    /// Set once the child has been reaped; the lock also keeps a signal from reaching a reused pid.
    private let ended = Mutex<Termination?>(nil)

    /// Starts `path` (searched in PATH when it has no slash) with standard input from /dev/null.
    public init(_ path: String, _ arguments: [String], output: Destination = .null, errors: Destination = .null)
        throws
    {
        var opened: [Int32] = []
        defer { for descriptor in opened { close(descriptor) } }
        func descriptor(_ destination: Destination) throws -> Int32 {
            let descriptor: Int32
            switch destination {
            case .descriptor(let given): return given
            case .null: descriptor = open("/dev/null", O_RDWR | O_CLOEXEC)
            case .file(let file): descriptor = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            }
            guard descriptor >= 0 else {
                throw ChildProcess.Failure(description: "cannot open \(destination): \(String(cString: strerror(errno)))")
            }
            opened.append(descriptor)
            return descriptor
        }
        pid = try ChildProcess.spawn(
            path, arguments, input: try descriptor(.null), output: try descriptor(output),
            errors: try descriptor(errors))
    }

    deinit { kill() }

    /// How the child ended, reaping it when it has; nil while it runs.
    public var termination: Termination? {
        ended.withLock { ended in
            if ended == nil { ended = Self.reap(pid, options: WNOHANG) }
            return ended
        }
    }

    public var isRunning: Bool { termination == nil }

    /// Sends `number` unless the child has been reaped (its pid may belong to another process by then).
    public func signal(_ number: Int32) {
        ended.withLock { ended in
            if ended == nil { Glibc.kill(pid, number) }
        }
    }

    /// Waits at most `timeout` seconds for the end; nil when the child still runs.
    public func wait(timeout: Double) -> Termination? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let termination { return termination }
            if Date() >= deadline { return nil }
            usleep(2_000)
        }
    }

    /// SIGKILL and reap; how the child ended (by itself, when it had already). Safe to call twice.
    @discardableResult
    public func kill() -> Termination {
        ended.withLock { ended in
            if ended == nil {
                Glibc.kill(pid, SIGKILL)
                ended = Self.reap(pid, options: 0)
            }
            return ended ?? .signalled(SIGKILL)
        }
    }

    /// waitpid for this child only; nil when it still runs (WNOHANG) or cannot be waited for.
    private static func reap(_ pid: pid_t, options: Int32) -> Termination? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, options)
            if result == pid { return Termination(waitStatus: status) }
            if result < 0 && errno == EINTR { continue }
            // ECHILD: not our child any more; treat it as gone rather than waiting forever.
            return result < 0 ? .signalled(SIGKILL) : nil
        }
    }
}
