import Foundation
import Glibc
import Testing

/// An admin change is answered once the ledger's group commit holds it; its audit entry and remembered
/// `Idempotency-Key` answer are synced after the answer. These tests cut the switch off right after answers and
/// check that every answered change has its entry and its idempotent answer after the restart.
@Suite("Admin durable writes", .serialized)
struct AdminDurableWriteTests {
    static let body = #"{"asset":"points","amount":1,"reason":"goodwill"}"#

    /// The switch with a member enrolled (its id and the admin token); the token's rate raised for the bursts.
    static func start(_ directory: ScratchDirectory) throws -> (SwitchProcess, String, String, SwitchSettings) {
        let settings = SwitchSettings.admin(["requestsPerSecondPerToken": 100_000])
        let (server, admin) = try AdminUsersAndAuditTests.start(directory, settings: settings)
        let enrolled = try AdminAccessClient.post(
            server.adminPort!, "/v1/members", token: admin, #"{"pan":"\#(Wire.card(9, test: 1304))"}"#)
        let member = try #require(enrolled.json["id"] as? String, "\(enrolled.body)")
        return (server, admin, member, settings)
    }

    /// The `k-THREAD-NUMBER=balanceAfter` values of the burst's 201 answers.
    static func keyed(_ answered: [String]) -> [(key: String, balance: Int)] {
        answered.compactMap { value in
            let parts = value.split(separator: "=")
            guard parts.count == 2, let balance = Int(parts[1]) else { return nil }
            return (String(parts[0]), balance)
        }
    }

    /// After the restart: every answered adjustment is in the balance and has one audit entry, a repeat of each
    /// gets its first answer again (replayed, nothing changes), another body under an answered key is 409, and
    /// `audit verify` and `ledger verify` are clean.
    static func checkAfterRestart(
        _ server: SwitchProcess, admin: String, member: String, answered: [(key: String, balance: Int)],
        directory: ScratchDirectory
    ) throws {
        let port = server.adminPort!
        func points() throws -> Int {
            let shown = try AdminAccessClient.call(port, "GET", "/v1/members/\(member)", token: admin)
            return try #require((shown.json["balances"] as? [String: Any])?["points"] as? Int, "\(shown.body)")
        }
        let durable = try points()
        #expect(durable >= answered.map(\.balance).max() ?? 0, "every answered adjustment is in the balance")
        let entries = try AdminAccessClient.audit(port, token: admin).filter {
            $0["action"] as? String == "members.adjust"
        }
        #expect(entries.count == durable, "one entry per durable adjustment, the answered ones among them")
        #expect(Set(entries.compactMap { $0["operation"] as? Int }).count == entries.count)
        let path = "/v1/members/\(member)/adjustments"
        for (key, balance) in answered {
            let again = try AdminAccessClient.post(port, path, token: admin, Self.body, key: key)
            #expect(again.code == 201 && again.json["balanceAfter"] as? Int == balance, "\(key): \(again.body)")
            #expect(again.header("Idempotency-Replayed") == "true", "\(key)")
        }
        if let (key, _) = answered.first {
            let other = #"{"asset":"points","amount":2,"reason":"goodwill"}"#
            let conflict = try AdminAccessClient.post(port, path, token: admin, other, key: key)
            #expect(conflict.code == 409, "\(conflict.body)")
        }
        #expect(try points() == durable, "the repeats changed nothing")
        let audit = try AdminAccessClient.command(["audit", "verify", "--data", directory.data])
        #expect(audit.status == 0 && audit.output.contains("chain intact"), "\(audit.output)")
        server.stop()
        let ledger = try AdminAccessClient.command(["ledger", "verify", "--data", directory.data])
        #expect(ledger.status == 0, "\(ledger.output)")
    }

    @Test("SIGKILL right after answers: every answered adjustment has its entry and its Idempotency-Key answer")
    func killRightAfterAnswers() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var (server, admin, member, settings) = try Self.start(directory)
        defer { server.stop() }
        let answered = Self.keyed(
            try AdminBurst.killAfter(
                60, server: server, directory: directory, token: admin, member: "keyed:" + member))
        #expect(answered.count >= 60)
        server = try SwitchProcess(directory: directory, settings: settings, run: 1)
        try Self.checkAfterRestart(server, admin: admin, member: member, answered: answered, directory: directory)
    }

    @Test("journal and private file lost back to before the answered changes: the restart rebuilds both from the ledger")
    func journalTailLostAfterAnswers() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var (server, admin, member, settings) = try Self.start(directory)
        defer { server.stop() }
        let port = server.adminPort!
        // The enrolment's entry is durable once the trail shows it (a read waits for queued entries).
        let before = try AdminAccessClient.audit(port, token: admin)
        #expect(before.contains { $0["action"] as? String == "members.create" })
        let journalPath = directory.data + "/audit/journal.jsonl"
        let privatePath = directory.data + "/audit/private.jsonl"
        let journalSize = try Self.size(journalPath)
        let privateSize = try Self.size(privatePath)
        var answered: [(key: String, balance: Int)] = []
        for number in 1...20 {
            let key = "lost-\(number)"
            let answer = try AdminAccessClient.post(
                port, "/v1/members/\(member)/adjustments", token: admin, Self.body, key: key)
            #expect(answer.code == 201, "\(answer.body)")
            answered.append((key, try #require(answer.json["balanceAfter"] as? Int)))
        }
        server.stop()
        // What a power loss between the ledger's fdatasync and the journal's leaves: the files' unsynced tails gone.
        #expect(truncate(journalPath, off_t(journalSize)) == 0 && truncate(privatePath, off_t(privateSize)) == 0)
        server = try SwitchProcess(directory: directory, settings: settings, run: 1)
        #expect(server.log.contains("repaired 20 entries"), "\(server.log)")
        try Self.checkAfterRestart(server, admin: admin, member: member, answered: answered, directory: directory)
    }

    static func size(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return try #require(attributes[.size] as? Int)
    }
}
