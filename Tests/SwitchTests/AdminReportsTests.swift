import Foundation
import Glibc
import TestSupport
import Testing

/// Reports end to end: the real binary over real HTTP (chunked CSV, roles, merchant scoping, masked card numbers,
/// an independent CSV parser: Python's `csv`) and `loyalty-switch report` on the same directory while it serves.
@Suite("Admin reports", .serialized)
struct AdminReportsTests {
    static var settings: SwitchSettings {
        var settings = SwitchSettings()
        settings.rules = [
            "version": 1, "currency": 364, "groups": [["id": "MALL", "kind": "coalition"]],
            "merchants": [["id": "FLORIST01", "groups": ["MALL"]], ["id": "CAFE01", "groups": ["MALL"]]],
            "earning": ["default": ["points": 1, "perAmountMinor": 100]],
        ]
        return settings
    }

    static func report(_ port: UInt16, _ path: String, token: String?) throws -> AdminAnswer {
        try AdminAccessClient.call(port, "GET", "/v1/reports/" + path, token: token)
    }

    /// Rows as Python's csv module reads them (strict: a malformed file fails the test).
    static func parse(_ text: String) throws -> [[String]] {
        let parsed = try ChildProcess.capture(
            "/usr/bin/python3",
            [
                "-c",
                "import csv,sys,json; sys.stdout.write(json.dumps(list(csv.reader(sys.stdin.buffer.read().decode("
                    + "'utf-8').splitlines(keepends=True), strict=True)), ensure_ascii=False))",
            ], input: Data(text.utf8))
        guard parsed.status == 0,
            let rows = try JSONSerialization.jsonObject(with: Data(parsed.output.utf8)) as? [[String]]
        else { throw SwitchTestError("not CSV: \(text)\n\(parsed.errors)") }
        return rows
    }

    @Test("every report streams as chunked CSV, masked, parseable; merchants see only their own; the CLI agrees")
    func reportsOverHTTPAndCLI() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let settings = Self.settings
        let (server, admin) = try AdminUsersAndAuditTests.start(directory, settings: settings)
        defer { server.stop() }
        let port = server.adminPort!
        let operatorUser = try AdminAccessClient.createUser(port, token: admin, name: "Op", role: "operator")
        let auditor = try AdminAccessClient.createUser(port, token: admin, name: "Aud", role: "auditor")
        let cafe = try AdminAccessClient.createUser(
            port, token: admin, name: "Cafe", role: "merchant", merchants: ["CAFE01"])
        let pans = [Wire.card(91, test: 16), Wire.card(92, test: 16)]
        let enrolled = try AdminAccessClient.post(
            port, "/v1/members", token: admin, #"{"pan":"\#(pans[0])","name":"مریم, \"م\"","phone":"+989121234567"}"#)
        #expect(enrolled.code == 201, "\(enrolled.body)")
        let client = try SwitchClient(port: server.port)
        var florist = Terminal(id: "FLOR0001")
        florist.merchant = "FLORIST01      "
        var cafeTerminal = Terminal(id: "CAFE0001")
        cafeTerminal.merchant = "CAFE01         "
        #expect(try client.exchange(florist.purchase(pans[0], 10_000)).code == "00")
        #expect(try client.exchange(cafeTerminal.redeem(pans[0], 30)).code == "00")
        #expect(try client.exchange(florist.purchase(pans[1], 5_000)).code == "00")
        let (lostId, _) = try AdminAccessClient.cardId(port, token: admin, pan: pans[1])
        let blocked = try AdminAccessClient.post(
            port, "/v1/cards/\(lostId)/block", token: admin, #"{"reason":"lost"}"#)
        #expect(blocked.code == 200)

        var bodies: [String: [[String]]] = [:]
        for name in ["members", "cards-issued", "lost-cards", "tiers", "breakage", "settlement"] {
            let answer = try Self.report(port, name + ".csv", token: operatorUser.token)
            #expect(answer.code == 200, "\(name): \(answer.body)")
            #expect(answer.header("content-type") == "text/csv; charset=utf-8")
            #expect(answer.header("transfer-encoding") == "chunked")
            #expect(answer.header("x-report-as-of")?.hasSuffix("Z") == true)
            #expect(answer.body.contains("\r\n") && !pans.contains { answer.body.contains($0) }, "\(name)")
            bodies[name] = try Self.parse(answer.body)
        }
        let members = try #require(bodies["members"])
        #expect(members.count == 3 && members[0].first == "member_id")
        let maryam = try #require(members.first { $0[0] == enrolled.json["id"] as? String })
        #expect(maryam[1] == String(pans[0].prefix(6)) + "******" + String(pans[0].suffix(4)))
        #expect(maryam[3] == "70" && maryam[10] == "1" && maryam[11] == "10000", "\(maryam)")
        #expect(maryam[12] == "مریم, \"م\"" && maryam[13] == "+989121234567")
        #expect(bodies["cards-issued"]?.count == 3)
        #expect(bodies["lost-cards"]?.count == 2 && bodies["lost-cards"]?[1][3] == "blocked")
        #expect(bodies["tiers"]?[1] == ["0", "2", "120", "0", "2", "15000"])
        let settlement = [["payer", "payee", "points", "credit_minor", "value_minor"], ["FLORIST01", "CAFE01", "30", "0", "30"]]
        #expect(bodies["settlement"] == settlement)

        // Roles and the merchant's scope.
        #expect(try Self.report(port, "members.csv", token: auditor.token).code == 200)
        #expect(try Self.report(port, "members.csv", token: nil).code == 401)
        let mine = try Self.report(port, "settlement.csv", token: cafe.token)
        let mineRows = try Self.parse(mine.body)
        #expect(mine.code == 200 && mineRows.count == 2)
        let other = try Self.report(port, "settlement.csv?merchant=FLORIST01", token: cafe.token)
        #expect(other.code == 403 && other.body.contains("merchant"), "\(other.body)")
        #expect(try Self.report(port, "members.csv", token: cafe.token).code == 403)
        // Names and filters that do not apply: 404 for unknown reports, 400 naming the parameter (the sales store's
        // reports have routes of their own: SalesReportsEndToEndTests).
        let sales = try Self.report(port, "sales.csv", token: operatorUser.token)
        #expect(sales.code == 200 && sales.body.hasPrefix("time,card,member_id,"))
        #expect(try Self.report(port, "nothing.csv", token: operatorUser.token).code == 404)
        #expect(try Self.report(port, "members.json", token: operatorUser.token).code == 404)
        let ranged = try Self.report(port, "members.csv?from=2026-01-01", token: operatorUser.token)
        #expect(ranged.code == 400 && ranged.body.contains("from"))
        let unknownMerchant = try Self.report(port, "settlement.csv?merchant=NOPE", token: operatorUser.token)
        #expect(unknownMerchant.code == 400 && unknownMerchant.body.contains("merchant"))
        let filtered = try Self.report(port, "settlement.csv?merchant=CAFE01", token: operatorUser.token)
        #expect(try Self.parse(filtered.body) == bodies["settlement"])

        // The CLI on the directory the switch is serving: the same books (names and phones are the API's).
        let cli = try LoyaltyRulesTests.runCommand(
            ["report", "settlement", "--data", directory.data, "--config", directory.path + "/config-0.json"])
        #expect(try Self.parse(cli) == bodies["settlement"])
        let cliMembers = try Self.parse(
            try LoyaltyRulesTests.runCommand(["report", "members", "--data", directory.data]))
        let ledgerColumns: ([String]) -> [String] = { Array($0.prefix(12)) }
        let fromCLI = cliMembers.map(ledgerColumns).sorted { $0[0] < $1[0] }
        let fromHTTP = members.map(ledgerColumns).sorted { $0[0] < $1[0] }
        #expect(fromCLI == fromHTTP)
    }
}
