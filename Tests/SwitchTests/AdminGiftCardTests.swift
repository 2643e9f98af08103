import Foundation
import Glibc
import Testing

/// Gift cards end to end: issued and loaded over real HTTP against the real binary, paid with and asked at a real
/// terminal over TCP (our client and pyiso8583), reversed, and a SIGKILL in a burst of loads.
@Suite("Admin gift cards", .serialized)
struct AdminGiftCardTests {
    /// Issues `pan` with `amount` in currency 364 (the test terminal's field 49); returns the card id.
    static func issue(_ harness: AdminHarness, pan: String, amount: Int) throws -> String {
        let answer = try harness.post(
            "/v1/gift-cards", token: harness.admin, #"{"pan":"\#(pan)","amountMinor":\#(amount),"currency":"364"}"#)
        guard answer.code == 201, let id = answer.json["id"] as? String else {
            throw SwitchTestError("issue: \(answer.code) \(answer.body)")
        }
        return id
    }

    @Test("issue 201, 409 in use, 422 by field, 403 for an auditor; load 200, limit 422; idempotent; lookup and member")
    func issueAndLoad() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        let operatorUser = try harness.createUser(name: "Op", role: "operator")
        let auditor = try harness.createUser(name: "Aud", role: "auditor")
        let pan = Wire.card(1, test: 17)
        let body = #"{"pan":"\#(pan)","amountMinor":5000,"currency":"364"}"#
        let issued = try harness.post("/v1/gift-cards", token: operatorUser.token, body, key: "g1")
        #expect(issued.code == 201 && issued.json["balanceMinor"] as? Int == 5000, "\(issued.body)")
        #expect(issued.json["currency"] as? String == "364" && issued.json["kind"] as? String == "gift")
        #expect(!issued.body.contains(pan))
        let repeated = try harness.post("/v1/gift-cards", token: operatorUser.token, body, key: "g1")
        #expect(repeated.code == 201 && repeated.body == issued.body && repeated.header("idempotency-replayed") == "true")
        let again = try harness.post("/v1/gift-cards", token: operatorUser.token, body)
        #expect(again.code == 409 && again.body.contains("in use"))
        #expect(try harness.post("/v1/gift-cards", token: auditor.token, body).code == 403)
        let badCurrency = #"{"pan":"\#(Wire.card(2, test: 17))","amountMinor":5,"currency":"EUR"}"#
        let currency = try harness.post("/v1/gift-cards", token: admin, badCurrency)
        #expect(currency.code == 422 && currency.body.contains("$.currency"))
        let badAmount = #"{"pan":"\#(Wire.card(2, test: 17))","amountMinor":0,"currency":"364"}"#
        let amount = try harness.post("/v1/gift-cards", token: admin, badAmount)
        #expect(amount.code == 422 && amount.body.contains("$.amountMinor"))

        let id = try #require(issued.json["id"] as? String)
        let load = try harness.post("/v1/gift-cards/\(id)/load", token: operatorUser.token, #"{"amountMinor":250}"#)
        #expect(load.code == 200 && load.json["balanceMinor"] as? Int == 5250, "\(load.body)")
        let toLimit = 100_000_000 - 5250
        let limit = try harness.post("/v1/gift-cards/\(id)/load", token: admin, #"{"amountMinor":\#(toLimit)}"#)
        #expect(limit.code == 200 && limit.json["balanceMinor"] as? Int == 100_000_000, "\(limit.body)")
        let beyond = try harness.post("/v1/gift-cards/\(id)/load", token: admin, #"{"amountMinor":1}"#)
        #expect(beyond.code == 422 && beyond.body.contains("$.amountMinor"), "\(beyond.body)")
        let unknown = "/v1/gift-cards/crd_" + String(repeating: "0", count: 32) + "/load"
        #expect(try harness.post(unknown, token: admin, #"{"amountMinor":1}"#).code == 404)

        let (cardId, memberId) = try harness.cardId(pan)
        let looked = try harness.post("/v1/cards/lookup", token: admin, #"{"pan":"\#(pan)"}"#)
        #expect(cardId == id && (looked.json["card"] as? [String: Any])?["kind"] as? String == "gift")
        let member = try harness.call("GET", "/v1/members/\(memberId)", token: auditor.token)
        let balances = member.json["balances"] as? [String: Any]
        #expect(balances?["giftValue"] as? Int == 100_000_000 && balances?["points"] as? Int == 0, "\(member.body)")
        let actions = try harness.audit().compactMap { $0["action"] as? String }
        #expect(actions.filter { $0 == "giftcards.issue" }.count == 1)
        #expect(actions.filter { $0 == "giftcards.load" }.count == 2, "two loads; refusals and repeats add none")
        let journal = (try? String(contentsOfFile: harness.data + "/audit/journal.jsonl", encoding: .utf8)) ?? ""
        #expect(!journal.isEmpty && !journal.contains(pan) && !harness.server.log.contains(pan))
    }

    @Test("at a terminal: pay 00 with 54 02/364, 51 short, 57 in another currency, inquiry, reversal restores once")
    func payAtTerminal() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let pan = Wire.card(3, test: 17)
        _ = try Self.issue(harness, pan: pan, amount: 10_000)
        let client = try SwitchClient(port: harness.server.port)
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
        #expect(!harness.server.log.contains(pan))
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
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        let pan = Wire.card(5, test: 17)
        let issued = try harness.post(
            "/v1/gift-cards", token: admin, #"{"pan":"\#(pan)","amountMinor":1000,"currency":"978"}"#)
        #expect(issued.code == 201)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("giftcard_client.py").path
        let result = try #require(runPython([script, String(harness.server.port), pan]), "python3 did not finish")
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
        let settings = SwitchSettings.admin(["requestsPerSecondPerToken": 100_000])
        let harness = try AdminHarness(settings: settings)
        defer { harness.close() }
        let admin = harness.admin
        let pan = Wire.card(6, test: 17)
        let id = try Self.issue(harness, pan: pan, amount: 1)
        let acknowledged = try AdminBurst.killAfter(
            40, server: harness.server, directory: harness.directory, token: admin, member: "gift:" + id
        ).compactMap { Int($0) }
        #expect(acknowledged.count >= 40)
        try harness.start()
        let (_, member) = try harness.cardId(pan)
        let shown = try harness.call("GET", "/v1/members/\(member)", token: admin)
        let value = try #require((shown.json["balances"] as? [String: Any])?["giftValue"] as? Int)
        let loads = try harness.audit().filter {
            $0["action"] as? String == "giftcards.load"
        }
        #expect(value >= acknowledged.max() ?? 0, "every answered load is in the value")
        #expect(loads.count == value - 1, "one entry per durable load (the issue put in 1), no more, no less")
        let audit = try harness.command(["audit", "verify"])
        #expect(audit.status == 0 && audit.output.contains("chain intact"), "\(audit.output)")
        harness.server.stop()
        let ledger = try harness.command(["ledger", "verify"])
        #expect(ledger.status == 0, "\(ledger.output)")
    }
}
