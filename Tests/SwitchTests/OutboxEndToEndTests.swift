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

    /// Every event the switch's log holds now, as the switch makes them (read-only, beside the running switch).
    static func logEvents(_ directory: ScratchDirectory) throws -> [NotificationEvent] {
        let decider = LoyaltyDecider(rules: SwitchConfiguration().programInForce)
        let tail = LogTail(root: directory.data, shard: 0)
        var events: [NotificationEvent] = []
        var after: UInt64 = 0
        for _ in 0..<100_000 {
            let batch = try tail.events(after: after, recordsMax: 512, decider: decider)
            if batch.lastSequence == after { break }
            events += batch.events.map { LedgerEventText.notification($0, shard: 0, decider: decider) }
            after = batch.lastSequence
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
        defer { directory.remove() }
        let receiver = try WebhookReceiver(
            directory: directory.path, secret: "outbox", arguments: ["--weights", "80,10,0,10,0,0"])
        defer { receiver.stop() }
        let admin = try AdminAccessClient.initialize(directory)
        let server = try SwitchProcess(directory: directory, settings: Self.settings(receiver))
        defer { server.stop() }
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
        let port = try #require(server.adminPort)
        let (cardId, memberId) = try AdminMembersAndCardsTests.cardId(port, token: admin, pan: cards[3])
        let blocked = try AdminMembersAndCardsTests.post(port, "/v1/cards/\(cardId)/block", token: admin, #"{"reason":"stolen"}"#)
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
        let samples = AdminClient.samples(try AdminClient.get(port, "/metrics"))
        #expect(samples["loyalty_outbox_events_total"] == Double(all.count))
        #expect(samples["loyalty_outbox_records_dropped_total"] == 0)
        let health = try NotificationsEndToEndTests.json(try AdminClient.get(port, "/v1/health"))
        let detail = try #require(health["notifications"] as? [String: Any])
        #expect(detail["eventsProduced"] as? Int == all.count && detail["recordsDropped"] as? Int == 0)
    }

    @Test("SIGKILL the switch five times during heavy delivery of real purchases: every event of the log arrives, none that the log lacks, repeats keep their id, order per member holds, and every approved purchase has its event")
    func killDuringHeavyDelivery() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let receiver = try WebhookReceiver(
            directory: directory.path, secret: "outbox", arguments: ["--weights", "90,5,0,5,0,0", "--delay", "0.002"])
        defer { receiver.stop() }
        let settings = Self.settings(receiver)
        var approved: [String: Int] = [:]
        var sent: [String: Int] = [:]
        var stan = 1
        for run in 0..<5 {
            let server = try SwitchProcess(directory: directory, settings: settings, run: run)
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            for index in 0..<300 {
                let card = Wire.card(index % 40, test: 16)
                sent[card, default: 0] += 1
                stan += 1
                if try client.exchange(terminal.purchase(card, 10_000, stan: stan % 999_999)).code == "00" {
                    approved[card, default: 0] += 1
                }
            }
            let before = receiver.acknowledgedIds.count
            _ = receiver.wait(timeout: 10) { _ in receiver.acknowledgedIds.count >= before + 50 }
            server.stop()
        }
        let last = try SwitchProcess(directory: directory, settings: settings, run: 99)
        defer { last.stop() }
        let all = try Self.logEvents(directory)
        let ids = Set(all.map(\.id))
        #expect(receiver.wait(timeout: 180) { _ in receiver.acknowledgedIds == ids }, "no event lost")
        let requests = receiver.requests
        #expect(Set(requests.map(\.id)).isSubset(of: ids), "none for a change the log does not hold")
        #expect(requests.allSatisfy { $0.signatureOk && $0.id == $0.bodyId })
        let violation = Self.orderViolation(requests, all: all)
        #expect(violation == nil, "\(violation ?? "")")
        var earned: [String: Int] = [:]
        for event in all where event.type == "points.earned" { earned[event.card, default: 0] += 1 }
        for (card, count) in sent {
            let told = earned[CardNumberMask.mask(card.utf8), default: 0]
            #expect(told >= approved[card, default: 0] && told <= count, "\(card): \(told) events, \(count) sent")
        }
        #expect(approved.values.reduce(0, +) == 1500 && earned.values.reduce(0, +) == 1500)
    }
}

extension OutboxEndToEndTests {
    @Test("notifications.outboxRecordsMax is read and bounded (1...1,000,000,000); webhooks fed by the ledger outbox on more than one shard refuse the start, saying so")
    func outboxConfiguration() throws {
        let configuration = try ConfigurationFileTests.load(#"{"notifications": {"outboxRecordsMax": 1234}}"#)
        #expect(configuration.notifications?.outboxRecordsMax == 1234)
        try ConfigurationFileTests.expectRefusal(
            #"{"notifications": {"outboxRecordsMax": 0}}"#, "notifications.outboxRecordsMax: must be 1...1000000000")
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let outcome = try SwitchProcess.serve(
            json: #"{"shards": 2, "notifications": {"webhooks": [{"url": "http://127.0.0.1:9/", "secret": "s"}]}}"#,
            directory: directory)
        #expect(outcome.status != 0 && outcome.standardError.contains("the ledger outbox reads one shard"), "\(outcome.standardError)")
    }
}
