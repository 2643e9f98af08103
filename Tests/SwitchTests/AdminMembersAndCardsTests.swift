import Foundation
import Glibc
import Testing

/// Members, cards and adjustments end to end: the real binary over real HTTP (curl, Python) and a real terminal
/// (ISO 8583 over TCP), with a SIGKILL in a burst of adjustments.
@Suite("Admin members and cards", .serialized)
struct AdminMembersAndCardsTests {
    static func post(
        _ port: UInt16, _ path: String, token: String, _ body: String, key: String? = nil
    ) throws -> AdminAnswer {
        try AdminAccessClient.call(port, "POST", path, token: token, body: body, key: key)
    }

    /// The card id of `pan` (lookup must answer 200).
    static func cardId(_ port: UInt16, token: String, pan: String) throws -> (card: String, member: String) {
        let answer = try post(port, "/v1/cards/lookup", token: token, #"{"pan":"\#(pan)"}"#)
        guard answer.code == 200, let card = answer.json["card"] as? [String: Any], let id = card["id"] as? String,
            let member = card["memberId"] as? String
        else { throw SwitchTestError("lookup: \(answer.code) \(answer.body)") }
        return (id, member)
    }

    @Test("enrol is 201 then 409; lookup 200 or 404; GET member; roles: auditor reads, may not look up or write")
    func enrolLookupAndRoles() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, admin) = try AdminUsersAndAuditTests.start(directory)
        defer { server.stop() }
        let port = server.adminPort!
        let operatorUser = try AdminAccessClient.createUser(port, token: admin, name: "Op", role: "operator")
        let auditor = try AdminAccessClient.createUser(port, token: admin, name: "Aud", role: "auditor")
        let pan = Wire.card(1, test: 13)
        let body = #"{"pan":"\#(pan)","birthday":"1990-04-12"}"#
        let enrolled = try Self.post(port, "/v1/members", token: operatorUser.token, body)
        #expect(enrolled.code == 201, "\(enrolled.body)")
        let memberId = try #require(enrolled.json["id"] as? String)
        #expect(memberId.hasPrefix("mbr_") && !enrolled.body.contains(pan))
        #expect((enrolled.json["profile"] as? [String: Any])?["birthday"] as? String == "1990-04-12")
        let again = try Self.post(port, "/v1/members", token: operatorUser.token, body)
        #expect(again.code == 409 && again.body.contains("already belongs"))
        #expect(try Self.post(port, "/v1/members", token: auditor.token, body).code == 403)
        let bad = try Self.post(port, "/v1/members", token: operatorUser.token, #"{"pan":"12ab"}"#)
        #expect(bad.code == 422 && bad.body.contains("$.pan"))
        let wrongType = try Self.post(port, "/v1/members", token: operatorUser.token, #"{"pan":5}"#)
        #expect(wrongType.code == 400 && wrongType.body.contains("$.pan"))
        let (cardId, lookedUpMember) = try Self.cardId(port, token: operatorUser.token, pan: pan)
        #expect(lookedUpMember == memberId && cardId.hasPrefix("crd_"))
        let unknown = try Self.post(port, "/v1/cards/lookup", token: operatorUser.token, #"{"pan":"\#(Wire.card(2))"}"#)
        #expect(unknown.code == 404 && !unknown.body.contains(Wire.card(2)))
        #expect(try Self.post(port, "/v1/cards/lookup", token: auditor.token, #"{"pan":"\#(pan)"}"#).code == 403)
        let member = try AdminAccessClient.call(port, "GET", "/v1/members/\(memberId)", token: auditor.token)
        #expect(member.code == 200 && member.json["id"] as? String == memberId)
        #expect((member.json["cards"] as? [[String: Any]])?.first?["id"] as? String == cardId)
        #expect(try AdminAccessClient.call(port, "GET", "/v1/members/mbr_00", token: admin).code == 404)
        let entries = try AdminAccessClient.audit(port, token: admin).filter {
            $0["action"] as? String == "members.create"
        }
        #expect(entries.count == 1 && entries.first?["operation"] != nil, "one entry, with its operation id")
        #expect(!server.log.contains(pan))
    }

    @Test("block: 200, then a 0200 on the card is answered 62; replace: balance at the new card, old 62, 409 in use")
    func blockAndReplace() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, admin) = try AdminUsersAndAuditTests.start(directory)
        defer { server.stop() }
        let port = server.adminPort!
        let client = try SwitchClient(port: server.port)
        var terminal = Terminal()
        let lost = Wire.card(3, test: 13)
        #expect(try client.exchange(terminal.purchase(lost, 50_000)).code == "00")
        let (lostId, _) = try Self.cardId(port, token: admin, pan: lost)
        let blocked = try Self.post(port, "/v1/cards/\(lostId)/block", token: admin, #"{"reason":"lost"}"#)
        #expect(blocked.code == 200 && blocked.json["status"] as? String == "blocked", "\(blocked.body)")
        #expect(try client.exchange(terminal.purchase(lost, 1_000)).code == "62")
        let badReason = try Self.post(port, "/v1/cards/\(lostId)/block", token: admin, #"{"reason":"gone"}"#)
        #expect(badReason.code == 422 && badReason.body.contains("$.reason"))
        let noCard = "/v1/cards/crd_" + String(repeating: "0", count: 32) + "/block"
        #expect(try Self.post(port, noCard, token: admin, #"{"reason":"lost"}"#).code == 404)

        let old = Wire.card(4, test: 13)
        let new = Wire.card(5, test: 13)
        #expect(try client.exchange(terminal.purchase(old, 30_000)).available == 300)
        let (oldId, _) = try Self.cardId(port, token: admin, pan: old)
        let replaced = try Self.post(port, "/v1/cards/\(oldId)/replace", token: admin, #"{"newPan":"\#(new)"}"#)
        #expect(replaced.code == 200, "\(replaced.body)")
        #expect(!replaced.body.contains(new) && !replaced.body.contains(old))
        #expect(try client.exchange(terminal.balance(new)).available == 300)
        #expect(try client.exchange(terminal.purchase(old, 1_000)).code == "62")
        let oldMember = try Self.cardId(port, token: admin, pan: old).member
        #expect(try Self.cardId(port, token: admin, pan: new).member == oldMember, "the member keeps its id")
        #expect(try AdminAccessClient.call(port, "GET", "/v1/members/\(oldMember)", token: admin).code == 200)
        let inUse = try Self.post(port, "/v1/cards/\(oldId)/replace", token: admin, #"{"newPan":"\#(lost)"}"#)
        #expect(inUse.code == 409)
        let other = Wire.card(6, test: 13)
        #expect(try client.exchange(terminal.purchase(other, 10_000)).code == "00")
        let (otherId, _) = try Self.cardId(port, token: admin, pan: other)
        let taken = try Self.post(port, "/v1/cards/\(otherId)/replace", token: admin, #"{"newPan":"\#(new)"}"#)
        #expect(taken.code == 409, "the new card is in use: \(taken.body)")
        let actions = try AdminAccessClient.audit(port, token: admin).compactMap { $0["action"] as? String }
        #expect(
            actions.filter { $0 == "cards.block" }.count == 1 && actions.filter { $0 == "cards.replace" }.count == 1)
        for pan in [lost, old, new, other] {
            #expect(!server.log.contains(pan))
            let journal = (try? String(contentsOfFile: directory.data + "/audit/journal.jsonl", encoding: .utf8)) ?? ""
            #expect(!journal.isEmpty && !journal.contains(pan))
        }
    }

    /// A card number as answers show it: first six, a star per hidden digit, last four.
    static func masked(_ pan: String) -> String {
        String(pan.prefix(6)) + String(repeating: "*", count: pan.count - 10) + String(pan.suffix(4))
    }

    @Test("replace answers old = the replaced card's id and mask, new = the new card's, on one shard and across, also on a repeat")
    func replaceNamesBothCards() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var settings = SwitchSettings()
        settings.shards = 4
        let (server, admin) = try AdminUsersAndAuditTests.start(directory, settings: settings)
        defer { server.stop() }
        let port = server.adminPort!
        let client = try SwitchClient(port: server.port)
        var terminal = Terminal()
        // A chain of six replacements over four shards: some steps stay on one shard, others cross (a cross-shard
        // step's reply comes from the new card's shard, which named the new card on both sides before the fix).
        var chain: [(old: String, new: String)] = []
        var current = Wire.card(20, test: 1313)
        #expect(try client.exchange(terminal.purchase(current, 20_000)).code == "00")
        var currentId = try Self.cardId(port, token: admin, pan: current).card
        for step in 21...26 {
            let next = Wire.card(step, test: 1313)
            let key = "replace-\(step)"
            let body = #"{"newPan":"\#(next)"}"#
            let replaced = try Self.post(port, "/v1/cards/\(currentId)/replace", token: admin, body, key: key)
            #expect(replaced.code == 200, "\(replaced.body)")
            let old = try #require(replaced.json["old"] as? [String: Any])
            let new = try #require(replaced.json["new"] as? [String: Any])
            let nextId = try Self.cardId(port, token: admin, pan: next).card
            #expect(old["id"] as? String == currentId && old["masked"] as? String == Self.masked(current), "\(step)")
            #expect(old["status"] as? String == "replaced")
            #expect(new["id"] as? String == nextId && new["masked"] as? String == Self.masked(next), "\(step)")
            let repeated = try Self.post(port, "/v1/cards/\(currentId)/replace", token: admin, body, key: key)
            #expect(repeated.code == 200 && repeated.body == replaced.body, "a repeat answers the same")
            #expect(try client.exchange(terminal.balance(next)).available == 200)
            chain.append((Self.masked(current), Self.masked(next)))
            (current, currentId) = (next, nextId)
        }
        let entries = try AdminAccessClient.audit(port, token: admin).filter { $0["action"] as? String == "cards.replace" }
        let audited = entries.compactMap { $0["detail"] as? [String: Any] }.map {
            ($0["card"] as? String ?? "", $0["newCard"] as? String ?? "")
        }
        #expect(audited.map { "\($0.0)>\($0.1)" } == chain.map { "\($0.old)>\($0.new)" }, "the trail names both")
    }

    @Test("adjustments: + and −, 409 below zero, 403 over the operator limit, admin unlimited, idempotent repeat")
    func adjustments() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, admin) = try AdminUsersAndAuditTests.start(directory)
        defer { server.stop() }
        let port = server.adminPort!
        let operatorUser = try AdminAccessClient.createUser(port, token: admin, name: "Op", role: "operator")
        let pan = Wire.card(7, test: 13)
        let enrolled = try Self.post(port, "/v1/members", token: admin, #"{"pan":"\#(pan)"}"#)
        let member = try #require(enrolled.json["id"] as? String)
        let path = "/v1/members/\(member)/adjustments"
        let plus = try Self.post(
            port, path, token: operatorUser.token, #"{"asset":"points","amount":500,"reason":"goodwill"}"#, key: "a1")
        #expect(plus.code == 201 && plus.json["balanceAfter"] as? Int == 500, "\(plus.body)")
        let repeated = try Self.post(
            port, path, token: operatorUser.token, #"{"amount":500,"asset":"points","reason":"goodwill"}"#, key: "a1")
        #expect(repeated.code == 201 && repeated.body == plus.body && repeated.header("idempotency-replayed") == "true")
        let minus = try Self.post(
            port, path, token: operatorUser.token, #"{"asset":"points","amount":-200,"reason":"correction"}"#)
        #expect(minus.code == 201 && minus.json["balanceAfter"] as? Int == 300)
        let below = try Self.post(
            port, path, token: operatorUser.token, #"{"asset":"points","amount":-301,"reason":"correction"}"#)
        #expect(below.code == 409 && below.body.contains("negative"))
        let over = try Self.post(
            port, path, token: operatorUser.token, #"{"asset":"credit","amount":10001,"reason":"migration"}"#)
        #expect(over.code == 403 && over.body.contains("operatorAdjustmentMax"))
        let big = try Self.post(port, path, token: admin, #"{"asset":"credit","amount":10001,"reason":"migration"}"#)
        #expect(big.code == 201 && big.json["balanceAfter"] as? Int == 10001)
        let zero = try Self.post(port, path, token: admin, #"{"asset":"points","amount":0,"reason":"fraud"}"#)
        #expect(zero.code == 422 && zero.body.contains("$.amount"))
        let shown = try AdminAccessClient.call(port, "GET", "/v1/members/\(member)", token: operatorUser.token)
        let balances = shown.json["balances"] as? [String: Any]
        #expect(balances?["points"] as? Int == 300 && balances?["credit"] as? Int == 10001)
        let adjusted = try AdminAccessClient.audit(port, token: admin).filter {
            $0["action"] as? String == "members.adjust"
        }
        #expect(adjusted.count == 3, "three changes, three entries (the repeat and the refusals add none)")
    }

    @Test("SIGKILL in a burst of adjustments: every 201 is in the balance and the trail, and nothing else; verify")
    func killDuringAdjustments() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let settings = SwitchSettings.admin(["requestsPerSecondPerToken": 100_000])
        var (server, admin) = try AdminUsersAndAuditTests.start(directory, settings: settings)
        defer { server.stop() }
        let pan = Wire.card(8, test: 13)
        let enrolled = try Self.post(server.adminPort!, "/v1/members", token: admin, #"{"pan":"\#(pan)"}"#)
        let member = try #require(enrolled.json["id"] as? String)
        let acknowledged = try AdminBurst.killAfter(
            40, server: server, directory: directory, token: admin, member: member
        ).compactMap { Int($0) }
        #expect(acknowledged.count >= 40)
        server = try SwitchProcess(directory: directory, settings: settings, run: 1)
        let port = server.adminPort!
        let shown = try AdminAccessClient.call(port, "GET", "/v1/members/\(member)", token: admin)
        let points = try #require((shown.json["balances"] as? [String: Any])?["points"] as? Int)
        let entries = try AdminAccessClient.audit(port, token: admin).filter {
            $0["action"] as? String == "members.adjust"
        }
        #expect(points >= acknowledged.max() ?? 0, "every answered adjustment is in the balance")
        #expect(entries.count == points, "one entry per durable adjustment, no more, no less")
        let operations = Set(entries.compactMap { $0["operation"] as? Int })
        #expect(operations.count == entries.count, "each entry has its own operation id")
        let audit = try AdminAccessClient.command(["audit", "verify", "--data", directory.data])
        #expect(audit.status == 0 && audit.output.contains("chain intact"), "\(audit.output)")
        server.stop()
        let ledger = try AdminAccessClient.command(["ledger", "verify", "--data", directory.data])
        #expect(ledger.status == 0, "\(ledger.output)")
        let journal = (try? String(contentsOfFile: directory.data + "/audit/journal.jsonl", encoding: .utf8)) ?? ""
        #expect(!journal.contains(pan) && !server.log.contains(pan))
    }
}

/// `POST /v1/cards`: one member, several cards, end to end over HTTP and a real terminal.
@Suite("Admin card links", .serialized)
struct AdminCardLinkTests {
    static func link(_ port: UInt16, token: String, pan: String, member: String, kind: String = "bank") throws
        -> AdminAnswer
    {
        try AdminMembersAndCardsTests.post(
            port, "/v1/cards", token: token, #"{"pan":"\#(pan)","memberId":"\#(member)","kind":"\#(kind)"}"#)
    }

    @Test("link: 201, both cards earn and redeem on one account, 409 in use, 404 unknown member, 422 kind, roles")
    func linkSecondCard() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var settings = SwitchSettings()
        settings.shards = 1
        let (server, admin) = try AdminUsersAndAuditTests.start(directory, settings: settings)
        defer { server.stop() }
        let port = server.adminPort!
        let operatorUser = try AdminAccessClient.createUser(port, token: admin, name: "Op", role: "operator")
        let auditor = try AdminAccessClient.createUser(port, token: admin, name: "Aud", role: "auditor")
        let client = try SwitchClient(port: server.port)
        var terminal = Terminal()
        let first = Wire.card(1, test: 1305)
        let second = Wire.card(2, test: 1305)
        #expect(try client.exchange(terminal.purchase(first, 40_000)).code == "00")
        let (_, member) = try AdminMembersAndCardsTests.cardId(port, token: admin, pan: first)
        let linked = try Self.link(port, token: operatorUser.token, pan: second, member: member)
        #expect(linked.code == 201 && linked.json["memberId"] as? String == member, "\(linked.body)")
        #expect(linked.json["kind"] as? String == "bank" && !linked.body.contains(second))
        #expect(try client.exchange(terminal.purchase(second, 10_000)).code == "00")
        let viaSecond = try client.exchange(terminal.balance(second)).available
        let viaFirst = try client.exchange(terminal.balance(first)).available
        #expect(viaSecond == 500 && viaFirst == 500, "one account")
        let (_, memberOfSecond) = try AdminMembersAndCardsTests.cardId(port, token: admin, pan: second)
        #expect(memberOfSecond == member)
        let shown = try AdminAccessClient.call(port, "GET", "/v1/members/\(member)", token: admin)
        #expect((shown.json["cards"] as? [[String: Any]])?.count == 2)
        let again = try Self.link(port, token: admin, pan: second, member: member)
        #expect(again.code == 409 && again.body.contains("$.pan"), "\(again.body)")
        let other = Wire.card(3, test: 1305)
        #expect(try client.exchange(terminal.purchase(other, 1_000)).code == "00")
        #expect(try Self.link(port, token: admin, pan: other, member: member).code == 409, "enrolled by a terminal")
        let unknown = "mbr_" + String(repeating: "0", count: 32)
        #expect(try Self.link(port, token: admin, pan: Wire.card(4, test: 1305), member: unknown).code == 404)
        let kind = try Self.link(port, token: admin, pan: Wire.card(4, test: 1305), member: member, kind: "gift")
        #expect(kind.code == 422 && kind.body.contains("$.kind"))
        #expect(try Self.link(port, token: auditor.token, pan: Wire.card(4, test: 1305), member: member).code == 403)
        let entries = try AdminAccessClient.audit(port, token: admin).filter { $0["action"] as? String == "cards.link" }
        #expect(entries.count == 1 && !server.log.contains(second))
    }

    @Test("two shards: every card links (across shards by forwarding); ISO purchases land on the member once; SIGKILL")
    func linksSurviveKill() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var (server, admin) = try AdminUsersAndAuditTests.start(directory)
        defer { server.stop() }
        let first = Wire.card(1, test: 1306)
        let enrolled = try AdminMembersAndCardsTests.post(
            server.adminPort!, "/v1/members", token: admin, #"{"pan":"\#(first)"}"#)
        let member = try #require(enrolled.json["id"] as? String)
        // 16 cards on 2 shards: about half hash to the shard the member is not on.
        let linkedCards = (2...17).map { Wire.card($0, test: 1306) }
        for pan in linkedCards {
            let linked = try Self.link(server.adminPort!, token: admin, pan: pan, member: member)
            #expect(linked.code == 201, "\(linked.body)")
        }
        var client = try SwitchClient(port: server.port)
        var terminal = Terminal()
        let purchases = linkedCards.map { terminal.purchase($0, 10_000) }
        for purchase in purchases { #expect(try client.exchange(purchase).code == "00") }
        #expect(try client.exchange(purchases[0]).code == "00", "a repeat is answered again")
        #expect(try client.exchange(terminal.balance(first)).available == Int64(100 * linkedCards.count), "one account")
        server.stop()
        server = try SwitchProcess(directory: directory, settings: SwitchSettings(), run: 1)
        client = try SwitchClient(port: server.port)
        for purchase in purchases { #expect(try client.exchange(purchase).code == "00", "repeats after SIGKILL") }
        #expect(try client.exchange(terminal.balance(first)).available == Int64(100 * linkedCards.count), "each once")
        let shown = try AdminAccessClient.call(server.adminPort!, "GET", "/v1/members/\(member)", token: admin)
        let cards = try #require(shown.json["cards"] as? [[String: Any]])
        #expect(cards.count == 1 + linkedCards.count && cards.filter { $0["kind"] as? String == "bank" }.count == 16)
        for pan in linkedCards {
            #expect(try Self.link(server.adminPort!, token: admin, pan: pan, member: member).code == 409)
            let lookup = try AdminMembersAndCardsTests.post(
                server.adminPort!, "/v1/cards/lookup", token: admin, #"{"pan":"\#(pan)"}"#)
            let card = try #require(lookup.json["card"] as? [String: Any])
            #expect(card["memberId"] as? String == member && card["kind"] as? String == "bank", "\(lookup.body)")
        }
        server.stop()
        let ledger = try AdminAccessClient.command(["ledger", "verify", "--data", directory.data])
        #expect(ledger.status == 0, "\(ledger.output)")
    }
    @Test("SIGKILL in a burst of links: every 201 card belongs to the member after the restart; both logs verify")
    func killDuringLinks() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var settings = SwitchSettings.admin(["requestsPerSecondPerToken": 100_000])
        settings.shards = 1
        var (server, admin) = try AdminUsersAndAuditTests.start(directory, settings: settings)
        defer { server.stop() }
        let enrolled = try AdminMembersAndCardsTests.post(
            server.adminPort!, "/v1/members", token: admin, #"{"pan":"\#(Wire.card(1, test: 1307))"}"#)
        let member = try #require(enrolled.json["id"] as? String)
        let acknowledged = try AdminBurst.killAfter(
            30, server: server, directory: directory, token: admin, member: "link:" + member)
        #expect(acknowledged.count >= 30)
        server = try SwitchProcess(directory: directory, settings: settings, run: 1)
        for pan in acknowledged {
            #expect(try AdminMembersAndCardsTests.cardId(server.adminPort!, token: admin, pan: pan).member == member)
        }
        let shown = try AdminAccessClient.call(server.adminPort!, "GET", "/v1/members/\(member)", token: admin)
        let cards = (shown.json["cards"] as? [[String: Any]])?.count ?? 0
        let links = try AdminAccessClient.audit(server.adminPort!, token: admin).filter {
            $0["action"] as? String == "cards.link"
        }
        #expect(cards == 1 + links.count && cards > acknowledged.count, "one audit entry per durable link")
        let audit = try AdminAccessClient.command(["audit", "verify", "--data", directory.data])
        #expect(audit.status == 0, "\(audit.output)")
        server.stop()
        let ledger = try AdminAccessClient.command(["ledger", "verify", "--data", directory.data])
        #expect(ledger.status == 0, "\(ledger.output)")
    }
}
