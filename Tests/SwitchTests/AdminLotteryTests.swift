import Foundation
import Glibc
import Testing

@testable import AdminAccess
import HTTP

/// Lotteries end to end: the real binary over real HTTP, the real `lottery verify`, a tampered journal, and a
/// SIGKILL in a burst of entry purchases (the draw counts exactly the entries the ledger made durable).
@Suite("Admin lotteries", .serialized)
struct AdminLotteryTests {
    static var settings: SwitchSettings { SwitchSettings.admin(["requestsPerSecondPerToken": 100_000]) }

    /// `closesAt` `seconds` from now, whole seconds, and when that is.
    static func closing(in seconds: Int) -> (text: String, at: Date) {
        let at = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + Double(seconds)).rounded(.up))
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return (formatter.string(from: at), at)
    }

    static func wait(until date: Date) {
        while Date() < date.addingTimeInterval(0.05) { usleep(50_000) }
    }

    @Test("create, buy from two members (409 short, after closesAt), draw once (409 again), verify OK; a changed winner re-chained or a broken chain is named")
    func lifecycle() throws {
        let harness = try AdminHarness(settings: Self.settings)
        defer { harness.close() }
        let admin = harness.admin
        let operatorUser = try harness.createUser(name: "Op", role: "operator")
        let auditor = try harness.createUser(name: "Aud", role: "auditor")
        let first = try harness.member(Wire.card(31, test: 13), points: 100)
        let second = try harness.member(Wire.card(32, test: 13), points: 30)
        let closes = Self.closing(in: 6)
        let definition = #"{"name":"Yalda","pointsPerEntry":10,"closesAt":"\#(closes.text)"}"#
        #expect(try harness.post("/v1/lotteries", token: operatorUser.token, definition).code == 403)
        let created = try harness.post("/v1/lotteries", token: admin, definition, key: "create-1")
        #expect(created.code == 201 && created.json["state"] as? String == "open", "\(created.body)")
        let id = try #require(created.json["id"] as? String)
        let again = try harness.post("/v1/lotteries", token: admin, definition, key: "create-1")
        #expect(again.code == 201 && again.body == created.body && again.header("idempotency-replayed") == "true")
        let past = #"{"name":"Old","pointsPerEntry":10,"closesAt":"2020-01-01T00:00:00Z"}"#
        #expect(try harness.post("/v1/lotteries", token: admin, past).code == 422)
        let badTime = try harness.post("/v1/lotteries", token: admin, #"{"name":"X","pointsPerEntry":1,"closesAt":"soon"}"#)
        #expect(badTime.code == 422 && badTime.body.contains("$.closesAt"))

        let entries = "/v1/lotteries/\(id)/entries"
        let bought = try harness.post(entries, token: operatorUser.token, #"{"memberId":"\#(first)","entries":5}"#)
        #expect(bought.code == 201 && bought.json["points"] as? Int == 50 && bought.json["balanceAfter"] as? Int == 50, "\(bought.body)")
        #expect(try harness.post(entries, token: operatorUser.token, #"{"memberId":"\#(second)","entries":2}"#).code == 201)
        let short = try harness.post(entries, token: operatorUser.token, #"{"memberId":"\#(second)","entries":2}"#)
        #expect(short.code == 409 && short.body.contains("short"), "\(short.body)")
        #expect(try harness.post(entries, token: auditor.token, #"{"memberId":"\#(first)","entries":1}"#).code == 403)
        let nobody = "mbr_" + String(repeating: "0", count: 32)
        #expect(try harness.post(entries, token: admin, #"{"memberId":"\#(nobody)","entries":1}"#).code == 404)
        #expect(try harness.post("/v1/lotteries/lty_0000000000000001/entries", token: admin, #"{"memberId":"\#(first)","entries":1}"#).code == 404)
        #expect(try harness.post(entries, token: admin, #"{"memberId":"\#(first)","entries":0}"#).code == 422)
        #expect(try harness.post(entries, token: admin, #"{"memberId":"\#(first)"}"#).code == 400)
        let shown = try harness.call("GET", "/v1/lotteries/\(id)", token: auditor.token)
        #expect(shown.json["entrants"] as? Int == 2 && shown.json["entries"] as? Int == 7, "\(shown.body)")
        let early = try harness.post("/v1/lotteries/\(id)/draw", token: admin, #"{"winners":1,"seed":12345}"#)
        #expect(early.code == 409 && early.body.contains("open until"), "\(early.body)")

        Self.wait(until: closes.at)
        // The history indexer (every 200 ms) has had seconds: the entries are the member's newest movement.
        let moved = try harness.call("GET", "/v1/members/\(first)/movements", token: auditor.token)
        let newest = (moved.json["items"] as? [[String: Any]])?.last
        #expect(newest?["kind"] as? String == "lottery" && newest?["amount"] as? Int == -50
            && newest?["balanceAfter"] as? Int == 50, "\(moved.body)")
        let late = try harness.post(entries, token: operatorUser.token, #"{"memberId":"\#(first)","entries":1}"#)
        #expect(late.code == 409 && late.body.contains("closed"), "\(late.body)")
        #expect(try harness.call("GET", "/v1/lotteries/\(id)", token: admin).json["state"] as? String == "closed")
        #expect(try harness.post("/v1/lotteries/\(id)/draw", token: admin, #"{"winners":3}"#).code == 422)
        #expect(try harness.post("/v1/lotteries/\(id)/draw", token: operatorUser.token, #"{"winners":1}"#).code == 403)
        let drawn = try harness.post("/v1/lotteries/\(id)/draw", token: admin, #"{"winners":2,"seed":12345}"#)
        #expect(drawn.code == 200 && drawn.json["state"] as? String == "drawn", "\(drawn.body)")
        let draw = try #require(drawn.json["draw"] as? [String: Any])
        let winners = (draw["winners"] as? [[String: Any]] ?? []).compactMap { $0["memberId"] as? String }
        #expect(Set(winners) == [first, second] && draw["seed"] as? Int == 12345)
        #expect(draw["algorithm"] as? String == "weighted-splitmix64-v1")
        let twice = try harness.post("/v1/lotteries/\(id)/draw", token: admin, #"{"winners":1}"#)
        #expect(twice.code == 409 && twice.body.contains("drawn already"), "\(twice.body)")
        let listed = try harness.call("GET", "/v1/lotteries", token: operatorUser.token)
        #expect((listed.json["items"] as? [[String: Any]])?.count == 1 && listed.json["next"] is NSNull)
        #expect(try harness.points(first) == 50)
        let actions = try harness.audit().compactMap { $0["action"] as? String }
        #expect(actions.filter { $0.hasPrefix("lotteries.") } == ["lotteries.create", "lotteries.enter", "lotteries.enter", "lotteries.draw"])

        let verified = try harness.command(["lottery", "verify"])
        #expect(verified.status == 0 && verified.output.contains("1 draws re-run, OK"), "\(verified.output)")
        try harness.killAndRestart()
        let rebuilt = try harness.call("GET", "/v1/lotteries/\(id)", token: admin)
        #expect(rebuilt.json["state"] as? String == "drawn" && rebuilt.json["draw"] as? [String: Any] != nil, "\(rebuilt.body)")
        #expect(try harness.post("/v1/lotteries/\(id)/draw", token: admin, #"{"winners":1}"#).code == 409, "drawn stays drawn")
        harness.server.stop()

        let journal = harness.data + "/audit/journal.jsonl"
        let original = try String(contentsOfFile: journal, encoding: .utf8)
        // Swap the two winners in the draw's entry and re-chain every hash after it: the chain verifies, the draw not.
        let swapped = try Self.rechain(original) { line in
            guard line.contains("\"lotteries.draw\"") else { return line }
            return line.replacingOccurrences(of: winners[0], with: "#").replacingOccurrences(of: winners[1], with: winners[0])
                .replacingOccurrences(of: "#", with: winners[1])
        }
        try swapped.write(toFile: journal, atomically: false, encoding: .utf8)
        #expect(try harness.command(["audit", "verify"]).status == 0, "re-chained")
        let named = try harness.command(["lottery", "verify", "--lottery", id])
        #expect(named.status == 1 && named.output.contains("draw of \(id)") && named.output.contains("winner 1"), "\(named.output)")
        // An entry's count changed (re-chained): the entrants digest no longer matches.
        let moreEntries = try Self.rechain(original) { line in
            line.contains("\"lotteries.enter\"") ? line.replacingOccurrences(of: "\"entries\":5", with: "\"entries\":50") : line
        }
        try moreEntries.write(toFile: journal, atomically: false, encoding: .utf8)
        let digest = try harness.command(["lottery", "verify"])
        #expect(digest.status == 1 && digest.output.contains("entrants digest"), "\(digest.output)")
        // Changed without re-chaining: the broken entry is named.
        try original.replacingOccurrences(of: "\"seed\":12345", with: "\"seed\":12346").write(
            toFile: journal, atomically: false, encoding: .utf8)
        let broken = try harness.command(["lottery", "verify"])
        #expect(broken.status == 1 && broken.output.contains("hash mismatch"), "\(broken.output)")
    }

    /// The journal with `change` applied to each line, and every entry's hash and previousHash recomputed.
    static func rechain(_ journal: String, _ change: (String) -> String) throws -> String {
        var previous = AuditEntry.genesisHash
        var lines: [String] = []
        for line in journal.split(separator: "\n") {
            let document = try JSONDocument.parse(Array(change(String(line)).utf8))
            let values = Dictionary(uniqueKeysWithValues: document.root.members ?? [])
            let (entry, bytes) = AuditEntry.make(
                seq: UInt64(values["seq"]!.integer!), time: values["time"]!.string!, actor: values["actor"]!.string!,
                role: values["role"]!.string!, action: values["action"]!.string!, target: values["target"]!.string!,
                detail: values["detail"]!, operation: values["operation"]?.integer.map { UInt64($0) },
                previousHash: previous)
            previous = entry.hash
            lines.append(String(decoding: bytes.dropLast(), as: UTF8.self))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test("SIGKILL in a burst of entry purchases: the draw counts every durable purchase, acknowledged or repaired, and nothing else")
    func killDuringPurchases() throws {
        let harness = try AdminHarness(settings: Self.settings)
        defer { harness.close() }
        let admin = harness.admin
        let buyer = try harness.member(Wire.card(33, test: 13), points: 100_000)
        let closes = Self.closing(in: 25)
        let created = try harness.post(
            "/v1/lotteries", token: admin, #"{"name":"Burst","pointsPerEntry":1,"closesAt":"\#(closes.text)"}"#)
        let id = try #require(created.json["id"] as? String, "\(created.body)")
        let acknowledged = try AdminBurst.killAfter(
            40, server: harness.server, directory: harness.directory, token: admin, member: "lottery:\(id):\(buyer)"
        ).compactMap { Int($0) }
        #expect(acknowledged.count >= 40)
        try harness.start()
        let spent = 100_000 - (try #require(try harness.points(buyer)))
        #expect(spent >= acknowledged.count, "every acknowledged purchase is in the balance")
        let shown = try harness.call("GET", "/v1/lotteries/\(id)", token: admin)
        #expect(shown.json["entries"] as? Int == spent, "the lottery counts every durable purchase: \(shown.body)")
        let entered = try harness.audit().filter { $0["action"] as? String == "lotteries.enter" }
        #expect(entered.count == spent, "one audit entry per durable purchase")
        Self.wait(until: closes.at)
        let drawn = try harness.post("/v1/lotteries/\(id)/draw", token: admin, #"{"winners":1}"#)
        #expect(drawn.code == 200, "\(drawn.body)")
        let verified = try harness.command(["lottery", "verify"])
        #expect(verified.status == 0, "\(verified.output)")
        harness.server.stop()
        let ledger = try harness.command(["ledger", "verify"])
        #expect(ledger.status == 0, "\(ledger.output)")
    }

    @Test("at admin.lotteriesMax a creation is 409; at admin.lotteryEntrantsMax a new member is 409, an entrant buys on")
    func limits() throws {
        let settings = SwitchSettings.admin(["lotteriesMax": 1, "lotteryEntrantsMax": 1])
        let harness = try AdminHarness(settings: settings)
        defer { harness.close() }
        let admin = harness.admin
        let first = try harness.member(Wire.card(34, test: 13), points: 100)
        let second = try harness.member(Wire.card(35, test: 13), points: 100)
        let closes = Self.closing(in: 3600).text
        let created = try harness.post(
            "/v1/lotteries", token: admin, #"{"name":"One","pointsPerEntry":1,"closesAt":"\#(closes)"}"#)
        let id = try #require(created.json["id"] as? String)
        let full = try harness.post(
            "/v1/lotteries", token: admin, #"{"name":"Two","pointsPerEntry":1,"closesAt":"\#(closes)"}"#)
        #expect(full.code == 409 && full.body.contains("admin.lotteriesMax"), "\(full.body)")
        let entries = "/v1/lotteries/\(id)/entries"
        #expect(try harness.post(entries, token: admin, #"{"memberId":"\#(first)","entries":1}"#).code == 201)
        let crowded = try harness.post(entries, token: admin, #"{"memberId":"\#(second)","entries":1}"#)
        #expect(crowded.code == 409 && crowded.body.contains("admin.lotteryEntrantsMax"), "\(crowded.body)")
        #expect(try harness.post(entries, token: admin, #"{"memberId":"\#(first)","entries":2}"#).code == 201)
        #expect(try harness.points(second) == 100, "the refused member paid nothing")
    }
}
