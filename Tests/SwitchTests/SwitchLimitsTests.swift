import Foundation
import ISO8583
import Testing

/// What happens at the switch's own limits on requests in flight (the network and ledger limits have their tests).
@Suite struct SwitchLimitsTests {
    @Test("inFlightPerConnectionMax 2: 300 pipelined purchases on one connection are all answered 00 (reading pauses, then resumes)")
    func inFlightLimitPausesReading() throws {
        var settings = SwitchSettings()
        settings.limits = ["inFlightPerConnectionMax": 2]
        try withSwitch(settings) { server in
            let card = Wire.card(1, test: 21)
            let requests = BudgetAndSheddingTests.purchases(terminals: 1, each: 300, cards: [card])
            let replies = try pipelined(requests, port: server.port, connections: 1)
            #expect(replies.count == 300)
            #expect(replies.values.allSatisfy { $0.code == "00" })
            var terminal = Terminal(id: "CHECK001")
            let expected = requests.reduce(Int64(0)) { $0 + $1.integer(4)! / 100 }
            #expect(try SwitchClient(port: server.port).availablePoints(card, terminal: &terminal) == expected)
        }
    }

    @Test("inFlightPerConnectionMax 2 is a hard cap: 300 purchases in one write, pendingPerLoopMax 2, all 00 in order")
    func inFlightLimitHoldsFramesAlreadyRead() throws {
        // The loop can track only 2 requests: had a read's frames all been handled at once, the third would be 91.
        var settings = SwitchSettings()
        settings.loops = 1
        settings.limits = ["inFlightPerConnectionMax": 2, "pendingPerLoopMax": 2]
        try withSwitch(settings) { server in
            // One card, so one shard answers the requests in the order they came.
            let card = Wire.card(2, test: 21)
            let requests = BudgetAndSheddingTests.purchases(terminals: 1, each: 300, cards: [card])
            let client = try SwitchClient(port: server.port)
            let stream = try requests.flatMap { Wire.frame(try $0.encoded()) }
            let written = writeInBackground(fd: client.fd, stream)
            var answers: [(stan: String, code: String)] = []
            for _ in requests {
                let reply = try client.receive(timeout: 30)
                answers.append((reply.field(11) ?? "-", reply.code ?? "-"))
            }
            let writerFinished = written.value.load(ordering: .acquiring)
            #expect(writerFinished)
            #expect(answers.allSatisfy { $0.code == "00" }, "codes: \(Set(answers.map(\.code)))")
            #expect(answers.map(\.stan) == requests.map { $0.string(11)! }, "answered in the order sent")
            var terminal = Terminal(id: "CHECK001")
            let expected = requests.reduce(Int64(0)) { $0 + $1.integer(4)! / 100 }
            #expect(try client.availablePoints(card, terminal: &terminal) == expected)
        }
    }

    @Test("pendingPerLoopMax 4: requests beyond it are answered 91 at once; balances hold exactly the 00s")
    func pendingLimitAnswers91() throws {
        var settings = SwitchSettings()
        settings.loops = 1
        settings.limits = ["pendingPerLoopMax": 4, "inFlightPerConnectionMax": 1024]
        let cards = (0..<3).map { Wire.card($0, test: 22) }
        try withSwitch(settings) { server in
            let requests = BudgetAndSheddingTests.purchases(terminals: 4, each: 150, cards: cards)
            let replies = try pipelined(requests, port: server.port, connections: 4)
            #expect(replies.count == requests.count, "every request answered")
            let codes = Set(replies.values.compactMap(\.code))
            #expect(codes.isSubset(of: ["00", "91"]), "codes: \(codes)")
            #expect(codes.contains("00") && codes.contains("91"), "the limit was reached and requests were still approved")
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal(id: "CHECK001")
            for card in cards {
                let approved = requests.filter { $0.string(2) == card && replies[BudgetAndSheddingTests.key($0)]?.code == "00" }
                    .reduce(Int64(0)) { $0 + $1.integer(4)! / 100 }
                let balance = try client.availablePointsRetrying(card, terminal: &terminal) ?? 0
                #expect(balance == approved, "card \(card.suffix(4))")
            }
        }
    }

    @Test("limits.idempotencyKeysPerShard outside 1024...2^28 stops the switch at start, naming the key")
    func idempotencyKeysOutOfRange() throws {
        var settings = SwitchSettings()
        settings.limits = ["idempotencyKeysPerShard": 10]
        let directory = ScratchDirectory()
        defer { directory.remove() }
        do {
            let server = try SwitchProcess(directory: directory, settings: settings, run: 0)
            server.stop()
            Issue.record("the switch started with 10 idempotency keys per shard")
        } catch {
            #expect("\(error)".contains("idempotencyKeysPerShard"), "\(error)")
        }
    }
}
