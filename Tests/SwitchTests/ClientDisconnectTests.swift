import Foundation
import ISO8583
import Testing

/// Terminals that hang up with requests still in flight: the answers have nowhere to go, the switch goes on.
@Suite("Client disconnects")
struct ClientDisconnectTests {
    @Test("clients that close right after pipelining purchases do not crash the switch; their approvals stand")
    func closeWithRequestsInFlight() throws {
        try withSwitch { server in
            var terminal = Terminal()
            let card = Wire.card(61)
            for _ in 0..<100 {
                let client = try SwitchClient(port: server.port)
                var burst: [UInt8] = []
                for _ in 0..<20 { burst += Wire.frame(try terminal.purchase(card, 100).encoded()) }
                try client.write(burst)
                client.close()
            }
            // Before the fix, a ledger reply for a closed connection read a freed connection and the process died.
            usleep(300_000)
            #expect(server.isRunning)
            let reply = try SwitchClient(port: server.port).exchange(terminal.balance(card))
            #expect(reply.code == "00")
            // Each approved purchase earned 1 point; some may not have been read before the close.
            #expect((reply.available ?? 0) > 0 && (reply.available ?? 0) <= 2000)
        }
    }
}

/// How connection ends are logged: the operator reads who ended a connection.
@Suite("Connection close logging")
struct ConnectionCloseLogTests {
    @Test("a connection the peer closed is logged as closed by the peer, also when its request was still in flight")
    func peerCloseIsLoggedAsSuch() throws {
        try withSwitch { server in
            var terminal = Terminal()
            let card = Wire.card(63)
            let idle = try SwitchClient(port: server.port)
            #expect(try idle.exchange(terminal.purchase(card, 100)).code == "00")
            idle.close()
            let busy = try SwitchClient(port: server.port)
            try busy.send(terminal.purchase(card, 100))
            busy.finishWriting()
            #expect(try busy.receive().code == "00")
            #expect(busy.closedByPeer(within: 10))
            // Both closes are logged (their ids are the switch's business), and both say who closed.
            #expect(server.waitForLog(" closed: ", count: 2))
            let closes = server.log.split(separator: "\n").filter { $0.contains(" closed: ") }
            #expect(closes.count == 2 && closes.allSatisfy { $0.hasSuffix(" closed: by the peer") }, "\(closes)")
        }
    }
}

/// Messages that are not requests: a response, a notification, an acknowledgement.
@Suite("Messages that expect no response")
struct NonRequestTests {
    @Test(
        "responses, notifications and acknowledgements (0210, 0230, 0440, 0290) are not answered: the connection closes"
    )
    func nonRequestsAreNotAnswered() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(62)
            var burst: [UInt8] = []
            for mti in [210, 230, 440, 290] {
                var message = terminal.balance(card)
                message.mti = MTI(mti)!
                burst += Wire.frame(try message.encoded())
            }
            try client.write(burst)
            // Before the first fix 0210 was answered as 0220 and 0290 as 0300: responses to responses. Before the
            // second they were dropped with the connection left open, the sender none the wiser.
            #expect((try? client.receive(timeout: 1)) == nil)
            #expect(client.closedByPeer(within: 5))
            let reply = try SwitchClient(port: server.port).exchange(terminal.balance(card))
            #expect(reply.mti == "0210" && reply.code == "14")
        }
    }
}
