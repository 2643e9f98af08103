import Foundation
import ISO8583
import Testing

/// A malformed basket in field 48 on the real binary: answered 30 and nothing changes, whatever is wrong with it
/// (a bad line, a 13th line, lines above field 4, a basket on a kind that does not take it); a valid basket is
/// approved. Product points themselves are proved in BasketEndToEndTests (they need the sale's lines carried to
/// the shard).
@Suite("Basket format errors")
struct BasketFormatErrorTests {
    static func rules() -> [String: Any] {
        var rules = LoyaltyRulesTests.rules(version: 1, merchantPoints: 5)
        var earning = rules["earning"] as! [String: Any]
        earning["bySku"] = ["MILK-1L": ["pointsPerUnit": 20]]
        earning["byProductCategory"] = ["DAIRY": ["points": 1, "perAmountMinor": 100]]
        rules["earning"] = earning
        return rules
    }

    @Test("every malformed basket class is 30 and changes nothing; a valid one is approved")
    func malformedBasketsAreRefused() throws {
        var settings = SwitchSettings()
        settings.rules = Self.rules()
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(86)
            #expect(try client.exchange(terminal.purchase(card, 10_000)).code == "00")
            let before = try #require(try client.exchange(terminal.balance(card)).available)
            let twelve = (1...12).map { BasketTests.entry("SKU\($0);;1;100") }.joined()
            let refusals: [(field48: String, processing: String, why: String)] = [
                (BasketTests.entry("MILK-1L;DAIRY;0;100"), "000000", "quantity 0"),
                (BasketTests.entry("MILK-1L;DAIRY;1"), "000000", "three fields"),
                (BasketTests.entry("MILK 1L;DAIRY;1;100"), "000000", "a space in the SKU"),
                ("IT10MILK;;1;1", "000000", "length past the end"),
                (twelve + BasketTests.entry("SKU13;;1;100"), "000000", "13 lines"),
                (BasketTests.entry("MILK-1L;DAIRY;1;10001"), "000000", "lines above field 4"),
                (BasketTests.entry("MILK-1L;DAIRY;1;100"), "900000", "on a redemption"),
                (BasketTests.entry("MILK-1L;DAIRY;1;100"), "310000", "on a balance inquiry"),
            ]
            for refusal in refusals {
                var message = terminal.message(200, processing: refusal.processing, card: card, amount: 10_000)
                try message.set(48, refusal.field48)
                let reply = try client.exchange(message)
                #expect(reply.code == "30", "\(refusal.why)")
                #expect(reply.amounts.isEmpty, "\(refusal.why): no balances on a format error")
            }
            var refund = terminal.message(200, processing: "200000", card: card, amount: 5_000, stan: 90)
            try refund.set(37, "RRN000000001")
            try refund.set(48, BasketTests.entry("MILK-1L;DAIRY;1;100"))
            #expect(try client.exchange(refund).code == "30", "a refund with a basket")
            #expect(try client.exchange(terminal.balance(card)).available == before, "nothing changed")
            var valid = terminal.purchase(card, 10_000)
            try valid.set(48, twelve)
            #expect(try client.exchange(valid).code == "00", "12 lines adding up to less than field 4")
        }
    }
}
