import Foundation
import Glibc
import ISO8583
import Ledger
import Notifications
import LoyaltyLedger
import Testing
import WebhookTestSupport

@testable import SwitchCore

/// The ledger outbox through the real `loyalty-switch` binary: ISO 8583 purchases, redemptions, a reversal and an
/// admin block become webhook events read from the switch's own log, delivered to a real receiver (Python's
/// http.server checking signatures), and SIGKILLs during heavy delivery lose none and invent none.
@Suite(.serialized)
struct OutboxEndToEndTests {
    static func settings(_ receiver: WebhookReceiver) -> SwitchSettings {
        var settings = NotificationsEndToEndTests.settings(receiver, secret: "outbox", extra: ["triesMax": 1000])
        settings.shards = 1
        return settings
    }

    /// Every event the switch's log holds now, shard by shard, as the switch makes them (read-only, beside the
    /// running switch).
    static func logEvents(_ directory: ScratchDirectory, shards: Int = 1) throws -> [NotificationEvent] {
        let decider = LoyaltyDecider(rules: SwitchConfiguration().programInForce)
        var events: [NotificationEvent] = []
        for shard in 0..<shards {
            let tail = LogTail(root: directory.data, shard: shard)
            var after: UInt64 = 0
            for _ in 0..<100_000 {
                let batch = try tail.events(after: after, recordsMax: 512, decider: decider)
                if batch.lastSequence == after { break }
                events += batch.events.map { LedgerEventText.notification($0, shard: shard, decider: decider) }
                after = batch.lastSequence
            }
        }
        return events
    }

    /// The first request that skips ahead of a member's unacknowledged event, or nil. Per member the events are
    /// in log order (`all`); a request may repeat an acknowledged event (a restart re-sends what its last commit
    /// did not record) but never send one before every earlier one was acknowledged.
    static func orderViolation(_ requests: [WebhookReceiver.Request], all: [NotificationEvent]) -> String? {
        var order: [String: Int] = [:]
        var member: [String: String] = [:]
        var counts: [String: Int] = [:]
        for event in all {
            order[event.id] = counts[event.memberId, default: 0]
            counts[event.memberId, default: 0] += 1
            member[event.id] = event.memberId
        }
        var next: [String: Int] = [:]
        for request in requests {
            guard let index = order[request.id], let owner = member[request.id], owner == request.member else {
                return "\(request.id) is no event of the log (member \(request.member))"
            }
            let expected = next[owner, default: 0]
            guard index <= expected else { return "\(request.id) sent before event \(expected) of \(owner) was acknowledged" }
            if index == expected && request.answer == "ok" { next[owner] = expected + 1 }
        }
        return nil
    }

    @Test("Purchases, a redemption, a reversal and an admin block over the real wire give points.earned, points.redeemed, points.reversed and card.blocked, signed, with the admin API's member id and the masked card; a declined request gives none")
    func eventsOfRealTraffic() throws {
        let directory = ScratchDirectory()
        let receiver = try WebhookReceiver(
            directory: directory.path, secret: "outbox", arguments: ["--weights", "80,10,0,10,0,0"])
        defer { receiver.stop() }
        let harness = try AdminHarness(directory: directory, settings: Self.settings(receiver))
        defer { harness.close() }
        let server = harness.server
        let client = try SwitchClient(port: server.port)
        var terminal = Terminal()
        let cards = (1...4).map { Wire.card($0, test: 15) }
        for card in cards { #expect(try client.exchange(terminal.purchase(card, 50_000)).code == "00") }
        #expect(try client.exchange(terminal.purchase(cards[1], 20_000, stan: 700)).code == "00")
        let reversal = terminal.message(
            400, processing: "000000", card: cards[1], amount: 20_000, original: terminal.originalData(mti: 200, stan: 700))
        #expect(try client.exchange(reversal).code == "00")
        #expect(try client.exchange(terminal.redeem(cards[0], 100)).code == "00")
        #expect(try client.exchange(terminal.redeem(cards[2], 90_000_000)).code != "00", "declined: no event")
        let (cardId, memberId) = try harness.cardId(cards[3])
        let blocked = try harness.post("/v1/cards/\(cardId)/block", token: harness.admin, #"{"reason":"stolen"}"#)
        #expect(blocked.code == 200, "\(blocked.body)")
        #expect(try client.exchange(terminal.purchase(cards[3], 10_000)).code == "62", "declined: no event")

        let all = try Self.logEvents(directory)
        let ids = Set(all.map(\.id))
        #expect(receiver.wait(timeout: 60) { _ in receiver.acknowledgedIds == ids }, "\(server.log)")
        let types = all.map(\.type)
        #expect(types.filter { $0 == "points.earned" }.count == 5, "\(types)")
        #expect(types.filter { $0 == "points.redeemed" }.count == 1 && types.filter { $0 == "points.reversed" }.count == 1)
        #expect(types.last == "card.blocked", "\(types)")
        let block = try #require(all.last)
        #expect(block.memberId == memberId, "the member as the admin API names it")
        #expect(block.value("reason") == .string("stolen"))
        #expect(block.card == CardNumberMask.mask(cards[3].utf8) && !block.card.contains(cards[3]))
        let requests = receiver.requests
        #expect(requests.allSatisfy { $0.signatureOk && $0.id == $0.bodyId && !$0.card.allSatisfy(\.isNumber) })
        #expect(Self.orderViolation(requests, all: all) == nil)
        let samples = AdminClient.samples(try AdminClient.get(harness.port, "/metrics"))
        #expect(samples["loyalty_outbox_events_total"] == Double(all.count))
        #expect(samples["loyalty_outbox_records_dropped_total"] == 0)
        let health = try NotificationsEndToEndTests.json(try AdminClient.get(harness.port, "/v1/health"))
        let detail = try #require(health["notifications"] as? [String: Any])
        #expect(detail["eventsProduced"] as? Int == all.count && detail["recordsDropped"] as? Int == 0)
    }

    @Test("SIGKILL the switch ten times during heavy delivery of purchases and reversals on three shards, to a receiver answering 200, 500, late and reset at random: every event of every shard's log arrives, none that the logs lack, repeats keep their id, order per member holds, every approved purchase and reversal has its event, and reversals tell the points they took back")
    func killDuringHeavyDelivery() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        // A late answer comes 3 s after the 300 ms response timeout, so the switch surely counted that try failed
        // (the receiver's log calls it "sleep", not acknowledged), even on a loaded machine.
        let receiver = try WebhookReceiver(
            directory: directory.path, secret: "outbox",
            arguments: ["--weights", "85,5,3,7,0,0", "--sleep", "3", "--delay", "0.002"])
        defer { receiver.stop() }
        var settings = Self.settings(receiver)
        settings.shards = 3
        var approved: [String: Int] = [:]
        var reversed: [String: Int] = [:]
        var sent: [String: Int] = [:]
        var stan = 1
        for run in 0..<10 {
            let server = try SwitchProcess(directory: directory, settings: settings, run: run)
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            for index in 0..<200 {
                let card = Wire.card(index % 40, test: 16)
                sent[card, default: 0] += 1
                stan += 1
                guard try client.exchange(terminal.purchase(card, 10_000, stan: stan % 999_999)).code == "00" else { continue }
                approved[card, default: 0] += 1
                guard index % 10 == 0 else { continue }
                let original = terminal.originalData(mti: 200, stan: stan % 999_999)
                stan += 1
                let reversal = terminal.message(
                    400, processing: "000000", card: card, amount: 10_000, stan: stan % 999_999, original: original)
                if try client.exchange(reversal).code == "00" { reversed[card, default: 0] += 1 }
            }
            let before = receiver.acknowledgedIds.count
            _ = receiver.wait(timeout: 10) { _ in receiver.acknowledgedIds.count >= before + 50 }
            server.stop()
        }
        let last = try SwitchProcess(directory: directory, settings: settings, run: 99)
        defer { last.stop() }
        let all = try Self.logEvents(directory, shards: 3)
        let ids = Set(all.map(\.id))
        #expect(Set(all.map { $0.id.prefix(3) }) == ["s0-", "s1-", "s2-"], "events on every shard")
        #expect(receiver.wait(timeout: 240) { _ in receiver.acknowledgedIds == ids }, "no event lost")
        let requests = receiver.requests
        #expect(Set(requests.map(\.id)).isSubset(of: ids), "none for a change the logs do not hold")
        #expect(requests.allSatisfy { $0.signatureOk && $0.id == $0.bodyId })
        #expect(Set(requests.map(\.answer)).isSuperset(of: ["ok", "error", "sleep", "reset"]), "every kind of answer")
        let violation = Self.orderViolation(requests, all: all)
        #expect(violation == nil, "\(violation ?? "")")
        var earned: [String: Int] = [:]
        var reversals: [String: Int] = [:]
        for event in all where event.type == "points.earned" { earned[event.card, default: 0] += 1 }
        for event in all where event.type == "points.reversed" {
            reversals[event.card, default: 0] += 1
            guard case .integer(let change) = event.value("pointsChange") else {
                Issue.record("a reversal tells the points it took back: \(event)")
                continue
            }
            #expect(change < 0, "a reversed purchase takes points back: \(event)")
        }
        for (card, count) in sent {
            let masked = CardNumberMask.mask(card.utf8)
            let told = earned[masked, default: 0]
            #expect(told >= approved[card, default: 0] && told <= count, "\(card): \(told) events, \(count) sent")
            #expect(reversals[masked, default: 0] >= reversed[card, default: 0], "\(card): reversals told")
        }
        #expect(approved.values.reduce(0, +) == 2000 && earned.values.reduce(0, +) == 2000)
        #expect(reversed.values.reduce(0, +) == 200 && reversals.values.reduce(0, +) == 200)
    }
}

extension OutboxEndToEndTests {
    @Test("notifications.outboxRecordsMax (1...1,000,000,000) and notifications.loopNice (0...19) are read and bounded")
    func outboxConfiguration() throws {
        let configuration = try ConfigurationFileTests.load(
            #"{"notifications": {"outboxRecordsMax": 1234, "loopNice": 3}}"#)
        #expect(configuration.notifications?.outboxRecordsMax == 1234 && configuration.notifications?.loopNice == 3)
        #expect(try ConfigurationFileTests.load(#"{"notifications": {}}"#).notifications?.loopNice == 10)
        try ConfigurationFileTests.expectRefusal(
            #"{"notifications": {"outboxRecordsMax": 0}}"#, "notifications.outboxRecordsMax: must be 1...1000000000")
        try ConfigurationFileTests.expectRefusal(
            #"{"notifications": {"loopNice": 20}}"#, "notifications.loopNice: must be 0...19")
    }

    @Test("webhooks are delivered from a loop thread of their own: the switch's threads include notify-loop-0 beside its ISO 8583 loops, and only with webhooks")
    func deliveryHasItsOwnLoop() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let receiver = try WebhookReceiver(directory: directory.path, secret: "outbox")
        defer { receiver.stop() }
        var settings = Self.settings(receiver)
        settings.shards = 2
        let server = try SwitchProcess(directory: directory, settings: settings)
        defer { server.stop() }
        let client = try SwitchClient(port: server.port)
        var terminal = Terminal()
        #expect(try client.exchange(terminal.purchase(Wire.card(1, test: 16), 10_000)).code == "00")
        #expect(receiver.wait(timeout: 30) { _ in receiver.acknowledgedIds.count == 1 })
        let threads = try Self.threadNames(server.process.pid)
        #expect(threads.contains { $0.hasPrefix("notify-loop") }, "\(threads)")
        #expect(server.log.contains("on their own loop, nice 10"), "\(server.log)")

        let plain = ScratchDirectory()
        defer { plain.remove() }
        let without = try SwitchProcess(directory: plain, settings: SwitchSettings())
        defer { without.stop() }
        #expect(try !Self.threadNames(without.process.pid).contains { $0.hasPrefix("notify-loop") })
    }

    /// The names of a process's threads (`/proc/PID/task/*/comm`, at most 15 bytes each).
    static func threadNames(_ pid: Int32) throws -> [String] {
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        return tasks.compactMap { task in
            (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}
