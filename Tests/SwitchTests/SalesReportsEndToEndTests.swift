import Foundation
import Glibc
import ISO8583
import Testing

/// The sales store served, end to end on the real binary: ISO 8583 purchases (fields 41, 42, a basket in 48),
/// a payment, a refund and a reversal become the `sales`, `items` and `credit-conversion` reports over HTTP and
/// the CLI, with filters and merchant users; a SIGKILL mid-traffic loses or doubles no approved sale; the
/// segments report reads the same store.
@Suite("Sales reports end to end")
struct SalesReportsEndToEndTests {
    static let other = "OTHERSHOP000001"
    static let pans = (0..<3).map { Wire.card(60 + $0, test: 16) }

    /// Traffic at two merchants: purchases with baskets, one reversed, one refunded whole, a credit payment, and a
    /// declined payment (no row).
    static func traffic(_ harness: AdminHarness) throws {
        let client = try SwitchClient(port: harness.server.port)
        var home = Terminal(id: "TERM0001", firstStan: 10)
        var shop = Terminal(id: "TERM0002", firstStan: 20)
        shop.merchant = other
        var big = home.purchase(pans[0], 600_000, stan: 10)
        try big.set(48, BasketTests.entry("MILK-1L;DAIRY;2;40000") + BasketTests.entry("SOAP;;1;5000"))
        #expect(try client.exchange(big).code == "00")
        var yogurt = shop.purchase(pans[1], 300_000, stan: 20)
        try yogurt.set(48, BasketTests.entry("YOGURT;DAIRY;3;30000"))
        #expect(try client.exchange(yogurt).code == "00")
        var reversed = home.purchase(pans[1], 100_000, stan: 11)
        try reversed.set(48, BasketTests.entry("MILK-1L;DAIRY;1;20000"))
        #expect(try client.exchange(reversed).code == "00")
        let reversal = home.message(400, processing: "000000", card: pans[1], amount: 100_000, stan: 11)
        #expect(try client.exchange(reversal).code == "00")
        var refunded = shop.purchase(pans[0], 50_000, stan: 21)
        try refunded.set(48, BasketTests.entry("BREAD;BAKERY;1;50000"))
        #expect(try client.exchange(refunded).code == "00")
        let refund = shop.message(
            200, processing: "200000", card: pans[0], amount: 50_000, stan: 22,
            original: shop.originalData(mti: 200, stan: 21))
        #expect(try client.exchange(refund).code == "00")
        #expect(try client.exchange(home.redeem(pans[0], 20_000, stan: 12)).code == "00")
        #expect(try client.exchange(home.redeem(pans[2], 20_000, stan: 13)).code != "00", "no credit: declined")
    }

    /// The report's rows (header dropped), once the store holds at least `count` sales; sorted, since shards
    /// are indexed one after the other.
    static func rows(_ harness: AdminHarness, _ path: String, token: String? = nil, count: Int = 0) throws -> [[String]] {
        for _ in 0..<100 {
            let answer = try harness.get(path, token: token ?? harness.admin)
            guard answer.code == 200 else { throw SwitchTestError("GET \(path): \(answer.code) \(answer.body)") }
            let lines = answer.body.split(separator: "\r\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            if lines.count >= count { return lines.sorted { $0.joined(separator: ",") < $1.joined(separator: ",") } }
            usleep(100_000)
        }
        throw SwitchTestError("\(path) never had \(count) rows")
    }

    static func settings() -> SwitchSettings {
        var settings = SwitchSettings()
        settings.rules = BasketFormatErrorTests.rules()
        return settings
    }

    @Test("sales rows exactly, masked; items net per SKU and category; credit-conversion equals the members' credit")
    func reportsFromTraffic() throws {
        let harness = try AdminHarness(settings: Self.settings())
        defer { harness.close() }
        try Self.traffic(harness)
        let sales = try Self.rows(harness, "/v1/reports/sales.csv", count: 7)
        let member0 = try harness.cardId(Self.pans[0]).member
        let member1 = try harness.cardId(Self.pans[1]).member
        // card, member, terminal, merchant, kind, amount, basket lines (times and earned figures checked apart).
        let shown = sales.map { [$0[1], $0[2], $0[3], $0[4], $0[5], $0[6], $0[11]] }.sorted { "\($0)" < "\($1)" }
        let masked = { (pan: String) in String(pan.prefix(6)) + "******" + String(pan.suffix(4)) }
        let expected: [[String]] = [
            [masked(Self.pans[0]), member0, "TERM0001", "MERCHANT0000001", "payment", "20000", "0"],
            [masked(Self.pans[0]), member0, "TERM0001", "MERCHANT0000001", "purchase", "600000", "2"],
            [masked(Self.pans[0]), member0, "TERM0002", Self.other, "purchase", "50000", "1"],
            [masked(Self.pans[0]), member0, "TERM0002", Self.other, "refund", "-50000", "1"],
            [masked(Self.pans[1]), member1, "TERM0001", "MERCHANT0000001", "purchase", "100000", "1"],
            [masked(Self.pans[1]), member1, "TERM0001", "MERCHANT0000001", "purchase-reversal", "-100000", "1"],
            [masked(Self.pans[1]), member1, "TERM0002", Self.other, "purchase", "300000", "1"],
        ].sorted { "\($0)" < "\($1)" }
        #expect(shown == expected, "\(sales)")
        #expect(sales.allSatisfy { $0[0].hasSuffix("Z") && $0[0].count == 24 }, "RFC 3339 UTC times")
        let credit = sales.first { $0[5] == "purchase" && $0[6] == "600000" }
        #expect(credit?[8] == "102000", "17 % store credit earned")
        #expect(sales.first { $0[5] == "payment" }?[10] == "20000", "the payment spent credit")
        let body = try harness.get("/v1/reports/sales.csv", token: harness.admin).body
        #expect(!Self.pans.contains { body.contains($0) }, "no full card number")

        let items = try Self.rows(harness, "/v1/reports/items.csv").map { Array($0.dropFirst()) }
        #expect(
            items == [
                ["MERCHANT0000001", "MILK-1L", "DAIRY", "2", "40000", "1"],
                ["MERCHANT0000001", "SOAP", "", "1", "5000", "1"],
                [Self.other, "BREAD", "BAKERY", "0", "0", "0"],
                [Self.other, "YOGURT", "DAIRY", "3", "30000", "1"],
            ], "a reversal and a whole refund net out: \(items)")

        let conversion = try Self.rows(harness, "/v1/reports/credit-conversion.csv")
        var members = 0
        for member in [member0, member1] {
            let shown = try harness.get("/v1/members/\(member)", token: harness.admin)
            members += ((shown.json["balances"] as? [String: Any])?["credit"] as? Int) ?? -1
        }
        #expect(members == 112_000, "102,000 + 30,000 earned, 20,000 spent")
        #expect(conversion.last == [conversion.last?[0] ?? "", "132000", "20000", "0", String(members)], "\(conversion)")
    }

    @Test("from/to and merchant filters; a merchant user sees its own rows only, 403 for another merchant or credit")
    func filtersAndMerchantUsers() throws {
        let harness = try AdminHarness(settings: Self.settings())
        defer { harness.close() }
        try Self.traffic(harness)
        #expect(try Self.rows(harness, "/v1/reports/sales.csv?from=2020-01-01&to=2099-01-01", count: 7).count == 7)
        #expect(try Self.rows(harness, "/v1/reports/sales.csv?to=2020-01-02").isEmpty)
        #expect(try Self.rows(harness, "/v1/reports/sales.csv?from=2099-01-01T00:00:00Z&to=2099-01-02").isEmpty)
        let shop = try Self.rows(harness, "/v1/reports/sales.csv?merchant=\(Self.other)")
        #expect(shop.count == 3 && shop.allSatisfy { $0[4] == Self.other }, "\(shop)")
        for (query, name) in [
            ("from=2026-13-01", "from"), ("to=yesterday", "to"), ("from=2026-01-02&to=2026-01-01", "from"),
            ("merchant=", "merchant"), ("shop=1", "shop"), ("from=2026-01-01&from=2026-01-02", "from"),
        ] {
            let answer = try harness.get("/v1/reports/sales.csv?\(query)", token: harness.admin)
            #expect(answer.code == 400 && answer.body.contains(name), "\(query): \(answer.code) \(answer.body)")
        }
        let credit = try harness.get("/v1/reports/credit-conversion.csv?merchant=\(Self.other)", token: harness.admin)
        #expect(credit.code == 400, "credit-conversion has no merchants")
        let merchant = try harness.createUser(name: "Shop", role: "merchant", merchants: [Self.other])
        let own = try Self.rows(harness, "/v1/reports/sales.csv", token: merchant.token)
        #expect(own.count == 3 && own.allSatisfy { $0[4] == Self.other }, "\(own)")
        let ownItems = try Self.rows(harness, "/v1/reports/items.csv", token: merchant.token)
        #expect(ownItems.count == 2 && ownItems.allSatisfy { $0[1] == Self.other })
        #expect(try harness.get("/v1/reports/sales.csv?merchant=MERCHANT0000001", token: merchant.token).code == 403)
        #expect(try harness.get("/v1/reports/credit-conversion.csv", token: merchant.token).code == 403)
        #expect(try harness.get("/v1/reports/sales.csv", token: nil).code == 401)
    }

    @Test("the CLI gives the HTTP CSV while served (read beside the switch) and after a stop (caught up from the log)")
    func cliMatchesHTTP() throws {
        let harness = try AdminHarness(settings: Self.settings())
        defer { harness.close() }
        try Self.traffic(harness)
        _ = try Self.rows(harness, "/v1/reports/sales.csv", count: 7)
        for name in ["sales", "items", "credit-conversion"] {
            let http = try harness.get("/v1/reports/\(name).csv", token: harness.admin).body
            let out = harness.directory.path + "/\(name).csv"
            let served = try harness.command(["report", name, "--out", out])
            #expect(served.status == 0, "\(served.output)")
            #expect(try String(contentsOfFile: out, encoding: .utf8) == http, "\(name) while served")
        }
        let http = try harness.get("/v1/reports/sales.csv", token: harness.admin).body
        harness.server.stop()
        // Without the switch's index: the CLI rebuilds DATA/sales from the log.
        try FileManager.default.removeItem(atPath: harness.data + "/sales")
        let out = harness.directory.path + "/stopped.csv"
        let stopped = try harness.command(["report", "sales", "--out", out])
        #expect(stopped.status == 0 && stopped.output.contains("caught up from the log"), "\(stopped.output)")
        let rebuilt = try String(contentsOfFile: out, encoding: .utf8)
        #expect(Set(rebuilt.split(separator: "\r\n")) == Set(http.split(separator: "\r\n")))
        #expect(try harness.command(["report", "sales", "--from", "tomorrow"]).status == 2)
    }

    @Test("SIGKILL mid-traffic, restart: every approved sale is in the sales report exactly once")
    func killMidTraffic() throws {
        let harness = try AdminHarness(settings: Self.settings())
        defer { harness.close() }
        let client = try SwitchClient(port: harness.server.port)
        var terminal = Terminal(id: "TERM0009")
        let child = harness.server.process.pid
        let killer = Thread {
            usleep(1_500_000)
            kill(child, SIGKILL)
        }
        killer.start()
        var approved: [Int64] = []
        var sent: Set<Int64> = []
        for index in 0..<100_000 {
            let amount = Int64(1_000 + index)
            sent.insert(amount)
            guard let reply = try? client.exchange(terminal.purchase(Self.pans[index % 3], amount), timeout: 5) else {
                break
            }
            if reply.code == "00" { approved.append(amount) }
        }
        harness.server.stop()
        #expect(approved.count > 0)
        try harness.start()
        let rows = try Self.rows(harness, "/v1/reports/sales.csv", count: approved.count)
        let amounts = rows.compactMap { Int64($0[6]) }
        #expect(Set(amounts).count == amounts.count, "no sale twice")
        #expect(Set(approved).isSubset(of: Set(amounts)), "every approved sale is there")
        #expect(Set(amounts).isSubset(of: sent), "nothing that was not sent")
    }

    @Test("segments over real sales: crafted buyers get their RFM segment; with sales off the report is 404")
    func segmentsFromSales() throws {
        let harness = try AdminHarness(settings: Self.settings())
        defer { harness.close() }
        let client = try SwitchClient(port: harness.server.port)
        var terminal = Terminal(id: "TERM0005")
        // pans[1]: one small purchase; pans[2]: one purchase refunded; then pans[0]: three purchases, the latest
        // and the most money.
        #expect(try client.exchange(terminal.purchase(Self.pans[1], 1_000)).code == "00")
        #expect(try client.exchange(terminal.purchase(Self.pans[2], 5_000, stan: 900)).code == "00")
        let refund = terminal.message(
            200, processing: "200000", card: Self.pans[2], amount: 5_000, stan: 901,
            original: terminal.originalData(mti: 200, stan: 900))
        #expect(try client.exchange(refund).code == "00")
        usleep(5_000)
        for _ in 0..<3 { #expect(try client.exchange(terminal.purchase(Self.pans[0], 90_000)).code == "00") }
        _ = try Self.rows(harness, "/v1/reports/sales.csv", count: 6)
        let rows = try Self.rows(harness, "/v1/reports/segments.csv?vipTop=1", count: 3)
        let byMember = Dictionary(uniqueKeysWithValues: rows.map { ($0[0], $0) })
        let best = try #require(byMember[try harness.cardId(Self.pans[0]).member])
        let small = try #require(byMember[try harness.cardId(Self.pans[1]).member])
        let refunded = try #require(byMember[try harness.cardId(Self.pans[2]).member])
        #expect(best[4] == "3" && best[5] == "270000" && best[10] == "champions" && best[11] == "true", "\(best)")
        #expect(small[4] == "1" && small[5] == "1000" && small[11] == "false", "\(small)")
        #expect(refunded[5] == "0" && refunded[11] == "false", "a refund nets the money out: \(refunded)")
        var off = Self.settings()
        off.topLevel["sales"] = ["enabled": false]
        harness.settings = off
        try harness.start()
        let unwired = try harness.get("/v1/reports/segments.csv", token: harness.admin)
        #expect(unwired.code == 404 && unwired.body.contains("segments.source"), "\(unwired.body)")
        #expect(try harness.get("/v1/reports/sales.csv", token: harness.admin).code == 404)
    }
}
