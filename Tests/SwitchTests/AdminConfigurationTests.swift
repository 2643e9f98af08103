import Foundation
import Glibc
import Testing

@testable import SwitchCore

/// The `admin` section of the configuration and `serve --admin-listen`: defaults, `null`, every limit's key,
/// the strict reader's refusals, and a connection limit of its own.
@Suite struct AdminConfigurationTests {
    @Test("the embedded default serves the admin API on 127.0.0.1:8580 with the HTTP server's default limits")
    func embeddedDefault() throws {
        let configuration = SwitchConfiguration()
        #expect(configuration.admin?.address.description == "127.0.0.1:8580")
        #expect(configuration.admin?.tls == nil && configuration.admin?.limits.bodyBytesMax == 1 << 20)
        #expect(try ConfigurationFileTests.load("{}").admin?.address.description == "127.0.0.1:8580")
    }

    @Test("every admin key is read into the configuration; \"admin\": null turns the API off")
    func keysAndNull() throws {
        let configuration = try ConfigurationFileTests.load(
            #"{"admin": {"listen": "127.0.0.1:9580", "connectionsMax": 3, "headerBytesMax": 2048, "headerCountMax": 9, "#
                + #""targetBytesMax": 512, "bodyBytesMax": 0, "headerReadTimeoutMs": 100, "bodyReadTimeoutMs": 200, "#
                + #""idleTimeoutMs": 300, "requestsInFlightPerConnectionMax": 2, "#
                + #""tls": {"certificate": "s.pem", "privateKey": "k.pem"}}}"#)
        let admin = try #require(configuration.admin)
        #expect(admin.address.description == "127.0.0.1:9580" && admin.tls?.certificatePath == "s.pem")
        let limits = admin.limits
        #expect(limits.connectionsMax == 3 && limits.headerBytesMax == 2048 && limits.headerCountMax == 9)
        #expect(limits.targetBytesMax == 512 && limits.bodyBytesMax == 0 && limits.headerReadTimeoutMs == 100)
        #expect(limits.bodyReadTimeoutMs == 200 && limits.idleTimeoutMs == 300)
        #expect(limits.requestsInFlightPerConnectionMax == 2)
        #expect(try ConfigurationFileTests.load(#"{"admin": null}"#).admin == nil)
    }

    @Test("the access keys: rate per token, users, Idempotency-Key retention and maximum, metrics behind a token")
    func accessKeys() throws {
        let defaults = try #require(try ConfigurationFileTests.load("{}").admin)
        #expect(defaults.access.requestsPerSecondPerToken == 50 && defaults.access.usersMax == 1000)
        #expect(
            defaults.access.idempotencyRetentionMs == 24 * 3_600_000 && defaults.access.idempotencyKeysMax == 10_000)
        #expect(!defaults.metricsRequireToken)
        let admin = try #require(
            try ConfigurationFileTests.load(
                #"{"admin": {"requestsPerSecondPerToken": 7, "usersMax": 3, "idempotencyRetentionHours": 48, "#
                    + #""idempotencyKeysMax": 5, "metricsRequireToken": true}}"#
            ).admin)
        #expect(admin.access.requestsPerSecondPerToken == 7 && admin.access.usersMax == 3)
        #expect(admin.access.idempotencyRetentionMs == 48 * 3_600_000 && admin.access.idempotencyKeysMax == 5)
        #expect(admin.metricsRequireToken)
        try ConfigurationFileTests.expectRefusal(
            #"{"admin": {"idempotencyRetentionHours": 23}}"#, "admin.idempotencyRetentionHours: must be 24...8760")
        try ConfigurationFileTests.expectRefusal(
            #"{"admin": {"requestsPerSecondPerToken": 0}}"#, "admin.requestsPerSecondPerToken: must be 1...100000")
        try ConfigurationFileTests.expectRefusal(
            #"{"admin": {"metricsRequireToken": "yes"}}"#, "admin.metricsRequireToken: must be true or false")
        try ConfigurationFileTests.expectRefusal(
            #"{"admin": {"usersMaxx": 3}}"#, "admin.usersMaxx: unknown key (did you mean usersMax?)")
    }

    @Test("a misspelt, unknown or out-of-range admin key refuses the start with its path")
    func refusals() throws {
        try ConfigurationFileTests.expectRefusal(
            #"{"admin": {"listn": "127.0.0.1:0"}}"#, "admin.listn: unknown key (did you mean listen?)")
        try ConfigurationFileTests.expectRefusal(
            #"{"admin": {"bodyByteMax": 10}}"#, "admin.bodyByteMax: unknown key (did you mean bodyBytesMax?)")
        try ConfigurationFileTests.expectRefusal(#"{"admin": "on"}"#, "admin: must be an object")
        try ConfigurationFileTests.expectRefusal(
            #"{"admin": {"listen": "localhost"}}"#, "admin.listen: must be HOST:PORT with an IPv4 host")
        try ConfigurationFileTests.expectRefusal(
            #"{"admin": {"connectionsMax": 0}}"#, "admin.connectionsMax: must be 1...100000")
        try ConfigurationFileTests.expectRefusal(
            #"{"admin": {"headerReadTimeoutMs": 99}}"#, "admin.headerReadTimeoutMs: must be 100...600000")
        try ConfigurationFileTests.expectRefusal(
            #"{"admin": {"headerBytesMax": 2048, "targetBytesMax": 2048}}"#,
            "admin.targetBytesMax: must be less than headerBytesMax (2048)")
        try ConfigurationFileTests.expectRefusal(
            #"{"admin": {"tls": {"certificate": "s.pem"}}}"#, "admin.tls.privateKey: is required")
    }

    @Test("\"admin\": null: no admin listener, said in the log; --admin-listen turns it on at the given address")
    func offAndOverride() throws {
        var settings = SwitchSettings()
        settings.admin = NSNull()
        try withSwitch(settings) { server in
            #expect(server.adminPort == nil && server.waitForLog("admin API off"))
        }
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let server = try SwitchProcess(
            directory: directory, settings: settings, arguments: ["--admin-listen", "127.0.0.1:0"])
        defer { server.stop() }
        let port = try #require(server.adminPort)
        #expect(try AdminClient.curlStatus(["http://127.0.0.1:\(port)/v1/health"]).code == 200)
    }

    @Test("a busy admin port refuses the start, naming the admin API and the address")
    func busyPort() throws {
        try withSwitch { first in
            let port = try #require(first.adminPort)
            let directory = ScratchDirectory()
            defer { directory.remove() }
            var settings = SwitchSettings()
            settings.admin = ["listen": "127.0.0.1:\(port)"]
            let refusal =
                "cannot start: admin API: listen on 127.0.0.1:\(port): bind 127.0.0.1:\(port): Address already in use"
            #expect {
                _ = try SwitchProcess(directory: directory, settings: settings)
            } throws: { error in
                "\(error)".contains("the switch exited at start") && "\(error)".contains(refusal)
            }
        }
    }

    @Test("admin connections have their own limit: terminals at connectionsMax do not shut operators out")
    func ownConnectionLimit() throws {
        var settings = SwitchSettings()
        settings.limits = ["connectionsMax": 1]
        settings.admin = ["listen": "127.0.0.1:0", "connectionsMax": 2]
        try withSwitch(settings) { server in
            let port = try #require(server.adminPort)
            let terminal = try SwitchClient(port: server.port)
            var identity = Terminal()
            #expect(try terminal.exchange(identity.purchase(Wire.card(1, test: 43), 100)).code == "00")
            let first = try RawHTTPClient(port: port)
            let second = try RawHTTPClient(port: port)
            for client in [first, second] {
                client.write("GET /v1/health HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(client.read(until: "{\"status\":\"ok\"}", count: 1).hasPrefix("HTTP/1.1 200 OK"))
            }
            let third = try RawHTTPClient(port: port)
            third.write("GET /v1/health HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(third.readUntilClosed().isEmpty, "the third admin connection is closed at once")
            #expect(server.waitForLog("2 connections open on 127.0.0.1:\(port) (its connectionsMax)"))
        }
    }
}

/// `admin.loop` and `admin.loopNice` (issue 13, item 4): where the admin API's connections run, seen from outside
/// the real binary through its threads in /proc.
@Suite struct AdminLoopPlacementTests {
    @Test("by default the admin API runs on a thread of its own at nice 10; terminals and operators both answered")
    func ownLoopByDefault() throws {
        try withSwitch { server in
            let threads = Self.threads(of: server.process.pid, naming: ["loop-0", "loop-1", "admin-loop-0"]) {
                $0["admin-loop-0"] == 10
            }
            #expect(threads["admin-loop-0"] == 10, "the admin loop's thread and its nice value: \(threads)")
            #expect(threads["loop-0"] == 0 && threads["loop-1"] == 0, "the ISO loops keep the process's priority")
            try Self.expectBothAnswered(server)
            #expect(server.log.contains("on its own loop, nice 10"))
            // The log views of the default configuration (history, sales, search) on one reader thread under its
            // own name (the consumers once ran as "audit-journal", the thread that started them), and no other.
            let views = Self.threads(of: server.process.pid, naming: ["log-views"])
            #expect(views["log-views"] != nil, "threads: \(views)")
            let apart = ["history-indexer", "sales-indexer", "member-search"].filter { views[$0] != nil }
            #expect(apart.isEmpty, "one reader for the three views: \(views)")
        }
    }

    @Test("\"loop\": \"shared\" puts the admin API on the ISO loops: no thread of its own, both still answered")
    func sharedLoops() throws {
        var settings = SwitchSettings()
        settings.admin = ["listen": "127.0.0.1:0", "loop": "shared"]
        try withSwitch(settings) { server in
            let threads = Self.threads(of: server.process.pid, naming: ["loop-0", "loop-1"])
            #expect(threads["admin-loop-0"] == nil && threads["loop-0"] == 0, "threads: \(threads)")
            try Self.expectBothAnswered(server)
            #expect(server.log.contains("on the ISO 8583 loops"))
        }
    }

    @Test("loopNice at its limits: 19 is taken by the thread, 0 leaves it at the process's priority")
    func niceAtItsLimits() throws {
        for nice in [19, 0] {
            var settings = SwitchSettings()
            settings.admin = ["listen": "127.0.0.1:0", "loopNice": nice]
            try withSwitch(settings, name: "niceAtItsLimits\(nice)") { server in
                let threads = Self.threads(of: server.process.pid, naming: ["loop-0", "loop-1", "admin-loop-0"]) {
                    $0["admin-loop-0"] == nice
                }
                #expect(threads["admin-loop-0"] == nice, "threads: \(threads)")
                try Self.expectBothAnswered(server)
            }
        }
    }

    @Test("loop and loopNice are read strictly: the configuration names the bad value's path")
    func refusals() throws {
        let admin = try #require(try ConfigurationFileTests.load(#"{"admin": {"loop": "shared", "loopNice": 19}}"#).admin)
        #expect(admin.loop == .shared && admin.loopNice == 19)
        let defaults = try #require(try ConfigurationFileTests.load("{}").admin)
        #expect(defaults.loop == .own && defaults.loopNice == 10)
        try ConfigurationFileTests.expectRefusal(#"{"admin": {"loop": "mine"}}"#, #"admin.loop: must be "own" or "shared""#)
        try ConfigurationFileTests.expectRefusal(#"{"admin": {"loopNice": 20}}"#, "admin.loopNice: must be 0...19")
        try ConfigurationFileTests.expectRefusal(#"{"admin": {"loopNice": -1}}"#, "admin.loopNice: must be 0...19")
    }

    /// A purchase at the terminal port and a health check at the admin port, both answered.
    static func expectBothAnswered(_ server: SwitchProcess) throws {
        let port = try #require(server.adminPort)
        #expect(try AdminClient.curlStatus(["http://127.0.0.1:\(port)/v1/health"]).code == 200)
        let terminal = try SwitchClient(port: server.port)
        var identity = Terminal()
        #expect(try terminal.exchange(identity.purchase(Wire.card(1, test: 44), 100)).code == "00")
    }

    /// Thread name to nice value once every name in `naming` is there (a loop names itself when its thread runs,
    /// just after the listening line; at most 5 s), from /proc/PID/task/TID/comm and the 19th field of .../stat.
    /// The process's threads by name and nice value, once every name in `naming` is there and `ready` holds (at
    /// most 5 s): a loop thread names itself before it sets its nice value, so a read between the two sees 0
    /// (a CI run once did).
    static func threads(
        of pid: Int32, naming: Set<String>, until ready: ([String: Int]) -> Bool = { _ in true }
    ) -> [String: Int] {
        var found: [String: Int] = [:]
        for _ in 0..<100 {
            found = threadsNow(of: pid)
            if naming.isSubset(of: found.keys) && ready(found) { break }
            usleep(50_000)
        }
        return found
    }

    static func threadsNow(of pid: Int32) -> [String: Int] {
        let tasks = "/proc/\(pid)/task"
        var found: [String: Int] = [:]
        for tid in (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? [] {
            guard let comm = try? String(contentsOfFile: "\(tasks)/\(tid)/comm", encoding: .utf8),
                let stat = try? String(contentsOfFile: "\(tasks)/\(tid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // Fields after "(comm)": state is the 3rd field, nice the 19th.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 16, let nice = Int(fields[16]) else { continue }
            found[comm.trimmingCharacters(in: .whitespacesAndNewlines)] = nice
        }
        return found
    }
}
