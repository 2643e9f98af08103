import Foundation
import Glibc
import ISO8583
import Testing

/// The switch's life from outside: idle connections, stopping with requests in flight.
@Suite struct LifecycleTests {
    @Test("a connection idle for longer than idleTimeoutMs is closed; a busy one is not")
    func idleTimeout() throws {
        var settings = SwitchSettings()
        settings.limits = ["idleTimeoutMs": 400]
        try withSwitch(settings) { server in
            let idle = try SwitchClient(port: server.port)
            let busy = try SwitchClient(port: server.port)
            var terminal = Terminal()
            var echo = terminal.message(800)
            try echo.set(70, "301")
            #expect(try idle.exchange(echo).code == "00")
            for _ in 0..<8 {
                usleep(150_000)
                #expect(try busy.exchange(echo).code == "00", "traffic keeps a connection open")
            }
            #expect(idle.closedByPeer(within: 1), "closed after 400 ms without traffic")
        }
    }

    @Test("SIGTERM with requests in flight: exit 0; every answered approval is durable and replays byte for byte after restart")
    func stopWithRequestsInFlight() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let cards = (0..<3).map { Wire.card($0, test: 11) }
        var terminal = Terminal(id: "STOPTERM")
        var requests: [ISOMessage] = []
        for index in 0..<3000 { requests.append(terminal.purchase(cards[index % 3], Int64(100 + index % 900))) }
        var answers: [String: [UInt8]] = [:]
        do {
            let server = try SwitchProcess(directory: directory, run: 0)
            defer { server.stop() }
            let client = try SwitchClient(port: server.port)
            _ = writeInBackground(fd: client.fd, requests.flatMap { Wire.frame(try! $0.encoded()) })
            for _ in 0..<50 {
                guard let reply = try? client.receive(timeout: 10) else { break }
                answers[reply.field(11)!] = reply.bytes
            }
            kill(server.process.processIdentifier, SIGTERM)
            while answers.count < requests.count, let reply = try? client.receive(timeout: 10) {
                answers[reply.field(11)!] = reply.bytes
            }
            let exit = server.waitForExit(timeout: 20)
            #expect(exit?.reason == .exit && exit?.status == 0, "graceful stop exits 0: \(String(describing: exit))")
        }
        #expect(answers.count >= 50)
        let server = try SwitchProcess(directory: directory, run: 1)
        defer { server.stop() }
        let client = try SwitchClient(port: server.port)
        _ = writeInBackground(fd: client.fd, requests.flatMap { Wire.frame(try! $0.encoded()) })
        var mismatches: [String] = []
        for _ in 0..<requests.count {
            let reply = try client.receive(timeout: 30)
            if let before = answers[reply.field(11)!], before != reply.bytes { mismatches.append(reply.field(11)!) }
        }
        #expect(mismatches.isEmpty, "answers before the stop that replay differently: \(mismatches.prefix(5))")
        var inquirer = Terminal(id: "STOPCHK1")
        for (index, card) in cards.enumerated() {
            let expected = requests.enumerated().filter { $0.offset % 3 == index }.reduce(Int64(0)) {
                $0 + $1.element.integer(4)! / 100
            }
            #expect(try client.availablePoints(card, terminal: &inquirer) == expected, "each purchase counted once")
        }
    }
}
