import Foundation
import ISO8583
import SwitchCore
import Testing

/// Paying with points and credit under the rules' `redemption` section, from outside: what the share cap applies
/// to, and what a cashier is told when the value cannot be spent at this merchant.
@Suite("Redemption under rules")
struct RulesRedemptionTests {
    @Test("the share cap applies to the purchase total in field 48 (PT), never to the payment itself")
    func shareCapAppliesToThePurchaseTotal() throws {
        var settings = SwitchSettings()
        var rules = LoyaltyRulesTests.rules(version: 1, merchantPoints: 5)
        rules["redemption"] = ["maximumSharePercent": 50, "partialApproval": true]
        settings.rules = rules
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(82)
            #expect(try client.exchange(terminal.purchase(card, 600_000)).amounts["02/364"] == 102_000)
            // No purchase total: 50,000 is paid in full from the credit (it was 10 with 25,000).
            let whole = try client.exchange(terminal.redeem(card, 50_000))
            #expect(whole.code == "00" && whole.field(4) == "000000050000" && whole.amounts["91/364"] == -50_000)
            // 30,000 of an 40,000 purchase: 50% of the total is 20,000, partly approved.
            var capped = terminal.redeem(card, 30_000)
            try capped.set(48, "PT05" + "40000")
            let partial = try client.exchange(capped)
            #expect(partial.code == "10" && partial.field(4) == "000000020000" && partial.amounts["02/364"] == 32_000)
            // A total below the payment is an invalid amount; a malformed or misplaced tag a format error.
            var below = terminal.redeem(card, 1_000)
            try below.set(48, "PT03999")
            #expect(try client.exchange(below).code == "13")
            var malformed = terminal.redeem(card, 1_000)
            try malformed.set(48, "PT0512X45")
            #expect(try client.exchange(malformed).code == "30")
            var misplaced = terminal.purchase(card, 1_000)
            try misplaced.set(48, "PT0412345")
            #expect(try client.exchange(misplaced).code == "30")
            #expect(try client.exchange(terminal.balance(card)).amounts["02/364"] == 32_000, "nothing else moved")
        }
    }
}
