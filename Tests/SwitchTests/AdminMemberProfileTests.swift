import Foundation
import Glibc
import Testing

/// Members' names, phones and birthdays (the member directory) and adjustment notes, end to end: the real binary
/// over real HTTP, a restart, a SIGKILL during enrolments, the directory's limit, and what each role sees.
@Suite("Admin member profiles", .serialized)
struct AdminMemberProfileTests {
    static func profile(_ answer: AdminAnswer) -> [String: Any] {
        answer.json["profile"] as? [String: Any] ?? [:]
    }

    static let persianName = "زهرا محمدی"

    @Test("enrol with a Persian name, phone and birthday: 201 and GET show them, the same after a restart")
    func profileRoundTrip() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        let pan = Wire.card(1, test: 1301)
        let body = #"{"pan":"\#(pan)","name":"\#(Self.persianName)","phone":"+989121234567","birthday":"1990-04-12"}"#
        let enrolled = try harness.post("/v1/members", token: admin, body)
        #expect(enrolled.code == 201, "\(enrolled.body)")
        let member = try #require(enrolled.json["id"] as? String)
        #expect(Self.profile(enrolled)["name"] as? String == Self.persianName)
        #expect(Self.profile(enrolled)["phone"] as? String == "+989121234567")
        let shown = try harness.call("GET", "/v1/members/\(member)", token: admin)
        #expect(Self.profile(shown)["name"] as? String == Self.persianName)
        #expect(Self.profile(shown)["birthday"] as? String == "1990-04-12")
        let plain = try harness.post(
            "/v1/members", token: admin, #"{"pan":"\#(Wire.card(2, test: 1301))"}"#)
        #expect(plain.code == 201 && Self.profile(plain).isEmpty, "no texts, an empty profile: \(plain.body)")
        try harness.killAndRestart()
        let again = try harness.call("GET", "/v1/members/\(member)", token: admin)
        #expect(again.code == 200 && Self.profile(again)["name"] as? String == Self.persianName, "\(again.body)")
        #expect(Self.profile(again)["phone"] as? String == "+989121234567")
        #expect(harness.server.log.contains("1 members in the directory"), "the start reports the directory")
        let journal = (try? String(contentsOfFile: harness.data + "/audit/journal.jsonl", encoding: .utf8)) ?? ""
        #expect(!journal.contains("+989121234567") && !journal.contains(pan), "no phone or card in the trail")
    }

    @Test("validation names the field: name, phone and note at their limits are accepted, one over is 422")
    func validationAtTheLimits() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        func enrol(_ number: Int, _ fields: String) throws -> AdminAnswer {
            try harness.post("/v1/members", token: admin, #"{"pan":"\#(Wire.card(number, test: 1302))",\#(fields)}"#)
        }
        let longest = String(repeating: "ن", count: 100)
        #expect(try enrol(1, #""name":"\#(longest)""#).code == 201)
        let tooLong = try enrol(2, #""name":"\#(longest)ن""#)
        #expect(tooLong.code == 422 && tooLong.body.contains("$.name"), "\(tooLong.body)")
        let control = try enrol(2, #""name":"a\u0007b""#)
        #expect(control.code == 422 && control.body.contains("$.name"))
        let blank = try enrol(2, #""name":"   ""#)
        #expect(blank.code == 422 && blank.body.contains("$.name"))
        #expect(try enrol(3, #""phone":"+123456789012345""#).code == 201, "15 digits after +")
        for phone in ["+1234567890123456", "0912-123", "123", "++98912"] {
            let refused = try enrol(4, #""phone":"\#(phone)""#)
            #expect(refused.code == 422 && refused.body.contains("$.phone"), "\(phone): \(refused.body)")
        }
        #expect(try enrol(5, #""name":5"#).code == 400)
        let lookup = try harness.post("/v1/cards/lookup", token: admin, #"{"pan":"\#(Wire.card(4, test: 1302))"}"#)
        #expect(lookup.code == 404, "a refused enrolment changed nothing")

        let member = try #require(try enrol(6, #""name":"Ali""#).json["id"] as? String)
        let path = "/v1/members/\(member)/adjustments"
        let note = String(repeating: "ی", count: 500)
        let noted = try harness.post(
            path, token: admin, #"{"asset":"points","amount":5,"reason":"goodwill","note":"\#(note)"}"#)
        #expect(noted.code == 201 && noted.json["note"] as? String == note, "\(noted.body)")
        let overNote = try harness.post(
            path, token: admin, #"{"asset":"points","amount":5,"reason":"goodwill","note":"\#(note)x"}"#)
        #expect(overNote.code == 422 && overNote.body.contains("$.note"))
        let entry = try harness.audit().last { $0["action"] as? String == "members.adjust" }
        #expect((entry?["detail"] as? [String: Any])?["note"] as? String == note, "the note is in the audit entry")
    }

    @Test("directory limit: at admin.directoryMembersMax an enrolment with texts is 409 and changes nothing")
    func directoryLimit() throws {
        let settings = SwitchSettings.admin(["directoryMembersMax": 2])
        let harness = try AdminHarness(settings: settings)
        defer { harness.close() }
        let admin = harness.admin
        func enrol(_ number: Int, _ fields: String) throws -> AdminAnswer {
            let pan = Wire.card(number, test: 1303)
            return try harness.post("/v1/members", token: admin, #"{"pan":"\#(pan)"\#(fields)}"#)
        }
        #expect(try enrol(1, #","name":"One""#).code == 201)
        #expect(try enrol(2, #","phone":"09120000002""#).code == 201)
        let full = try enrol(3, #","name":"Three""#)
        #expect(full.code == 409 && full.body.contains("directoryMembersMax"), "\(full.body)")
        let lookup = try harness.post(
            "/v1/cards/lookup", token: admin, #"{"pan":"\#(Wire.card(3, test: 1303))"}"#)
        #expect(lookup.code == 404, "the full directory refused before the ledger")
        #expect(try enrol(4, "").code == 201, "a member without texts takes no place")
        #expect(try enrol(1, #","name":"Again""#).code == 409, "a declined enrolment gives its place back")
        try harness.killAndRestart()
        #expect(try enrol(5, #","name":"Five""#).code == 409, "the limit holds after a restart")
    }

    @Test("roles: auditor sees the profile; merchant sees the member without profile and stats; 401 without token")
    func rolesSeeWhatTheyMay() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        let auditor = try harness.createUser(name: "Aud", role: "auditor")
        let merchant = try harness.createUser(
            name: "Shop", role: "merchant", merchants: ["M0001"])
        let pan = Wire.card(1, test: 1304)
        let body = #"{"pan":"\#(pan)","name":"Sara","phone":"09121112233"}"#
        let member = try #require(try harness.post("/v1/members", token: admin, body).json["id"] as? String)
        let seen = try harness.call("GET", "/v1/members/\(member)", token: auditor.token)
        #expect(seen.code == 200 && Self.profile(seen)["phone"] as? String == "09121112233")
        let shop = try harness.call("GET", "/v1/members/\(member)", token: merchant.token)
        #expect(shop.code == 200 && shop.json["id"] as? String == member, "\(shop.body)")
        #expect(Self.profile(shop).isEmpty && shop.json["stats"] == nil, "no PII, no all-merchant stats")
        #expect(!shop.body.contains("Sara") && !shop.body.contains("0912111"))
        #expect(try harness.post("/v1/members", token: merchant.token, body).code == 403)
        #expect(try harness.call("GET", "/v1/members/\(member)", token: nil).code == 401)
    }

    @Test("SIGKILL in a burst of enrolments with Persian names: every 201 member has its name after the restart")
    func killDuringEnrolments() throws {
        let settings = SwitchSettings.admin(["requestsPerSecondPerToken": 100_000])
        let harness = try AdminHarness(settings: settings)
        defer { harness.close() }
        let admin = harness.admin
        let acknowledged = try AdminBurst.killAfter(
            30, server: harness.server, directory: harness.directory, token: admin, member: "enrol")
        #expect(acknowledged.count >= 30)
        try harness.start()
        for member in acknowledged {
            let shown = try harness.call("GET", "/v1/members/\(member)", token: admin)
            let name = Self.profile(shown)["name"] as? String ?? ""
            #expect(shown.code == 200 && name.hasPrefix("مریم رضایی"), "\(member): \(shown.body)")
        }
        let audit = try harness.command(["audit", "verify"])
        #expect(audit.status == 0, "\(audit.output)")
        harness.server.stop()
        let ledger = try harness.command(["ledger", "verify"])
        #expect(ledger.status == 0, "\(ledger.output)")
    }
}
