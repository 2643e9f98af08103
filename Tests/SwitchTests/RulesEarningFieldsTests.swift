import Foundation
import ISO8583
import SwitchCore
import Testing

/// What a purchase tells the rules beyond the amount and the merchant, from outside: the service bought
/// (field 48, tag SC) for `earning.byServiceCode`.
@Suite("Earning fields under rules")
struct RulesEarningFieldsTests {
    @Test("field 48 SC feeds earning.byServiceCode: the service's points win over the merchant's rate")
    func serviceCodeEarnsItsPoints() throws {
        var settings = SwitchSettings()
        var rules = LoyaltyRulesTests.rules(version: 1, merchantPoints: 5)
        var earning = rules["earning"] as! [String: Any]
        earning["byServiceCode"] = ["1001": 50, "42": 7]
        rules["earning"] = earning
        settings.rules = rules
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(83)
            var checkUp = terminal.purchase(card, 10_000)
            try checkUp.set(48, "SC041001")
            #expect(try client.exchange(checkUp).amounts["90/999"] == 50, "the service's 50, not 5 per 100")
            var other = terminal.purchase(card, 10_000)
            try other.set(48, "SC0242")
            #expect(try client.exchange(other).amounts["90/999"] == 7)
            var unknown = terminal.purchase(card, 10_000)
            try unknown.set(48, "SC049999")
            #expect(try client.exchange(unknown).amounts["90/999"] == 500, "an unknown service earns the usual rate")
            var offline = terminal.message(220, processing: "000000", card: card, amount: 10_000)
            try offline.set(48, "SC041001")
            #expect(try client.exchange(offline).amounts["90/999"] == 50, "an offline advice carries it too")
            var malformed = terminal.purchase(card, 10_000)
            try malformed.set(48, "SC0710010001")
            #expect(try client.exchange(malformed).code == "30")
            #expect(try client.exchange(terminal.balance(card)).available == 607)
        }
    }
}
