import Foundation
import ISO8583
import Testing

/// Wire contract v1, "Transport and framing": other length headers, the TPDU echoed swapped, other dialects per
/// listener, all on one ledger.
@Suite struct ListenerFramingTests {
    @Test("bcd2 + TPDU (iso87bcd) and ascii4 listeners answer like the default one; the TPDU comes back with source and destination swapped")
    func otherFramings() throws {
        var settings = SwitchSettings()
        settings.listeners = [
            ["address": "127.0.0.1:0"],
            ["address": "127.0.0.1:0", "framing": "bcd2", "tpdu": true, "dialect": "iso87bcd"],
            ["address": "127.0.0.1:0", "framing": "ascii4"],
        ]
        try withSwitch(settings) { server in
            #expect(server.ports.count == 3)
            let card = Wire.card(1, test: 7)
            let bcdDialect = try #require(BuiltinDialects.dialect(named: "iso87bcd"))
            let bcd = try SwitchClient(
                port: server.ports[1], dialect: bcdDialect, framing: Framing(lengthHeader: .bcd2, hasTPDU: true))
            var bcdTerminal = Terminal(id: "BCDTERM1", dialect: bcdDialect)
            let purchase = bcdTerminal.purchase(card, 5_000)
            let reply = try bcd.exchange(purchase)
            expectWellFormed(reply, to: purchase, mti: "0210", code: "00")
            #expect(reply.available == 50)
            #expect(bcd.lastTPDU == [0x60, 0x00, 0x02, 0x00, 0x01], "TPDU echoed with source and destination swapped")

            let ascii = try SwitchClient(port: server.ports[2], framing: Framing(lengthHeader: .ascii4))
            var asciiTerminal = Terminal(id: "ASCTERM1")
            let second = asciiTerminal.purchase(card, 2_000)
            let asciiReply = try ascii.exchange(second)
            expectWellFormed(asciiReply, to: second, mti: "0210", code: "00")
            #expect(asciiReply.available == 70, "one ledger behind every listener")

            let plain = try SwitchClient(port: server.ports[0])
            var terminal = Terminal()
            #expect(try plain.availablePoints(card, terminal: &terminal) == 70)
        }
    }

    @Test("a frame over a listener's frameBytesMax closes the connection; smaller frames are served")
    func configuredFrameLimit() throws {
        var settings = SwitchSettings()
        settings.listeners = [["address": "127.0.0.1:0", "frameBytesMax": 256]]
        try withSwitch(settings) { server in
            var terminal = Terminal()
            let message = try terminal.purchase(Wire.card(2, test: 7), 100).encoded()
            #expect(message.count < 256)
            let client = try SwitchClient(port: server.port)
            #expect(try client.exchange(terminal.purchase(Wire.card(2, test: 7), 100)).code == "00")
            let over = try SwitchClient(port: server.port)
            try over.write([0x01, 0x01] + [UInt8](repeating: 0x30, count: 257))
            #expect(over.closedByPeer(within: 5), "257 bytes is over a 256-byte limit")
            #expect(try client.exchange(terminal.balance(Wire.card(2, test: 7))).code == "00")
        }
    }
}
