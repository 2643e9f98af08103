import Foundation
import Glibc
import ISO8583
import Synchronization
import Testing

/// One request a crash-test client sent, and the response it got (nil when the switch died first).
struct SentPurchase: Sendable {
    let request: [UInt8]
    let terminal: String
    let stan: String
    let card: String
    /// Points a purchase earns (0 for other requests).
    let points: Int64
    var processing = "000000"
    var amount: Int64 = 0
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

    /// The next request of a crash-test client: a purchase, or with `mixed` also small redeems and 0400
    /// reversals (by field 90) of its own earlier purchases and redeems.
    static func nextRequest(
        _ terminal: inout Terminal, sent: [SentPurchase], mixed: Bool, _ generator: inout SystemRandomNumberGenerator
    ) -> SentPurchase? {
        let roll = mixed ? Int.random(in: 0..<100, using: &generator) : 0
        let card = cards.randomElement(using: &generator)!
        var message: ISOMessage
        var processing = "000000"
        var amount = Int64.random(in: 100...5_000, using: &generator)
        if roll >= 85, let original = sent.filter({ $0.processing != "reversal" }).randomElement(using: &generator) {
            message = terminal.message(
                400, processing: original.processing, card: original.card, amount: original.amount,
                original: terminal.originalData(mti: 200, stan: Int(original.stan)!))
            processing = "reversal"
            amount = original.amount
            guard let encoded = try? message.encoded() else { return nil }
            let entry = SentPurchase(
                request: encoded, terminal: terminal.terminalId, stan: message.string(11)!, card: original.card,
                points: 0, processing: processing, amount: amount)
            return entry
        }
        if roll >= 65 {
            processing = "900000"
            amount = Int64.random(in: 1...30, using: &generator)
        }
        message = terminal.message(200, processing: processing, card: card, amount: amount)
        guard let encoded = try? message.encoded() else { return nil }
        let entry = SentPurchase(
            request: encoded, terminal: terminal.terminalId, stan: message.string(11)!, card: card,
            points: processing == "000000" ? amount / 100 : 0, processing: processing, amount: amount)
        return entry
    }

    /// One client thread: pipelined windows of requests until the deadline or until the switch dies.
    static func drive(port: UInt16, terminalId: String, deadline: Date, mixed: Bool, log: SentLog) {
        var sent: [SentPurchase] = []
        defer { log.append(sent) }
        guard let client = try? SwitchClient(port: port) else { return }
        var terminal = Terminal(id: terminalId)
        var generator = SystemRandomNumberGenerator()
        while Date() < deadline && terminal.nextStan < 50_000 {
            var window: [String: Int] = [:]
            var bytes: [UInt8] = []
            for _ in 0..<windowSize {
                guard let entry = nextRequest(&terminal, sent: sent, mixed: mixed, &generator) else { return }
                window[entry.stan] = sent.count
                sent.append(entry)
                bytes += Wire.frame(entry.request)
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
    static func runAndKill(
        directory: ScratchDirectory, cycle: Int, mixed: Bool = false, settings: SwitchSettings = SwitchSettings(),
        log: SentLog
    ) throws {
        let server = try SwitchProcess(directory: directory, settings: settings, run: cycle)
        defer { server.stop() }
        let finished = DispatchSemaphore(value: 0)
        let deadline = Date().addingTimeInterval(5)
        for worker in 0..<workers {
            let terminalId = "K" + Wire.digits(cycle, 3) + "W" + Wire.digits(worker, 3)
            let port = server.port
            Thread.detachNewThread {
                drive(port: port, terminalId: terminalId, deadline: deadline, mixed: mixed, log: log)
                finished.signal()
            }
        }
        usleep(UInt32.random(in: 150_000...900_000))
        server.stop()
        #expect(server.process.termination == .signalled(SIGKILL))
        for _ in 0..<workers {
            #expect(finished.wait(timeout: .now() + 30) == .success, "a client thread did not stop")
        }
    }

    @Test(
        "SIGKILL at random moments under load, 4 times: every approval is there exactly once and replays byte for byte")
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
        print(
            "switch crash test: \(Self.cycles) SIGKILLs, \(sent.count) purchases sent, \(answered.count) approved before a kill"
        )
        var terminal = Terminal(id: "VERIFY01")
        for card in Self.cards {
            let expected = sent.filter { $0.card == card }.reduce(Int64(0)) { $0 + $1.points }
            #expect(try client.availablePoints(card, terminal: &terminal) == expected, "card \(card.suffix(4))")
        }
    }

    @Test(
        "SIGKILL under purchases, redeems and reversals, 3 times: each card's balance is the sum of what the final answers say moved"
    )
    func killUnderMixedLoad() throws {
        try Self.killUnderMixedLoad(settings: SwitchSettings())
    }

    /// Tiers by purchase count (×2 from the 20th purchase), a first-purchase bonus and a per-visit campaign:
    /// what a purchase earns depends on the member's history, which the log must carry through every kill.
    static var memberDependentRules: [String: Any] {
        [
            "version": 1, "currency": 364,
            "earning": ["default": ["points": 1, "perAmountMinor": 100]],
            "tiers": [
                "windowDays": 365, "by": "count",
                "levels": [["id": "BASE", "from": 0], ["id": "REGULAR", "from": 20, "pointsMultiplierPercent": 200]],
            ],
            "events": ["firstPurchasePoints": 7],
            "campaigns": [
                ["id": "ALWAYS", "from": "2020-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z", "bonusPoints": 3]
            ],
        ]
    }

    @Test(
        "the same under loyalty rules whose decisions depend on each member's history: replays byte for byte, balances add up"
    )
    func killUnderMixedLoadWithRules() throws {
        var settings = SwitchSettings()
        settings.rules = Self.memberDependentRules
        let sent = try Self.killUnderMixedLoad(settings: settings)
        let receipts = sent.compactMap { $0.response }.compactMap { try? Wire.dialect.decode($0).string(63) }
        #expect(receipts.contains { $0.contains("TIER REGULAR") }, "some members reached the second tier")
    }

    /// Returns what the clients sent and got before the kills.
    @discardableResult
    static func killUnderMixedLoad(settings: SwitchSettings) throws -> [SentPurchase] {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let log = SentLog()
        for cycle in 0..<3 {
            try Self.runAndKill(directory: directory, cycle: cycle, mixed: true, settings: settings, log: log)
        }
        let sent = log.all
        #expect(sent.filter { $0.processing == "reversal" && $0.response != nil }.count > 0, "reversals were answered")
        let server = try SwitchProcess(directory: directory, settings: settings, run: 3)
        defer { server.stop() }
        let client = try SwitchClient(port: server.port)
        _ = writeInBackground(fd: client.fd, sent.flatMap { Wire.frame($0.request) })
        var byKey: [String: SentPurchase] = [:]
        for entry in sent { byKey["\(entry.terminal)/\(entry.stan)"] = entry }
        var moved: [String: Int64] = [:]
        var replayMismatches: [String] = []
        var codes: Set<String> = []
        for _ in 0..<sent.count {
            let reply = try client.receive(timeout: 30)
            codes.insert(reply.code ?? "-")
            guard let entry = byKey["\(reply.field(41) ?? "")/\(reply.field(11) ?? "")"] else {
                Issue.record("a response that matches no request")
                continue
            }
            if let original = entry.response, original != reply.bytes { replayMismatches.append(entry.processing) }
            moved[entry.card, default: 0] += (reply.credited ?? 0) + (reply.debited ?? 0)
        }
        #expect(
            codes.isSubset(of: ["00", "51", "05", "14"]),
            "codes (14: a redeem before the card's first purchase): \(codes)")
        #expect(replayMismatches.isEmpty, "answered requests that replay differently: \(replayMismatches.prefix(5))")
        var terminal = Terminal(id: "VERIFY02")
        for card in Self.cards {
            let balance = try client.exchange(terminal.balance(card))
            #expect(
                balance.available == moved[card, default: 0], "card \(card.suffix(4)): 90s minus 91s of the answers")
        }
        return sent
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
            #expect(exit == .exited(0), "graceful stop exits 0: \(String(describing: exit))")
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
