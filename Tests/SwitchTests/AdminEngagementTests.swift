import Foundation
import Glibc
import Testing

/// Engagement events end to end: the real binary over real HTTP with rules that have an `engagement` section;
/// roles, limits per period, repeats by event id across a SIGKILL restart and a snapshot, and a SIGKILL in a burst
/// of events (every event and its audit entry both there or both absent).
@Suite("Admin engagement events", .serialized)
struct AdminEngagementTests {
    /// A survey pays 50 once a day; a tap 1, a thousand times a day (for the burst).
    static var settings: SwitchSettings {
        var settings = SwitchSettings.admin(["requestsPerSecondPerToken": 100_000])
        settings.rules = [
            "version": 1, "currency": 364,
            "earning": ["default": ["points": 1, "perAmountMinor": 100]],
            "engagement": [
                "events": [
                    ["type": "survey", "points": 50, "limit": ["count": 1, "period": "day"]],
                    ["type": "tap", "points": 1, "limit": ["count": 1_000, "period": "day"]],
                ]
            ],
        ]
        return settings
    }

    @Test("operator 201 with the points; over the limit 201 with 0 and why; repeats alike; 409, 422, 404, 403, 401")
    func eventsPerRole() throws {
        let harness = try AdminHarness(settings: Self.settings)
        defer { harness.close() }
        let operatorUser = try harness.createUser(name: "Op", role: "operator")
        let auditor = try harness.createUser(name: "Aud", role: "auditor")
        let pan = Wire.card(21, test: 13)
        let member = try harness.enrol(pan)
        let survey = #"{"id":"ev-1","type":"survey","memberId":"\#(member)"}"#
        let first = try harness.post("/v1/events", token: operatorUser.token, survey)
        #expect(first.code == 201 && first.json["pointsAwarded"] as? Int == 50, "\(first.body)")
        #expect(first.json["limited"] as? Bool == false && first.json["balanceAfter"] as? Int == 50)
        let repeated = try harness.post("/v1/events", token: operatorUser.token, survey)
        #expect(
            repeated.code == 201 && repeated.body == first.body && repeated.header("idempotency-replayed") == "true")
        let byPan = #"{"id":"ev-2","type":"survey","pan":"\#(pan)"}"#
        let limited = try harness.post("/v1/events", token: operatorUser.token, byPan)
        #expect(limited.code == 201 && limited.json["pointsAwarded"] as? Int == 0, "\(limited.body)")
        #expect(limited.json["limited"] as? Bool == true && limited.body.contains("1 per day"))
        #expect(!limited.body.contains(pan))
        let reused = try harness.post(
            "/v1/events", token: operatorUser.token, #"{"id":"ev-1","type":"tap","memberId":"\#(member)"}"#)
        #expect(reused.code == 409 && reused.body.contains("$.id"), "\(reused.body)")
        let unknownType = try harness.post(
            "/v1/events", token: operatorUser.token, #"{"id":"ev-3","type":"review","pan":"\#(pan)"}"#)
        #expect(unknownType.code == 422 && unknownType.body.contains("$.type"))
        let nobody = "mbr_" + String(repeating: "0", count: 32)
        let unknownMember = try harness.post(
            "/v1/events", token: operatorUser.token, #"{"id":"ev-4","type":"survey","memberId":"\#(nobody)"}"#)
        #expect(unknownMember.code == 404, "\(unknownMember.body)")
        let both = try harness.post(
            "/v1/events", token: operatorUser.token, #"{"id":"ev-5","type":"survey","pan":"\#(pan)","memberId":"\#(member)"}"#)
        #expect(both.code == 422)
        #expect(try harness.post("/v1/events", token: operatorUser.token, #"{"type":"survey","pan":"\#(pan)"}"#).code == 400)
        let longId = String(repeating: "x", count: 65)
        let tooLong = try harness.post(
            "/v1/events", token: operatorUser.token, #"{"id":"\#(longId)","type":"survey","pan":"\#(pan)"}"#)
        #expect(tooLong.code == 422 && tooLong.body.contains("$.id"), "ids are at most 64 characters")
        #expect(try harness.post("/v1/events", token: auditor.token, survey).code == 403)
        #expect(try harness.call("POST", "/v1/events", token: nil, body: survey).code == 401)
        let entries = try harness.audit().filter {
            $0["action"] as? String == "events.record"
        }
        #expect(entries.count == 2, "the paid event and the limited one; repeats and refusals add none")

        try harness.killAndRestart()  // SIGKILL: the repeat is answered from the log
        let afterKill = try harness.post("/v1/events", token: operatorUser.token, survey)
        #expect(afterKill.code == 201 && afterKill.body == first.body, "\(afterKill.body)")
        #expect(harness.server.signalAndWait(SIGTERM)?.status == 0, "a graceful stop writes snapshots")
        #expect(FileManager.default.enumerator(atPath: harness.data)?.contains { "\($0)".hasSuffix(".snap") } == true)
        try harness.start()
        #expect(try harness.post("/v1/events", token: operatorUser.token, byPan).body == limited.body, "after a snapshot too")
        #expect(try harness.points(member) == 50)
        #expect(!harness.server.log.contains(pan))
    }

    @Test("SIGKILL in a burst of events: every 201 is in the balance and the trail, and nothing else; repeats replay")
    func killDuringEvents() throws {
        let harness = try AdminHarness(settings: Self.settings)
        defer { harness.close() }
        let admin = harness.admin
        let pan = Wire.card(22, test: 13)
        let member = try harness.enrol(pan)
        let acknowledged = try AdminBurst.killAfter(
            40, server: harness.server, directory: harness.directory, token: admin, member: member, event: "tap"
        ).compactMap { Int($0) }
        #expect(acknowledged.count >= 40)
        try harness.start()
        let points = try #require(try harness.points(member))
        let entries = try harness.audit().filter {
            $0["action"] as? String == "events.record"
        }
        #expect(points >= acknowledged.max() ?? 0, "every answered event is in the balance")
        #expect(entries.count == points, "one entry per durable event, no more, no less")
        for number in 1...3 {
            let again = try harness.post(
                "/v1/events", token: admin, #"{"id":"e-0-\#(number)","type":"tap","memberId":"\#(member)"}"#)
            #expect(again.code == 201 && again.header("idempotency-replayed") == "true", "\(again.body)")
        }
        #expect(try harness.points(member) == points, "repeats change nothing")
        let audit = try harness.command(["audit", "verify"])
        #expect(audit.status == 0 && audit.output.contains("chain intact"), "\(audit.output)")
        harness.server.stop()
        let ledger = try harness.command(["ledger", "verify"])
        #expect(ledger.status == 0, "\(ledger.output)")
    }
}
