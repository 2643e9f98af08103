import Foundation
import Glibc
import Testing

/// The operator's dashboard (`GET /`) end to end: the real binary under ISO 8583 purchases and admin writes, the
/// page opened in a real headless Chromium (Debian's `chromium`, driven over the DevTools protocol by
/// dashboard_browser.py), and the club's figures in `/metrics` that feed it. A missing chromium or
/// websocket-client fails the test (.ci/run installs both); nothing is skipped.
@Suite("Admin dashboard", .serialized)
struct AdminDashboardTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("dashboard_browser.py").path
    /// Where the screenshots are kept (a CI artifact; .ci/run prints the path).
    static let artifacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/artifacts").path

    /// Tiers by purchase count (SILVER from the second purchase), a point per 100 minor units.
    static var settings: SwitchSettings {
        var settings = SwitchSettings.admin(["requestsPerSecondPerToken": 100_000])
        settings.rules = [
            "version": 1, "currency": 364,
            "earning": ["default": ["points": 1, "perAmountMinor": 100]],
            "tiers": [
                "windowDays": 365, "by": "count",
                "levels": [["id": "BASE", "from": 0], ["id": "SILVER", "from": 2]],
            ],
        ]
        return settings
    }

    /// The switch in `directory` with an admin token, after `driveTraffic`.
    static func startWithTraffic(_ directory: ScratchDirectory) throws -> (SwitchProcess, admin: String, port: UInt16) {
        let (server, admin) = try AdminUsersAndAuditTests.start(directory, settings: settings)
        do {
            let port = try #require(server.adminPort)
            try driveTraffic(server, port: port, admin: admin)
            return (server, admin, port)
        } catch {
            server.stop()
            throw error
        }
    }

    /// Purchases at two merchants (one member reaches SILVER), an enrolment and a credit adjustment by API.
    static func driveTraffic(_ server: SwitchProcess, port: UInt16, admin: String) throws {
        var terminal = Terminal()
        let client = try SwitchClient(port: server.port)
        terminal.merchant = "SHOPA"
        for (stan, amount): (Int, Int64) in [(60, 1_000), (61, 2_000), (62, 3_000)] {
            #expect(try client.exchange(terminal.purchase(Wire.card(1, test: 71), amount, stan: stan)).code == "00")
        }
        terminal.merchant = "SHOPB"
        #expect(try client.exchange(terminal.purchase(Wire.card(2, test: 71), 50_000)).code == "00")
        #expect(try client.exchange(terminal.redeem(Wire.card(3, test: 71), 10)).code == "14")
        let enrolled = try AdminAccessClient.post(
            port, "/v1/members", token: admin, #"{"pan":"\#(Wire.card(4, test: 71))"}"#)
        let member = try #require(enrolled.json["id"] as? String)
        let adjusted = try AdminAccessClient.post(
            port, "/v1/members/\(member)/adjustments", token: admin,
            #"{"asset":"credit","amount":2500,"reason":"goodwill"}"#)
        #expect(adjusted.code == 201 || adjusted.code == 200, "\(adjusted.body)")
    }

    @Test("the club's figures in /metrics: members by tier, points and credit held, breakage, sales per merchant")
    func figuresInMetrics() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, _, port) = try Self.startWithTraffic(directory)
        defer { server.stop() }
        let text = try AdminClient.get(port, "/metrics")
        let metrics = AdminClient.samples(text)
        #expect(metrics[#"loyalty_members_by_tier{tier="BASE",index="0"}"#] == 2)
        #expect(metrics[#"loyalty_members_by_tier{tier="SILVER",index="1"}"#] == 1)
        #expect(metrics["loyalty_points_outstanding"] == 560, "10 + 20 + 30 + 500")
        #expect(metrics["loyalty_credit_outstanding_minor"] == 2_500)
        #expect(metrics["loyalty_points_expired_total"] == 0 && metrics["loyalty_credit_expired_minor_total"] == 0)
        #expect(metrics[#"loyalty_merchant_sales_total{merchant="SHOPA"}"#] == 3)
        #expect(metrics[#"loyalty_merchant_sales_amount_minor_total{merchant="SHOPA"}"#] == 6_000)
        #expect(metrics[#"loyalty_merchant_sales_total{merchant="SHOPB"}"#] == 1)
        #expect(metrics[#"loyalty_merchant_sales_amount_minor_total{merchant="SHOPB"}"#] == 50_000)
        let verdict = try AdminClient.promtool(text)
        #expect(verdict.status == 0 && verdict.output.isEmpty, "promtool: \(verdict.output)")
        // Reversing two of the three purchases takes the member back below SILVER's two purchases, and their points.
        var terminal = Terminal()
        terminal.merchant = "SHOPA"
        let client = try SwitchClient(port: server.port)
        for (stan, amount): (Int, Int64) in [(61, 2_000), (62, 3_000)] {
            let reversal = terminal.message(
                400, processing: "000000", card: Wire.card(1, test: 71), amount: amount,
                original: terminal.originalData(mti: 200, stan: stan))
            #expect(try client.exchange(reversal).code == "00")
        }
        let reversed = AdminClient.samples(try AdminClient.get(port, "/metrics"))
        #expect(reversed[#"loyalty_members_by_tier{tier="BASE",index="0"}"#] == 3)
        #expect(reversed[#"loyalty_members_by_tier{tier="SILVER",index="1"}"#] == 0)
        #expect(reversed["loyalty_points_outstanding"] == 510, "10 + 500")
        #expect(reversed[#"loyalty_merchant_sales_total{merchant="SHOPA"}"#] == 3, "reversals are not subtracted")
        // A restart recounts from the recovered state: the same tiers and value held; sales restart from zero.
        server.stop()
        let again = try SwitchProcess(directory: directory, settings: Self.settings, run: 1)
        defer { again.stop() }
        let restarted = AdminClient.samples(try AdminClient.get(try #require(again.adminPort), "/metrics"))
        #expect(restarted[#"loyalty_members_by_tier{tier="SILVER",index="1"}"#] == 0)
        #expect(restarted[#"loyalty_members_by_tier{tier="BASE",index="0"}"#] == 3)
        #expect(
            restarted["loyalty_points_outstanding"] == 510 && restarted["loyalty_credit_outstanding_minor"] == 2_500)
        #expect(restarted[#"loyalty_merchant_sales_total{merchant="SHOPA"}"#] == nil)
    }

    @Test("a shard counts 64 merchants by name; sales at further merchants are counted together, without a label")
    func merchantsPastTheLimit() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, _) = try AdminUsersAndAuditTests.start(directory, settings: Self.settings)
        defer { server.stop() }
        var terminal = Terminal()
        let client = try SwitchClient(port: server.port)
        // One card: every sale is on its member's shard, whose table takes 64 merchants.
        for index in 1...66 {
            terminal.merchant = "M\(index)"
            #expect(try client.exchange(terminal.purchase(Wire.card(9, test: 72), 100)).code == "00")
        }
        let text = try AdminClient.get(try #require(server.adminPort), "/metrics")
        let named = text.split(separator: "\n").filter { $0.hasPrefix("loyalty_merchant_sales_total{merchant=") }
        #expect(named.count == 64)
        #expect(!named.contains { $0.contains("\"M65\"") || $0.contains("\"M66\"") })
        let metrics = AdminClient.samples(text)
        #expect(
            metrics["loyalty_merchant_sales_total"] == 2 && metrics["loyalty_merchant_sales_amount_minor_total"] == 200)
        let verdict = try AdminClient.promtool(text)
        #expect(verdict.status == 0 && verdict.output.isEmpty, "promtool: \(verdict.output)")
    }

    @Test("GET / is one self-contained page with a strict Content-Security-Policy and no token needed")
    func pageHeaders() throws {
        try withSwitch { server in
            let port = try #require(server.adminPort)
            let answer = try AdminAccessClient.call(port, "GET", "/", token: nil)
            #expect(answer.code == 200)
            #expect(answer.header("content-type") == "text/html; charset=utf-8")
            let policy = try #require(answer.header("content-security-policy"))
            #expect(policy.hasPrefix("default-src 'none'; script-src 'sha256-"), "\(policy)")
            #expect(policy.contains("connect-src 'self'") && policy.contains("frame-ancestors 'none'"))
            #expect(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"))
            #expect(answer.header("x-content-type-options") == "nosniff")
            #expect(!answer.body.contains("src=\"http") && !answer.body.contains("href=\"http"), "no external assets")
            #expect(answer.body.contains("<html lang=\"en\" dir=\"ltr\">"))
        }
    }

    @Test(
        "headless Chromium: log in with a token, no console errors, the numbers equal /metrics and the audit trail, Persian is right to left"
    )
    func pageInChromium() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, admin, port) = try Self.startWithTraffic(directory)
        defer { server.stop() }
        // Read before the page: its wrong-token attempt at the end adds an `auth.refused` entry.
        let audit = try AdminAccessClient.audit(port, token: admin)
        let result = try runTool(
            "/usr/bin/env", ["python3", Self.script, "http://127.0.0.1:\(port)/", admin, Self.artifacts], timeout: 120)
        let data = Data(result.output.split(separator: "\n").last.map { String($0) }?.utf8 ?? "".utf8)
        let report = try #require(
            try? JSONSerialization.jsonObject(with: data) as? [String: Any], "dashboard_browser.py: \(result.output)")
        #expect(result.status == 0)
        #expect(report["problems"] as? [String] == [], "console errors: \(report["problems"] ?? "")")
        #expect(report["beforeLogin"] as? Bool == true, "nothing is shown before a token is given")
        let english = try #require(report["english"] as? [String: Any])
        let persian = try #require(report["persian"] as? [String: Any])
        #expect(english["dir"] as? String == "ltr" && english["lang"] as? String == "en")
        #expect(persian["dir"] as? String == "rtl" && persian["lang"] as? String == "fa")
        #expect(persian["heading"] as? String == "تراکنش‌ها")
        #expect(english["sessionToken"] as? String == admin && english["localItems"] as? Int == 0)
        #expect(english["labelled"] as? Bool == true && (english["columnHeadings"] as? Int ?? 0) >= 14)
        #expect(english["auditMessageHidden"] as? Bool == true)
        let metrics = AdminClient.samples(try AdminClient.get(port, "/metrics"))
        try Self.expectNumbers(english, equal: metrics)
        try Self.expectNumbers(persian, equal: metrics)
        let points = try #require((persian["values"] as? [String: [String: String]])?["points-outstanding"]?["text"])
        #expect(points == "۵۶۰", "Persian digits: \(points)")
        let rows = try #require((english["tables"] as? [String: [[[String: Any]]]])?["audit"])
        let shown = rows.compactMap { $0.first?["text"] as? String }
        let expected = audit.suffix(10).reversed().map { String($0["seq"] as? Int ?? -1) }
        #expect(shown == expected, "the newest admin actions first")
        #expect(rows.first?[3]["text"] as? String == audit.last?["action"] as? String)
        #expect((report["refusal"] as? String)?.isEmpty == false && report["tokenAfterRefusal"] is NSNull)
        #expect(FileManager.default.fileExists(atPath: Self.artifacts + "/dashboard.png"))
    }

    /// Prometheus' histogram_quantile over cumulative buckets, in milliseconds rounded to the microsecond as the
    /// page shows it: an independent copy of the page's arithmetic.
    static func quantile(_ q: Double, _ buckets: [(bound: Double, count: Double)]) -> Double? {
        guard let total = buckets.last?.count, total > 0 else { return nil }
        let rank = q * total
        var lower = (bound: 0.0, count: 0.0)
        for bucket in buckets {
            if bucket.count >= rank {
                let seconds =
                    bucket.bound == .infinity
                    ? lower.bound
                    : bucket.count == lower.count
                        ? bucket.bound
                        : lower.bound + (bucket.bound - lower.bound) * (rank - lower.count)
                            / (bucket.count - lower.count)
                return (seconds * 1e6).rounded() / 1e3
            }
            lower = bucket
        }
        return nil
    }

    /// Every number the page read equals the scrape's: totals, value, tiers, merchants, codes.
    static func expectNumbers(_ page: [String: Any], equal metrics: [String: Double]) throws {
        let values = try #require(page["values"] as? [String: [String: String]])
        func shown(_ id: String) -> Double? { values[id]?["value"].flatMap(Double.init) }
        let answered = metrics.filter { $0.key.hasPrefix("loyalty_iso_requests_total{") && !$0.key.contains("0800") }
        #expect(shown("answered") == answered.values.reduce(0, +))
        #expect(shown("points-outstanding") == metrics["loyalty_points_outstanding"])
        #expect(shown("credit-outstanding") == metrics["loyalty_credit_outstanding_minor"])
        #expect(shown("points-expired") == metrics["loyalty_points_expired_total"])
        #expect(shown("credit-expired") == metrics["loyalty_credit_expired_minor_total"])
        #expect(shown("in-flight") == 0 && shown("rate") == 0, "no traffic while the page looked")
        let buckets = metrics.compactMap { sample -> (bound: Double, count: Double)? in
            guard sample.key.hasPrefix("loyalty_authorization_latency_seconds_bucket{le=\"") else { return nil }
            let bound = sample.key.dropFirst("loyalty_authorization_latency_seconds_bucket{le=\"".count).dropLast(2)
            return (bound == "+Inf" ? Double.infinity : Double(bound) ?? -1, sample.value)
        }.sorted { $0.bound < $1.bound }
        #expect(shown("p50-total") == quantile(0.5, buckets) && shown("p99-total") == quantile(0.99, buckets))
        let tables = try #require(page["tables"] as? [String: [[[String: Any]]]])
        func cell(_ table: String, _ key: String, _ column: Int) -> Double? {
            let row = tables[table]?.first { $0.first?["text"] as? String == key }
            return (row?[column]["value"] as? String).flatMap(Double.init)
        }
        #expect(cell("tiers", "BASE", 1) == 2 && cell("tiers", "SILVER", 1) == 1)
        #expect(cell("merchants", "SHOPB", 1) == 1 && cell("merchants", "SHOPB", 2) == 50_000)
        #expect(cell("merchants", "SHOPA", 1) == 3 && cell("merchants", "SHOPA", 2) == 6_000)
        #expect(tables["merchants"]?.first?.first?["text"] as? String == "SHOPB", "the largest amount first")
        #expect(cell("codes", "00", 2) == metrics[#"loyalty_iso_requests_total{mti="0200",code="00"}"#])
        #expect(cell("codes", "14", 2) == metrics[#"loyalty_iso_requests_total{mti="0200",code="14"}"#])
    }
}
