import Foundation
import Glibc
import ISO8583
import Testing

@testable import SwitchCore

/// Health and metrics of the real switch: a stopped shard turns health to 503 with the reason, and metrics
/// follow ISO 8583 traffic, pass promtool, and count admin requests.
@Suite struct AdminHealthAndMetricsTests {
    @Test("a full disk: purchases get 96, health is 503 naming the declining shard and why, and 200 once it heals")
    func healthFollowsAFullDisk() throws {
        // A real full disk (a small tmpfs): once the allocated segments fill, the shard declines every request
        // (96) until space comes back, and health says so; freed space brings approvals and health back.
        let disk = try SmallDisk(bytes: 1 << 20)
        defer { disk.unmount() }
        let data = ScratchDirectory(data: disk.path + "/data")
        defer { data.remove() }
        let server = try SwitchProcess(directory: data, settings: StorageFaultTests.faultSettings())
        defer { server.stop() }
        let port = try #require(server.adminPort)
        #expect(try AdminClient.curlStatus(["http://127.0.0.1:\(port)/v1/health"]).code == 200)
        let filler = try disk.fill()
        var terminal = Terminal()
        let client = try SwitchClient(port: server.port)
        var declined = 0
        for index in 0..<2_000 where declined == 0 {
            if try client.exchange(terminal.purchase(Wire.card(index % 50, test: 40), 500)).code == "96" {
                declined += 1
            }
        }
        #expect(declined == 1, "the shard declines once its allocated segments are full")
        let (code, body) = try AdminClient.curlStatus(["http://127.0.0.1:\(port)/v1/health"])
        #expect(code == 503)
        let problem = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(problem["status"] as? Int == 503 && problem["title"] as? String == "Service Unavailable")
        let detail = try #require(problem["detail"] as? String)
        #expect(detail.contains("shard 0 declining until its log has room again"), "\(detail)")
        let metrics = AdminClient.samples(try AdminClient.get(port, "/metrics"))
        #expect(metrics["loyalty_iso_requests_total{mti=\"0200\",code=\"96\"}"] == 1)
        try FileManager.default.removeItem(atPath: filler)
        #expect(server.waitForLog("approving again"))
        #expect(try AdminClient.curlStatus(["http://127.0.0.1:\(port)/v1/health"]).code == 200)
    }

    @Test("metrics move with ISO 8583 traffic: requests by MTI and code, latency, members, connections, admin requests")
    func metricsFollowTraffic() throws {
        try withSwitch { server in
            let port = try #require(server.adminPort)
            let before = AdminClient.samples(try AdminClient.get(port, "/metrics"))
            #expect(before["loyalty_iso_requests_total{mti=\"0200\",code=\"00\"}"] == nil)
            #expect(before["loyalty_authorization_latency_seconds_count"] == 0)
            var terminal = Terminal()
            let client = try SwitchClient(port: server.port)
            for card in 1...3 {
                #expect(try client.exchange(terminal.purchase(Wire.card(card, test: 41), 1_000)).code == "00")
            }
            var echo = terminal.message(800)
            try echo.set(70, "301")
            #expect(try client.exchange(echo).code == "00")
            let after = AdminClient.samples(try AdminClient.get(port, "/metrics"))
            #expect(after["loyalty_iso_requests_total{mti=\"0200\",code=\"00\"}"] == 3)
            #expect(after["loyalty_iso_requests_total{mti=\"0800\",code=\"00\"}"] == 1)
            #expect(after["loyalty_authorization_latency_seconds_count"] == 4)
            #expect(after["loyalty_authorization_latency_seconds_bucket{le=\"+Inf\"}"] == 4)
            // Only the three purchases went to the ledger (the echo is the loop's own): their waits, each within
            // its whole answer's latency.
            #expect(after["loyalty_ledger_wait_seconds_count"] == 3)
            let ledgerWait = try #require(after["loyalty_ledger_wait_seconds_sum"])
            #expect(ledgerWait > 0 && ledgerWait <= after["loyalty_authorization_latency_seconds_sum"] ?? 0)
            let members = (0..<2).compactMap { after["loyalty_ledger_members{shard=\"\($0)\"}"] }.reduce(0, +)
            #expect(members == 3)
            let records = (0..<2).compactMap { after["loyalty_ledger_batch_records_sum{shard=\"\($0)\"}"] }.reduce(0, +)
            #expect(records == 3, "every purchase's record was counted in a group commit")
            // Each purchase waited for its answer, so each was a commit group of its own, timed by wall and CPU clock.
            let groups = (0..<2).compactMap { after["loyalty_ledger_group_seconds_count{shard=\"\($0)\",checkpoint=\"false\"}"] }
            let cpuGroups = (0..<2).compactMap {
                after["loyalty_ledger_group_cpu_seconds_count{shard=\"\($0)\",checkpoint=\"false\"}"]
            }
            #expect(groups.reduce(0, +) >= 3 && groups == cpuGroups, "\(groups) \(cpuGroups)")
            // Each purchase was a batch the shard took from its queue, timed from its queueing.
            let taken = (0..<2).compactMap { after["loyalty_ledger_queue_wait_seconds_count{shard=\"\($0)\"}"] }
            #expect(taken.reduce(0, +) >= 3, "\(taken)")
            #expect(after["loyalty_connections_open{listener=\"127.0.0.1:\(server.port)\",kind=\"iso8583\"}"] == 1)
            #expect(after["loyalty_connections_open{listener=\"127.0.0.1:\(port)\",kind=\"admin\"}"] == 1)
            #expect(after["loyalty_admin_requests_total{route=\"GET /metrics\",status=\"200\"}"] == 1)
            #expect(after["loyalty_iso_requests_in_flight"] == 0)
        }
    }

    @Test(
        "promtool check metrics (Debian's prometheus package) accepts a scrape after traffic, with TLS and admin requests"
    )
    func promtoolAcceptsMetrics() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let certificates = try TestCertificates(in: directory.path)
        var settings = SwitchSettings()
        settings.listeners = [
            ["address": "127.0.0.1:0"], ["address": "127.0.0.1:0", "tls": certificates.listenerTLS()],
        ]
        let server = try SwitchProcess(directory: directory, settings: settings)
        defer { server.stop() }
        let port = try #require(server.adminPort)
        var terminal = Terminal()
        let client = try SwitchClient(port: server.port)
        #expect(try client.exchange(terminal.purchase(Wire.card(1, test: 42), 700)).code == "00")
        _ = try AdminClient.curlStatus(["http://127.0.0.1:\(port)/nowhere"])
        let text = try AdminClient.get(port, "/metrics")
        let verdict = try AdminClient.promtool(text)
        #expect(verdict.status == 0 && verdict.output.isEmpty, "promtool: \(verdict.output)")
        #expect(
            text.contains(
                "loyalty_tls_handshakes_total{listener=\"127.0.0.1:\(server.ports[1])\",outcome=\"completed\"} 0"))
        #expect(text.contains("loyalty_admin_requests_total{route=\"unmatched\",status=\"404\"} 1"))
        // No checkpoint while serving yet: the stall histogram is there, empty, with 1 ms as a bound.
        #expect(text.contains("loyalty_ledger_checkpoint_stall_seconds_bucket{shard=\"0\",le=\"0.001\"} 0"))
    }

    @Test("the admin listener over TLS: curl verifies the certificate, and the handshake is counted in metrics")
    func adminOverTLS() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let certificates = try TestCertificates(in: directory.path)
        var settings = SwitchSettings()
        settings.admin = ["listen": "127.0.0.1:0", "tls": certificates.listenerTLS()]
        let server = try SwitchProcess(directory: directory, settings: settings)
        defer { server.stop() }
        let port = try #require(server.adminPort)
        #expect(server.log.contains("admin API listening on https://127.0.0.1:\(port)"))
        let base = "https://127.0.0.1:\(port)"
        let health = try AdminClient.curlStatus(["--cacert", certificates.path("ca.pem"), base + "/v1/health"])
        #expect(health.code == 200 && health.body == #"{"status":"ok"}"#)
        let metrics = try AdminClient.curlStatus(["--cacert", certificates.path("ca.pem"), base + "/metrics"])
        #expect(
            metrics.body.contains(
                "loyalty_tls_handshakes_total{listener=\"127.0.0.1:\(port)\",outcome=\"completed\"} 2"))
        let plain = try AdminClient.curl(["http://127.0.0.1:\(port)/v1/health"])
        #expect(plain.status != 0, "plain HTTP on the TLS admin port is refused")
    }

    @Test("GET /v1/openapi.json is specs/admin-api.json byte for byte, a valid OpenAPI 3.1 document")
    func openAPIDocument() throws {
        try withSwitch { server in
            let port = try #require(server.adminPort)
            let served = try AdminClient.get(port, "/v1/openapi.json")
            let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("specs/admin-api.json")
            let onDisk = try String(contentsOf: file, encoding: .utf8)
            #expect(served == onDisk, "the document is served with its final newline, exactly as the file")
            let validator = try runTool(
                "/usr/bin/env",
                [
                    "python3", "-c",
                    "import json,sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')",
                    file.path,
                ])
            #expect(validator.status == 0 && validator.output.contains("valid"), "\(validator.output)")
        }
    }
}
