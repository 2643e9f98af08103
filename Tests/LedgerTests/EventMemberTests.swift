import Foundation
import Testing

@testable import Ledger
import TestSupport

/// Events name the member, not the card used: a purchase on a linked card, a replacing card or a card forwarding
/// from another shard is told with the member's key (its first card, the admin API's member id), which the record
/// carries when the card is not that first card (`WALRecord.Body.member`).
@Suite struct EventMemberTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()

    @Test("purchases on the member's own card, a linked card, a replacing card (reissue) and a card of another shard forwarding to it all give points.earned naming the member's first card, with the card used masked; after a restart and a snapshot too")
    func eventsNameTheMember() throws {
        defer { directory.remove() }
        let configuration = testConfiguration(shards: 2, clock: clock)
        var ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        var requests = RequestFactory()
        let own = card(onShard: 0, of: ledger, startingAt: 100).0
        let (linked, next) = card(onShard: 0, of: ledger, startingAt: card(onShard: 0, of: ledger, startingAt: 100).1 + 1)
        let replacing = card(onShard: 0, of: ledger, startingAt: next + 1).0
        let forwarding = card(onShard: 1, of: ledger, startingAt: 100).0
        #expect(ledger.perform(requests.make(own, earn(1))).status == .approved)
        #expect(ledger.perform(requests.make(own, .link(newCard: linked))).status == .approved)
        #expect(ledger.perform(requests.make(own, .link(newCard: forwarding, kind: .bank))).status == .approved)
        #expect(ledger.perform(requests.make(linked, earn(2))).status == .approved)
        #expect(ledger.perform(requests.make(forwarding, earn(3))).status == .approved)
        #expect(ledger.perform(requests.make(own, .reissue(newCard: replacing))).status == .approved)
        #expect(ledger.perform(requests.make(replacing, earn(4))).status == .approved)
        ledger.close(snapshot: false)
        ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(ledger.perform(requests.make(forwarding, earn(5))).status == .approved)
        ledger.close()
        ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(ledger.perform(requests.make(linked, earn(6))).balance.points == 21)
        let memberKey = ledger.cardHash(of: own)
        ledger.close()

        let events = try LogTailTests.readAll(LogTail(root: directory.data, shard: 0), decider: nil)
        let earned = events.filter { $0.type == "points.earned" }
        #expect(earned.map { $0.value("points") ?? 0 } == [1, 2, 3, 4, 5, 6])
        #expect(earned.allSatisfy { $0.member == memberKey }, "every purchase names the member")
        #expect(
            earned.map(\.masked) == [own, linked, forwarding, replacing, forwarding, linked].map(\.masked),
            "the card used stays the card shown")
        let onCardShard = try LogTailTests.readAll(LogTail(root: directory.data, shard: 1), decider: nil)
        #expect(onCardShard.filter { $0.type == "points.earned" }.isEmpty, "the forwarding card's shard tells none")
    }

    @Test("a record carrying the member's key round-trips; one whose member key is its own card's or zero does not decode, and a record without it names its card")
    func memberKeyInTheRecord() {
        var command = ShardCommand(kind: .earn, key: IdempotencyKey(word0: 7))
        command.cardHash = CardHash(high: 1, low: 2)
        command.amounts = AssetAmounts(points: 3, credit: 0)
        var body = WALRecord.Body(command: command, timeMs: 1000, status: .approved, balanceAfter: .zero)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: WALRecord.bodyBytesMax, alignment: 8)
        defer { buffer.deallocate() }
        let plain = WALRecord.encodeBody(body, at: buffer)
        #expect(WALRecord.decodeBody(buffer, length: plain)?.member == nil)
        #expect(WALRecord.events(of: WALRecord.decodeBody(buffer, length: plain)!, sequence: 1, decider: nil)?.first?.member == command.cardHash)
        body.member = CardHash(high: 5, low: 6)
        let length = WALRecord.encodeBody(body, at: buffer)
        #expect(length == plain + 16)
        let decoded = WALRecord.decodeBody(buffer, length: length)
        #expect(decoded?.member == CardHash(high: 5, low: 6))
        #expect(WALRecord.events(of: decoded!, sequence: 1, decider: nil)?.first?.member == CardHash(high: 5, low: 6))
        buffer.storeBytes(of: CardHash(high: 1, low: 2), toByteOffset: length - 16, as: CardHash.self)
        #expect(WALRecord.decodeBody(buffer, length: length) == nil, "the card's own hash is never written as its member")
        buffer.storeBytes(of: CardHash(high: 0, low: 0), toByteOffset: length - 16, as: CardHash.self)
        #expect(WALRecord.decodeBody(buffer, length: length) == nil)
    }
}
