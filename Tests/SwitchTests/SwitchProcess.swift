import Foundation
import Glibc
import Synchronization
import TestSupport
import Testing

/// A problem driving the switch from outside: what went wrong, in words.
struct SwitchTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fresh directory under /tmp for one test; `remove()` deletes it.
struct ScratchDirectory: Sendable {
    let path: String
    /// The ledger's data directory: `path/data`, or another place (a small disk) the test chose.
    let data: String

    init(_ name: String = #function, data: String? = nil) {
        let safe = name.filter { $0.isLetter || $0.isNumber }.prefix(40)
        path = NSTemporaryDirectory() + "switch-e2e-\(safe)-\(UInt32.random(in: 0...UInt32.max))"
        self.data = data ?? path + "/data"
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Finds (and when needed builds, once) the real `loyalty-switch` executable in the build directory that holds
/// this test binary, so the tests run exactly what `swift build` produced.
enum SwitchExecutable {
    static let located = Mutex<String?>(nil)

    static func path() throws -> String {
        try located.withLock { cached throws -> String in
            if let cached { return cached }
            let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            var folder = testBinary.deletingLastPathComponent()
            for _ in 0..<5 {
                let candidate = folder.appendingPathComponent("loyalty-switch").path
                if FileManager.default.isExecutableFile(atPath: candidate) {
                    cached = candidate
                    return candidate
                }
                folder = folder.deletingLastPathComponent()
            }
            let built = try build(near: testBinary)
            cached = built
            return built
        }
    }

    /// `swift build --product loyalty-switch` into the scratch path this test binary came from.
    static func build(near testBinary: URL) throws -> String {
        var folder = testBinary.deletingLastPathComponent()
        while folder.path != "/" && !folder.lastPathComponent.hasPrefix(".build") {
            folder = folder.deletingLastPathComponent()
        }
        guard folder.path != "/" else { throw SwitchTestError("cannot find the build directory of \(testBinary.path)") }
        let package = folder.deletingLastPathComponent().path
        let build = try ChildProcess.run(
            "swift",
            ["build", "--package-path", package, "--scratch-path", folder.path, "--product", "loyalty-switch"],
            timeout: 1200)
        let candidate = testBinary.deletingLastPathComponent().appendingPathComponent("loyalty-switch").path
        guard build.status == 0, FileManager.default.isExecutableFile(atPath: candidate) else {
            throw SwitchTestError("swift build --product loyalty-switch failed (status \(build.status)):\n\(build.output)")
        }
        return candidate
    }
}

/// The JSON configuration a test passes with `--config`; every key optional, the switch's defaults otherwise.
struct SwitchSettings {
    /// Generous by default: many switches run at once on 2 cores in a debug build, and these tests check answers,
    /// not latency. Tests of the budget itself set it lower.
    var latencyBudgetMs = 5000
    var loops = 2
    var shards = 2
    var listeners: [[String: Any]] = [["address": "127.0.0.1:0"]]
    var limits: [String: Any] = [:]
    var program: [String: Any] = [:]
    /// Loyalty rules in the format of docs/loyalty-rules.md (empty: the flat `program` rate).
    var rules: [String: Any] = [:]
    /// The admin API: a free port by default (the embedded 127.0.0.1:8580 would collide between tests running at
    /// once); `NSNull()` turns it off.
    var admin: Any = ["listen": "127.0.0.1:0"]
    /// Other top-level keys (e.g. `requestKeyRetentionHours`).
    var topLevel: [String: Any] = [:]
    /// The `notifications` section (empty: none).
    var notifications: [String: Any] = [:]

    var json: [String: Any] {
        var root: [String: Any] = [
            "latencyBudgetMs": latencyBudgetMs, "loops": loops, "shards": shards, "listeners": listeners,
        ]
        root.merge(topLevel) { _, new in new }
        if !limits.isEmpty { root["limits"] = limits }
        if !program.isEmpty { root["program"] = program }
        if !rules.isEmpty { root["rules"] = rules }
        root["admin"] = admin
        if !notifications.isEmpty { root["notifications"] = notifications }
        return root
    }
}

/// The real switch as a child process: `loyalty-switch serve --config FILE --data DIR`. The port comes from the
/// "listening on 127.0.0.1:PORT" log line (the listeners bind port 0). Standard error goes to a file the test can
/// read. `stop()` kills the child; call it from a `defer` in every path.
final class SwitchProcess {
    let directory: ScratchDirectory
    let settings: SwitchSettings
    let process: Spawned
    let logPath: String
    private(set) var ports: [UInt16] = []
    /// The admin API's port, from its "admin API listening on http(s)://127.0.0.1:PORT" line (nil when off).
    private(set) var adminPort: UInt16?

    var port: UInt16 { ports[0] }

    /// Starts the switch on `directory.data` and waits (at most `startTimeout` seconds) until every listener logs
    /// its port. `arguments` go after the usual ones (e.g. an operator flag).
    init(
        directory: ScratchDirectory, settings: SwitchSettings = SwitchSettings(), run: Int = 0,
        startTimeout: Double = 30, arguments: [String] = [], launcher: [String] = []
    )
        throws
    {
        self.directory = directory
        self.settings = settings
        let configPath = directory.path + "/config-\(run).json"
        logPath = directory.path + "/switch-\(run).log"
        let data = try JSONSerialization.data(withJSONObject: settings.json, options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: configPath))
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let command =
            launcher + [try SwitchExecutable.path(), "serve", "--config", configPath, "--data", directory.data]
            + arguments
        process = try Spawned(command[0], Array(command.dropFirst()), errors: .file(logPath))
        let deadline = Date().addingTimeInterval(startTimeout)
        let adminExpected = !(settings.admin is NSNull) || arguments.contains("--admin-listen")
        while ports.count < settings.listeners.count || (adminExpected && adminPort == nil) {
            ports = Self.listeningPorts(in: log)
            adminPort = Self.adminPort(in: log)
            if ports.count >= settings.listeners.count && (!adminExpected || adminPort != nil) { break }
            guard process.isRunning else { throw SwitchTestError("the switch exited at start:\n\(log)") }
            guard Date() < deadline else {
                stop()
                throw SwitchTestError("the switch did not log its port in \(startTimeout) s:\n\(log)")
            }
            usleep(5_000)
        }
    }

    deinit { stop() }

    /// Rewrites this run's --config file (for a SIGHUP reload).
    func rewriteConfiguration(_ settings: SwitchSettings, run: Int = 0) throws {
        let data = try JSONSerialization.data(withJSONObject: settings.json, options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: directory.path + "/config-\(run).json"))
    }

    /// Waits at most `timeout` seconds for a log line containing `text`.
    func waitForLog(_ text: String, timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.contains(text) { return true }
            usleep(5_000)
        }
        return false
    }

    /// Waits at most `timeout` seconds until `text` occurs `count` times in the log.
    func waitForLog(_ text: String, count: Int, timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.components(separatedBy: text).count - 1 >= count { return true }
            usleep(5_000)
        }
        return false
    }

    var log: String {
        String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self)
    }

    var isRunning: Bool { process.isRunning }

    static func adminPort(in log: String) -> UInt16? {
        for line in log.split(separator: "\n") {
            guard let range = line.range(of: "admin API listening on ") else { continue }
            let address = line[range.upperBound...].drop { $0 != "/" }.dropFirst(2)
            guard let colon = address.firstIndex(of: ":") else { continue }
            return UInt16(address[address.index(after: colon)...].prefix { $0.isNumber })
        }
        return nil
    }

    static func listeningPorts(in log: String) -> [UInt16] {
        log.split(separator: "\n").compactMap { line -> UInt16? in
            guard let range = line.range(of: "listening on 127.0.0.1:") else { return nil }
            return UInt16(line[range.upperBound...].prefix { $0.isNumber })
        }
    }

    /// SIGKILL, and reap. Safe to call twice.
    func stop() { process.kill() }

    /// Sends `signal` and waits at most `timeout` seconds for the exit; returns how the process ended, or nil when
    /// it did not exit in time (it is then killed).
    func signalAndWait(_ signal: Int32, timeout: Double = 20) -> Spawned.Termination? {
        process.signal(signal)
        return waitForExit(timeout: timeout)
    }

    /// Waits at most `timeout` seconds for the exit; nil when the process did not exit in time (it is then killed).
    func waitForExit(timeout: Double) -> Spawned.Termination? {
        guard let termination = process.wait(timeout: timeout) else {
            stop()
            return nil
        }
        return termination
    }
}

/// Runs `body` against a fresh switch with its own data directory; the child is killed and the directory removed
/// in every path.
func withSwitch<Result>(
    _ settings: SwitchSettings = SwitchSettings(), name: String = #function, _ body: (SwitchProcess) throws -> Result
) throws -> Result {
    let directory = ScratchDirectory(name)
    defer { directory.remove() }
    let server = try SwitchProcess(directory: directory, settings: settings)
    defer { server.stop() }
    do {
        return try body(server)
    } catch {
        // The data directory goes away with the test: keep the end of the switch's log in the failure.
        let tail = server.log.split(separator: "\n").suffix(20).joined(separator: "\n")
        throw SwitchTestError("\(error)\n--- last lines of the switch log:\n\(tail)")
    }
}

/// What `serve` did with a start it should refuse: the exit status and standard error, or `status` nil when it
/// started listening instead (it is then killed).
struct ServeOutcome {
    let status: Int32?
    let standardError: String
}

extension SwitchProcess {
    /// Runs `loyalty-switch serve --config FILE --data DIR --listen 127.0.0.1:0` plus `arguments` with the
    /// configuration text `json` (written to `switch.json` in `directory`), and waits at most `timeout` seconds
    /// for it to exit or to log that it listens. `--listen` keeps a switch that wrongly starts off port 8583.
    static func serve(
        json: String, arguments: [String] = [], directory: ScratchDirectory, timeout: Double = 30,
        launcher: [String] = []
    ) throws -> ServeOutcome {
        let configPath = directory.path + "/switch.json"
        let logPath = directory.path + "/serve-\(UInt32.random(in: 0...UInt32.max)).log"
        try Data(json.utf8).write(to: URL(fileURLWithPath: configPath))
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let command =
            launcher + [try SwitchExecutable.path()]
            + ["serve", "--config", configPath, "--data", directory.data, "--listen", "127.0.0.1:0"]
            + (arguments.contains("--admin-listen") ? [] : ["--admin-listen", "127.0.0.1:0"]) + arguments
        let process = try Spawned(command[0], Array(command.dropFirst()), errors: .file(logPath))
        func log() -> String {
            String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self)
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline && !log().contains("listening on") { usleep(5_000) }
        if process.isRunning {
            process.kill()
            return ServeOutcome(status: nil, standardError: log())
        }
        return ServeOutcome(status: process.termination?.status, standardError: log())
    }
}

/// The switch's wall clock moved by a test (`LOYALTY_TEST_CLOCK`, `TestClockShift`): a file of 8 bytes the child
/// maps and reads on every clock reading; `advance` writes it through this process's own mapping, so the next
/// reading in the child sees it. Pass `launcher` to `SwitchProcess` to start the child with the variable set.
final class SwitchClockShift {
    let path: String
    private let shift: UnsafeMutablePointer<Int64>

    init(directory: ScratchDirectory) throws {
        path = directory.path + "/clock-shift"
        let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0, ftruncate(descriptor, 8) == 0 else { throw SwitchTestError("cannot make \(path)") }
        defer { close(descriptor) }
        guard let mapping = mmap(nil, 8, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED
        else { throw SwitchTestError("cannot map \(path)") }
        shift = mapping.bindMemory(to: Int64.self, capacity: 1)
    }

    deinit { munmap(shift, 8) }

    /// The prefix that starts the switch with the clock shift in its environment.
    var launcher: [String] { ["/usr/bin/env", "LOYALTY_TEST_CLOCK=\(path)"] }

    var shiftMs: Int64 { Int64(littleEndian: shift.pointee) }

    func advance(byMs milliseconds: Int64) { shift.pointee = (shiftMs + milliseconds).littleEndian }
}
