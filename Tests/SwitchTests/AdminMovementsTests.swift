import Foundation
import Glibc
import Testing

/// Members' movements end to end: the real binary, ISO 8583 traffic and the admin API over real HTTP. The
/// movements come in order with balances that add up; a SIGKILL while purchases flow loses or doubles none; a
/// snapshot that deletes old log segments leaves the history whole.
@Suite("Admin movements history", .serialized)
struct AdminMovementsTests {
    static func movements(_ harness: AdminHarness, token: String?, member: String, query: String = "") throws -> AdminAnswer {
        try harness.call("GET", "/v1/members/\(member)/movements\(query)", token: token)
    }

    /// Every movement of `member`, following `next` (pages of 7). Pages come faster than the token's rate limit
    /// (`admin.requestsPerSecondPerToken`, 50/s) allows, so a 429 waits its second and asks for the page again.
    static func allMovements(_ harness: AdminHarness, token: String?, member: String) throws -> [[String: Any]] {
        var items: [[String: Any]] = []
        var query = "?limit=7"
        for _ in 0..<1000 {
            var page = try movements(harness, token: token, member: member, query: query)
            for _ in 0..<5 where page.code == 429 {
                sleep(1)
                page = try movements(harness, token: token, member: member, query: query)
            }
            guard page.code == 200 else { throw SwitchTestError("movements: \(page.code) \(page.body)") }
            items += page.json["items"] as? [[String: Any]] ?? []
            guard let next = page.json["next"] as? Int else { return items }
            query = "?limit=7&after=\(next)"
        }
        throw SwitchTestError("movements never ended")
    }

    /// Waits (at most 20 s) until the member's movements add up to its balance and number at least `count`.
    static func settled(_ harness: AdminHarness, token: String?, member: String, count: Int = 0) throws -> [[String: Any]] {
        var items: [[String: Any]] = []
        for _ in 0..<200 {
            items = try allMovements(harness, token: token, member: member)
            let sum = items.filter { $0["asset"] as? String == "points" }.reduce(0) { $0 + ($1["amount"] as? Int ?? 0) }
            if items.count >= count, sum == (try harness.points(member)) { return items }
            usleep(100_000)
        }
        return items
    }

    @Test("purchase, redeem, reversal, adjustment: the movements in order, balances adding up to the member's; paging, roles, 422 for a bad limit, 404 for no member, an empty list for a quiet one")
    func movementsInOrder() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        let auditor = try harness.createUser(name: "Aud", role: "auditor")
        let merchant = try harness.createUser(
            name: "Shop", role: "merchant", merchants: ["MERCHANT0000001"])
        let pan = Wire.card(31, test: 13)
        let member = try harness.enrol(pan)
        let quiet = try harness.enrol(Wire.card(32, test: 13))
        let client = try SwitchClient(port: harness.server.port)
        var terminal = Terminal()
        #expect(try client.exchange(terminal.purchase(pan, 20_000)).code == "00")
        #expect(try client.exchange(terminal.redeem(pan, 40, stan: 70)).code == "00")
        let original = terminal.originalData(mti: 200, stan: 70)
        let reversal = terminal.message(420, processing: "900000", card: pan, amount: 40, stan: 71, original: original)
        #expect(try client.exchange(reversal).code == "00")
        let adjusted = try harness.post(
            "/v1/members/\(member)/adjustments", token: admin,
            #"{"asset":"points","amount":-15,"reason":"goodwill"}"#)
        #expect(adjusted.code == 201, "\(adjusted.body)")

        let items = try Self.settled(harness, token: auditor.token, member: member, count: 4)
        #expect(items.map { $0["kind"] as? String } == ["earn", "redeem", "reverse", "adjust"], "\(items)")
        #expect(items.map { $0["amount"] as? Int } == [200, -40, 40, -15], "\(items)")
        #expect(items.map { $0["balanceAfter"] as? Int } == [200, 160, 200, 185])
        #expect(items[2]["reason"] as? String == "terminal" && items[3]["reason"] as? String == "goodwill")
        #expect(items.allSatisfy { $0["asset"] as? String == "points" && ($0["time"] as? String)?.hasSuffix("Z") == true })
        let seqs = items.compactMap { $0["seq"] as? Int }
        #expect(seqs == seqs.sorted() && Set(seqs).count == 4)
        #expect(try harness.points(member) == 185)

        let first = try Self.movements(harness, token: auditor.token, member: member, query: "?limit=3")
        #expect((first.json["items"] as? [Any])?.count == 3 && first.json["next"] as? Int == seqs[2], "\(first.body)")
        let last = try Self.movements(harness, token: auditor.token, member: member, query: "?after=\(seqs[2])")
        #expect((last.json["items"] as? [Any])?.count == 1 && last.json["next"] is NSNull, "\(last.body)")
        let badLimit = try Self.movements(harness, token: admin, member: member, query: "?limit=0")
        #expect(badLimit.code == 422 && badLimit.body.contains("limit"), "\(badLimit.body)")
        #expect(try Self.movements(harness, token: admin, member: member, query: "?limit=1001").code == 422)
        #expect(try Self.movements(harness, token: admin, member: member, query: "?limit=x").code == 400)
        #expect(try Self.movements(harness, token: admin, member: member, query: "?since=1").code == 400)
        #expect(try Self.movements(harness, token: merchant.token, member: member).code == 403)
        #expect(try harness.call("GET", "/v1/members/\(member)/movements", token: nil).code == 401)
        let nobody = "mbr_" + String(repeating: "0", count: 32)
        #expect(try Self.movements(harness, token: admin, member: nobody).code == 404)
        #expect(try Self.movements(harness, token: admin, member: "mbr_x").code == 404)
        let none = try Self.movements(harness, token: admin, member: quiet)
        #expect(none.code == 200 && (none.json["items"] as? [Any])?.isEmpty == true && none.json["next"] is NSNull)
        #expect(!first.body.contains(pan), "no card number in the answer")
    }

    @Test("SIGKILL while purchases flow on six cards: after a restart each member's movements are exactly its purchases, adding up to the ledger's balance")
    func killWhileTrafficFlows() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        let pans = (0..<6).map { Wire.card(40 + $0, test: 13) }
        let members = try pans.map { try harness.enrol($0) }
        let client = try SwitchClient(port: harness.server.port)
        var terminal = Terminal()
        let child = harness.server.process.pid
        let killer = Thread {
            usleep(1_500_000)
            kill(child, SIGKILL)
        }
        killer.start()
        var approved = 0
        for index in 0..<100_000 {
            guard let reply = try? client.exchange(terminal.purchase(pans[index % 6], 1_000), timeout: 5) else { break }
            if reply.code == "00" { approved += 1 }
        }
        harness.server.stop()
        #expect(approved > 0)
        try harness.start()
        var total = 0
        for member in members {
            let items = try Self.settled(harness, token: admin, member: member)
            let balance = try #require(try harness.points(member))
            #expect(items.allSatisfy { $0["kind"] as? String == "earn" && $0["amount"] as? Int == 10 }, "\(items.prefix(3))")
            #expect(items.count * 10 == balance, "one movement per durable purchase, none doubled")
            #expect(items.last?["balanceAfter"] as? Int == balance)
            let seqs = items.compactMap { $0["seq"] as? Int }
            #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count)
            total += items.count
        }
        #expect(total >= approved, "every approved purchase was durable, so it has its movement")
    }

    @Test("a graceful stop snapshots and deletes old log segments the history no longer needs; after a restart the history is still whole")
    func historyOutlivesDeletedSegments() throws {
        var settings = SwitchSettings()
        settings.shards = 1
        settings.limits = ["logSegmentBytes": 64 << 10]
        let harness = try AdminHarness(settings: settings)
        defer { harness.close() }
        let admin = harness.admin
        let pan = Wire.card(50, test: 13)
        let member = try harness.enrol(pan)
        let client = try SwitchClient(port: harness.server.port)
        var terminal = Terminal()
        for _ in 0..<1500 { #expect(try client.exchange(terminal.purchase(pan, 1_000)).code == "00") }
        let before = try Self.settled(harness, token: admin, member: member, count: 1500)
        #expect(before.count == 1500)
        #expect(harness.server.signalAndWait(SIGTERM)?.status == 0)
        let segments = try FileManager.default.contentsOfDirectory(atPath: harness.data + "/shard-000")
            .filter { $0.hasPrefix("wal-") }.sorted()
        #expect(segments.first != "wal-00000000000000000001.log", "the first segments were deleted: \(segments)")
        try harness.start()
        let after = try Self.allMovements(harness, token: admin, member: member)
        #expect(after.count == 1500 && after.last?["balanceAfter"] as? Int == 15_000)
        #expect(after.map { $0["seq"] as? Int } == before.map { $0["seq"] as? Int }, "the same seqs after the restart")
    }
}
