import Foundation
import Glibc
import ISO8583
import Synchronization
import Testing

/// One purchase a crash-test client sent, and the response it got (nil when the switch died first).
struct SentPurchase: Sendable {
    let request: [UInt8]
    let terminal: String
    let stan: String
    let card: String
    let points: Int64
    var response: [UInt8]?
}

/// Everything the crash-test clients sent, across threads.
final class SentLog: Sendable {
    let entries = Mutex<[SentPurchase]>([])

    func append(_ batch: [SentPurchase]) { entries.withLock { $0 += batch } }
    var all: [SentPurchase] { entries.withLock { $0 } }
}

/// Kill the real switch at random moments under load, restart it on the same data, and prove from outside that
/// every approval is there exactly once; and that SIGTERM stops it cleanly.
@Suite(.serialized) struct CrashRecoveryTests {
    static let cycles = 4
    static let workers = 3
    static let windowSize = 8
    static let cards = (0..<6).map { Wire.card($0, test: 6) }

    /// One client thread: pipelined windows of purchases until the deadline or until the switch dies.
    static func drive(port: UInt16, terminalId: String, deadline: Date, log: SentLog) {
        var sent: [SentPurchase] = []
        defer { log.append(sent) }
        guard let client = try? SwitchClient(port: port) else { return }
        var terminal = Terminal(id: terminalId)
        var generator = SystemRandomNumberGenerator()
        while Date() < deadline && terminal.nextStan < 50_000 {
            var window: [String: Int] = [:]
            var bytes: [UInt8] = []
            for _ in 0..<windowSize {
                let card = cards.randomElement(using: &generator)!
                let amount = Int64.random(in: 100...5_000, using: &generator)
                let message = terminal.purchase(card, amount)
                guard let encoded = try? message.encoded() else { return }
                window[message.string(11)!] = sent.count
                sent.append(
                    SentPurchase(
                        request: encoded, terminal: terminalId, stan: message.string(11)!, card: card, points: amount / 100))
                bytes += Wire.frame(encoded)
            }
            guard (try? client.write(bytes)) != nil else { return }
            for _ in 0..<windowSize {
                guard let reply = try? client.receive(timeout: 20), let stan = reply.field(11), let index = window[stan]
                else { return }
                sent[index].response = reply.bytes
            }
        }
    }

    /// Starts the switch, drives it from several threads, SIGKILLs it after a random moment.
    static func runAndKill(directory: ScratchDirectory, cycle: Int, log: SentLog) throws {
        let server = try SwitchProcess(directory: directory, run: cycle)
        defer { server.stop() }
        let finished = DispatchSemaphore(value: 0)
        let deadline = Date().addingTimeInterval(5)
        for worker in 0..<workers {
            let terminalId = "K" + Wire.digits(cycle, 3) + "W" + Wire.digits(worker, 3)
            let port = server.port
            Thread.detachNewThread {
                drive(port: port, terminalId: terminalId, deadline: deadline, log: log)
                finished.signal()
            }
        }
        usleep(UInt32.random(in: 150_000...900_000))
        server.stop()
        #expect(server.process.terminationReason == .uncaughtSignal && server.process.terminationStatus == SIGKILL)
        for _ in 0..<workers {
            #expect(finished.wait(timeout: .now() + 30) == .success, "a client thread did not stop")
        }
    }

    @Test("SIGKILL at random moments under load, 4 times: every approval is there exactly once and replays byte for byte")
    func killUnderLoad() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let log = SentLog()
        for cycle in 0..<Self.cycles {
            try Self.runAndKill(directory: directory, cycle: cycle, log: log)
        }
        let sent = log.all
        let answered = sent.filter { $0.response != nil }
        #expect(answered.count > Self.cycles * 10, "the clients got \(answered.count) answers before the kills")
        for entry in answered {
            let reply = try Wire.dialect.decode(entry.response!)
            #expect(reply.string(39) == "00", "every answer before a kill is an approval")
        }
        let server = try SwitchProcess(directory: directory, run: Self.cycles)
        defer { server.stop() }
        // Send everything again: answered requests must replay their response exactly; unanswered ones are
        // applied now unless they were applied before the kill. Either way each counts exactly once.
        let client = try SwitchClient(port: server.port)
        _ = writeInBackground(fd: client.fd, sent.flatMap { Wire.frame($0.request) })
        var byKey: [String: SentPurchase] = [:]
        for entry in sent { byKey["\(entry.terminal)/\(entry.stan)"] = entry }
        var replayMismatches = 0
        for _ in 0..<sent.count {
            let reply = try client.receive(timeout: 30)
            #expect(reply.code == "00")
            guard let entry = byKey["\(reply.field(41) ?? "")/\(reply.field(11) ?? "")"] else {
                Issue.record("a response that matches no request")
                continue
            }
            if let original = entry.response, original != reply.bytes { replayMismatches += 1 }
        }
        #expect(replayMismatches == 0, "approved requests resent after the crashes must replay byte for byte")
        print("switch crash test: \(Self.cycles) SIGKILLs, \(sent.count) purchases sent, \(answered.count) approved before a kill")
        var terminal = Terminal(id: "VERIFY01")
        for card in Self.cards {
            let expected = sent.filter { $0.card == card }.reduce(Int64(0)) { $0 + $1.points }
            #expect(try client.availablePoints(card, terminal: &terminal) == expected, "card \(card.suffix(4))")
        }
    }

    @Test("SIGTERM: exit status 0, a snapshot is written, and a restart has every balance and replays old answers")
    func gracefulStop() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var terminal = Terminal()
        var firstReply: [UInt8] = []
        let first = terminal.purchase(Self.cards[0], 1_234)
        do {
            let server = try SwitchProcess(directory: directory, run: 0)
            defer { server.stop() }
            let client = try SwitchClient(port: server.port)
            firstReply = try client.exchange(first).bytes
            for index in 0..<30 { _ = try client.exchange(terminal.purchase(Self.cards[index % 3], 1_000)) }
            let exit = server.signalAndWait(SIGTERM)
            #expect(exit?.reason == .exit && exit?.status == 0, "graceful stop exits 0: \(String(describing: exit))")
            #expect(server.log.contains("stopped"))
        }
        let snapshots = (0..<2).flatMap { shard -> [String] in
            let folder = directory.data + "/shard-" + Wire.digits(shard, 3)
            return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter {
                $0.hasPrefix("snapshot-") && $0 != "snapshot-00000000000000000000.snap"
            }
        }
        #expect(!snapshots.isEmpty, "a snapshot past sequence 0 was written on SIGTERM")
        let server = try SwitchProcess(directory: directory, run: 1)
        defer { server.stop() }
        let client = try SwitchClient(port: server.port)
        #expect(try client.availablePoints(Self.cards[0], terminal: &terminal) == 12 + 100)
        #expect(try client.availablePoints(Self.cards[1], terminal: &terminal) == 100)
        #expect(try client.availablePoints(Self.cards[2], terminal: &terminal) == 100)
        #expect(try client.exchange(first).bytes == firstReply, "the first purchase replays after the restart")
    }
}
