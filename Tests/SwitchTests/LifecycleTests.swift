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

    @Test(
        "SIGTERM with requests in flight: exit 0; every answered approval is durable and replays byte for byte after restart"
    )
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
            kill(server.process.pid, SIGTERM)
            while answers.count < requests.count, let reply = try? client.receive(timeout: 10) {
                answers[reply.field(11)!] = reply.bytes
            }
            let exit = server.waitForExit(timeout: 20)
            #expect(exit == .exited(0), "graceful stop exits 0: \(String(describing: exit))")
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

/// One pipelining connection's answers, collected on a thread of its own until the switch closes.
final class AnswerCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var stans: [Int] = []
    private var codes: [String: Int] = [:]
    private let finished = DispatchSemaphore(value: 0)

    /// Reads answers from `client` until it closes (EOF or reset) or is silent for `silenceSeconds`. From then
    /// on only this thread reads the client (its writer writes the descriptor, never the client's buffers).
    func start(_ client: SwitchClient, silenceSeconds: Double) {
        nonisolated(unsafe) let client = client
        Thread.detachNewThread { [self] in
            while let reply = try? client.receive(timeout: silenceSeconds) {
                lock.lock()
                stans.append(Int(reply.field(11) ?? "") ?? -1)
                codes[reply.code ?? "-", default: 0] += 1
                lock.unlock()
            }
            finished.signal()
        }
    }

    func waitUntilClosed() { finished.wait() }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return stans.count
    }

    var answered: (stans: [Int], codes: [String: Int]) {
        lock.lock()
        defer { lock.unlock() }
        return (stans, codes)
    }
}

extension LifecycleTests {
    @Test("SIGTERM under pipelined load: every request the switch read is answered, nothing applied unanswered")
    func stopAnswersEveryRequestRead() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let connections = 4
        let perConnection = 4000
        let cards = (0..<connections).map { Wire.card($0, test: 12) }
        var collectors: [AnswerCollector] = []
        var clients: [SwitchClient] = []
        do {
            let server = try SwitchProcess(directory: directory, run: 0)
            defer { server.stop() }
            for index in 0..<connections {
                var terminal = Terminal(id: "STOPPIP\(index)")
                let client = try SwitchClient(port: server.port)
                let collector = AnswerCollector()
                collector.start(client, silenceSeconds: 30)
                let frames = (0..<perConnection).flatMap { _ in
                    Wire.frame(try! terminal.purchase(cards[index], 100).encoded())
                }
                _ = writeInBackground(fd: client.fd, frames)
                clients.append(client)
                collectors.append(collector)
            }
            // Stop while every connection has requests in flight and more on the way.
            while collectors.contains(where: { $0.count < 100 }) { usleep(1_000) }
            kill(server.process.pid, SIGTERM)
            for collector in collectors { collector.waitUntilClosed() }
            let exit = server.waitForExit(timeout: 30)
            #expect(exit == .exited(0), "graceful stop exits 0: \(String(describing: exit))")
            let received = collectors.map(\.count).reduce(0, +)
            #expect(
                server.log.contains("requests read since start: \(received), answered: \(received)"),
                "every request read was answered: \(received) answers received; log:\n\(server.log.suffix(600))")
            for (index, collector) in collectors.enumerated() {
                let (stans, codes) = collector.answered
                #expect(stans.sorted() == Array((0..<stans.count).map { $0 + 1 }), "connection \(index): a prefix")
                #expect(codes == ["00": stans.count], "connection \(index): \(codes)")
            }
        }
        // Every purchase applied was answered: each card holds exactly the points of its connection's answers.
        let server = try SwitchProcess(directory: directory, run: 1)
        defer { server.stop() }
        let client = try SwitchClient(port: server.port)
        var inquirer = Terminal(id: "STOPCHK2")
        for (index, card) in cards.enumerated() {
            #expect(try client.availablePoints(card, terminal: &inquirer) ?? 0 == Int64(collectors[index].count))
        }
        _ = clients
    }
}
