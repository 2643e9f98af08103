import Foundation
import Glibc
import Testing

/// One real switch behind its admin API, for the end-to-end suites: a scratch data directory, `admin init`'s
/// token, the binary started on them, users by role, JSON requests with an optional Idempotency-Key (over curl),
/// and restarts after a SIGKILL or a graceful stop on the same data. One copy of the set-up every admin suite
/// needs, so that a change to it (a flag, a start-up line) is made once. Call `close()` from a `defer`.
final class AdminHarness {
    let directory: ScratchDirectory
    /// What the next start uses (a test may change it between runs).
    var settings: SwitchSettings
    /// The `admin` user's token, printed by `admin init`.
    let admin: String
    private(set) var server: SwitchProcess
    /// How many times the switch was started on this data, minus one (each run writes its own config file).
    private(set) var run = 0

    var port: UInt16 { server.adminPort! }
    var data: String { directory.data }

    /// `admin init`, then the switch started with `settings`; the directory is named after the test.
    convenience init(_ name: String = #function, settings: SwitchSettings = SwitchSettings()) throws {
        try self.init(directory: ScratchDirectory(name), settings: settings)
    }

    /// The same on a directory the test made first (for what must live beside the data, e.g. a webhook
    /// receiver's files); `close()` removes it.
    init(directory: ScratchDirectory, settings: SwitchSettings) throws {
        self.directory = directory
        self.settings = settings
        do {
            admin = try AdminAccessClient.initialize(directory)
            server = try SwitchProcess(directory: directory, settings: settings)
        } catch {
            directory.remove()
            throw error
        }
    }

    /// Kills the switch (if running) and removes the data.
    func close() {
        server.stop()
        directory.remove()
    }

    /// SIGKILL (nothing is flushed or snapshotted), then a new run on the same data.
    func killAndRestart() throws {
        server.stop()
        try start()
    }

    /// SIGTERM (a graceful stop writes snapshots), which must exit 0, then a new run on the same data.
    func stopGracefullyAndRestart() throws {
        let stopped = server.signalAndWait(SIGTERM)
        #expect(stopped?.status == 0, "a graceful stop exits 0")
        try start()
    }

    /// A new run on the same data with `settings` (after the old one stopped).
    func start() throws {
        server.stop()
        run += 1
        server = try SwitchProcess(directory: directory, settings: settings, run: run)
    }

    /// A new user (the answer must be 201): its id and token.
    func createUser(name: String, role: String, merchants: [String]? = nil) throws -> (id: String, token: String) {
        try AdminAccessClient.createUser(port, token: admin, name: name, role: role, merchants: merchants)
    }

    /// `METHOD PATH` as `token` (nil: no Authorization header) with an optional JSON body and Idempotency-Key.
    func call(_ method: String, _ path: String, token: String?, body: String? = nil, key: String? = nil) throws
        -> AdminAnswer
    {
        try AdminAccessClient.call(port, method, path, token: token, body: body, key: key)
    }

    /// `POST PATH` with a JSON body as `token`.
    func post(_ path: String, token: String?, _ body: String, key: String? = nil) throws -> AdminAnswer {
        try call("POST", path, token: token, body: body, key: key)
    }

    /// `GET PATH` as `token`.
    func get(_ path: String, token: String?) throws -> AdminAnswer { try call("GET", path, token: token) }

    /// Enrols `pan` (201 expected); the member's id.
    func enrol(_ pan: String) throws -> String {
        let enrolled = try post("/v1/members", token: admin, #"{"pan":"\#(pan)"}"#)
        guard enrolled.code == 201, let id = enrolled.json["id"] as? String else {
            throw SwitchTestError("enrol: \(enrolled.code) \(enrolled.body)")
        }
        return id
    }

    /// A member enrolled with `pan` and given `points` by an admin adjustment (201 expected).
    func member(_ pan: String, points: Int) throws -> String {
        let id = try enrol(pan)
        let adjusted = try post(
            "/v1/members/\(id)/adjustments", token: admin, #"{"asset":"points","amount":\#(points),"reason":"goodwill"}"#)
        guard adjusted.code == 201 else { throw SwitchTestError("adjust: \(adjusted.code) \(adjusted.body)") }
        return id
    }

    /// The card id of `pan` and its member's (lookup must answer 200).
    func cardId(_ pan: String) throws -> (card: String, member: String) { try cardId(pan, as: admin) }

    /// The card id of `pan` and its member's, looked up as `token` (the answer must be 200).
    func cardId(_ pan: String, as token: String) throws -> (card: String, member: String) {
        try AdminAccessClient.cardId(port, token: token, pan: pan)
    }

    /// The member's points balance as `GET /v1/members/{id}` shows it (nil when it is not shown).
    /// The member's points; waits out a 429 (tests that poll many pages reach `requestsPerSecondPerToken`: a CI
    /// run once read nil here) or a 503, and throws on any other answer than 200.
    func points(_ member: String) throws -> Int? {
        var shown = try get("/v1/members/\(member)", token: admin)
        for _ in 0..<5 where shown.code == 429 || shown.code == 503 {
            sleep(1)
            shown = try get("/v1/members/\(member)", token: admin)
        }
        guard shown.code == 200 else { throw SwitchTestError("GET /v1/members/\(member): \(shown.code) \(shown.body)") }
        return (shown.json["balances"] as? [String: Any])?["points"] as? Int
    }

    /// The audit trail's entries, oldest first; only those of `action` when given.
    func audit(action: String? = nil) throws -> [[String: Any]] {
        let entries = try AdminAccessClient.audit(port, token: admin)
        guard let action else { return entries }
        return entries.filter { $0["action"] as? String == action }
    }

    /// The audit journal's text as it is on disk.
    var journal: String {
        (try? String(contentsOfFile: data + "/audit/journal.jsonl", encoding: .utf8)) ?? ""
    }

    /// `loyalty-switch ARGUMENTS --data DATA` (e.g. `audit verify`): exit status and output.
    func command(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try AdminAccessClient.command(arguments + ["--data", data])
    }
}
