import Foundation
import ISO8583
import Testing

/// Checks that hold for every response: MTI, echoed fields byte for byte, 38 only on approval, 39 present,
/// field 54 laid out in 20-character entries, and no field the contract does not name.
func expectWellFormed(
    _ reply: Reply, to request: ISOMessage, mti: String, code: String, amountChanged: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(reply.mti == mti, "response MTI", sourceLocation: sourceLocation)
    #expect(reply.code == code, "field 39 of \(reply.mti)", sourceLocation: sourceLocation)
    for field in Wire.echoedFields where !(field == 4 && amountChanged) {
        #expect(
            reply.message.value(field) == request.value(field), "field \(field) echoed exactly",
            sourceLocation: sourceLocation)
    }
    let approved = code == "00" || code == "10"
    #expect(reply.message.has(38) == approved, "38 present only on approval", sourceLocation: sourceLocation)
    if let approval = reply.field(38) {
        #expect(approval.count == 6, "38 is an6", sourceLocation: sourceLocation)
    }
    let layout = AdditionalAmounts.parse(reply.field(54) ?? "")
    #expect(layout.problems.isEmpty, "field 54 layout: \(layout.problems)", sourceLocation: sourceLocation)
    for entry in layout.entries {
        let type = entry.dropFirst(2).prefix(2)
        let sign = entry.dropFirst(7).first
        if type == "90" { #expect(sign == "C", "90 entries are credits: \(entry)", sourceLocation: sourceLocation) }
        if type == "91" { #expect(sign == "D", "91 entries are debits: \(entry)", sourceLocation: sourceLocation) }
    }
    let allowed = Set(Wire.echoedFields + [38, 39, 54, 70])
    let extra = reply.message.fieldNumbers.filter { !allowed.contains($0) }
    #expect(extra.isEmpty, "fields the contract does not name: \(extra)", sourceLocation: sourceLocation)
}

/// Wire contract v1, "Transactions": purchase, redeem, balance inquiry, offline advice, as a terminal sees them.
@Suite struct ContractEarnRedeemTests {
    @Test("0200/000000 purchase earns 1 point per whole 100 minor units; 0210 carries 02 and 90 entries in field 54")
    func purchaseEarns() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(1)
            let first = terminal.purchase(card, 12_345)
            let reply = try client.exchange(first)
            expectWellFormed(reply, to: first, mti: "0210", code: "00")
            #expect(reply.field(54) == "0002999C000000000123" + "0090999C000000000123")
            let second = terminal.purchase(card, 99)
            let small = try client.exchange(second)
            expectWellFormed(small, to: second, mti: "0210", code: "00")
            #expect(small.available == 123, "99 minor units earn nothing")
            #expect(small.credited == nil, "no 90 entry when nothing was credited")
            let third = terminal.purchase(card, 1_000)
            #expect(try client.exchange(third).field(54) == "0002999C000000000133" + "0090999C000000000010")
        }
    }

    @Test("0200/310000 balance inquiry answers 0210 00 with the available balance; unknown card gets 14")
    func balanceInquiry() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(2)
            let unknown = terminal.balance(card)
            expectWellFormed(try client.exchange(unknown), to: unknown, mti: "0210", code: "14")
            _ = try client.exchange(terminal.purchase(card, 50_000))
            let inquiry = terminal.balance(card)
            let reply = try client.exchange(inquiry)
            expectWellFormed(reply, to: inquiry, mti: "0210", code: "00")
            #expect(reply.field(54) == "0002999C000000000500")
        }
    }

    @Test("0200/900000 redeem debits points at 1 point per minor unit (91 D entry); too few points gets 51")
    func redeem() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(3)
            _ = try client.exchange(terminal.purchase(card, 30_000))
            let redeem = terminal.redeem(card, 120)
            let reply = try client.exchange(redeem)
            expectWellFormed(reply, to: redeem, mti: "0210", code: "00")
            #expect(reply.field(54) == "0002999C000000000180" + "0091999D000000000120")
            let tooMuch = terminal.redeem(card, 181)
            let declined = try client.exchange(tooMuch)
            expectWellFormed(declined, to: tooMuch, mti: "0210", code: "51")
            #expect(declined.available == 180, "51 changes nothing")
            #expect(try client.availablePoints(card, terminal: &terminal) == 180)
            let unknown = terminal.redeem(Wire.card(99), 1)
            expectWellFormed(try client.exchange(unknown), to: unknown, mti: "0210", code: "14")
        }
    }

    @Test("with partialRedemption on, a redeem larger than the balance gets 10 and field 4 = the approved amount")
    func partialRedeem() throws {
        var settings = SwitchSettings()
        settings.program = ["partialRedemption": true, "pointValueMinor": 10]
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(4)
            _ = try client.exchange(terminal.purchase(card, 7_000))  // 70 points, worth 700 minor units
            let redeem = terminal.redeem(card, 1_000)
            let reply = try client.exchange(redeem)
            expectWellFormed(reply, to: redeem, mti: "0210", code: "10", amountChanged: true)
            #expect(reply.field(4) == "000000000700", "field 4 = the amount the points paid")
            #expect(reply.available == 0)
            #expect(reply.debited == -70)
            let more = terminal.redeem(card, 10)
            let empty = try client.exchange(more)
            #expect(empty.code == "51", "nothing left to pay with")
        }
    }

    @Test("0220/000000 offline purchase advice earns like a purchase and is answered 0230")
    func offlineAdvice() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(5)
            let advice = terminal.message(220, processing: "000000", card: card, amount: 4_200)
            let reply = try client.exchange(advice)
            expectWellFormed(reply, to: advice, mti: "0230", code: "00")
            #expect(reply.available == 42 && reply.credited == 42)
            let repeated = terminal.message(221, processing: "000000", card: card, amount: 4_200, stan: 1)
            let replay = try client.exchange(repeated)
            #expect(replay.bytes == reply.bytes, "0221 repeat gets the 0230 its 0220 got")
            #expect(try client.availablePoints(card, terminal: &terminal) == 42)
        }
    }

    @Test("the card number is taken from track 2 (field 35) when field 2 is absent")
    func trackTwoCard() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(6)
            var purchase = terminal.message(200, processing: "000000", amount: 800)
            try purchase.set(35, card + "=29121010000000000")
            let reply = try client.exchange(purchase)
            #expect(reply.mti == "0210" && reply.code == "00" && reply.available == 8)
            #expect(try client.availablePoints(card, terminal: &terminal) == 8)
        }
    }

    @Test("full card numbers never appear in the switch's log")
    func logsMaskCards() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(7)
            _ = try client.exchange(terminal.purchase(card, 100))
            _ = try client.exchange(terminal.message(200, processing: "000000", card: card, amount: 0))
            let valid = try terminal.purchase(card, 19).encoded()
            try client.write(Wire.frame(Wire.replacing(valid, "000000000019", with: "00000000001X")))
            _ = try client.receive()
            server.stop()
            #expect(!server.log.contains(card))
        }
    }
}
