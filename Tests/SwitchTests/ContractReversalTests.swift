import Foundation
import ISO8583
import Testing

/// Wire contract v1: reversals 0400/0420/0421 and the idempotency rules (replay byte for byte, 94 on conflict).
@Suite struct ContractReversalTests {
    @Test("0400 naming a purchase by field 90 is answered 0410 00 and takes the earned points back")
    func reversalByOriginalData() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(20)
            _ = try client.exchange(terminal.purchase(card, 5_000))
            _ = try client.exchange(terminal.purchase(card, 20_000, stan: 60))
            let reversal = terminal.message(
                400, processing: "000000", card: card, amount: 20_000, original: terminal.originalData(mti: 200, stan: 60))
            expectWellFormed(try client.exchange(reversal), to: reversal, mti: "0410", code: "00")
            #expect(try client.availablePoints(card, terminal: &terminal) == 50)
        }
    }

    @Test("0400 without field 90 reverses the 0200 with the same terminal, STAN, date-time and acquirer")
    func reversalBySameTerminalAndStan() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(21)
            _ = try client.exchange(terminal.purchase(card, 5_000))
            _ = try client.exchange(terminal.purchase(card, 20_000, stan: 61))
            let reversal = terminal.message(400, processing: "000000", card: card, amount: 20_000, stan: 61)
            expectWellFormed(try client.exchange(reversal), to: reversal, mti: "0410", code: "00")
            #expect(try client.availablePoints(card, terminal: &terminal) == 50)
        }
    }

    @Test("0420 reverses a redeem (0430 00, points back); the 0421 repeat gets the same 0430 byte for byte and changes nothing")
    func adviceReversalAndRepeat() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(22)
            _ = try client.exchange(terminal.purchase(card, 10_000))
            _ = try client.exchange(terminal.redeem(card, 40, stan: 62))
            #expect(try client.availablePoints(card, terminal: &terminal) == 60)
            let original = terminal.originalData(mti: 200, stan: 62)
            let advice = terminal.message(420, processing: "900000", card: card, amount: 40, stan: 63, original: original)
            let first = try client.exchange(advice)
            expectWellFormed(first, to: advice, mti: "0430", code: "00")
            #expect(try client.availablePoints(card, terminal: &terminal) == 100)
            let repeated = terminal.message(421, processing: "900000", card: card, amount: 40, stan: 63, original: original)
            let again = try client.exchange(repeated)
            #expect(again.bytes == first.bytes, "0421 gets the 0430 its 0420 got")
            let thirdTime = try client.exchange(advice)
            #expect(thirdTime.bytes == first.bytes)
            #expect(try client.availablePoints(card, terminal: &terminal) == 100, "reversed once only")
        }
    }

    @Test("a reversal that arrives before its original is approved; the late original gets 05 and changes nothing")
    func reversalBeforeOriginal() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(23)
            _ = try client.exchange(terminal.purchase(card, 1_000))
            let reversal = terminal.message(
                400, processing: "000000", card: card, amount: 9_900, stan: 71, original: terminal.originalData(mti: 200, stan: 70))
            expectWellFormed(try client.exchange(reversal), to: reversal, mti: "0410", code: "00")
            let late = terminal.purchase(card, 9_900, stan: 70)
            let declined = try client.exchange(late)
            expectWellFormed(declined, to: late, mti: "0210", code: "05")
            #expect(try client.availablePoints(card, terminal: &terminal) == 10)
        }
    }

    @Test("a reversal of an original that never comes is answered 00 (recorded), and repeating it changes nothing")
    func reversalOfUnknownOriginal() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(24)
            _ = try client.exchange(terminal.purchase(card, 3_000))
            let reversal = terminal.message(
                400, processing: "000000", card: card, amount: 100, stan: 81, original: terminal.originalData(mti: 200, stan: 80))
            let first = try client.exchange(reversal)
            expectWellFormed(first, to: reversal, mti: "0410", code: "00")
            let repeated = terminal.message(
                401, processing: "000000", card: card, amount: 100, stan: 81, original: terminal.originalData(mti: 200, stan: 80))
            #expect(try client.exchange(repeated).bytes == first.bytes, "0401 repeat gets the same 0410")
            #expect(try client.availablePoints(card, terminal: &terminal) == 30)
        }
    }

    @Test("a repeated purchase (same key, same content) gets the first 0210 byte for byte and earns nothing more")
    func duplicateReplayed() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(25)
            let purchase = terminal.purchase(card, 10_000, stan: 90)
            let first = try client.exchange(purchase)
            #expect(first.code == "00")
            _ = try client.exchange(terminal.purchase(card, 5_000, stan: 91))
            let again = try client.exchange(purchase)
            #expect(again.bytes == first.bytes, "replay is the original response, balances as they were then")
            let repeatMTI = terminal.message(201, processing: "000000", card: card, amount: 10_000, stan: 90)
            #expect(try client.exchange(repeatMTI).bytes == first.bytes, "0201 repeat: the same 0210")
            let otherClient = try SwitchClient(port: server.port)
            #expect(try otherClient.exchange(purchase).bytes == first.bytes, "replay on another connection")
            #expect(try client.availablePoints(card, terminal: &terminal) == 150)
        }
    }

    @Test("the same key with different content gets 94, changes nothing, and is not remembered")
    func conflictingRepeat() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(26)
            let purchase = terminal.purchase(card, 10_000, stan: 92)
            let first = try client.exchange(purchase)
            let conflicting = terminal.purchase(card, 10_100, stan: 92)
            let reply = try client.exchange(conflicting)
            expectWellFormed(reply, to: conflicting, mti: "0210", code: "94")
            #expect(try client.exchange(purchase).bytes == first.bytes, "the original still replays")
            #expect(try client.availablePoints(card, terminal: &terminal) == 100)
        }
    }

    @Test("0800 sign-on (001), sign-off (002) and echo (301) get 0810 00 with 11, 41 and 70 echoed; other codes 12")
    func networkManagement() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            for code in ["001", "301", "002"] {
                var request = terminal.message(800)
                try request.set(70, code)
                let reply = try client.exchange(request)
                #expect(reply.mti == "0810" && reply.code == "00", "0800 \(code)")
                #expect(reply.message.value(11) == request.value(11))
                #expect(reply.message.value(41) == request.value(41))
                #expect(reply.field(70) == code)
                #expect(reply.field(7) == request.string(7))
            }
            var unknown = terminal.message(800)
            try unknown.set(70, "999")
            let reply = try client.exchange(unknown)
            #expect(reply.mti == "0810" && reply.code == "12")
        }
    }

    @Test("0400 naming a 0100 hold by field 90 releases the held points")
    func reversalOfHold() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(27)
            _ = try client.exchange(terminal.purchase(card, 10_000))
            let hold = terminal.message(100, processing: "900000", card: card, amount: 40, stan: 110)
            #expect(try client.exchange(hold).available == 60)
            let reversal = terminal.message(
                400, processing: "900000", card: card, amount: 40, stan: 111, original: terminal.originalData(mti: 100, stan: 110))
            expectWellFormed(try client.exchange(reversal), to: reversal, mti: "0410", code: "00")
            #expect(try client.availablePoints(card, terminal: &terminal) == 100)
        }
    }

    @Test("0420 naming a refund restores the points the refund took back; 0420 naming an offline advice takes its points")
    func reversalOfRefundAndAdvice() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(28)
            _ = try client.exchange(terminal.purchase(card, 10_000, stan: 120))
            let refund = terminal.message(
                200, processing: "200000", card: card, amount: 4_000, stan: 121, original: terminal.originalData(mti: 200, stan: 120))
            #expect(try client.exchange(refund).available == 60)
            let undoRefund = terminal.message(
                420, processing: "200000", card: card, amount: 4_000, stan: 122, original: terminal.originalData(mti: 200, stan: 121))
            #expect(try client.exchange(undoRefund).code == "00")
            #expect(try client.availablePoints(card, terminal: &terminal) == 100)
            let advice = terminal.message(220, processing: "000000", card: card, amount: 3_000, stan: 123)
            #expect(try client.exchange(advice).available == 130)
            let undoAdvice = terminal.message(
                420, processing: "000000", card: card, amount: 3_000, stan: 124, original: terminal.originalData(mti: 220, stan: 123))
            #expect(try client.exchange(undoAdvice).code == "00")
            #expect(try client.availablePoints(card, terminal: &terminal) == 100)
        }
    }

    @Test("0400 without field 90 finds a 0100 hold by the same terminal and STAN, and 0420 an 0220 advice")
    func reversalBySTANOfOtherClasses() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(29)
            _ = try client.exchange(terminal.purchase(card, 10_000))
            #expect(try client.exchange(terminal.message(100, processing: "900000", card: card, amount: 40, stan: 130)).code == "00")
            #expect(try client.exchange(terminal.message(400, processing: "900000", card: card, amount: 40, stan: 130)).code == "00")
            let afterHold = try client.availablePoints(card, terminal: &terminal)
            #expect(try client.exchange(terminal.message(220, processing: "000000", card: card, amount: 2_000, stan: 131)).code == "00")
            #expect(try client.exchange(terminal.message(420, processing: "000000", card: card, amount: 2_000, stan: 131)).code == "00")
            let afterAdvice = try client.availablePoints(card, terminal: &terminal)
            #expect(afterHold == 100, "the hold is released")
            #expect(afterAdvice == 100, "the advice's points are taken back")
        }
    }

    @Test("0400 without field 90 before its 0200: 00, the late 0200 gets 05; another terminal's same STAN matches nothing")
    func reversalBySTANBeforeOriginal() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            var otherTerminal = Terminal(id: "TERM0002", firstStan: 500)
            let card = Wire.card(40)
            _ = try client.exchange(terminal.purchase(card, 1_000))
            let early = terminal.message(400, processing: "000000", card: card, amount: 9_900, stan: 140)
            expectWellFormed(try client.exchange(early), to: early, mti: "0410", code: "00")
            let late = terminal.purchase(card, 9_900, stan: 140)
            expectWellFormed(try client.exchange(late), to: late, mti: "0210", code: "05")
            _ = try client.exchange(terminal.purchase(card, 2_000, stan: 141))
            let elsewhere = otherTerminal.message(400, processing: "000000", card: card, amount: 2_000, stan: 141)
            #expect(try client.exchange(elsewhere).code == "00")
            #expect(try client.availablePoints(card, terminal: &terminal) == 30, "TERM0001's STAN 141 is not reversed")
        }
    }
}
