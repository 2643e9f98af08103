import Foundation
import Ledger
import Notifications
import Testing
import WebhookTestSupport

@testable import SwitchCore

/// `member.birthday` through the real `loyalty-switch` binary: members enrolled by a terminal with today's birthday
/// (field 48 `BD`, the rules' Gregorian calendar in UTC) are each greeted once, delivered signed to a real receiver;
/// SIGKILLs between and during the greeting steps neither repeat a greeting nor lose one.
@Suite(.serialized)
struct BirthdayGreetingEndToEndTests {
    /// The notices test's switch and rules, greeting birthdays instead of telling expiries.
    static func settings(_ receiver: WebhookReceiver) -> SwitchSettings {
        var settings = ExpiryNoticeEndToEndTests.settings(receiver)
        settings.rules["expiry"] = nil
        settings.rules["notifications"] = ["birthdayGreeting": true]
        return settings
    }

    /// Month and day (MMDD) of `secondsFromNow` from now, in UTC.
    static func monthDay(_ secondsFromNow: Int) -> String {
        var now = time(nil) + secondsFromNow
        var parts = tm()
        gmtime_r(&now, &parts)
        return Wire.digits(Int(parts.tm_mon) + 1, 2) + Wire.digits(Int(parts.tm_mday), 2)
    }

    static func enrol(_ card: String, birthday: String, _ terminal: inout Terminal, port: UInt16) throws -> String? {
        var message = terminal.message(200, processing: "910000", card: card)
        try message.set(48, "BD04" + birthday)
        return try SwitchClient(port: port).exchange(message).code
    }

    /// The greetings the log holds, once every one of them is acknowledged by the receiver and there are `count`.
    static func greetings(
        _ directory: ScratchDirectory, _ receiver: WebhookReceiver, count: Int
    ) -> [NotificationEvent]? {
        var greeted: [NotificationEvent] = []
        let settled = eventually(timeout: 60) {
            greeted = ((try? OutboxEndToEndTests.logEvents(directory)) ?? []).filter { $0.type == "member.birthday" }
            return greeted.count >= count && greeted.allSatisfy { receiver.acknowledgedIds.contains($0.id) }
        }
        return settled ? greeted : nil
    }

    /// A purchase, then waits until every `points.earned` in the log is delivered: the shard has taken greeting
    /// steps since (they run every 100 ms), so a repeated greeting would be in the log by then.
    static func purchaseAndSettle(
        _ card: String, _ terminal: inout Terminal, port: UInt16, _ directory: ScratchDirectory,
        _ receiver: WebhookReceiver
    ) throws -> Bool {
        guard try SwitchClient(port: port).exchange(terminal.purchase(card, 10_000)).code == "00" else { return false }
        return eventually(timeout: 60) {
            ((try? OutboxEndToEndTests.logEvents(directory)) ?? []).filter { $0.type == "points.earned" }
                .allSatisfy { receiver.acknowledgedIds.contains($0.id) }
        }
    }

    @Test("members enrolled by a terminal with today's birthday get one member.birthday each (signed, Persian text), one with tomorrow's none; SIGKILL and restart greet nobody twice, and a member enrolled just before a SIGKILL is greeted exactly once")
    func oncePerMemberAcrossKills() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let receiver = try WebhookReceiver(
            directory: directory.path, secret: "outbox", arguments: ["--weights", "100,0,0,0,0,0"])
        defer { receiver.stop() }
        let settings = Self.settings(receiver)
        var terminal = Terminal()
        let today = Self.monthDay(0)
        let cards = (1...5).map { Wire.card($0, test: 43) }

        let server = try SwitchProcess(directory: directory, settings: settings)
        #expect(try Self.enrol(cards[0], birthday: today, &terminal, port: server.port) == "00")
        #expect(try Self.enrol(cards[1], birthday: today, &terminal, port: server.port) == "00")
        #expect(try Self.enrol(cards[2], birthday: Self.monthDay(2 * 86_400), &terminal, port: server.port) == "00")
        let first = try #require(Self.greetings(directory, receiver, count: 2), "\(server.log)")
        #expect(first.count == 2 && Set(first.map(\.memberId)).count == 2)
        let delivered = try #require(receiver.requests.first { $0.id == first[0].id })
        #expect(delivered.signatureOk && delivered.text.contains("تولد") && !delivered.card.contains(cards[0]))
        server.stop()

        let restarted = try SwitchProcess(directory: directory, settings: settings, run: 1)
        #expect(try Self.enrol(cards[3], birthday: today, &terminal, port: restarted.port) == "00")
        #expect(Self.greetings(directory, receiver, count: 3) != nil, "\(restarted.log)")
        #expect(try Self.purchaseAndSettle(cards[0], &terminal, port: restarted.port, directory, receiver))
        let second = ((try? OutboxEndToEndTests.logEvents(directory)) ?? []).filter { $0.type == "member.birthday" }
        #expect(second.count == 3, "the restarted switch greets only the new member: \(second.map(\.id))")
        // Killed right after an enrolment: its greeting is either durable already or made after the restart.
        #expect(try Self.enrol(cards[4], birthday: today, &terminal, port: restarted.port) == "00")
        restarted.stop()

        let third = try SwitchProcess(directory: directory, settings: settings, run: 2)
        defer { third.stop() }
        let all = try #require(Self.greetings(directory, receiver, count: 4), "\(third.log)")
        #expect(try Self.purchaseAndSettle(cards[1], &terminal, port: third.port, directory, receiver))
        let final = ((try? OutboxEndToEndTests.logEvents(directory)) ?? []).filter { $0.type == "member.birthday" }
        #expect(all.count == 4 && final.count == 4, "one greeting per member: \(final.map(\.id))")
        #expect(Set(final.map(\.memberId)).count == 4)
        let greetingIds = Set(receiver.requests.filter { $0.text.contains("تولد") }.map(\.id))
        #expect(greetingIds == Set(final.map(\.id)), "the receiver got no greeting the log lacks")
    }
}
