import Foundation
import Glibc
import Testing

/// Gift cards end to end: issued and loaded over real HTTP against the real binary, paid with and asked at a real
/// terminal over TCP (our client and pyiso8583), reversed, and a SIGKILL in a burst of loads.
@Suite("Admin gift cards", .serialized)
struct AdminGiftCardTests {
    static func post(
        _ port: UInt16, _ path: String, token: String, _ body: String, key: String? = nil
    ) throws -> AdminAnswer {
        try AdminAccessClient.call(port, "POST", path, token: token, body: body, key: key)
    }

    /// Issues `pan` with `amount` in currency 364 (the test terminal's field 49); returns the card id.
    static func issue(_ port: UInt16, token: String, pan: String, amount: Int) throws -> String {
        let answer = try post(
            port, "/v1/gift-cards", token: token, #"{"pan":"\#(pan)","amountMinor":\#(amount),"currency":"364"}"#)
        guard answer.code == 201, let id = answer.json["id"] as? String else {
            throw SwitchTestError("issue: \(answer.code) \(answer.body)")
        }
        return id
    }

    @Test("issue 201, 409 in use, 422 by field, 403 for an auditor; load 200, limit 422; idempotent; lookup and member")
    func issueAndLoad() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, admin) = try AdminUsersAndAuditTests.start(directory)
        defer { server.stop() }
        let port = server.adminPort!
        let operatorUser = try AdminAccessClient.createUser(port, token: admin, name: "Op", role: "operator")
        let auditor = try AdminAccessClient.createUser(port, token: admin, name: "Aud", role: "auditor")
        let pan = Wire.card(1, test: 17)
        let body = #"{"pan":"\#(pan)","amountMinor":5000,"currency":"364"}"#
        let issued = try Self.post(port, "/v1/gift-cards", token: operatorUser.token, body, key: "g1")
        #expect(issued.code == 201 && issued.json["balanceMinor"] as? Int == 5000, "\(issued.body)")
        #expect(issued.json["currency"] as? String == "364" && issued.json["kind"] as? String == "gift")
        #expect(!issued.body.contains(pan))
        let repeated = try Self.post(port, "/v1/gift-cards", token: operatorUser.token, body, key: "g1")
        #expect(repeated.code == 201 && repeated.body == issued.body && repeated.header("idempotency-replayed") == "true")
        let again = try Self.post(port, "/v1/gift-cards", token: operatorUser.token, body)
        #expect(again.code == 409 && again.body.contains("in use"))
        #expect(try Self.post(port, "/v1/gift-cards", token: auditor.token, body).code == 403)
        let badCurrency = #"{"pan":"\#(Wire.card(2, test: 17))","amountMinor":5,"currency":"EUR"}"#
        let currency = try Self.post(port, "/v1/gift-cards", token: admin, badCurrency)
        #expect(currency.code == 422 && currency.body.contains("$.currency"))
        let badAmount = #"{"pan":"\#(Wire.card(2, test: 17))","amountMinor":0,"currency":"364"}"#
        let amount = try Self.post(port, "/v1/gift-cards", token: admin, badAmount)
        #expect(amount.code == 422 && amount.body.contains("$.amountMinor"))

        let id = try #require(issued.json["id"] as? String)
        let load = try Self.post(port, "/v1/gift-cards/\(id)/load", token: operatorUser.token, #"{"amountMinor":250}"#)
        #expect(load.code == 200 && load.json["balanceMinor"] as? Int == 5250, "\(load.body)")
        let toLimit = 100_000_000 - 5250
        let limit = try Self.post(port, "/v1/gift-cards/\(id)/load", token: admin, #"{"amountMinor":\#(toLimit)}"#)
        #expect(limit.code == 200 && limit.json["balanceMinor"] as? Int == 100_000_000, "\(limit.body)")
        let beyond = try Self.post(port, "/v1/gift-cards/\(id)/load", token: admin, #"{"amountMinor":1}"#)
        #expect(beyond.code == 422 && beyond.body.contains("$.amountMinor"), "\(beyond.body)")
        let unknown = "/v1/gift-cards/crd_" + String(repeating: "0", count: 32) + "/load"
        #expect(try Self.post(port, unknown, token: admin, #"{"amountMinor":1}"#).code == 404)

        let (cardId, memberId) = try AdminMembersAndCardsTests.cardId(port, token: admin, pan: pan)
        let looked = try Self.post(port, "/v1/cards/lookup", token: admin, #"{"pan":"\#(pan)"}"#)
        #expect(cardId == id && (looked.json["card"] as? [String: Any])?["kind"] as? String == "gift")
        let member = try AdminAccessClient.call(port, "GET", "/v1/members/\(memberId)", token: auditor.token)
        let balances = member.json["balances"] as? [String: Any]
        #expect(balances?["giftValue"] as? Int == 100_000_000 && balances?["points"] as? Int == 0, "\(member.body)")
        let actions = try AdminAccessClient.audit(port, token: admin).compactMap { $0["action"] as? String }
        #expect(actions.filter { $0 == "giftcards.issue" }.count == 1)
        #expect(actions.filter { $0 == "giftcards.load" }.count == 2, "two loads; refusals and repeats add none")
        let journal = (try? String(contentsOfFile: directory.data + "/audit/journal.jsonl", encoding: .utf8)) ?? ""
        #expect(!journal.isEmpty && !journal.contains(pan) && !server.log.contains(pan))
    }

    @Test("at a terminal: pay 00 with 54 02/364, 51 short, 57 in another currency, inquiry, reversal restores once")
    func payAtTerminal() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, admin) = try AdminUsersAndAuditTests.start(directory)
        defer { server.stop() }
        let port = server.adminPort!
        let pan = Wire.card(3, test: 17)
        _ = try Self.issue(port, token: admin, pan: pan, amount: 10_000)
        let client = try SwitchClient(port: server.port)
        var terminal = Terminal()
        let payment = terminal.redeem(pan, 3_000)
        let paid = try client.exchange(payment)
        #expect(paid.code == "00" && paid.amounts == ["02/364": 7_000], "\(paid.message)")
        let repeated = try client.exchange(payment)
        #expect(repeated.message.string(54) == paid.message.string(54) && repeated.code == "00")
        let short = try client.exchange(terminal.redeem(pan, 7_001))
        #expect(short.code == "51" && short.amounts == ["02/364": 7_000])
        var otherCurrency = terminal.redeem(pan, 10)
        try otherCurrency.set(49, "978")
        #expect(try client.exchange(otherCurrency).code == "57")
        let inquiry = try client.exchange(terminal.balance(pan))
        #expect(inquiry.code == "00" && inquiry.amounts == ["02/364": 7_000] && inquiry.field(63) == nil)
        let hold = terminal.message(100, processing: "900000", card: pan, amount: 100)
        #expect(try client.exchange(hold).code == "57", "gift value is not held")
        let paymentStan = Int(payment.string(11)!)!
        let reversal = terminal.message(
            400, processing: "900000", card: pan, amount: 3_000,
            original: terminal.originalData(mti: 200, stan: paymentStan))
        #expect(try client.exchange(reversal).code == "00")
        #expect(try client.exchange(reversal).code == "00")
        #expect(try client.exchange(terminal.balance(pan)).amounts == ["02/364": 10_000], "restored exactly once")
        #expect(try client.exchange(terminal.purchase(Wire.card(4, test: 17), 1_000)).code == "00")
        #expect(!server.log.contains(pan))
    }

    @Test(
        "pyiso8583 pays with a gift card and reads field 54 02/978 from the balance inquiry",
        .enabled(
            if: IndependentClient.available || IndependentClient.required,
            "skipped outside CI: python3 cannot import iso8583; run pip install pyiso8583==4.0.1")
    )
    func independentClient() throws {
        try #require(
            IndependentClient.available, "CI=true but python3 cannot import iso8583: pip install pyiso8583==4.0.1")
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, admin) = try AdminUsersAndAuditTests.start(directory)
        defer { server.stop() }
        let pan = Wire.card(5, test: 17)
        let issued = try Self.post(
            server.adminPort!, "/v1/gift-cards", token: admin, #"{"pan":"\#(pan)","amountMinor":1000,"currency":"978"}"#)
        #expect(issued.code == 201)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("giftcard_client.py").path
        let result = try #require(runPython([script, String(server.port), pan]), "python3 did not finish")
        try #require(result.status == 0, "giftcard_client.py exited \(result.status)")
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        let checks = try #require(object?["checks"] as? [[String: Any]])
        #expect(checks.count >= 5, "the script ran \(checks.count) checks")
        for check in checks {
            #expect(check["ok"] as? Bool == true, "\(check["name"] as? String ?? "?"): \(check["detail"] ?? "")")
        }
    }

    @Test("SIGKILL in a burst of loads: every 200 is in the value and the trail, and nothing else; verify")
    func killDuringLoads() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let settings = SwitchSettings.admin(["requestsPerSecondPerToken": 100_000])
        var (server, admin) = try AdminUsersAndAuditTests.start(directory, settings: settings)
        defer { server.stop() }
        let pan = Wire.card(6, test: 17)
        let id = try Self.issue(server.adminPort!, token: admin, pan: pan, amount: 1)
        let acknowledged = try AdminBurst.killAfter(
            40, server: server, directory: directory, token: admin, member: "gift:" + id
        ).compactMap { Int($0) }
        #expect(acknowledged.count >= 40)
        server = try SwitchProcess(directory: directory, settings: settings, run: 1)
        let port = server.adminPort!
        let (_, member) = try AdminMembersAndCardsTests.cardId(port, token: admin, pan: pan)
        let shown = try AdminAccessClient.call(port, "GET", "/v1/members/\(member)", token: admin)
        let value = try #require((shown.json["balances"] as? [String: Any])?["giftValue"] as? Int)
        let loads = try AdminAccessClient.audit(port, token: admin).filter {
            $0["action"] as? String == "giftcards.load"
        }
        #expect(value >= acknowledged.max() ?? 0, "every answered load is in the value")
        #expect(loads.count == value - 1, "one entry per durable load (the issue put in 1), no more, no less")
        let audit = try AdminAccessClient.command(["audit", "verify", "--data", directory.data])
        #expect(audit.status == 0 && audit.output.contains("chain intact"), "\(audit.output)")
        server.stop()
        let ledger = try AdminAccessClient.command(["ledger", "verify", "--data", directory.data])
        #expect(ledger.status == 0, "\(ledger.output)")
    }
}
