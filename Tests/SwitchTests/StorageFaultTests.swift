import Foundation
import Glibc
import Synchronization
import TestSupport
import Testing

/// A small tmpfs mounted for one test: a disk that really fills up. Needs root (the sandbox and CI run as
/// root); a `mount` that fails fails the test.
struct SmallDisk {
    let path: String

    init(bytes: Int, name: String = #function) throws {
        let safe = name.filter { $0.isLetter || $0.isNumber }.prefix(32)
        path = NSTemporaryDirectory() + "switch-disk-\(safe)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Tool.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", path])
    }

    /// Writes a file until the disk refuses, to the last page; returns its path.
    func fill() throws -> String {
        let filler = path + "/filler"
        let descriptor = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw SwitchTestError("open \(filler): errno \(errno)") }
        defer { close(descriptor) }
        let bytes = [UInt8](repeating: 0x5A, count: 64 << 10)
        for pieceBytes in [64 << 10, 4096] {
            while bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress!, pieceBytes) }) == pieceBytes {}
        }
        return filler
    }

    func unmount() {
        _ = try? Tool.run("/usr/bin/umount", ["-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// System tools the fault tests drive (mount, prlimit) and what they say.
enum Tool {
    /// Runs a tool; throws with its standard error when it fails. Returns its standard output.
    @discardableResult
    static func run(_ path: String, _ arguments: [String]) throws -> String {
        let outcome = try ChildProcess.capture(path, arguments)
        guard outcome.status == 0 else {
            throw SwitchTestError("\(path) \(arguments.joined(separator: " ")): \(outcome.errors)")
        }
        return outcome.output
    }

    /// `loyalty-switch ledger verify --data DIR`: the exit status and both outputs.
    static func verify(_ data: String) throws -> (status: Int32, output: String) {
        try ChildProcess.run(try SwitchExecutable.path(), ["ledger", "verify", "--data", data], timeout: 300)
    }

    /// CPU seconds (user + system) a process has used, from /proc/PID/stat.
    static func cpuSeconds(_ pid: Int32) -> Double {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        // Fields after the command name (which may hold spaces, in parentheses): utime and stime are 14 and 15.
        let fields = text.split(separator: ")").last?.split(separator: " ") ?? []
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// Terminals buying without pause on their own connections, each purchase 100 minor units (1 point) on its own
/// card, counting what comes back. Paused and resumed by the test; stopped at the end.
final class PurchaseLoad: @unchecked Sendable {
    let cards: [String]
    private let lock = NSLock()
    private var approvedPerCard: [Int]
    private var codes: [String: Int] = [:]
    private let paused = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    private let running: DispatchGroup = DispatchGroup()

    init(port: UInt16, connections: Int, test: Int) throws {
        cards = (0..<connections).map { Wire.card($0, test: test) }
        approvedPerCard = Array(repeating: 0, count: connections)
        for index in 0..<connections {
            nonisolated(unsafe) let client = try SwitchClient(port: port)
            running.enter()
            Thread.detachNewThread { [self] in
                defer { running.leave() }
                var terminal = Terminal(id: "LOAD\(Wire.digits(test % 100, 2))\(Wire.digits(index, 2))")
                while !stopped.load(ordering: .acquiring) {
                    if paused.load(ordering: .acquiring) {
                        usleep(1_000)
                        continue
                    }
                    guard let reply = try? client.exchange(terminal.purchase(cards[index], 100), timeout: 20) else {
                        return
                    }
                    count(reply.code ?? "-", card: index)
                }
            }
        }
    }

    private func count(_ code: String, card: Int) {
        lock.lock()
        codes[code, default: 0] += 1
        if code == "00" { approvedPerCard[card] += 1 }
        lock.unlock()
    }

    /// Answers so far by response code.
    var answers: [String: Int] {
        lock.lock()
        defer { lock.unlock() }
        return codes
    }

    var approved: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return approvedPerCard
    }

    /// Waits at most `timeout` seconds until `condition` holds for the answers so far.
    func wait(timeout: Double, until condition: ([String: Int]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(answers) { return true }
            usleep(2_000)
        }
        return condition(answers)
    }

    func pause() { paused.store(true, ordering: .releasing) }
    func resume() { paused.store(false, ordering: .releasing) }

    func stop() {
        stopped.store(true, ordering: .releasing)
        running.wait()
    }
}

extension SwitchProcess {
    /// After a graceful stop: `ledger verify` passes, and a restart holds exactly the approved points per card.
    static func checkEveryApprovalPresent(
        _ directory: ScratchDirectory, settings: SwitchSettings, load: PurchaseLoad, run: Int
    ) throws {
        let verified = try Tool.verify(directory.data)
        #expect(verified.status == 0 && verified.output.contains("result: OK"), "\(verified.output)")
        let server = try SwitchProcess(directory: directory, settings: settings, run: run)
        defer { server.stop() }
        let client = try SwitchClient(port: server.port)
        var inquirer = Terminal(id: "CHECK\(run)00")
        for (index, card) in load.cards.enumerated() {
            let points = try client.availablePoints(card, terminal: &inquirer) ?? 0
            #expect(points == Int64(load.approved[index]), "card \(index): every approval present, no decline applied")
        }
    }
}

/// Storage faults from outside, on the real switch: a full disk and exhausted descriptors decline or refuse
/// while they last and heal without a restart; the descriptor budget is checked at start.
@Suite struct StorageFaultTests {
    /// Small segments, so the ledger needs a new one within a few hundred purchases.
    static func faultSettings() -> SwitchSettings {
        var settings = SwitchSettings()
        settings.shards = 1
        settings.loops = 1
        settings.limits = ["logSegmentBytes": 64 << 10, "connectionsMax": 64]
        return settings
    }

    @Test("a full disk under load: 96 while it lasts, approvals again without a restart once space is freed")
    func fullDiskUnderLoad() throws {
        let disk = try SmallDisk(bytes: 1 << 20)
        defer { disk.unmount() }
        let data = ScratchDirectory(data: disk.path + "/data")
        defer { data.remove() }
        let server = try SwitchProcess(directory: data, settings: Self.faultSettings())
        defer { server.stop() }
        let load = try PurchaseLoad(port: server.port, connections: 3, test: 31)
        #expect(load.wait(timeout: 20) { $0["00", default: 0] >= 100 })
        let filler = try disk.fill()
        #expect(load.wait(timeout: 30) { $0["96", default: 0] >= 50 }, "declines once the allocated segments fill")
        #expect(server.log.contains("declining every request (96, nothing applied)"))
        let approvedWhileFull = load.answers["00", default: 0]
        try FileManager.default.removeItem(atPath: filler)
        let healed = load.wait(timeout: 10) { $0["00", default: 0] >= approvedWhileFull + 100 }
        #expect(healed, "approvals resume within seconds, without a restart")
        #expect(server.log.contains("approving again"))
        load.stop()
        let exit = server.signalAndWait(SIGTERM)
        #expect(exit?.status == 0, "\(server.log.suffix(800))")
        try SwitchProcess.checkEveryApprovalPresent(data, settings: Self.faultSettings(), load: load, run: 1)
    }

    @Test("a disk without room for two segments refuses the start, naming the room needed")
    func noRoomRefusesStart() throws {
        let disk = try SmallDisk(bytes: 96 << 10)
        defer { disk.unmount() }
        let data = ScratchDirectory(data: disk.path + "/data")
        defer { data.remove() }
        let outcome = try SwitchProcess.serve(json: #"{"limits": {"logSegmentBytes": 65536}}"#, directory: data)
        #expect(outcome.status == 1, "\(outcome.standardError)")
        #expect(outcome.standardError.contains("cannot start: ledger in \(data.data): no room for the log"))
        #expect(outcome.standardError.contains("65536 bytes each") && outcome.standardError.contains("No space left"))
    }

    /// The lowest descriptor number a process does not use: with its soft limit set there, every new
    /// descriptor fails with EMFILE (until one of the lower ones is closed).
    static func lowestFreeDescriptor(_ pid: Int32) throws -> Int {
        let used = Set(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap { Int($0) })
        return (0...).first { !used.contains($0) }!
    }

    /// The hard descriptor limit of a process, from /proc/PID/limits.
    static func hardDescriptorLimit(_ pid: Int32) throws -> String {
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        let line = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") } ?? ""
        return String(line.split(separator: " ", omittingEmptySubsequences: true)[4])
    }

    /// Sets the running switch's soft descriptor limit (prlimit: a real setrlimit on the process).
    static func setDescriptorLimit(_ pid: Int32, soft: Int, hard: String) throws {
        try Tool.run("/usr/bin/prlimit", ["--pid", "\(pid)", "--nofile=\(soft):\(hard)"])
    }

    /// Opens `count` connections and counts those the switch closes within 5 s each; returns the count and the
    /// CPU seconds the switch used per second of that window.
    static func connectAndCountRefusals(port: UInt16, pid: Int32, count: Int) throws -> (Int, Double) {
        let cpuBefore = Tool.cpuSeconds(pid)
        let started = Date()
        var refused = 0
        for _ in 0..<count {
            let client = try SwitchClient(port: port)
            if client.closedByPeer(within: 5) { refused += 1 }
        }
        let cpu = Tool.cpuSeconds(pid) - cpuBefore
        return (refused, cpu / max(Date().timeIntervalSince(started), 0.5))
    }

    /// Two shortages. With the soft limit at the descriptors in use (a full table), new connections are closed at
    /// once (the listener's spare descriptor) and purchases go on: the ledger opened its next segment ahead and
    /// swaps one descriptor for another. With the limit below every descriptor (none can be opened at all),
    /// the ledger cannot make its next segment and answers 96 once the current one fills, and new connections
    /// wait in the backlog. Neither spins a core; both heal when the limit is raised.
    @Test("descriptors exhausted under load: refusals or 96 while it lasts, no spinning, approvals again after")
    func descriptorsExhaustedUnderLoad() throws {
        let data = ScratchDirectory()
        defer { data.remove() }
        var settings = Self.faultSettings()
        // The log consumers (history, member search, sales) open and close segment files as they tail 64 KiB segments:
        // a descriptor one of them closes after the limit is set is a free slot below it, and accept takes it
        // (CI once saw 0 of 15 refused under a load average of 16). Off here, the switch's descriptors stay put.
        settings.topLevel = ["history": NSNull(), "search": NSNull(), "sales": NSNull()]
        let server = try SwitchProcess(directory: data, settings: settings)
        defer { server.stop() }
        let pid = server.process.pid
        let load = try PurchaseLoad(port: server.port, connections: 2, test: 32)
        #expect(load.wait(timeout: 20) { $0["00", default: 0] >= 100 })
        let hard = try Self.hardDescriptorLimit(pid)
        load.pause()
        try Self.setDescriptorLimit(pid, soft: try Self.lowestFreeDescriptor(pid), hard: hard)
        let (refused, cpuPerSecond) = try Self.connectAndCountRefusals(port: server.port, pid: pid, count: 15)
        #expect(refused == 15, "every new connection is closed at once while the table is full")
        // The purchase load is paused for this window, so only accepting and refusing is measured: 0.00–0.01 CPU s
        // per s under a load average of 7 on 2 cores, where an accept loop spinning on EMFILE takes a whole core
        // (≈1.0, less only when the machine starves it). With purchases running, a debug switch used 0.53 under the
        // full suite, which is why the load is paused here rather than the bound raised: a bound near 1.0 would let
        // a spin starved to ~0.6 pass.
        #expect(cpuPerSecond < 0.25, "\(cpuPerSecond) CPU s per s while connections are refused: no spinning")
        // Seen once in CI: 15 of 15 closed and no such line. What the switch said, and whether it still runs, are
        // what tell a refusal from a switch that is gone.
        #expect(
            server.log.contains("Too many open files"),
            "alive: \(kill(pid, 0) == 0); log tail: \(server.log.suffix(2_000))")
        let approved = load.answers["00", default: 0]
        load.resume()
        #expect(load.wait(timeout: 10) { $0["00", default: 0] >= approved + 100 }, "purchases go on")
        try Self.setDescriptorLimit(pid, soft: 4, hard: hard)
        #expect(load.wait(timeout: 30) { $0["96", default: 0] >= 20 }, "no next segment: 96")
        load.pause()
        let waiting = try (0..<10).map { _ in try SwitchClient(port: server.port) }
        let cpuBefore = Tool.cpuSeconds(pid)
        usleep(1_000_000)  // a measuring window, not a wait for a condition
        let idleCPU = Tool.cpuSeconds(pid) - cpuBefore
        #expect(idleCPU < 0.2, "\(idleCPU) CPU s in 1 s with 10 connections waiting on a full table: no spinning")
        try Self.setDescriptorLimit(pid, soft: Int(hard) ?? 1024, hard: hard)
        let declined = load.answers["00", default: 0]
        load.resume()
        #expect(load.wait(timeout: 10) { $0["00", default: 0] >= declined + 100 }, "approvals resume")
        var terminal = Terminal(id: "ECHO0001")
        var echo = terminal.message(800)
        try echo.set(70, "301")
        #expect(try waiting[0].exchange(echo).code == "00", "connections from the backlog are served")
        load.stop()
        #expect(server.signalAndWait(SIGTERM)?.status == 0)
        try SwitchProcess.checkEveryApprovalPresent(data, settings: settings, load: load, run: 1)
    }
}

/// `serve` and the descriptor limit: the soft limit is raised to the hard one, and `connectionsMax` must fit
/// beside the descriptors the switch keeps (the ledger's reserve among them) — tested at the limit.
@Suite struct DescriptorBudgetTests {
    static let prlimit256 = ["/usr/bin/prlimit", "--nofile=256:256", "--"]

    /// "at most N connections fit" from a refusal.
    static func connectionsThatFit(_ text: String) -> Int? {
        guard let range = text.range(of: "so at most ") else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }

    @Test(
        "connectionsMax at the descriptor budget starts and serves every connection; one more is refused, naming both")
    func connectionsMaxAtTheBudget() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let refused = try SwitchProcess.serve(
            json: #"{"loops": 1, "shards": 1}"#, directory: directory, launcher: Self.prlimit256)
        #expect(refused.status == 1)
        #expect(refused.standardError.contains("limits.connectionsMax 10000 does not fit the descriptor limit 256"))
        let fit = try #require(Self.connectionsThatFit(refused.standardError), "\(refused.standardError)")
        let overBy1 = try SwitchProcess.serve(
            json: #"{"loops": 1, "shards": 1, "limits": {"connectionsMax": \#(fit + 1)}}"#, directory: directory,
            launcher: Self.prlimit256)
        #expect(overBy1.status == 1 && overBy1.standardError.contains("at most \(fit) connections fit"))
        var settings = SwitchSettings()
        settings.loops = 1
        settings.shards = 1
        settings.limits = ["connectionsMax": fit]
        let server = try SwitchProcess(directory: directory, settings: settings, launcher: Self.prlimit256)
        defer { server.stop() }
        var clients: [SwitchClient] = []
        var terminal = Terminal(id: "FULL0001")
        var echo = terminal.message(800)
        try echo.set(70, "301")
        for _ in 0..<fit {
            let client = try SwitchClient(port: server.port)
            #expect(try client.exchange(echo).code == "00")
            clients.append(client)
        }
        let oneMore = try SwitchClient(port: server.port)
        #expect(oneMore.closedByPeer(within: 5), "connection \(fit + 1) is over connectionsMax")
        #expect(!server.log.contains("accept on"), "no descriptor shortage at the limit")
        #expect(server.signalAndWait(SIGTERM)?.status == 0)
    }

    @Test("serve raises a soft descriptor limit below the hard one and says so")
    func softLimitRaised() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var settings = SwitchSettings()
        settings.limits = ["connectionsMax": 1000]
        let server = try SwitchProcess(
            directory: directory, settings: settings, launcher: ["/usr/bin/prlimit", "--nofile=256:4096", "--"])
        defer { server.stop() }
        #expect(server.log.contains("descriptor limit raised from 256 to 4096 (the hard limit)"))
        #expect(
            try Tool.run(
                "/usr/bin/prlimit",
                [
                    "--pid", "\(server.process.pid)", "--nofile",
                    "--output", "SOFT", "--noheadings",
                ]
            ).trimmingCharacters(in: .whitespacesAndNewlines) == "4096")
    }
}
