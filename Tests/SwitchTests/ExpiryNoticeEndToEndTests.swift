import Foundation
import Ledger
import LoyaltyLedger
import Notifications
import Testing
import WebhookTestSupport

@testable import SwitchCore

/// `points.expiring` through the real `loyalty-switch` binary: a member whose points expire within the rules'
/// `notifications.expiryNoticeDays` gets exactly one notice, delivered to a real receiver, and a SIGKILL and
/// restart neither repeat it (with a new id) nor lose it.
@Suite(.serialized)
struct ExpiryNoticeEndToEndTests {
    static func settings(_ receiver: WebhookReceiver) -> SwitchSettings {
        var settings = OutboxEndToEndTests.settings(receiver)
        settings.rules = [
            "version": 1, "currency": 364, "earning": ["default": ["points": 1, "perAmountMinor": 1000]],
            "expiry": ["pointsLifeDays": 3], "notifications": ["expiryNoticeDays": 7],
        ]
        return settings
    }

    /// The `points.expiring` events the switch's log holds now, by member id.
    static func notices(_ directory: ScratchDirectory) throws -> [NotificationEvent] {
        let decider = LoyaltyDecider(rules: nil)
        let tail = LogTail(root: directory.data, shard: 0)
        var events: [NotificationEvent] = []
        var after: UInt64 = 0
        for _ in 0..<10_000 {
            let batch = try tail.events(after: after, recordsMax: 512, decider: nil)
            if batch.lastSequence == after { break }
            events += batch.events.filter { $0.type == "points.expiring" }.map {
                LedgerEventText.notification($0, shard: 0, decider: decider)
            }
            after = batch.lastSequence
        }
        return events
    }

    @Test("a purchase whose points expire within 4 days gets one points.expiring (Persian text, signed) from the running switch; after a SIGKILL and restart a second member gets its own and the first none again")
    func noticeOnceAcrossKill() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let receiver = try WebhookReceiver(
            directory: directory.path, secret: "outbox", arguments: ["--weights", "100,0,0,0,0,0"])
        defer { receiver.stop() }
        let settings = Self.settings(receiver)
        var terminal = Terminal()
        let first = Wire.card(1, test: 41)
        let second = Wire.card(2, test: 41)

        let server = try SwitchProcess(directory: directory, settings: settings)
        defer { server.stop() }
        #expect(try SwitchClient(port: server.port).exchange(terminal.purchase(first, 50_000)).code == "00")
        var told: [NotificationEvent] = []
        #expect(eventually(timeout: 60) {
            told = (try? Self.notices(directory)) ?? []
            return told.count == 1 && receiver.acknowledgedIds.contains(told[0].id)
        }, "\(server.log)")
        let notice = try #require(told.first)
        // Three days of life from mid-day end in the fourth day's first instant (lots end at a day's start).
        #expect(notice.value("points") == .integer(50))
        #expect(notice.value("days") == .integer(4) || notice.value("days") == .integer(3))
        let delivered = try #require(receiver.requests.first { $0.id == notice.id })
        #expect(delivered.signatureOk && delivered.text.contains("۵۰") && !delivered.card.contains(first))
        server.stop()

        let restarted = try SwitchProcess(directory: directory, settings: settings, run: 1)
        defer { restarted.stop() }
        #expect(try SwitchClient(port: restarted.port).exchange(terminal.purchase(second, 20_000)).code == "00")
        #expect(eventually(timeout: 60) {
            told = (try? Self.notices(directory)) ?? []
            return told.count >= 2 && told.allSatisfy { receiver.acknowledgedIds.contains($0.id) }
        }, "\(restarted.log)")
        #expect(told.count == 2, "one notice per member: \(told.map(\.id))")
        #expect(Set(told.map(\.memberId)).count == 2 && told[0].id == notice.id)
        let noticeIds = Set(receiver.requests.filter { $0.text.contains("منقضی") }.map(\.id))
        #expect(noticeIds == Set(told.map(\.id)), "the receiver got no notice the log lacks")
    }
}
