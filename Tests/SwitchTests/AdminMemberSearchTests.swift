import Foundation
import Glibc
import Testing

/// The member search and the segments report end to end: the real binary, members enrolled over the admin API
/// with phones, purchases over ISO 8583, then `GET /v1/members?…` by each filter and combined, paged through with
/// the cursor, bad parameters named, roles enforced, and the same answers after a SIGKILL and restart (the index
/// is rebuilt from the checkpoint views and the log).
@Suite("Admin member search", .serialized)
struct AdminMemberSearchTests {
    static let memberCount = 12
    static func pan(_ index: Int) -> String { Wire.card(index, test: 1601) }

    /// `GET /v1/members?QUERY` as `token`, waiting out the token's rate limit (429).
    static func search(_ harness: AdminHarness, _ query: String, token: String? = nil) throws -> AdminAnswer {
        var answer = try harness.get("/v1/members?" + query, token: token ?? harness.admin)
        for _ in 0..<5 where answer.code == 429 || answer.code == 503 {
            sleep(1)
            answer = try harness.get("/v1/members?" + query, token: token ?? harness.admin)
        }
        return answer
    }

    /// The ids of every page of `query` (pages of `limit`), following `next`.
    static func allIds(_ harness: AdminHarness, _ query: String, limit: Int = 50) throws -> [String] {
        var ids: [String] = []
        var cursor = ""
        for _ in 0..<100 {
            let page = try search(harness, query + "&limit=\(limit)" + cursor)
            guard page.code == 200 else { throw SwitchTestError("search \(query): \(page.code) \(page.body)") }
            let items = page.json["items"] as? [[String: Any]] ?? []
            #expect(items.count <= limit)
            ids += items.compactMap { $0["id"] as? String }
            guard let next = page.json["next"] as? String else { return ids }
            cursor = "&after=" + next
        }
        throw SwitchTestError("paging never ended")
    }

    /// Members 0..<12 with phones (2 and 3 share one); members 0..<6 buy (i+1)·1,000, member 0 twice. Waits until
    /// the search sees the six buyers. The members' ids by index.
    static func populate(_ harness: AdminHarness) throws -> [String] {
        var ids: [String] = []
        for index in 0..<memberCount {
            let phone = index == 3 ? "+989120000002" : "+98912000000\(index)"
            let enrolled = try harness.post(
                "/v1/members", token: harness.admin, #"{"pan":"\#(pan(index))","name":"M\#(index)","phone":"\#(phone)"}"#)
            guard enrolled.code == 201, let id = enrolled.json["id"] as? String else {
                throw SwitchTestError("enrol: \(enrolled.code) \(enrolled.body)")
            }
            ids.append(id)
        }
        let client = try SwitchClient(port: harness.server.port)
        var terminal = Terminal()
        for index in 0..<6 {
            #expect(try client.exchange(terminal.purchase(pan(index), Int64(index + 1) * 1_000)).code == "00")
        }
        #expect(try client.exchange(terminal.purchase(pan(0), 500)).code == "00")
        for _ in 0..<200 {
            if try allIds(harness, "minVolumeMinor=1").count == 6 { return ids }
            usleep(100_000)
        }
        throw SwitchTestError("the search never saw the six buyers")
    }

    @Test("each filter and combined, paging through all with the cursor in id order, summaries masked, after a restart the same")
    func filtersAndPaging() throws {
        var settings = SwitchSettings()
        settings.topLevel["segments"] = ["source": "lifetimeFigures"]
        let harness = try AdminHarness(settings: settings)
        defer { harness.close() }
        let ids = try Self.populate(harness)

        func check() throws {
            let all = try Self.allIds(harness, "", limit: 5)
            #expect(all.count == Self.memberCount && Set(all) == Set(ids) && all == all.sorted(), "\(all)")
            #expect(try Self.allIds(harness, "", limit: 1) == all)
            #expect(Set(try Self.allIds(harness, "minVolumeMinor=3000")) == Set([2, 3, 4, 5].map { ids[$0] }))
            #expect(try Self.allIds(harness, "minVolumeMinor=1500") .contains(ids[0]), "member 0 bought 1,000 + 500")
            #expect(Set(try Self.allIds(harness, "phone=%2B989120000002")) == Set([ids[2], ids[3]]))
            #expect(try Self.allIds(harness, "phone=%2B989120000009") == [ids[9]])
            #expect(try Self.allIds(harness, "phone=%2B989999999999").isEmpty)
            #expect(try Self.allIds(harness, "cardSuffix=0007") == [ids[7]])
            #expect(try Self.allIds(harness, "lastPurchaseBefore=2999-01-01").count == 6)
            #expect(try Self.allIds(harness, "lastPurchaseAfter=2999-01-01T00:00:00Z").isEmpty)
            #expect(try Self.allIds(harness, "lastPurchaseAfter=2020-01-01").count == 6)
            #expect(try Self.allIds(harness, "lastPurchaseBefore=2020-01-01").isEmpty)
            #expect(try Self.allIds(harness, "tier=0").count == Self.memberCount)
            #expect(try Self.allIds(harness, "tier=1").isEmpty)
            #expect(
                try Self.allIds(harness, "tier=0&minVolumeMinor=2000&lastPurchaseAfter=2020-01-01&phone=%2B989120000002")
                    == [ids[2], ids[3]].sorted())
            #expect(try Self.allIds(harness, "cardSuffix=0004&minVolumeMinor=6000").isEmpty)

            let one = try Self.search(harness, "cardSuffix=0000")
            let item = (one.json["items"] as? [[String: Any]])?.first
            #expect(item?["id"] as? String == ids[0] && item?["card"] as? String == "603716******0000", "\(one.body)")
            let stats = item?["stats"] as? [String: Any]
            #expect(stats?["purchases"] as? Int == 2 && stats?["volumeMinor"] as? Int == 1_500, "\(one.body)")
            #expect((stats?["lastPurchase"] as? String)?.hasSuffix("Z") == true)
            #expect((item?["profile"] as? [String: Any])?["phone"] as? String == "+989120000000")
            let page = try Self.search(harness, "limit=500")
            #expect(!(0..<Self.memberCount).contains { page.body.contains(Self.pan($0)) }, "no card number in full")
        }
        try check()
        try harness.killAndRestart()
        try check()
    }

    @Test("bad parameters are 400 naming the parameter; auditor allowed, merchant 403, no token 401")
    func badParametersAndRoles() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        _ = try harness.enrol(Self.pan(1))
        for (query, name) in [
            ("limit=0", "limit"), ("limit=501", "limit"), ("limit=x", "limit"), ("tier=x", "tier"), ("tier=256", "tier"),
            ("minVolumeMinor=-1", "minVolumeMinor"), ("lastPurchaseBefore=yesterday", "lastPurchaseBefore"),
            ("lastPurchaseAfter=2026-13-01", "lastPurchaseAfter"), ("phone=abc", "phone"), ("cardSuffix=123", "cardSuffix"),
            ("cardSuffix=12345", "cardSuffix"), ("after=mbr_x", "after"), ("pan=6037", "pan"), ("tier=1&tier=2", "tier"),
        ] {
            let answer = try Self.search(harness, query)
            #expect(answer.code == 400 && answer.body.contains(name), "\(query): \(answer.code) \(answer.body)")
            #expect(answer.header("Content-Type")?.hasPrefix("application/problem+json") == true)
        }
        let auditor = try harness.createUser(name: "Aud", role: "auditor")
        let operatorUser = try harness.createUser(name: "Op", role: "operator")
        let merchant = try harness.createUser(name: "Shop", role: "merchant", merchants: ["MERCHANT0000001"])
        #expect(try Self.search(harness, "", token: auditor.token).code == 200)
        #expect(try Self.search(harness, "", token: operatorUser.token).code == 200)
        #expect(try Self.search(harness, "", token: merchant.token).code == 403)
        #expect(try harness.call("GET", "/v1/members", token: nil).code == 401)
        #expect(try harness.get("/v1/reports/segments.csv", token: merchant.token).code == 403)
        // The default source is the sales store, which runs by default: the report is served.
        let served = try harness.get("/v1/reports/segments.csv", token: auditor.token)
        #expect(served.code == 200 && served.body.hasPrefix("member_id,card,tier,"), "\(served.body)")
    }

    @Test("the segments report over HTTP and the CLI: one row per buyer, scores, the VIP by vipTop, bad parameters named")
    func segmentsReport() throws {
        var settings = SwitchSettings()
        settings.topLevel["segments"] = ["source": "lifetimeFigures"]
        let harness = try AdminHarness(settings: settings)
        defer { harness.close() }
        let ids = try Self.populate(harness)
        let answer = try harness.get("/v1/reports/segments.csv?vipTop=1&from=2020-01-01", token: harness.admin)
        #expect(answer.code == 200, "\(answer.body)")
        let rows = answer.body.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.first?.joined(separator: ",") == "member_id,card,tier,recency_days,frequency,monetary_minor,r,f,m,score,segment,vip")
        #expect(rows.count == 7, "\(answer.body)")
        let vips = rows.dropFirst().filter { $0[11] == "true" }
        #expect(vips.count == 1 && vips.first?[0] == Substring(ids[5]), "the largest buyer is the VIP: \(answer.body)")
        #expect(rows.dropFirst().allSatisfy { (1...5).contains(Int($0[6]) ?? 0) && $0[1].contains("******") })
        #expect(!(0..<6).contains { answer.body.contains(Self.pan($0)) })
        let bad = try harness.get("/v1/reports/segments.csv?vipTop=0", token: harness.admin)
        #expect(bad.code == 400 && bad.body.contains("vipTop"), "\(bad.body)")
        let unknown = try harness.get("/v1/reports/segments.csv?merchant=M", token: harness.admin)
        #expect(unknown.code == 400 && unknown.body.contains("merchant"), "\(unknown.body)")

        let out = harness.directory.path + "/segments.csv"
        let cli = try harness.command(["report", "segments", "--source", "lifetimeFigures", "--from", "2020-01-01", "--vip-top", "1", "--out", out])
        #expect(cli.status == 0, "\(cli.output)")
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        #expect(text == answer.body, "the CLI and the API agree")
        // The default source is the sales store, read beside the serving switch.
        let fromSales = try harness.command(["report", "segments", "--from", "2020-01-01"])
        #expect(fromSales.status == 0 && fromSales.output.contains("source sales"), "\(fromSales.output)")
    }
}
