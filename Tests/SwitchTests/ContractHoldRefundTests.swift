import Foundation
import ISO8583
import Testing

/// Wire contract v1, "Transactions": 0100 holds, 0220 completions and 0200/200000 refunds.
@Suite struct ContractHoldRefundTests {
    @Test("0100/900000 holds points (0110, 91 D, 02 = balance - hold, 01 = balance); 0220 completion captures less and releases the rest")
    func holdAndPartialCompletion() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(10)
            _ = try client.exchange(terminal.purchase(card, 1_000_000))  // 10,000 points
            let hold = terminal.message(100, processing: "900000", card: card, amount: 3_000, stan: 20)
            let held = try client.exchange(hold)
            expectWellFormed(held, to: hold, mti: "0110", code: "00")
            #expect(held.available == 7_000, "available = balance minus the hold")
            #expect(held.amounts["01/999"] == 10_000, "ledger balance, holds not deducted")
            #expect(held.debited == -3_000, "91 = points held")
            #expect(try client.availablePoints(card, terminal: &terminal) == 7_000)
            let completion = terminal.message(
                220, processing: "900000", card: card, amount: 2_000, original: terminal.originalData(mti: 100, stan: 20))
            let captured = try client.exchange(completion)
            expectWellFormed(captured, to: completion, mti: "0230", code: "00")
            #expect(captured.available == 8_000, "1,000 of the 3,000 held points released")
            #expect(captured.amounts["01/999"] == nil || captured.amounts["01/999"] == 8_000)
            #expect(try client.availablePoints(card, terminal: &terminal) == 8_000)
        }
    }

    @Test("0220/900000 completion of a hold that does not exist gets 25 and changes nothing")
    func completionOfUnknownHold() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(11)
            _ = try client.exchange(terminal.purchase(card, 10_000))
            let completion = terminal.message(
                220, processing: "900000", card: card, amount: 50, original: terminal.originalData(mti: 100, stan: 777))
            expectWellFormed(try client.exchange(completion), to: completion, mti: "0230", code: "25")
            #expect(try client.availablePoints(card, terminal: &terminal) == 100)
        }
    }

    @Test("0100 hold for more than the balance gets 51; for an unknown card 14")
    func holdDeclines() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(12)
            _ = try client.exchange(terminal.purchase(card, 10_000))
            let hold = terminal.message(100, processing: "900000", card: card, amount: 101)
            expectWellFormed(try client.exchange(hold), to: hold, mti: "0110", code: "51")
            let unknown = terminal.message(100, processing: "900000", card: Wire.card(13), amount: 1)
            expectWellFormed(try client.exchange(unknown), to: unknown, mti: "0110", code: "14")
            #expect(try client.availablePoints(card, terminal: &terminal) == 100)
        }
    }

    @Test("a hold lapses after holdExpiryMs (a day, on a clock the test moves): points available again, a late completion declined")
    func holdExpires() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let clock = try SwitchClockShift(directory: directory)
        var settings = SwitchSettings()
        settings.program = ["holdExpiryMs": 86_400_000]
        let server = try SwitchProcess(directory: directory, settings: settings, launcher: clock.launcher)
        defer { server.stop() }
        #expect(server.waitForLog("LOYALTY_TEST_CLOCK is set"))
        let client = try SwitchClient(port: server.port)
        var terminal = Terminal()
        let card = Wire.card(14)
        _ = try client.exchange(terminal.purchase(card, 10_000))
        let hold = terminal.message(100, processing: "900000", card: card, amount: 60, stan: 30)
        #expect(try client.exchange(hold).available == 40)
        clock.advance(byMs: 86_400_000 - 60_000)
        #expect(try client.availablePoints(card, terminal: &terminal) == 40, "a minute before its day ends: still held")
        clock.advance(byMs: 60_000)
        #expect(try client.availablePoints(card, terminal: &terminal) == 100, "the lapsed hold no longer counts")
        let completion = terminal.message(
            220, processing: "900000", card: card, amount: 60, original: terminal.originalData(mti: 100, stan: 30))
        let late = try client.exchange(completion)
        #expect(late.code != "00", "a completion after expiry must not capture")
        #expect(try client.availablePoints(card, terminal: &terminal) == 100)
    }

    @Test("0200/200000 refund named by field 90 takes back the earned points pro rata (91 D entry)")
    func refundByOriginalData() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(15)
            _ = try client.exchange(terminal.purchase(card, 10_000, stan: 40))  // 100 points
            let refund = terminal.message(
                200, processing: "200000", card: card, amount: 2_500, original: terminal.originalData(mti: 200, stan: 40))
            let reply = try client.exchange(refund)
            expectWellFormed(reply, to: refund, mti: "0210", code: "00")
            #expect(reply.debited == -25, "a quarter of the purchase refunded: a quarter of its points back")
            #expect(reply.available == 75)
            let rest = terminal.message(
                200, processing: "200000", card: card, amount: 7_500, original: terminal.originalData(mti: 200, stan: 40))
            let second = try client.exchange(rest)
            #expect(second.code == "00" && second.debited == -75 && second.available == 0)
        }
    }

    @Test("0200/200000 refund of an original that does not exist gets 25")
    func refundOfUnknownOriginal() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(16)
            _ = try client.exchange(terminal.purchase(card, 10_000))
            let refund = terminal.message(
                200, processing: "200000", card: card, amount: 100, original: terminal.originalData(mti: 200, stan: 999))
            expectWellFormed(try client.exchange(refund), to: refund, mti: "0210", code: "25")
            #expect(try client.availablePoints(card, terminal: &terminal) == 100)
        }
    }

    @Test("0200/200000 refund without field 90 names its original by field 37 = the original's RRN")
    func refundByRetrievalReference() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(17)
            let purchase = terminal.purchase(card, 10_000, stan: 50)
            _ = try client.exchange(purchase)
            var refund = terminal.message(200, processing: "200000", card: card, amount: 5_000, stan: 51)
            try refund.set(37, purchase.string(37)!)
            let reply = try client.exchange(refund)
            #expect(reply.code == "00")
            #expect(reply.debited == -50)
            #expect(reply.available == 50)
        }
    }
}
