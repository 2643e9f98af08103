import Foundation
import Glibc
import ISO8583
import Synchronization
import Testing

/// Writes `bytes` to `fd` from another thread (so the test can read while a big pipeline is being written).
/// Returns a flag that turns true when the writer is done.
func writeInBackground(fd: Int32, _ bytes: [UInt8]) -> Flag {
    let done = Flag()
    Thread.detachNewThread {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { break }
            offset += written
        }
        done.value.store(true, ordering: .releasing)
    }
    return done
}

/// A flag shared with a detached thread.
final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}

/// Load and hostile clients from outside: pipelining, many connections, slow and garbage writers, a client that
/// never reads, the connection limit.
@Suite struct LoadAndRobustnessTests {
    @Test("1000 requests pipelined on one connection are all answered, each matched by fields 11 + 41")
    func pipelinedThousand() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminals = [Terminal(id: "PIPE0001"), Terminal(id: "PIPE0002")]
            var stream: [UInt8] = []
            var expected: [String: Int64] = [:]
            var pointsPerCard: [String: Int64] = [:]
            for index in 0..<1000 {
                let card = Wire.card(index % 8, test: 1)
                let amount = Int64(100 + index * 7)
                let request = terminals[index % 2].purchase(card, amount, stan: index / 2 + 1)
                stream += Wire.frame(try request.encoded())
                expected["\(request.string(11)!)/\(request.string(41)!)"] = amount / 100
                pointsPerCard[card, default: 0] += amount / 100
            }
            let written = writeInBackground(fd: client.fd, stream)
            var answered: [String: Int64] = [:]
            for _ in 0..<1000 {
                let reply = try client.receive(timeout: 30)
                #expect(reply.code == "00")
                let key = "\(reply.field(11) ?? "-")/\(reply.field(41) ?? "-")"
                #expect(answered[key] == nil, "answered twice: \(key)")
                answered[key] = reply.credited ?? 0
            }
            let writerFinished = written.value.load(ordering: .acquiring)
            #expect(writerFinished)
            #expect(answered == expected, "every request answered once with its own points")
            var inquirer = Terminal(id: "PIPE0003")
            for (card, points) in pointsPerCard {
                #expect(try client.availablePoints(card, terminal: &inquirer) == points)
            }
        }
    }

    @Test("200 connections open at once, each doing a purchase, all get 00")
    func twoHundredConnections() throws {
        try withSwitch { server in
            var clients: [SwitchClient] = []
            var requests: [ISOMessage] = []
            for index in 0..<200 {
                clients.append(try SwitchClient(port: server.port))
                var terminal = Terminal(id: "CONN" + Wire.digits(index, 4))
                requests.append(terminal.purchase(Wire.card(index % 10, test: 2), 1_000))
            }
            for (client, request) in zip(clients, requests) { try client.send(request) }
            for (client, request) in zip(clients, requests) {
                let reply = try client.receive(timeout: 30)
                #expect(reply.code == "00", "terminal \(request.string(41)!)")
                #expect(reply.field(41) == request.string(41))
            }
            var terminal = Terminal(id: "CONN9999")
            for card in 0..<10 {
                #expect(try clients[0].availablePoints(Wire.card(card, test: 2), terminal: &terminal) == 200)
            }
        }
    }

    @Test("a client writing one byte at a time gets the same answers as one writing whole frames")
    func oneByteAtATime() throws {
        try withSwitch { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(1, test: 3)
            let bytes = try Wire.frame(terminal.purchase(card, 2_500).encoded()) + Wire.frame(terminal.balance(card).encoded())
            for byte in bytes {
                try client.write([byte])
                usleep(200)
            }
            let purchase = try client.receive()
            let balance = try client.receive()
            #expect(purchase.code == "00" && purchase.credited == 25)
            #expect(balance.code == "00" && balance.available == 25)
        }
    }

    @Test("garbage bytes and an oversize length header close that connection; the switch keeps serving others")
    func garbageAndOversize() throws {
        try withSwitch { server in
            let bystander = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(1, test: 4)
            #expect(try bystander.exchange(terminal.purchase(card, 100)).code == "00")
            var generator = SystemRandomNumberGenerator()
            for round in 0..<5 {
                let garbage = try SwitchClient(port: server.port)
                let body = (0..<200).map { _ in UInt8.random(in: 0x80...0xFF, using: &generator) }
                try garbage.write([0, 200] + body)
                #expect(garbage.closedByPeer(within: 5), "garbage round \(round)")
            }
            let oversize = try SwitchClient(port: server.port)
            try oversize.write([0xFF, 0xFF] + [UInt8](repeating: 0x30, count: 100))
            #expect(oversize.closedByPeer(within: 5), "a 65535-byte frame is over the 8 KiB limit")
            let justOver = try SwitchClient(port: server.port)
            try justOver.write([0x20, 0x01])
            #expect(justOver.closedByPeer(within: 5), "8193 bytes is over the 8 KiB limit")
            #expect(try bystander.exchange(terminal.purchase(card, 100)).code == "00")
            #expect(try bystander.availablePoints(card, terminal: &terminal) == 2)
            #expect(server.isRunning)
        }
    }

    @Test("a client that sends many requests and never reads does not stall another client (answers within 1 s)")
    func nonReaderDoesNotStallOthers() throws {
        var settings = SwitchSettings()
        settings.limits = ["outputBytesMax": 65536]
        try withSwitch(settings) { server in
            let hog = try SwitchClient(port: server.port)
            var hogTerminal = Terminal(id: "HOG00001")
            var echo = hogTerminal.message(800)
            try echo.set(70, "301")
            let oneEcho = Wire.frame(try echo.encoded())
            var stream: [UInt8] = []
            for _ in 0..<150_000 { stream += oneEcho }  // same key: answered at once without the ledger
            _ = writeInBackground(fd: hog.fd, stream)
            usleep(300_000)
            let polite = try SwitchClient(port: server.port)
            var terminal = Terminal(id: "POLITE01")
            let card = Wire.card(1, test: 5)
            var slowest = 0.0
            for _ in 0..<20 {
                let start = Date()
                let reply = try polite.exchange(terminal.purchase(card, 100), timeout: 5)
                slowest = max(slowest, Date().timeIntervalSince(start))
                #expect(reply.code == "00")
            }
            #expect(slowest < 1.0, "slowest answer took \(slowest) s")
            shutdown(hog.fd, Int32(SHUT_RDWR))
            hog.close()
        }
    }

    @Test("connections over connectionsMax are closed at once; the ones inside the limit keep working")
    func connectionLimit() throws {
        var settings = SwitchSettings()
        settings.limits = ["connectionsMax": 4]
        try withSwitch(settings) { server in
            var terminal = Terminal()
            var echo = terminal.message(800)
            try echo.set(70, "301")
            var inside: [SwitchClient] = []
            for _ in 0..<4 {
                let client = try SwitchClient(port: server.port)
                #expect(try client.exchange(echo).code == "00")
                inside.append(client)
            }
            let over = try SwitchClient(port: server.port)
            #expect(over.closedByPeer(within: 2), "the fifth connection is closed")
            for client in inside { #expect(try client.exchange(echo).code == "00") }
            inside[0].close()
            usleep(200_000)
            let replacement = try SwitchClient(port: server.port)
            #expect(try replacement.exchange(echo).code == "00", "a freed slot can be used again")
        }
    }

    @Test("1500 randomly mutated requests: the switch never crashes, every answer is a decodable response with 39, others are served")
    func mutatedRequests() throws {
        try withSwitch { server in
            var generator = SystemRandomNumberGenerator()
            var terminal = Terminal(id: "FUZZ0001")
            var client = try SwitchClient(port: server.port)
            var seen: Set<[UInt8]> = []
            var answered = 0
            var closed = 0
            var malformedAnswers: [String] = []
            var previous = ""
            let deadline = Date().addingTimeInterval(20)
            for index in 0..<1500 where Date() < deadline {
                let base = index % 3 == 0
                    ? terminal.redeem(Wire.card(index % 7, test: 13), Int64(index + 1))
                    : terminal.purchase(Wire.card(index % 7, test: 13), Int64(100 * (index + 1)))
                var bytes = try base.encoded()
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                guard seen.insert(bytes).inserted else { continue }
                // The connection was answered or closed for the message before; a write that fails says the
                // switch closed it later: name that message and show the switch's log (seen once in ~6 runs).
                do { try client.write(Wire.frame(bytes)) } catch {
                    Issue.record("write failed (\(error)) after \(previous); switch log: \(server.log.suffix(3000))")
                    return
                }
                previous = bytes.prefix(40).map { String(format: "%02x", $0) }.joined()
                // A readable MTI whose response cannot be formed (a response, notification, acknowledgement) is
                // not answered: the switch closes the connection (ContractErrorTests.nonRequestMTICloses).
                if let mti = Int(String(decoding: bytes.prefix(4), as: UTF8.self)).flatMap({ MTI($0) }),
                    bytes.prefix(4).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), !mti.expectsResponse
                {
                    #expect(client.closedByPeer(within: 5), "\(mti) was neither answered nor closed")
                    closed += 1
                    client.close()
                    client = try SwitchClient(port: server.port)
                    continue
                }
                do {
                    let reply = try client.receive(timeout: 5)
                    answered += 1
                    // A request MTI (even function digit) must get its response MTI; what a non-request MTI gets
                    // is the subject of `nonRequestMTI` in ContractErrorTests.
                    let sent = Int(String(decoding: bytes.prefix(4), as: UTF8.self)) ?? -1
                    let expected = sent >= 0 ? MTI(sent)!.response : nil
                    let mti = reply.message.mti.map { Int($0.value) } ?? 0
                    if reply.code == nil || (expected != nil && mti != Int(expected!.value)) {
                        malformedAnswers.append("\(sent) -> \(reply.mti) 39=\(reply.code ?? "-")")
                    }
                } catch {
                    // Unreadable MTI or 11: the switch closes; a fresh connection carries on. Silence is a hang.
                    let text = "\(error)"
                    #expect(text.contains("closed") || text.contains("errno 104"), "neither an answer nor a close: \(text)")
                    closed += 1
                    #expect(server.isRunning, "the switch died after \(bytes)")
                    guard server.isRunning else { return }
                    client = try SwitchClient(port: server.port)
                }
            }
            #expect(malformedAnswers.isEmpty, "answers without 39 or a response MTI: \(malformedAnswers.prefix(5))")
            #expect(answered + closed > 1000, "answered \(answered), closed \(closed)")
            #expect(server.isRunning)
            let fresh = try SwitchClient(port: server.port)
            var check = Terminal(id: "FUZZCHK1")
            let card = Wire.card(99, test: 13)
            #expect(try fresh.exchange(check.purchase(card, 4_200)).code == "00")
            #expect(try fresh.availablePoints(card, terminal: &check) == 42)
            #expect(!server.log.contains("Fatal error"), "no crash in the log")
        }
    }
}
