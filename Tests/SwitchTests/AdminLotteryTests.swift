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

    static func post(_ port: UInt16, _ path: String, token: String, _ body: String, key: String? = nil) throws
        -> AdminAnswer
    {
        try AdminAccessClient.call(port, "POST", path, token: token, body: body, key: key)
    }

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

    /// A member enrolled with `pan` and given `points` by an admin adjustment.
    static func member(_ port: UInt16, token: String, pan: String, points: Int) throws -> String {
        let enrolled = try post(port, "/v1/members", token: token, #"{"pan":"\#(pan)"}"#)
        let id = try #require(enrolled.json["id"] as? String, "\(enrolled.body)")
        let adjusted = try post(
            port, "/v1/members/\(id)/adjustments", token: token,
            #"{"asset":"points","amount":\#(points),"reason":"goodwill"}"#)
        #expect(adjusted.code == 201, "\(adjusted.body)")
        return id
    }

    @Test("create, buy from two members (409 short, after closesAt), draw once (409 again), verify OK; a changed winner re-chained or a broken chain is named")
    func lifecycle() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var (server, admin) = try AdminUsersAndAuditTests.start(directory, settings: Self.settings)
        defer { server.stop() }
        var port = server.adminPort!
        let operatorUser = try AdminAccessClient.createUser(port, token: admin, name: "Op", role: "operator")
        let auditor = try AdminAccessClient.createUser(port, token: admin, name: "Aud", role: "auditor")
        let first = try Self.member(port, token: admin, pan: Wire.card(31, test: 13), points: 100)
        let second = try Self.member(port, token: admin, pan: Wire.card(32, test: 13), points: 30)
        let closes = Self.closing(in: 6)
        let definition = #"{"name":"Yalda","pointsPerEntry":10,"closesAt":"\#(closes.text)"}"#
        #expect(try Self.post(port, "/v1/lotteries", token: operatorUser.token, definition).code == 403)
        let created = try Self.post(port, "/v1/lotteries", token: admin, definition, key: "create-1")
        #expect(created.code == 201 && created.json["state"] as? String == "open", "\(created.body)")
        let id = try #require(created.json["id"] as? String)
        let again = try Self.post(port, "/v1/lotteries", token: admin, definition, key: "create-1")
        #expect(again.code == 201 && again.body == created.body && again.header("idempotency-replayed") == "true")
        let past = #"{"name":"Old","pointsPerEntry":10,"closesAt":"2020-01-01T00:00:00Z"}"#
        #expect(try Self.post(port, "/v1/lotteries", token: admin, past).code == 422)
        let badTime = try Self.post(port, "/v1/lotteries", token: admin, #"{"name":"X","pointsPerEntry":1,"closesAt":"soon"}"#)
        #expect(badTime.code == 422 && badTime.body.contains("$.closesAt"))

        let entries = "/v1/lotteries/\(id)/entries"
        let bought = try Self.post(port, entries, token: operatorUser.token, #"{"memberId":"\#(first)","entries":5}"#)
        #expect(bought.code == 201 && bought.json["points"] as? Int == 50 && bought.json["balanceAfter"] as? Int == 50, "\(bought.body)")
        #expect(try Self.post(port, entries, token: operatorUser.token, #"{"memberId":"\#(second)","entries":2}"#).code == 201)
        let short = try Self.post(port, entries, token: operatorUser.token, #"{"memberId":"\#(second)","entries":2}"#)
        #expect(short.code == 409 && short.body.contains("short"), "\(short.body)")
        #expect(try Self.post(port, entries, token: auditor.token, #"{"memberId":"\#(first)","entries":1}"#).code == 403)
        let nobody = "mbr_" + String(repeating: "0", count: 32)
        #expect(try Self.post(port, entries, token: admin, #"{"memberId":"\#(nobody)","entries":1}"#).code == 404)
        #expect(try Self.post(port, "/v1/lotteries/lty_0000000000000001/entries", token: admin, #"{"memberId":"\#(first)","entries":1}"#).code == 404)
        #expect(try Self.post(port, entries, token: admin, #"{"memberId":"\#(first)","entries":0}"#).code == 422)
        #expect(try Self.post(port, entries, token: admin, #"{"memberId":"\#(first)"}"#).code == 400)
        let shown = try AdminAccessClient.call(port, "GET", "/v1/lotteries/\(id)", token: auditor.token)
        #expect(shown.json["entrants"] as? Int == 2 && shown.json["entries"] as? Int == 7, "\(shown.body)")
        let early = try Self.post(port, "/v1/lotteries/\(id)/draw", token: admin, #"{"winners":1,"seed":12345}"#)
        #expect(early.code == 409 && early.body.contains("open until"), "\(early.body)")

        Self.wait(until: closes.at)
        // The history indexer (every 200 ms) has had seconds: the entries are the member's newest movement.
        let moved = try AdminAccessClient.call(port, "GET", "/v1/members/\(first)/movements", token: auditor.token)
        let newest = (moved.json["items"] as? [[String: Any]])?.last
        #expect(newest?["kind"] as? String == "lottery" && newest?["amount"] as? Int == -50
            && newest?["balanceAfter"] as? Int == 50, "\(moved.body)")
        let late = try Self.post(port, entries, token: operatorUser.token, #"{"memberId":"\#(first)","entries":1}"#)
        #expect(late.code == 409 && late.body.contains("closed"), "\(late.body)")
        #expect(try AdminAccessClient.call(port, "GET", "/v1/lotteries/\(id)", token: admin).json["state"] as? String == "closed")
        #expect(try Self.post(port, "/v1/lotteries/\(id)/draw", token: admin, #"{"winners":3}"#).code == 422)
        #expect(try Self.post(port, "/v1/lotteries/\(id)/draw", token: operatorUser.token, #"{"winners":1}"#).code == 403)
        let drawn = try Self.post(port, "/v1/lotteries/\(id)/draw", token: admin, #"{"winners":2,"seed":12345}"#)
        #expect(drawn.code == 200 && drawn.json["state"] as? String == "drawn", "\(drawn.body)")
        let draw = try #require(drawn.json["draw"] as? [String: Any])
        let winners = (draw["winners"] as? [[String: Any]] ?? []).compactMap { $0["memberId"] as? String }
        #expect(Set(winners) == [first, second] && draw["seed"] as? Int == 12345)
        #expect(draw["algorithm"] as? String == "weighted-splitmix64-v1")
        let twice = try Self.post(port, "/v1/lotteries/\(id)/draw", token: admin, #"{"winners":1}"#)
        #expect(twice.code == 409 && twice.body.contains("drawn already"), "\(twice.body)")
        let listed = try AdminAccessClient.call(port, "GET", "/v1/lotteries", token: operatorUser.token)
        #expect((listed.json["items"] as? [[String: Any]])?.count == 1 && listed.json["next"] is NSNull)
        #expect(try AdminEngagementTests.points(port, token: admin, member: first) == 50)
        let actions = try AdminAccessClient.audit(port, token: admin).compactMap { $0["action"] as? String }
        #expect(actions.filter { $0.hasPrefix("lotteries.") } == ["lotteries.create", "lotteries.enter", "lotteries.enter", "lotteries.draw"])

        let verified = try AdminAccessClient.command(["lottery", "verify", "--data", directory.data])
        #expect(verified.status == 0 && verified.output.contains("1 draws re-run, OK"), "\(verified.output)")
        server.stop()
        server = try SwitchProcess(directory: directory, settings: Self.settings, run: 1)
        port = server.adminPort!
        let rebuilt = try AdminAccessClient.call(port, "GET", "/v1/lotteries/\(id)", token: admin)
        #expect(rebuilt.json["state"] as? String == "drawn" && rebuilt.json["draw"] as? [String: Any] != nil, "\(rebuilt.body)")
        #expect(try Self.post(port, "/v1/lotteries/\(id)/draw", token: admin, #"{"winners":1}"#).code == 409, "drawn stays drawn")
        server.stop()

        let journal = directory.data + "/audit/journal.jsonl"
        let original = try String(contentsOfFile: journal, encoding: .utf8)
        // Swap the two winners in the draw's entry and re-chain every hash after it: the chain verifies, the draw not.
        let swapped = try Self.rechain(original) { line in
            guard line.contains("\"lotteries.draw\"") else { return line }
            return line.replacingOccurrences(of: winners[0], with: "#").replacingOccurrences(of: winners[1], with: winners[0])
                .replacingOccurrences(of: "#", with: winners[1])
        }
        try swapped.write(toFile: journal, atomically: false, encoding: .utf8)
        #expect(try AdminAccessClient.command(["audit", "verify", "--data", directory.data]).status == 0, "re-chained")
        let named = try AdminAccessClient.command(["lottery", "verify", "--data", directory.data, "--lottery", id])
        #expect(named.status == 1 && named.output.contains("draw of \(id)") && named.output.contains("winner 1"), "\(named.output)")
        // An entry's count changed (re-chained): the entrants digest no longer matches.
        let moreEntries = try Self.rechain(original) { line in
            line.contains("\"lotteries.enter\"") ? line.replacingOccurrences(of: "\"entries\":5", with: "\"entries\":50") : line
        }
        try moreEntries.write(toFile: journal, atomically: false, encoding: .utf8)
        let digest = try AdminAccessClient.command(["lottery", "verify", "--data", directory.data])
        #expect(digest.status == 1 && digest.output.contains("entrants digest"), "\(digest.output)")
        // Changed without re-chaining: the broken entry is named.
        try original.replacingOccurrences(of: "\"seed\":12345", with: "\"seed\":12346").write(
            toFile: journal, atomically: false, encoding: .utf8)
        let broken = try AdminAccessClient.command(["lottery", "verify", "--data", directory.data])
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
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var (server, admin) = try AdminUsersAndAuditTests.start(directory, settings: Self.settings)
        defer { server.stop() }
        var port = server.adminPort!
        let buyer = try Self.member(port, token: admin, pan: Wire.card(33, test: 13), points: 100_000)
        let closes = Self.closing(in: 25)
        let created = try Self.post(
            port, "/v1/lotteries", token: admin, #"{"name":"Burst","pointsPerEntry":1,"closesAt":"\#(closes.text)"}"#)
        let id = try #require(created.json["id"] as? String, "\(created.body)")
        let acknowledged = try AdminBurst.killAfter(
            40, server: server, directory: directory, token: admin, member: "lottery:\(id):\(buyer)"
        ).compactMap { Int($0) }
        #expect(acknowledged.count >= 40)
        server = try SwitchProcess(directory: directory, settings: Self.settings, run: 1)
        port = server.adminPort!
        let spent = 100_000 - (try #require(try AdminEngagementTests.points(port, token: admin, member: buyer)))
        #expect(spent >= acknowledged.count, "every acknowledged purchase is in the balance")
        let shown = try AdminAccessClient.call(port, "GET", "/v1/lotteries/\(id)", token: admin)
        #expect(shown.json["entries"] as? Int == spent, "the lottery counts every durable purchase: \(shown.body)")
        let entered = try AdminAccessClient.audit(port, token: admin).filter { $0["action"] as? String == "lotteries.enter" }
        #expect(entered.count == spent, "one audit entry per durable purchase")
        Self.wait(until: closes.at)
        let drawn = try Self.post(port, "/v1/lotteries/\(id)/draw", token: admin, #"{"winners":1}"#)
        #expect(drawn.code == 200, "\(drawn.body)")
        let verified = try AdminAccessClient.command(["lottery", "verify", "--data", directory.data])
        #expect(verified.status == 0, "\(verified.output)")
        server.stop()
        let ledger = try AdminAccessClient.command(["ledger", "verify", "--data", directory.data])
        #expect(ledger.status == 0, "\(ledger.output)")
    }

    @Test("at admin.lotteriesMax a creation is 409; at admin.lotteryEntrantsMax a new member is 409, an entrant buys on")
    func limits() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let settings = SwitchSettings.admin(["lotteriesMax": 1, "lotteryEntrantsMax": 1])
        let (server, admin) = try AdminUsersAndAuditTests.start(directory, settings: settings)
        defer { server.stop() }
        let port = server.adminPort!
        let first = try Self.member(port, token: admin, pan: Wire.card(34, test: 13), points: 100)
        let second = try Self.member(port, token: admin, pan: Wire.card(35, test: 13), points: 100)
        let closes = Self.closing(in: 3600).text
        let created = try Self.post(
            port, "/v1/lotteries", token: admin, #"{"name":"One","pointsPerEntry":1,"closesAt":"\#(closes)"}"#)
        let id = try #require(created.json["id"] as? String)
        let full = try Self.post(
            port, "/v1/lotteries", token: admin, #"{"name":"Two","pointsPerEntry":1,"closesAt":"\#(closes)"}"#)
        #expect(full.code == 409 && full.body.contains("admin.lotteriesMax"), "\(full.body)")
        let entries = "/v1/lotteries/\(id)/entries"
        #expect(try Self.post(port, entries, token: admin, #"{"memberId":"\#(first)","entries":1}"#).code == 201)
        let crowded = try Self.post(port, entries, token: admin, #"{"memberId":"\#(second)","entries":1}"#)
        #expect(crowded.code == 409 && crowded.body.contains("admin.lotteryEntrantsMax"), "\(crowded.body)")
        #expect(try Self.post(port, entries, token: admin, #"{"memberId":"\#(first)","entries":2}"#).code == 201)
        #expect(try AdminEngagementTests.points(port, token: admin, member: second) == 100, "the refused member paid nothing")
    }
}
