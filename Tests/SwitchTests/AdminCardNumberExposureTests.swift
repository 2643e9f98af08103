import Foundation
import Glibc
import Testing

/// Full card numbers never leave the switch through the admin API: the real binary is driven through every admin
/// route with real cards (bought with at a terminal, enrolled, referred, looked up, adjusted, blocked, replaced,
/// refused), and every answer, the switch's log and every file of the audit directory are searched for each full
/// number used. Routes added later are covered the same way by .ci/schemathesis.sh, which searches for the card
/// numbers Schemathesis sent.
@Suite("Admin card numbers never in full", .serialized)
struct AdminCardNumberExposureTests {
    /// Every file under `directory`, read as text.
    static func texts(under directory: String) -> [(path: String, text: String)] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var texts: [(String, String)] = []
        for case let relative as String in enumerator {
            let path = directory + "/" + relative
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            texts.append((path, String(decoding: data, as: UTF8.self)))
        }
        return texts
    }

    @Test("every admin route with real cards: no answer, log line or audit file holds a full card number")
    func noFullCardNumberAnywhere() throws {
        let harness = try AdminHarness()
        defer { harness.close() }
        let admin = harness.admin
        let operatorUser = try harness.createUser(name: "Op", role: "operator")
        let bought = Wire.card(1, test: 1313)
        let referred = Wire.card(2, test: 1313)
        let replacement = Wire.card(3, test: 1313)
        let unknown = Wire.card(4, test: 1313)
        let pans = [bought, referred, replacement, unknown]
        let client = try SwitchClient(port: harness.server.port)
        var terminal = Terminal()
        #expect(try client.exchange(terminal.purchase(bought, 40_000)).code == "00")

        var answers: [AdminAnswer] = []
        func call(_ method: String, _ path: String, _ body: String? = nil, token: String? = nil, key: String? = nil)
            throws -> AdminAnswer
        {
            let answer = try harness.call(method, path, token: token ?? admin, body: body, key: key)
            answers.append(answer)
            return answer
        }
        let enrol = #"{"pan":"\#(referred)","birthday":"1991-02-03","referrerPan":"\#(bought)"}"#
        let enrolled = try call("POST", "/v1/members", enrol, key: "enrol-1")
        #expect(enrolled.code == 201, "\(enrolled.body)")
        #expect(try call("POST", "/v1/members", enrol, key: "enrol-1").code == 201, "the remembered answer")
        #expect(try call("POST", "/v1/members", enrol).code == 409)
        let badCard = try call("POST", "/v1/members", #"{"pan":"\#(unknown)","referrerPan":"\#(unknown)x"}"#)
        #expect(badCard.code == 422, "\(badCard.body)")
        let lookup = try call("POST", "/v1/cards/lookup", #"{"pan":"\#(bought)"}"#, token: operatorUser.token)
        let card = try #require(lookup.json["card"] as? [String: Any])
        let cardId = try #require(card["id"] as? String)
        let memberId = try #require(card["memberId"] as? String)
        #expect(try call("POST", "/v1/cards/lookup", #"{"pan":"\#(unknown)"}"#).code == 404)
        #expect(try call("POST", "/v1/cards/lookup", #"{"pan":"\#(unknown)x"}"#).code == 422)
        #expect(try call("GET", "/v1/members/\(memberId)").code == 200)
        let adjustment = #"{"asset":"points","amount":25,"reason":"goodwill"}"#
        #expect(try call("POST", "/v1/members/\(memberId)/adjustments", adjustment, key: "adjust-1").code == 201)
        #expect(try call("POST", "/v1/cards/\(cardId)/block", #"{"reason":"stolen"}"#).code == 200)
        let referredId = try #require((enrolled.json["cards"] as? [[String: Any]])?.first?["id"] as? String)
        #expect(try call("POST", "/v1/cards/\(referredId)/replace", #"{"newPan":"\#(bought)"}"#).code == 409)
        let replaced = try call("POST", "/v1/cards/\(referredId)/replace", #"{"newPan":"\#(replacement)"}"#)
        #expect(replaced.code == 200, "\(replaced.body)")
        #expect(try client.exchange(terminal.purchase(bought, 1_000)).code == "62")
        #expect(try client.exchange(terminal.purchase(replacement, 1_000)).code == "00")
        let reads = ["/v1/audit?limit=1000", "/v1/users", "/metrics", "/v1/health", "/v1/notifications/dead-letters"]
        for path in reads { #expect(try call("GET", path).code == 200, "GET \(path)") }
        #expect(try call("POST", "/v1/notifications/dead-letters/1/retry").code == 404)
        #expect(try call("DELETE", "/v1/users/\(operatorUser.id)").code == 204)

        let audit = Self.texts(under: harness.data + "/audit")
        #expect(audit.contains { $0.path.hasSuffix("journal.jsonl") && $0.text.contains("cards.replace") })
        let log = harness.server.log
        for pan in pans {
            for answer in answers {
                #expect(!answer.head.contains(pan) && !answer.body.contains(pan), "answer: \(answer.body)")
            }
            #expect(!log.contains(pan), "the switch's log holds \(pan)")
            for file in audit { #expect(!file.text.contains(pan), "\(file.path) holds \(pan)") }
        }
        #expect(answers.contains { $0.body.contains(String(bought.prefix(6)) + "******" + String(bought.suffix(4))) })
    }
}
