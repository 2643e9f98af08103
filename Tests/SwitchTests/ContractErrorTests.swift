import Foundation
import ISO8583
import Testing

/// Wire contract v1, "Response codes" and the malformed-input rule: 12, 13, 14, 30, closed connections.
@Suite struct ContractErrorTests {
    @Test("an MTI the switch does not serve gets 12 in the matching response MTI; so does an unknown processing code")
    func invalidTransaction() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(30)
            let unknownMTI = terminal.message(300, processing: "000000", card: card, amount: 100)
            expectWellFormed(try client.exchange(unknownMTI), to: unknownMTI, mti: "0310", code: "12")
            let unknownCode = terminal.message(200, processing: "500000", card: card, amount: 100)
            expectWellFormed(try client.exchange(unknownCode), to: unknownCode, mti: "0210", code: "12")
            let authorizationPurchase = terminal.message(100, processing: "000000", card: card, amount: 100)
            expectWellFormed(
                try client.exchange(authorizationPurchase), to: authorizationPurchase, mti: "0110", code: "12")
            #expect(try client.exchange(terminal.balance(card)).code == "14", "none of these enrolled the card")
        }
    }

    @Test("a zero amount gets 13 for purchase, redeem and hold, and changes nothing")
    func invalidAmount() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(31)
            _ = try client.exchange(terminal.purchase(card, 500))
            for (mti, code) in [(200, "000000"), (200, "900000"), (100, "900000")] {
                let request = terminal.message(mti, processing: code, card: card, amount: 0)
                let reply = try client.exchange(request)
                expectWellFormed(reply, to: request, mti: mti == 100 ? "0110" : "0210", code: "13")
            }
            #expect(try client.availablePoints(card, terminal: &terminal) == 5)
        }
    }

    @Test("unknown card: balance inquiry, redeem and hold get 14 (enrolment happens only on a purchase)")
    func unknownCard() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(32)
            for request in [
                terminal.balance(card), terminal.redeem(card, 100),
                terminal.message(100, processing: "900000", card: card, amount: 100),
            ] {
                #expect(try client.exchange(request).code == "14")
            }
            #expect(try client.exchange(terminal.purchase(card, 100)).code == "00", "a purchase enrols")
        }
    }

    @Test("a malformed message whose MTI and 11 are readable gets 30 with 11 and 41 echoed; it changes nothing")
    func formatErrorAnswered() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(33)
            _ = try client.exchange(terminal.purchase(card, 1_000))
            let valid = try terminal.purchase(card, 4_321, stan: 100).encoded()
            try client.write(Wire.frame(Wire.replacing(valid, "000000004321", with: "0000000043X1")))
            let reply = try client.receive()
            #expect(reply.mti == "0210")
            #expect(reply.code == "30")
            #expect(reply.field(11) == "000100")
            #expect(reply.field(41) == "TERM0001")
            #expect(!reply.message.has(38))
            let corrected = try client.exchange(terminal.purchase(card, 4_321, stan: 100))
            #expect(corrected.code == "00", "30 is not remembered: the corrected request with the same key is served")
            #expect(corrected.available == 53)
        }
    }

    @Test("a purchase without field 4 gets 30 and changes nothing")
    func missingAmount() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let request = terminal.message(200, processing: "000000", card: Wire.card(34))
            expectWellFormed(try client.exchange(request), to: request, mti: "0210", code: "30")
            #expect(try client.exchange(terminal.balance(Wire.card(34))).code == "14")
        }
    }

    @Test("a message whose MTI cannot be read closes the connection; the switch serves the next one")
    func unreadableMTICloses() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            try client.write(Wire.frame(Array("02X0".utf8) + [UInt8](repeating: 0x41, count: 30)))
            #expect(client.closedByPeer(within: 5))
            let next = try SwitchClient(port: server.port)
            var terminal = Terminal()
            #expect(try next.exchange(terminal.purchase(Wire.card(35), 100)).code == "00")
        }
    }

    @Test("a message with a readable MTI but no readable field 11 closes the connection")
    func unreadableStanCloses() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let valid = try terminal.purchase(Wire.card(36), 100).encoded()
            // MTI, bitmap, then cut inside field 2: nothing after it (11 included) can be found.
            try client.write(Wire.frame(Array(valid.prefix(4 + 8 + 5))))
            #expect(client.closedByPeer(within: 5))
            let next = try SwitchClient(port: server.port)
            #expect(try next.exchange(terminal.purchase(Wire.card(36), 100)).code == "00")
        }
    }

    @Test("a well-formed request without field 11 cannot be matched by the terminal: no 0210 without 11 is sent")
    func missingStan() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            var request = terminal.purchase(Wire.card(37), 100)
            request.remove(11)
            try client.send(request)
            let answered = (try? client.receive(timeout: 2)).map { reply in
                "\(reply.mti) 39=\(reply.code ?? "-") 11=\(reply.field(11) ?? "absent")"
            }
            #expect(answered == nil, "answered \(answered ?? "")")
            #expect(try SwitchClient(port: server.port).exchange(terminal.balance(Wire.card(37))).code == "14")
        }
    }

    @Test(
        "a balance never passes 12 digits (what field 54 shows): the earn that would is refused with 13, nothing changes"
    )
    func balanceLimitRefused() throws {
        var settings = SwitchSettings()
        settings.program = ["pointsPerEarnUnit": 1, "earnUnitMinor": 1]
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(38)
            let first = try client.exchange(terminal.purchase(card, 400_000_000_000))
            #expect(first.code == "00" && first.available == 400_000_000_000)
            let second = try client.exchange(terminal.purchase(card, 400_000_000_000))
            #expect(second.code == "00" && second.available == 800_000_000_000)
            // 1,200,000,000,000 would need 13 digits in field 54: refused, balance unchanged.
            let third = try client.exchange(terminal.purchase(card, 400_000_000_000))
            #expect(third.code == "13")
            let balance = try client.exchange(terminal.balance(card))
            #expect(balance.code == "00" && balance.available == 800_000_000_000)
        }
    }

    @Test("a message the switch cannot answer (0210, 0290, 0440, 9999) is not answered: the connection closes")
    func nonRequestMTICloses() throws {
        try withSwitch { server in
            var terminal = Terminal()
            var answers: [String] = []
            for mti in [210, 290, 440, 9999] {
                let client = try SwitchClient(port: server.port)
                let message = terminal.message(mti, processing: "000000", card: Wire.card(39), amount: 100)
                try client.send(message)
                // An answer to a response invites a loop; a silent drop leaves the sender waiting: closed instead.
                if let reply = try? client.receive(timeout: 2) {
                    answers.append("\(Wire.digits(mti, 4)) -> \(reply.mti) 39=\(reply.code ?? "-")")
                }
                #expect(client.closedByPeer(within: 5), "\(Wire.digits(mti, 4)) left the connection open")
            }
            #expect(answers.isEmpty, "answered: \(answers)")
            #expect(server.waitForLog("9999 cannot be answered"), "the log says why the connection closed")
        }
    }

    @Test("9999 with a readable field 11 after a purchase: the purchase is answered, then the connection closes")
    func unanswerableMTIClosesAfterAnsweringEarlierRequests() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(40)
            let purchase = try terminal.purchase(card, 700).encoded()
            let unknown = try terminal.message(9999, processing: "000000", card: card, amount: 100).encoded()
            try client.write(Wire.frame(purchase) + Wire.frame(unknown))
            let reply = try client.receive()
            #expect(reply.mti == "0210" && reply.code == "00" && reply.available == 7)
            #expect(client.closedByPeer(within: 5))
        }
    }

    @Test("a malformed 9999 whose field 11 is readable closes the connection (no response MTI can be formed)")
    func malformedUnanswerableMTICloses() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let valid = try terminal.message(9999, processing: "000000", card: Wire.card(41), amount: 4_321).encoded()
            try client.write(Wire.frame(Wire.replacing(valid, "000000004321", with: "0000000043X1")))
            let answered = (try? client.receive(timeout: 2)).map { "\($0.mti) 39=\($0.code ?? "-")" }
            #expect(answered == nil, "answered \(answered ?? "")")
            #expect(client.closedByPeer(within: 5))
        }
    }

    @Test("fields the switch reads keep their ISO classes: 37, 35 and 54 with punctuation get 30 and change nothing")
    func interpretedFieldsStayStrict() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(42)
            #expect(try client.exchange(terminal.purchase(card, 1_000)).code == "00")
            let retrieval = try terminal.purchase(card, 500, stan: 200).encoded()
            var track = terminal.message(200, processing: "000000", amount: 500, stan: 201)
            try track.set(35, card + "=2512101")
            var amounts = terminal.purchase(card, 500, stan: 202)
            try amounts.set(54, "0091364D000000000100")
            let malformed = [
                Wire.replacing(retrieval, "RRN000000200", with: "RRN_00000200"),
                Wire.replacing(try track.encoded(), "=2512101", with: "|2512101"),
                Wire.replacing(try amounts.encoded(), "0091364D", with: "00_1364D"),
            ]
            for (index, bytes) in malformed.enumerated() {
                try client.write(Wire.frame(bytes))
                let reply = try client.receive()
                #expect(reply.code == "30" && reply.field(11) == Wire.digits(200 + index, 6), "\(reply.message)")
            }
            #expect(try client.availablePoints(card, terminal: &terminal) == 10, "none of them changed the balance")
            let corrected = try client.exchange(terminal.purchase(card, 500, stan: 200))
            #expect(corrected.code == "00" && corrected.available == 15, "30 is not remembered")
        }
    }

    @Test("a field the switch only carries (44) may hold what pyiso8583 sends: _ | \\ in an..25 gets a normal answer")
    func carriedFieldIsLenient() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let valid = try terminal.purchase(Wire.card(43), 1_000).encoded()
            // Field 44 is not in Terminal's requests: put it in by hand (bit 44, then LL prefix and value between
            // field 42 and field 49, the last 3 bytes).
            var bytes = Array(valid.dropLast(3)) + Array("03".utf8) + Array(#"_|\"#.utf8) + Array(valid.suffix(3))
            bytes[4 + 5] |= 0x10
            try client.write(Wire.frame(bytes))
            let reply = try client.receive()
            #expect(reply.mti == "0210" && reply.code == "00" && reply.available == 10)
        }
    }
}
