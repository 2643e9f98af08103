import Foundation
import Glibc
import Testing

/// Users, tokens, roles and the audit trail end to end: the real binary, curl and Python over real HTTP, the
/// real `admin init` and `audit verify`, and a SIGKILL in the middle of a burst of creations.
@Suite("Admin users and audit", .serialized)
struct AdminUsersAndAuditTests {
    /// A switch on a directory that `admin init` prepared; returns the switch and the admin token.
    static func start(
        _ directory: ScratchDirectory, settings: SwitchSettings = SwitchSettings(), run: Int = 0
    ) throws -> (SwitchProcess, String) {
        let token = try AdminAccessClient.initialize(directory)
        return (try SwitchProcess(directory: directory, settings: settings, run: run), token)
    }

    @Test("per role: no or a bad token is 401 with WWW-Authenticate, a role without the right 403, the rest 200")
    func rolesAllowedAndRefused() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        let operatorUser = try harness.createUser(name: "Olga", role: "operator")
        let auditor = try harness.createUser(name: "Aud", role: "auditor")
        let merchant = try harness.createUser(
            name: "Shop", role: "merchant", merchants: ["SHOP000000001"])
        let missing = try harness.call("GET", "/v1/users", token: nil)
        #expect(missing.code == 401 && missing.header("www-authenticate") == "Bearer")
        #expect(missing.header("content-type") == "application/problem+json")
        let bad = try harness.call(
            "GET", "/v1/audit", token: "lsk_" + String(repeating: "0", count: 64))
        #expect(bad.code == 401 && bad.header("www-authenticate") == "Bearer")
        let expectations: [(String, String, String, Int)] = [
            (admin, "GET", "/v1/users", 200), (admin, "GET", "/v1/audit", 200),
            (operatorUser.token, "GET", "/v1/users", 403), (operatorUser.token, "GET", "/v1/audit", 403),
            (operatorUser.token, "POST", "/v1/users", 403), (auditor.token, "GET", "/v1/audit", 200),
            (auditor.token, "GET", "/v1/users", 403), (auditor.token, "DELETE", "/v1/users/\(merchant.id)", 403),
            (merchant.token, "GET", "/v1/audit", 403), (merchant.token, "GET", "/v1/users", 403),
        ]
        for (token, method, path, code) in expectations {
            let body = method == "POST" ? #"{"name":"x","role":"auditor"}"# : nil
            let answer = try harness.call(method, path, token: token, body: body)
            #expect(answer.code == code, "\(method) \(path): \(answer.body)")
            if code == 403 { #expect(answer.json["detail"] as? String != nil) }
        }
        let users = try AdminAccessClient.users(harness.port, token: admin)
        #expect(users.compactMap { $0["name"] as? String } == ["root", "Olga", "Aud", "Shop"])
        #expect(users.last?["merchants"] as? [String] == ["SHOP000000001"])
        let listed = try harness.call("GET", "/v1/users", token: admin).body
        #expect(!listed.contains("token") && !listed.contains("hash"), "no token or hash in the list")
        #expect(try harness.audit().contains { $0["action"] as? String == "auth.refused" })
        for token in [admin, operatorUser.token, auditor.token, merchant.token] {
            #expect(!harness.server.log.contains(token), "a token in the switch's log")
            #expect(!harness.server.log.contains(String(token.dropFirst(4).prefix(16))))
        }
    }

    @Test("a deleted user's token is refused at once; the deletion is 204, then 404, and in the trail; own user 409")
    func deleteRevokesAtOnce() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        let auditor = try harness.createUser(name: "Aud", role: "auditor")
        #expect(try harness.call("GET", "/v1/audit", token: auditor.token).code == 200)
        #expect(try harness.call("DELETE", "/v1/users/\(auditor.id)", token: admin).code == 204)
        #expect(try harness.call("GET", "/v1/audit", token: auditor.token).code == 401)
        #expect(try harness.call("DELETE", "/v1/users/\(auditor.id)", token: admin).code == 404)
        let ownId = try #require(AdminAccessClient.users(harness.port, token: admin).first?["id"] as? String)
        let own = try harness.call("DELETE", "/v1/users/\(ownId)", token: admin)
        #expect(own.code == 409 && own.body.contains("own user"), "the last admin cannot lock everyone out")
        let actions = try harness.audit().compactMap { $0["action"] as? String }
        #expect(actions.filter { $0 == "users.delete" }.count == 1)
        #expect(try AdminAccessClient.users(harness.port, token: admin).count == 1)
    }

    @Test("Idempotency-Key: same JSON value = same answer, nothing changed, also after a restart; other body 409")
    func idempotentRepeat() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        let first = try harness.call(
            "POST", "/v1/users", token: admin, body: #"{"name":"Olga","role":"operator"}"#, key: "create-olga")
        #expect(first.code == 201)
        let repeatBody = "{ \"role\" : \"operator\",\n \"name\":\"Olga\" }"
        let second = try harness.call(
            "POST", "/v1/users", token: admin, body: repeatBody, key: "create-olga")
        #expect(second.code == 201 && second.body == first.body)
        let other = try harness.call(
            "POST", "/v1/users", token: admin, body: #"{"name":"Olga2","role":"operator"}"#, key: "create-olga")
        #expect(other.code == 409)
        let invalid = #"{"name":"X","role":"boss"}"#
        let refused = try harness.call("POST", "/v1/users", token: admin, body: invalid, key: "bad")
        #expect(refused.code == 422 && refused.body.contains("$.role"))
        #expect(try AdminAccessClient.users(harness.port, token: admin).count == 2)
        #expect(harness.server.signalAndWait(SIGTERM)?.status == 0)
        try harness.start()
        let afterRestart = try harness.call(
            "POST", "/v1/users", token: admin, body: repeatBody, key: "create-olga")
        #expect(afterRestart.code == 201 && afterRestart.body == first.body)
        let refusedAgain = try harness.call(
            "POST", "/v1/users", token: admin, body: invalid, key: "bad")
        #expect(refusedAgain.code == 422 && refusedAgain.body == refused.body)
        #expect(try AdminAccessClient.users(harness.port, token: admin).count == 2)
        let creations = try harness.audit().filter {
            $0["action"] as? String == "users.create" && $0["target"] as? String != nil
        }
        #expect(creations.count == 2, "one entry for root, one for Olga")
    }

    @Test("429 with Retry-After over requestsPerSecondPerToken, 409 at usersMax, /metrics behind a token")
    func limitsAndMetricsToken() throws {
        let settings = SwitchSettings.admin([
            "requestsPerSecondPerToken": 1, "usersMax": 2, "metricsRequireToken": true,
        ])
        let harness = try AdminHarness(settings: settings)
        defer { harness.close() }
        let admin = harness.admin
        let client = try RawHTTPClient(port: harness.port)
        let request = "GET /v1/audit HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(admin)\r\n\r\n"
        client.write(request + request + request)
        let text = client.read(until: "HTTP/1.1 ", count: 3)
        #expect(text.contains("HTTP/1.1 200 OK") && text.contains("HTTP/1.1 429 Too Many Requests"))
        #expect(text.contains("Retry-After: 1"))
        #expect(try harness.call("GET", "/metrics", token: nil).code == 401)
        sleep(1)
        let metrics = try harness.call("GET", "/metrics", token: admin)
        #expect(metrics.code == 200 && metrics.body.contains("loyalty_"))
        sleep(1)
        #expect(
            try harness.call(
                "POST", "/v1/users", token: admin, body: #"{"name":"two","role":"auditor"}"#
            ).code == 201)
        sleep(1)
        let third = try harness.call(
            "POST", "/v1/users", token: admin, body: #"{"name":"three","role":"auditor"}"#)
        #expect(third.code == 409 && third.body.contains("usersMax"))
    }

    @Test("admin init: one token line; refused twice and while served; serve without users tells how")
    func adminInit() throws {
        let empty = ScratchDirectory()
        defer { empty.remove() }
        let bare = try SwitchProcess(directory: empty, settings: SwitchSettings())
        #expect(bare.waitForLog("loyalty-switch admin init --data"))
        let whileServing = try AdminAccessClient.command(["admin", "init", "--data", empty.data, "--name", "x"])
        #expect(whileServing.status == 1 && whileServing.output.contains("locked"))
        bare.stop()
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let first = try AdminAccessClient.command(["admin", "init", "--data", directory.data, "--name", "root"])
        #expect(first.status == 0)
        let tokenLines = first.output.split(separator: "\n").filter { $0.hasPrefix("token: lsk_") }
        #expect(tokenLines.count == 1 && tokenLines[0].count == "token: ".count + 68)
        let second = try AdminAccessClient.command(["admin", "init", "--data", directory.data, "--name", "again"])
        #expect(second.status == 1 && second.output.contains("already has 1 user"))
        #expect(!second.output.contains("token:"))
        let usage = try AdminAccessClient.command(["admin", "init", "--data", directory.data])
        #expect(usage.status == 2 && usage.output.contains("--name"))
    }

    @Test("audit verify: clean while served, changes nothing; a flipped byte is named by verify and by serve")
    func auditVerify() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        for name in ["a", "b", "c"] {
            _ = try AdminAccessClient.createUser(harness.port, token: admin, name: name, role: "auditor")
        }
        let journal = harness.data + "/audit/journal.jsonl"
        let before = FileManager.default.contents(atPath: journal)
        let clean = try harness.command(["audit", "verify"])
        #expect(clean.status == 0 && clean.output.contains("4 entries, chain intact"))
        #expect(FileManager.default.contents(atPath: journal) == before, "verify changed the journal")
        #expect(harness.server.signalAndWait(SIGTERM)?.status == 0)
        var bytes = try #require(FileManager.default.contents(atPath: journal))
        var lineStarts = [0]
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") { lineStarts.append(index + 1) }
        let third = lineStarts[2]
        let name = try #require(bytes[third...].firstRange(of: Data(#""name":"b""#.utf8)))
        bytes[name.upperBound - 2] = UInt8(ascii: "z")
        try bytes.write(to: URL(fileURLWithPath: journal))
        let broken = try harness.command(["audit", "verify"])
        #expect(broken.status == 1)
        #expect(broken.output.contains("journal.jsonl: entry seq 3 at byte offset \(third): hash mismatch"))
        let refused = try SwitchProcess.serve(json: #"{"shards": 2}"#, directory: harness.directory)
        #expect(refused.status == 1 && refused.standardError.contains("entry seq 3 at byte offset \(third)"))
    }

    @Test("SIGKILL in a burst of creations: every 201 user is there with its entry; verify is clean")
    func killDuringBurst() throws {
        let settings = SwitchSettings.admin(["requestsPerSecondPerToken": 100_000, "usersMax": 100_000])
        let harness = try AdminHarness(settings: settings)
        defer { harness.close() }
        let admin = harness.admin
        let acknowledged = try AdminBurst.killAfter(40, server: harness.server, directory: harness.directory, token: admin)
        #expect(acknowledged.count >= 40)
        try harness.start()
        let users = Set(try AdminAccessClient.users(harness.port, token: admin).compactMap { $0["id"] as? String })
        let audited = Set(
            try harness.audit().filter { $0["action"] as? String == "users.create" }
                .compactMap { ($0["detail"] as? [String: Any])?["id"] as? String })
        let missing = acknowledged.filter { !users.contains($0) || !audited.contains($0) }
        #expect(missing.isEmpty, "answered 201 but lost: \(missing)")
        #expect(users == audited, "every user has its creation entry and no entry lacks its user")
        let verify = try harness.command(["audit", "verify"])
        #expect(verify.status == 0 && verify.output.contains("chain intact"))
    }
}
