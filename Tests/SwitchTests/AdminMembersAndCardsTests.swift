import Foundation
import Glibc
import Testing

/// Members, cards and adjustments end to end: the real binary over real HTTP (curl, Python) and a real terminal
/// (ISO 8583 over TCP), with a SIGKILL in a burst of adjustments.
@Suite("Admin members and cards", .serialized)
struct AdminMembersAndCardsTests {
    @Test("enrol is 201 then 409; lookup 200 or 404; GET member; roles: auditor reads, may not look up or write")
    func enrolLookupAndRoles() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        let operatorUser = try harness.createUser(name: "Op", role: "operator")
        let auditor = try harness.createUser(name: "Aud", role: "auditor")
        let pan = Wire.card(1, test: 13)
        let body = #"{"pan":"\#(pan)","birthday":"1990-04-12"}"#
        let enrolled = try harness.post("/v1/members", token: operatorUser.token, body)
        #expect(enrolled.code == 201, "\(enrolled.body)")
        let memberId = try #require(enrolled.json["id"] as? String)
        #expect(memberId.hasPrefix("mbr_") && !enrolled.body.contains(pan))
        #expect((enrolled.json["profile"] as? [String: Any])?["birthday"] as? String == "1990-04-12")
        let again = try harness.post("/v1/members", token: operatorUser.token, body)
        #expect(again.code == 409 && again.body.contains("already belongs"))
        #expect(try harness.post("/v1/members", token: auditor.token, body).code == 403)
        let bad = try harness.post("/v1/members", token: operatorUser.token, #"{"pan":"12ab"}"#)
        #expect(bad.code == 422 && bad.body.contains("$.pan"))
        let wrongType = try harness.post("/v1/members", token: operatorUser.token, #"{"pan":5}"#)
        #expect(wrongType.code == 400 && wrongType.body.contains("$.pan"))
        let (cardId, lookedUpMember) = try harness.cardId(pan, as: operatorUser.token)
        #expect(lookedUpMember == memberId && cardId.hasPrefix("crd_"))
        let unknown = try harness.post("/v1/cards/lookup", token: operatorUser.token, #"{"pan":"\#(Wire.card(2))"}"#)
        #expect(unknown.code == 404 && !unknown.body.contains(Wire.card(2)))
        #expect(try harness.post("/v1/cards/lookup", token: auditor.token, #"{"pan":"\#(pan)"}"#).code == 403)
        let member = try harness.call("GET", "/v1/members/\(memberId)", token: auditor.token)
        #expect(member.code == 200 && member.json["id"] as? String == memberId)
        #expect((member.json["cards"] as? [[String: Any]])?.first?["id"] as? String == cardId)
        #expect(try harness.call("GET", "/v1/members/mbr_00", token: admin).code == 404)
        let entries = try harness.audit().filter {
            $0["action"] as? String == "members.create"
        }
        #expect(entries.count == 1 && entries.first?["operation"] != nil, "one entry, with its operation id")
        #expect(!harness.server.log.contains(pan))
    }

    @Test("block: 200, then a 0200 on the card is answered 62; replace: balance at the new card, old 62, 409 in use")
    func blockAndReplace() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        let client = try SwitchClient(port: harness.server.port)
        var terminal = Terminal()
        let lost = Wire.card(3, test: 13)
        #expect(try client.exchange(terminal.purchase(lost, 50_000)).code == "00")
        let (lostId, _) = try harness.cardId(lost)
        let blocked = try harness.post("/v1/cards/\(lostId)/block", token: admin, #"{"reason":"lost"}"#)
        #expect(blocked.code == 200 && blocked.json["status"] as? String == "blocked", "\(blocked.body)")
        #expect(try client.exchange(terminal.purchase(lost, 1_000)).code == "62")
        let badReason = try harness.post("/v1/cards/\(lostId)/block", token: admin, #"{"reason":"gone"}"#)
        #expect(badReason.code == 422 && badReason.body.contains("$.reason"))
        let noCard = "/v1/cards/crd_" + String(repeating: "0", count: 32) + "/block"
        #expect(try harness.post(noCard, token: admin, #"{"reason":"lost"}"#).code == 404)

        let old = Wire.card(4, test: 13)
        let new = Wire.card(5, test: 13)
        #expect(try client.exchange(terminal.purchase(old, 30_000)).available == 300)
        let (oldId, _) = try harness.cardId(old)
        let replaced = try harness.post("/v1/cards/\(oldId)/replace", token: admin, #"{"newPan":"\#(new)"}"#)
        #expect(replaced.code == 200, "\(replaced.body)")
        #expect(!replaced.body.contains(new) && !replaced.body.contains(old))
        #expect(try client.exchange(terminal.balance(new)).available == 300)
        #expect(try client.exchange(terminal.purchase(old, 1_000)).code == "62")
        let oldMember = try harness.cardId(old).member
        #expect(try harness.cardId(new).member == oldMember, "the member keeps its id")
        #expect(try harness.call("GET", "/v1/members/\(oldMember)", token: admin).code == 200)
        let inUse = try harness.post("/v1/cards/\(oldId)/replace", token: admin, #"{"newPan":"\#(lost)"}"#)
        #expect(inUse.code == 409)
        let other = Wire.card(6, test: 13)
        #expect(try client.exchange(terminal.purchase(other, 10_000)).code == "00")
        let (otherId, _) = try harness.cardId(other)
        let taken = try harness.post("/v1/cards/\(otherId)/replace", token: admin, #"{"newPan":"\#(new)"}"#)
        #expect(taken.code == 409, "the new card is in use: \(taken.body)")
        let actions = try harness.audit().compactMap { $0["action"] as? String }
        #expect(
            actions.filter { $0 == "cards.block" }.count == 1 && actions.filter { $0 == "cards.replace" }.count == 1)
        for pan in [lost, old, new, other] {
            #expect(!harness.server.log.contains(pan))
            let journal = (try? String(contentsOfFile: harness.data + "/audit/journal.jsonl", encoding: .utf8)) ?? ""
            #expect(!journal.isEmpty && !journal.contains(pan))
        }
    }

    /// A card number as answers show it: first six, a star per hidden digit, last four.
    static func masked(_ pan: String) -> String {
        String(pan.prefix(6)) + String(repeating: "*", count: pan.count - 10) + String(pan.suffix(4))
    }

    @Test("replace answers old = the replaced card's id and mask, new = the new card's, on one shard and across, also on a repeat")
    func replaceNamesBothCards() throws {
        var settings = SwitchSettings()
        settings.shards = 4
        let harness = try AdminHarness(settings: settings)
        defer { harness.close() }
        let admin = harness.admin
        let client = try SwitchClient(port: harness.server.port)
        var terminal = Terminal()
        // A chain of six replacements over four shards: some steps stay on one shard, others cross (a cross-shard
        // step's reply comes from the new card's shard, which named the new card on both sides before the fix).
        var chain: [(old: String, new: String)] = []
        var current = Wire.card(20, test: 1313)
        #expect(try client.exchange(terminal.purchase(current, 20_000)).code == "00")
        var currentId = try harness.cardId(current).card
        for step in 21...26 {
            let next = Wire.card(step, test: 1313)
            let key = "replace-\(step)"
            let body = #"{"newPan":"\#(next)"}"#
            let replaced = try harness.post("/v1/cards/\(currentId)/replace", token: admin, body, key: key)
            #expect(replaced.code == 200, "\(replaced.body)")
            let old = try #require(replaced.json["old"] as? [String: Any])
            let new = try #require(replaced.json["new"] as? [String: Any])
            let nextId = try harness.cardId(next).card
            #expect(old["id"] as? String == currentId && old["masked"] as? String == Self.masked(current), "\(step)")
            #expect(old["status"] as? String == "replaced")
            #expect(new["id"] as? String == nextId && new["masked"] as? String == Self.masked(next), "\(step)")
            let repeated = try harness.post("/v1/cards/\(currentId)/replace", token: admin, body, key: key)
            #expect(repeated.code == 200 && repeated.body == replaced.body, "a repeat answers the same")
            #expect(try client.exchange(terminal.balance(next)).available == 200)
            chain.append((Self.masked(current), Self.masked(next)))
            (current, currentId) = (next, nextId)
        }
        let entries = try harness.audit().filter { $0["action"] as? String == "cards.replace" }
        let audited = entries.compactMap { $0["detail"] as? [String: Any] }.map {
            ($0["card"] as? String ?? "", $0["newCard"] as? String ?? "")
        }
        #expect(audited.map { "\($0.0)>\($0.1)" } == chain.map { "\($0.old)>\($0.new)" }, "the trail names both")
    }

    @Test("adjustments: + and −, 409 below zero, 403 over the operator limit, admin unlimited, idempotent repeat")
    func adjustments() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        let operatorUser = try harness.createUser(name: "Op", role: "operator")
        let pan = Wire.card(7, test: 13)
        let member = try harness.enrol(pan)
        let path = "/v1/members/\(member)/adjustments"
        let plus = try harness.post(
            path, token: operatorUser.token, #"{"asset":"points","amount":500,"reason":"goodwill"}"#, key: "a1")
        #expect(plus.code == 201 && plus.json["balanceAfter"] as? Int == 500, "\(plus.body)")
        let repeated = try harness.post(
            path, token: operatorUser.token, #"{"amount":500,"asset":"points","reason":"goodwill"}"#, key: "a1")
        #expect(repeated.code == 201 && repeated.body == plus.body && repeated.header("idempotency-replayed") == "true")
        let minus = try harness.post(
            path, token: operatorUser.token, #"{"asset":"points","amount":-200,"reason":"correction"}"#)
        #expect(minus.code == 201 && minus.json["balanceAfter"] as? Int == 300)
        let below = try harness.post(
            path, token: operatorUser.token, #"{"asset":"points","amount":-301,"reason":"correction"}"#)
        #expect(below.code == 409 && below.body.contains("negative"))
        let over = try harness.post(
            path, token: operatorUser.token, #"{"asset":"credit","amount":10001,"reason":"migration"}"#)
        #expect(over.code == 403 && over.body.contains("operatorAdjustmentMax"))
        let big = try harness.post(path, token: admin, #"{"asset":"credit","amount":10001,"reason":"migration"}"#)
        #expect(big.code == 201 && big.json["balanceAfter"] as? Int == 10001)
        let zero = try harness.post(path, token: admin, #"{"asset":"points","amount":0,"reason":"fraud"}"#)
        #expect(zero.code == 422 && zero.body.contains("$.amount"))
        let shown = try harness.call("GET", "/v1/members/\(member)", token: operatorUser.token)
        let balances = shown.json["balances"] as? [String: Any]
        #expect(balances?["points"] as? Int == 300 && balances?["credit"] as? Int == 10001)
        let adjusted = try harness.audit().filter {
            $0["action"] as? String == "members.adjust"
        }
        #expect(adjusted.count == 3, "three changes, three entries (the repeat and the refusals add none)")
    }

    @Test("SIGKILL in a burst of adjustments: every 201 is in the balance and the trail, and nothing else; verify")
    func killDuringAdjustments() throws {
        let settings = SwitchSettings.admin(["requestsPerSecondPerToken": 100_000])
        let harness = try AdminHarness(settings: settings)
        defer { harness.close() }
        let admin = harness.admin
        let pan = Wire.card(8, test: 13)
        let member = try harness.enrol(pan)
        let acknowledged = try AdminBurst.killAfter(
            40, server: harness.server, directory: harness.directory, token: admin, member: member
        ).compactMap { Int($0) }
        #expect(acknowledged.count >= 40)
        try harness.start()
        let shown = try harness.call("GET", "/v1/members/\(member)", token: admin)
        let points = try #require((shown.json["balances"] as? [String: Any])?["points"] as? Int)
        let entries = try harness.audit().filter {
            $0["action"] as? String == "members.adjust"
        }
        #expect(points >= acknowledged.max() ?? 0, "every answered adjustment is in the balance")
        #expect(entries.count == points, "one entry per durable adjustment, no more, no less")
        let operations = Set(entries.compactMap { $0["operation"] as? Int })
        #expect(operations.count == entries.count, "each entry has its own operation id")
        let audit = try harness.command(["audit", "verify"])
        #expect(audit.status == 0 && audit.output.contains("chain intact"), "\(audit.output)")
        harness.server.stop()
        let ledger = try harness.command(["ledger", "verify"])
        #expect(ledger.status == 0, "\(ledger.output)")
        let journal = (try? String(contentsOfFile: harness.data + "/audit/journal.jsonl", encoding: .utf8)) ?? ""
        #expect(!journal.contains(pan) && !harness.server.log.contains(pan))
    }
}

/// `POST /v1/cards`: one member, several cards, end to end over HTTP and a real terminal.
@Suite("Admin card links", .serialized)
struct AdminCardLinkTests {
    static func link(_ harness: AdminHarness, token: String?, pan: String, member: String, kind: String = "bank") throws
        -> AdminAnswer
    {
        try harness.post(
            "/v1/cards", token: token, #"{"pan":"\#(pan)","memberId":"\#(member)","kind":"\#(kind)"}"#)
    }

    @Test("link: 201, both cards earn and redeem on one account, 409 in use, 404 unknown member, 422 kind, roles")
    func linkSecondCard() throws {
        var settings = SwitchSettings()
        settings.shards = 1
        let harness = try AdminHarness(settings: settings)
        defer { harness.close() }
        let admin = harness.admin
        let operatorUser = try harness.createUser(name: "Op", role: "operator")
        let auditor = try harness.createUser(name: "Aud", role: "auditor")
        let client = try SwitchClient(port: harness.server.port)
        var terminal = Terminal()
        let first = Wire.card(1, test: 1305)
        let second = Wire.card(2, test: 1305)
        #expect(try client.exchange(terminal.purchase(first, 40_000)).code == "00")
        let (_, member) = try harness.cardId(first)
        let linked = try Self.link(harness, token: operatorUser.token, pan: second, member: member)
        #expect(linked.code == 201 && linked.json["memberId"] as? String == member, "\(linked.body)")
        #expect(linked.json["kind"] as? String == "bank" && !linked.body.contains(second))
        #expect(try client.exchange(terminal.purchase(second, 10_000)).code == "00")
        let viaSecond = try client.exchange(terminal.balance(second)).available
        let viaFirst = try client.exchange(terminal.balance(first)).available
        #expect(viaSecond == 500 && viaFirst == 500, "one account")
        let (_, memberOfSecond) = try harness.cardId(second)
        #expect(memberOfSecond == member)
        let shown = try harness.call("GET", "/v1/members/\(member)", token: admin)
        #expect((shown.json["cards"] as? [[String: Any]])?.count == 2)
        let again = try Self.link(harness, token: admin, pan: second, member: member)
        #expect(again.code == 409 && again.body.contains("$.pan"), "\(again.body)")
        let other = Wire.card(3, test: 1305)
        #expect(try client.exchange(terminal.purchase(other, 1_000)).code == "00")
        #expect(try Self.link(harness, token: admin, pan: other, member: member).code == 409, "enrolled by a terminal")
        let unknown = "mbr_" + String(repeating: "0", count: 32)
        #expect(try Self.link(harness, token: admin, pan: Wire.card(4, test: 1305), member: unknown).code == 404)
        let kind = try Self.link(harness, token: admin, pan: Wire.card(4, test: 1305), member: member, kind: "gift")
        #expect(kind.code == 422 && kind.body.contains("$.kind"))
        #expect(try Self.link(harness, token: auditor.token, pan: Wire.card(4, test: 1305), member: member).code == 403)
        let entries = try harness.audit().filter { $0["action"] as? String == "cards.link" }
        #expect(entries.count == 1 && !harness.server.log.contains(second))
    }

    @Test("two shards: every card links (across shards by forwarding); ISO purchases land on the member once; SIGKILL")
    func linksSurviveKill() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        let first = Wire.card(1, test: 1306)
        let member = try harness.enrol(first)
        // 16 cards on 2 shards: about half hash to the shard the member is not on.
        let linkedCards = (2...17).map { Wire.card($0, test: 1306) }
        for pan in linkedCards {
            let linked = try Self.link(harness, token: admin, pan: pan, member: member)
            #expect(linked.code == 201, "\(linked.body)")
        }
        var client = try SwitchClient(port: harness.server.port)
        var terminal = Terminal()
        let purchases = linkedCards.map { terminal.purchase($0, 10_000) }
        for purchase in purchases { #expect(try client.exchange(purchase).code == "00") }
        #expect(try client.exchange(purchases[0]).code == "00", "a repeat is answered again")
        #expect(try client.exchange(terminal.balance(first)).available == Int64(100 * linkedCards.count), "one account")
        try harness.killAndRestart()
        client = try SwitchClient(port: harness.server.port)
        for purchase in purchases { #expect(try client.exchange(purchase).code == "00", "repeats after SIGKILL") }
        #expect(try client.exchange(terminal.balance(first)).available == Int64(100 * linkedCards.count), "each once")
        let shown = try harness.call("GET", "/v1/members/\(member)", token: admin)
        let cards = try #require(shown.json["cards"] as? [[String: Any]])
        #expect(cards.count == 1 + linkedCards.count && cards.filter { $0["kind"] as? String == "bank" }.count == 16)
        for pan in linkedCards {
            #expect(try Self.link(harness, token: admin, pan: pan, member: member).code == 409)
            let lookup = try harness.post(
                "/v1/cards/lookup", token: admin, #"{"pan":"\#(pan)"}"#)
            let card = try #require(lookup.json["card"] as? [String: Any])
            #expect(card["memberId"] as? String == member && card["kind"] as? String == "bank", "\(lookup.body)")
        }
        harness.server.stop()
        let ledger = try harness.command(["ledger", "verify"])
        #expect(ledger.status == 0, "\(ledger.output)")
    }
    @Test("SIGKILL in a burst of links: every 201 card belongs to the member after the restart; both logs verify")
    func killDuringLinks() throws {
        var settings = SwitchSettings.admin(["requestsPerSecondPerToken": 100_000])
        settings.shards = 1
        let harness = try AdminHarness(settings: settings)
        defer { harness.close() }
        let admin = harness.admin
        let enrolled = try harness.post(
            "/v1/members", token: admin, #"{"pan":"\#(Wire.card(1, test: 1307))"}"#)
        let member = try #require(enrolled.json["id"] as? String)
        let acknowledged = try AdminBurst.killAfter(
            30, server: harness.server, directory: harness.directory, token: admin, member: "link:" + member)
        #expect(acknowledged.count >= 30)
        try harness.start()
        for pan in acknowledged {
            #expect(try harness.cardId(pan).member == member)
        }
        let shown = try harness.call("GET", "/v1/members/\(member)", token: admin)
        let cards = (shown.json["cards"] as? [[String: Any]])?.count ?? 0
        let links = try AdminAccessClient.audit(harness.port, token: admin).filter {
            $0["action"] as? String == "cards.link"
        }
        #expect(cards == 1 + links.count && cards > acknowledged.count, "one audit entry per durable link")
        let audit = try harness.command(["audit", "verify"])
        #expect(audit.status == 0, "\(audit.output)")
        harness.server.stop()
        let ledger = try harness.command(["ledger", "verify"])
        #expect(ledger.status == 0, "\(ledger.output)")
    }
}
