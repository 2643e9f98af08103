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

    static func event(_ port: UInt16, token: String, _ body: String) throws -> AdminAnswer {
        try AdminAccessClient.call(port, "POST", "/v1/events", token: token, body: body)
    }

    static func points(_ port: UInt16, token: String, member: String) throws -> Int? {
        let shown = try AdminAccessClient.call(port, "GET", "/v1/members/\(member)", token: token)
        return (shown.json["balances"] as? [String: Any])?["points"] as? Int
    }

    @Test("operator 201 with the points; over the limit 201 with 0 and why; repeats alike; 409, 422, 404, 403, 401")
    func eventsPerRole() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var (server, admin) = try AdminUsersAndAuditTests.start(directory, settings: Self.settings)
        defer { server.stop() }
        var port = server.adminPort!
        let operatorUser = try AdminAccessClient.createUser(port, token: admin, name: "Op", role: "operator")
        let auditor = try AdminAccessClient.createUser(port, token: admin, name: "Aud", role: "auditor")
        let pan = Wire.card(21, test: 13)
        let enrolled = try AdminMembersAndCardsTests.post(port, "/v1/members", token: admin, #"{"pan":"\#(pan)"}"#)
        let member = try #require(enrolled.json["id"] as? String)
        let survey = #"{"id":"ev-1","type":"survey","memberId":"\#(member)"}"#
        let first = try Self.event(port, token: operatorUser.token, survey)
        #expect(first.code == 201 && first.json["pointsAwarded"] as? Int == 50, "\(first.body)")
        #expect(first.json["limited"] as? Bool == false && first.json["balanceAfter"] as? Int == 50)
        let repeated = try Self.event(port, token: operatorUser.token, survey)
        #expect(
            repeated.code == 201 && repeated.body == first.body && repeated.header("idempotency-replayed") == "true")
        let byPan = #"{"id":"ev-2","type":"survey","pan":"\#(pan)"}"#
        let limited = try Self.event(port, token: operatorUser.token, byPan)
        #expect(limited.code == 201 && limited.json["pointsAwarded"] as? Int == 0, "\(limited.body)")
        #expect(limited.json["limited"] as? Bool == true && limited.body.contains("1 per day"))
        #expect(!limited.body.contains(pan))
        let reused = try Self.event(
            port, token: operatorUser.token, #"{"id":"ev-1","type":"tap","memberId":"\#(member)"}"#)
        #expect(reused.code == 409 && reused.body.contains("$.id"), "\(reused.body)")
        let unknownType = try Self.event(
            port, token: operatorUser.token, #"{"id":"ev-3","type":"review","pan":"\#(pan)"}"#)
        #expect(unknownType.code == 422 && unknownType.body.contains("$.type"))
        let nobody = "mbr_" + String(repeating: "0", count: 32)
        let unknownMember = try Self.event(
            port, token: operatorUser.token, #"{"id":"ev-4","type":"survey","memberId":"\#(nobody)"}"#)
        #expect(unknownMember.code == 404, "\(unknownMember.body)")
        let both = try Self.event(
            port, token: operatorUser.token, #"{"id":"ev-5","type":"survey","pan":"\#(pan)","memberId":"\#(member)"}"#)
        #expect(both.code == 422)
        #expect(try Self.event(port, token: operatorUser.token, #"{"type":"survey","pan":"\#(pan)"}"#).code == 400)
        let longId = String(repeating: "x", count: 65)
        let tooLong = try Self.event(
            port, token: operatorUser.token, #"{"id":"\#(longId)","type":"survey","pan":"\#(pan)"}"#)
        #expect(tooLong.code == 422 && tooLong.body.contains("$.id"), "ids are at most 64 characters")
        #expect(try Self.event(port, token: auditor.token, survey).code == 403)
        #expect(try AdminAccessClient.call(port, "POST", "/v1/events", token: nil, body: survey).code == 401)
        let entries = try AdminAccessClient.audit(port, token: admin).filter {
            $0["action"] as? String == "events.record"
        }
        #expect(entries.count == 2, "the paid event and the limited one; repeats and refusals add none")

        server.stop()  // SIGKILL: the repeat is answered from the log
        server = try SwitchProcess(directory: directory, settings: Self.settings, run: 1)
        port = server.adminPort!
        let afterKill = try Self.event(port, token: operatorUser.token, survey)
        #expect(afterKill.code == 201 && afterKill.body == first.body, "\(afterKill.body)")
        #expect(server.signalAndWait(SIGTERM)?.status == 0, "a graceful stop writes snapshots")
        #expect(FileManager.default.enumerator(atPath: directory.data)?.contains { "\($0)".hasSuffix(".snap") } == true)
        server = try SwitchProcess(directory: directory, settings: Self.settings, run: 2)
        port = server.adminPort!
        #expect(try Self.event(port, token: operatorUser.token, byPan).body == limited.body, "after a snapshot too")
        #expect(try Self.points(port, token: admin, member: member) == 50)
        #expect(!server.log.contains(pan))
    }

    @Test("SIGKILL in a burst of events: every 201 is in the balance and the trail, and nothing else; repeats replay")
    func killDuringEvents() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var (server, admin) = try AdminUsersAndAuditTests.start(directory, settings: Self.settings)
        defer { server.stop() }
        let pan = Wire.card(22, test: 13)
        let enrolled = try AdminMembersAndCardsTests.post(
            server.adminPort!, "/v1/members", token: admin, #"{"pan":"\#(pan)"}"#)
        let member = try #require(enrolled.json["id"] as? String)
        let acknowledged = try AdminBurst.killAfter(
            40, server: server, directory: directory, token: admin, member: member, event: "tap"
        ).compactMap { Int($0) }
        #expect(acknowledged.count >= 40)
        server = try SwitchProcess(directory: directory, settings: Self.settings, run: 1)
        let port = server.adminPort!
        let points = try #require(try Self.points(port, token: admin, member: member))
        let entries = try AdminAccessClient.audit(port, token: admin).filter {
            $0["action"] as? String == "events.record"
        }
        #expect(points >= acknowledged.max() ?? 0, "every answered event is in the balance")
        #expect(entries.count == points, "one entry per durable event, no more, no less")
        for number in 1...3 {
            let again = try Self.event(
                port, token: admin, #"{"id":"e-0-\#(number)","type":"tap","memberId":"\#(member)"}"#)
            #expect(again.code == 201 && again.header("idempotency-replayed") == "true", "\(again.body)")
        }
        #expect(try Self.points(port, token: admin, member: member) == points, "repeats change nothing")
        let audit = try AdminAccessClient.command(["audit", "verify", "--data", directory.data])
        #expect(audit.status == 0 && audit.output.contains("chain intact"), "\(audit.output)")
        server.stop()
        let ledger = try AdminAccessClient.command(["ledger", "verify", "--data", directory.data])
        #expect(ledger.status == 0, "\(ledger.output)")
    }
}
