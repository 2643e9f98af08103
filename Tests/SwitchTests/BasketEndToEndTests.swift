import Foundation
import ISO8583
import Testing

/// A purchase's basket on the real binary earns its product points, and a refund takes them back pro rata with
/// the rest. Needs the sale's lines carried from the switch to the shard and handed to the rules (the sales
/// branch): on the basket branch alone these fail; run them after both are merged.
@Suite("Basket end to end")
struct BasketEndToEndTests {
    @Test("a basket earns the product points on top of the merchant's rate; a half refund takes half of all back")
    func basketEarnsProductPoints() throws {
        var settings = SwitchSettings()
        settings.rules = BasketFormatErrorTests.rules()
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(87)
            var purchase = terminal.purchase(card, 100_000, stan: 60)
            try purchase.set(
                48,
                BasketTests.entry("MILK-1L;DAIRY;2;40000") + BasketTests.entry("YOGURT;DAIRY;1;12345")
                    + BasketTests.entry("SOAP;;1;5000"))
            let reply = try client.exchange(purchase)
            #expect(reply.code == "00")
            // Merchant: 5 per 100 of 100,000 = 5,000; MILK-1L 2 × 20 = 40; YOGURT by DAIRY 1 per 100 = 123.
            #expect(reply.credited == Int64(5_000 + 40 + 123))
            let repeated = try client.exchange(purchase)
            #expect(repeated.credited == 5_163, "a repeat answers the recorded decision")
            let refund = terminal.message(
                200, processing: "200000", card: card, amount: 50_000,
                original: terminal.originalData(mti: 200, stan: 60))
            #expect(try client.exchange(refund).debited == -2_581, "half of 5,163, rounded down")
            #expect(try client.exchange(terminal.balance(card)).available == 5_163 - 2_581)
        }
    }

    @Test("without a basket the same purchase earns the merchant's rate only")
    func noBasketNoProductPoints() throws {
        var settings = SwitchSettings()
        settings.rules = BasketFormatErrorTests.rules()
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            #expect(try client.exchange(terminal.purchase(Wire.card(88), 100_000)).credited == 5_000)
        }
    }
}
