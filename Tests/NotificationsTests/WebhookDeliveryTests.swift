import Foundation
import Testing
import WebhookTestSupport

@testable import Notifications

/// Delivery on real loops to a real receiver process (Python's http.server), which checks every signature with
/// Python's hmac.
@Suite(.serialized)
struct WebhookDeliveryTests {
    @Test("The order check: a re-send from progress several acknowledged events back is a repeat; an event ahead of an unacknowledged one is a violation")
    func orderCheck() {
        func log(_ entries: [(Int, String)]) -> [WebhookReceiver.Request] {
            entries.map { sequence, answer in
                WebhookReceiver.Request(
                    id: "test-\(sequence)", bodyId: "test-\(sequence)", member: "m1", sequence: sequence,
                    signatureOk: true, answer: answer, card: "", text: "")
            }
        }
        // SIGKILL after 1...3 were acknowledged, the durable progress at 1: 2 and 3 come again, then 4.
        let restarted = log([(1, "ok"), (2, "ok"), (3, "ok"), (2, "ok"), (3, "ok"), (4, "ok")])
        #expect(WebhookReceiver.orderViolation(restarted, allowingRepeats: true) == nil)
        #expect(WebhookReceiver.orderViolation(restarted) == "member m1: sequence 2 after 3 was acknowledged")
        let ahead = log([(1, "ok"), (2, "error"), (3, "ok")])
        #expect(WebhookReceiver.orderViolation(ahead, allowingRepeats: true) == "member m1: sequence 3 after 1 was acknowledged")
    }

    @Test("Over a receiver answering 200, 500, late, reset, redirect and huge at random, every event arrives, ids stable, order per member kept, signatures valid")
    func everyEventArrivesOverABadReceiver() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let receiver = try WebhookReceiver(
            directory: directory, secret: "s3cret",
            arguments: ["--weights", "60,10,8,10,6,6", "--sleep", "0.6", "--seed", "7"])
        defer { receiver.stop() }
        var limits = DeliveryHarness.fastLimits
        limits.triesMax = 200
        let harness = try DeliveryHarness(
            directory: directory, webhooks: [try DeliveryHarness.webhook(receiver, secret: "s3cret")], events: 600,
            members: 40, limits: limits)
        defer { harness.stop() }
        let all = Set((1...600).map { "test-\($0)" })
        let arrived = receiver.wait(timeout: 120) { _ in receiver.acknowledgedIds == all }
        let requests = receiver.requests
        #expect(arrived, "acknowledged \(receiver.acknowledgedIds.count) of 600")
        #expect(requests.allSatisfy { $0.signatureOk }, "a signature did not verify")
        #expect(requests.allSatisfy { $0.id == $0.bodyId }, "the header id differs from the body's")
        #expect(WebhookReceiver.orderViolation(requests, allowingRepeats: true) == nil, "\(WebhookReceiver.orderViolation(requests, allowingRepeats: true) ?? "")")
        for answer in ["error", "sleep", "reset", "redirect", "huge"] {
            #expect(requests.contains { $0.answer == answer }, "the receiver never answered \(answer)")
        }
        let statistics = harness.notifier.webhooks[0].statistics
        #expect(statistics[.delivered] == 600)
        #expect(statistics[.retried] == UInt64(requests.count - 600))
        let masked = requests.allSatisfy { request in
            let card = Array(request.card)
            return card.count == 16 && card[6..<12].allSatisfy { $0 == "*" }
                && (card[0..<6] + card[12...]).allSatisfy(\.isNumber)
        }
        #expect(masked, "a payload carried more of a card than its first 6 and last 4 digits")
    }

    @Test("After triesMax failed tries an event is dead-lettered (its member's later events go on); a retry delivers it")
    func deadLetterAndRetry() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let receiver = try WebhookReceiver(
            directory: directory, secret: "k", arguments: ["--fail-ids", "test-5", "--fail-count", "8"])
        defer { receiver.stop() }
        let harness = try DeliveryHarness(
            directory: directory, webhooks: [try DeliveryHarness.webhook(receiver, secret: "k")], events: 50,
            members: 5)
        defer { harness.stop() }
        let others = Set((1...50).filter { $0 != 5 }.map { "test-\($0)" })
        #expect(receiver.wait(timeout: 60) { _ in receiver.acknowledgedIds == others })
        let webhook = harness.notifier.webhooks[0]
        #expect(eventually(timeout: 10) { webhook.deadLetters.count == 1 })
        let letter = try #require(webhook.deadLetters.all.first)
        #expect(letter.eventId == "test-5" && letter.tries == 8 && letter.lastError == "answered 500")
        #expect(receiver.requests.filter { $0.id == "test-5" }.count == 8)
        #expect(webhook.statistics[.deadLettered] == 1)
        #expect(harness.notifier.retry(eventId: "test-5") == 1)
        #expect(harness.notifier.retry(eventId: "test-5") == 0, "a dead letter is retried once")
        #expect(receiver.wait(timeout: 30) { _ in receiver.acknowledgedIds.contains("test-5") })
        #expect(webhook.deadLetters.count == 0)
    }

    @Test("At deadLettersMax an event out of tries keeps retrying (counted) instead of being dropped; it is dead-lettered once there is room")
    func deadLetterListLimit() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let receiver = try WebhookReceiver(
            directory: directory, secret: "k", arguments: ["--fail-ids", "test-1,test-2", "--fail-count", "1000000"])
        defer { receiver.stop() }
        var limits = DeliveryHarness.fastLimits
        limits.deadLettersMax = 1
        let harness = try DeliveryHarness(
            directory: directory, webhooks: [try DeliveryHarness.webhook(receiver, secret: "k")], events: 2,
            members: 2, limits: limits)
        defer { harness.stop() }
        let webhook = harness.notifier.webhooks[0]
        #expect(eventually(timeout: 30) { webhook.statistics[.deadLetterListFull] >= 3 })
        #expect(webhook.deadLetters.count == 1 && webhook.statistics[.deadLettered] == 1)
        #expect(webhook.statistics[.queueDepth] == 1, "the other event is still in the window")
        let first = try #require(webhook.deadLetters.all.first)
        #expect(harness.notifier.retry(eventId: first.eventId) == 1)
        #expect(eventually(timeout: 30) { webhook.statistics[.deadLettered] == 2 }, "room made, one more moves in")
        #expect(webhook.deadLetters.count == 1)
    }

    @Test("A redirect and an answer past responseBytesMax are failed tries: the dead letter says why")
    func redirectsAndHugeAnswersFail() throws {
        for (weights, reason) in [("0,0,0,0,1,0", "answered 302"), ("0,0,0,0,0,1", "responseBytesMax")] {
            let directory = scratchDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let receiver = try WebhookReceiver(directory: directory, secret: "k", arguments: ["--weights", weights])
            defer { receiver.stop() }
            let harness = try DeliveryHarness(
                directory: directory, webhooks: [try DeliveryHarness.webhook(receiver, secret: "k")], events: 1,
                members: 1)
            defer { harness.stop() }
            let webhook = harness.notifier.webhooks[0]
            #expect(eventually(timeout: 30) { webhook.deadLetters.count == 1 })
            #expect(webhook.deadLetters.all.first?.lastError.contains(reason) == true, "\(webhook.deadLetters.all)")
            #expect(receiver.requests.count == 8, "one request per try, none followed elsewhere")
        }
    }

    @Test("Two sources (two ledger shards) into one webhook: every event of both arrives once acknowledged, order per member holds, each source's progress is its own file and watermark, and a restart reads each back")
    func everySourceHasItsOwnStream() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let receiver = try WebhookReceiver(
            directory: directory, secret: "s", arguments: ["--weights", "80,10,0,10,0,0", "--seed", "3"])
        defer { receiver.stop() }
        var limits = DeliveryHarness.fastLimits
        limits.triesMax = 200
        let webhook = try DeliveryHarness.webhook(receiver, secret: "s")
        let harness = try DeliveryHarness(
            directory: directory, webhooks: [webhook], events: 300, members: 20, loops: 1, limits: limits,
            moreSources: [PrefixedSource(prefix: "s1-", events: 200, members: 15)])
        let all = Set((1...300).map { "test-\($0)" } + (1...200).map { "s1-test-\($0)" })
        #expect(receiver.wait(timeout: 120) { _ in receiver.acknowledgedIds == all }, "\(receiver.acknowledgedIds.count)")
        let violation = WebhookReceiver.orderViolation(receiver.requests, allowingRepeats: true)
        #expect(violation == nil, "\(violation ?? "")")
        #expect(harness.notifier.webhooks[0].statistics[.delivered] == 500, "both streams count for the webhook")
        harness.stop()
        #expect(harness.notifier.durableWatermark(stream: 0) == 300 && harness.notifier.durableWatermark(stream: 1) == 200)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory + "/notifications").sorted()
        let name = Notifier.fileName(webhook.address, stream: 0)
        #expect(files == [name, Notifier.fileName(webhook.address, stream: 1)].sorted(), "\(files)")
        #expect(Notifier.fileName(webhook.address, stream: 1) == name.replacingOccurrences(of: ".progress", with: "-s1.progress"))
        let reopened = try DeliveryHarness(
            directory: directory, webhooks: [webhook], events: 300, members: 20, loops: 1, limits: limits,
            moreSources: [PrefixedSource(prefix: "s1-", events: 200, members: 15)])
        defer { reopened.stop() }
        #expect(reopened.notifier.durableWatermark(stream: 0) == 300 && reopened.notifier.durableWatermark(stream: 1) == 200)
    }

    @Test("A webhook's connections, window, members in flight and send rate are shared evenly among its streams, at least one each")
    func limitsSharedAmongStreams() {
        var limits = DeliveryLimits()
        limits.connectionsPerWebhookMax = 4
        limits.windowEventsMax = 4096
        limits.membersInFlightMax = 3
        limits.eventsPerSecondMax = 2000
        let shared = limits.shared(among: 4)
        #expect(shared.connectionsPerWebhookMax == 1 && shared.windowEventsMax == 1024)
        #expect(shared.membersInFlightMax == 1 && shared.eventsPerSecondMax == 500)
        #expect(shared.triesMax == limits.triesMax && shared.responseBytesMax == limits.responseBytesMax)
        #expect(limits.shared(among: 1).connectionsPerWebhookMax == 4)
    }

    @Test("A receiver that never answers holds none of another webhook's events on the same loop")
    func slowReceiverDoesNotSlowOthers() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stuck = try WebhookReceiver(
            directory: directory, secret: "a", arguments: ["--weights", "0,0,1,0,0,0", "--sleep", "30"])
        let good = try WebhookReceiver(directory: directory, secret: "b")
        defer {
            stuck.stop()
            good.stop()
        }
        var limits = DeliveryHarness.fastLimits
        limits.responseTimeoutMs = 20_000
        limits.triesMax = 100
        let harness = try DeliveryHarness(
            directory: directory,
            webhooks: [try DeliveryHarness.webhook(stuck, secret: "a"), try DeliveryHarness.webhook(good, secret: "b")],
            events: 300, members: 30, loops: 1, limits: limits)
        defer { harness.stop() }
        #expect(good.wait(timeout: 60) { _ in good.acknowledgedIds.count == 300 })
        #expect(stuck.acknowledgedIds.isEmpty)
        let stuckRequests = stuck.requests.count
        #expect(stuckRequests <= limits.connectionsPerWebhookMax, "one request per connection: \(stuckRequests)")
        #expect(harness.notifier.webhooks[0].statistics[.queueDepth] == 300)
    }

    @Test("At windowEventsMax and membersInFlightMax reading pauses (counted) and every event still arrives in order")
    func windowLimits() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let receiver = try WebhookReceiver(directory: directory, secret: "k", arguments: ["--weights", "8,2,0,0,0,0"])
        defer { receiver.stop() }
        var limits = DeliveryHarness.fastLimits
        limits.windowEventsMax = 6
        limits.membersInFlightMax = 3
        limits.triesMax = 100
        let harness = try DeliveryHarness(
            directory: directory, webhooks: [try DeliveryHarness.webhook(receiver, secret: "k")], events: 200,
            members: 10, limits: limits)
        defer { harness.stop() }
        #expect(receiver.wait(timeout: 60) { _ in receiver.acknowledgedIds.count == 200 })
        #expect(WebhookReceiver.orderViolation(receiver.requests, allowingRepeats: true) == nil)
        #expect(harness.notifier.webhooks[0].statistics[.windowFull] > 0)
    }

    @Test("A restart resumes from the durable progress: after a graceful stop only what was in flight is sent again")
    func restartResumes() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let receiver = try WebhookReceiver(directory: directory, secret: "k", arguments: ["--delay", "0.004"])
        defer { receiver.stop() }
        let webhook = try DeliveryHarness.webhook(receiver, secret: "k")
        let limits = DeliveryHarness.fastLimits
        let first = try DeliveryHarness(
            directory: directory, webhooks: [webhook], events: 1500, members: 50, limits: limits)
        #expect(receiver.wait(timeout: 60) { _ in receiver.acknowledgedIds.count >= 300 })
        first.stop()
        let before = receiver.requests.count
        let acknowledgedBefore = receiver.acknowledgedIds
        #expect(acknowledgedBefore.count < 1500, "the first run was stopped before the end")
        let second = try DeliveryHarness(
            directory: directory, webhooks: [webhook], events: 1500, members: 50, limits: limits)
        defer { second.stop() }
        #expect(receiver.wait(timeout: 120) { _ in receiver.acknowledgedIds.count == 1500 })
        let after = receiver.requests.dropFirst(before)
        let sentAgain = after.filter { acknowledgedBefore.contains($0.id) }
        #expect(sentAgain.count <= limits.connectionsPerWebhookMax, "re-sent \(sentAgain.map(\.id))")
        let violation = WebhookReceiver.orderViolation(receiver.requests, allowingRepeats: true)
        #expect(violation == nil, "\(violation ?? "")")
    }
}
