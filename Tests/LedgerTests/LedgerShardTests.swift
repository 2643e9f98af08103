import Foundation
import Testing

@testable import Ledger

/// Queues, limits, concurrency and the operations that cross shards.
@Suite struct LedgerShardTests {
    let directory = TemporaryDirectory()
    var requests = RequestFactory()

    @Test("a full shard queue refuses at once with overloaded; the queued requests are all answered")
    mutating func queueFullRefuses() throws {
        defer { directory.remove() }
        var configuration = testConfiguration()
        configuration.queueCapacity = 16
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        defer { ledger.close() }
        let blocker = RecordingSink(blocksDelivery: true)
        #expect(ledger.submit(requests.make(card(1), earn(1)), to: blocker))
        blocker.waitFor(count: 1)
        let sink = RecordingSink()
        let batch = (0..<20).map { _ in requests.make(card(1), earn(1)) }
        let refused = ledger.submit(batch, to: sink)
        #expect(refused.count == 4 && refused.allSatisfy { $0.status == .overloaded })
        #expect(Set(refused.map(\.tag)) == Set(batch.suffix(4).map(\.tag)))
        blocker.release()
        sink.waitFor(count: 16)
        #expect(sink.replies.allSatisfy { $0.status == .approved })
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 17)
    }

    @Test("at membersPerShardMax enrolment is refused with capacityExceeded and existing members still work")
    mutating func memberLimit() throws {
        defer { directory.remove() }
        var configuration = testConfiguration()
        configuration.membersPerShardMax = 3
        configuration.cardsPerShardMax = 4
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        defer { ledger.close() }
        for index in 0..<3 { #expect(ledger.perform(requests.make(card(index), earn(1))).status == .approved) }
        #expect(ledger.perform(requests.make(card(3), earn(1))).status == .capacityExceeded)
        #expect(ledger.perform(requests.make(card(4), .enrol)).status == .capacityExceeded)
        #expect(ledger.perform(requests.make(card(0), earn(1))).balance.points == 2)
        #expect(ledger.perform(requests.make(card(0), .replace(newCard: card(10)))).status == .approved)
        #expect(ledger.perform(requests.make(card(1), .replace(newCard: card(11)))).status == .capacityExceeded)
    }

    @Test("replacement on the same shard: the new card reaches the same balance, the old card is refused")
    mutating func replaceSameShard() throws {
        defer { directory.remove() }
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration())
        defer { ledger.close() }
        _ = ledger.perform(requests.make(card(1), earn(40, credit: 9)))
        let replaced = ledger.perform(requests.make(card(1), .replace(newCard: card(2))))
        #expect(replaced.status == .approved && replaced.card == card(2).masked)
        #expect(ledger.perform(requests.make(card(2), .balance)).balance == AssetAmounts(points: 40, credit: 9))
        #expect(ledger.perform(requests.make(card(1), earn(1))).status == .cardBlocked)
        #expect(ledger.perform(requests.make(card(1), .replace(newCard: card(3)))).status == .notPermitted)
        #expect(ledger.perform(requests.make(card(2), .replace(newCard: card(2)))).status == .notPermitted)
    }

    /// Opens a 2-shard ledger and returns a source card on shard 0 and a destination card on shard 1.
    func crossShardCards(_ ledger: Ledger) -> (CardNumber, CardNumber) {
        (card(onShard: 0, of: ledger, startingAt: 100).0, card(onShard: 1, of: ledger, startingAt: 100).0)
    }

    @Test("replacement across shards moves the balances; the reply comes from the destination after it is durable")
    mutating func replaceAcrossShards() throws {
        defer { directory.remove() }
        let configuration = testConfiguration(shards: 2)
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        let (source, destination) = crossShardCards(ledger)
        _ = ledger.perform(requests.make(source, earn(25, credit: 5)))
        let hold = requests.make(source, .hold(asset: .points, amount: 1, allowPartial: false, expiresAfterMs: 60_000))
        _ = ledger.perform(hold)
        #expect(ledger.perform(requests.make(source, .replace(newCard: destination))).status == .notPermitted)
        _ = ledger.perform(requests.make(source, .void(holdKey: hold.key)))
        let moved = ledger.perform(requests.make(source, .replace(newCard: destination)))
        #expect(moved.status == .approved && moved.card == destination.masked)
        #expect(moved.balance == AssetAmounts(points: 25, credit: 5) && moved.credited == moved.balance)
        #expect(ledger.perform(requests.make(destination, .balance)).balance == AssetAmounts(points: 25, credit: 5))
        #expect(ledger.perform(requests.make(source, .balance)).status == .cardBlocked)
        ledger.close()
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
        #expect(totals.pendingTransfers == 0 && totals.balance == AssetAmounts(points: 25, credit: 5))
        #expect(totals.members == 2 && totals.cardsReplaced == 1)
    }

    @Test(
        "a replacement onto a card in use on another shard is declined there and the source is restored, also on replay"
    )
    mutating func replaceOntoCardInUseAcrossShards() throws {
        defer { directory.remove() }
        let configuration = testConfiguration(shards: 2)
        var ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        let (source, destination) = crossShardCards(ledger)
        _ = ledger.perform(requests.make(source, earn(25, credit: 5)))
        _ = ledger.perform(requests.make(destination, earn(7)))
        let refused = ledger.perform(requests.make(source, .replace(newCard: destination)))
        #expect(refused.status == .notPermitted, "the card enrolled on the destination is never merged into")
        #expect(ledger.perform(requests.make(destination, .balance)).balance == AssetAmounts(points: 7, credit: 0))
        let restored = ledger.perform(requests.make(source, .balance))
        #expect(restored.status == .approved && restored.balance == AssetAmounts(points: 25, credit: 5))
        ledger.close(snapshot: false)
        ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(ledger.perform(requests.make(source, .balance)).balance == AssetAmounts(points: 25, credit: 5))
        #expect(ledger.perform(requests.make(destination, .balance)).balance == AssetAmounts(points: 7, credit: 0))
        ledger.close()
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
        #expect(totals.pendingTransfers == 0 && totals.members == 2 && totals.cardsReplaced == 0)
        #expect(totals.balance == AssetAmounts(points: 32, credit: 5))
    }

    @Test("recovery completes a transfer whose destination half was lost, and does not repeat one that was applied")
    mutating func transferRecovery() throws {
        defer { directory.remove() }
        let configuration = testConfiguration(shards: 2)
        for destinationApplied in [false, true] {
            let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
            let (source, _) = crossShardCards(ledger)
            let destination = card(onShard: 1, of: ledger, startingAt: destinationApplied ? 5000 : 3000).0
            _ = ledger.perform(requests.make(source, earn(10)))
            #expect(ledger.perform(requests.make(source, .replace(newCard: destination))).status == .approved)
            // Queued behind the acknowledgement, so the source has logged transferDone once this returns.
            #expect(ledger.perform(requests.make(source, .balance)).status == .cardBlocked)
            ledger.close(snapshot: false)
            try directory.dropLastRecords(shard: 0, count: 2)
            if !destinationApplied { try directory.dropLastRecords(shard: 1, count: 1) }
            let partial = try Ledger.inspect(directory: directory.data, configuration: configuration)
            #expect(partial.pendingTransfers == 1)
            let reopened = try Ledger.open(directory: directory.data, configuration: configuration)
            let balance = reopened.perform(requests.make(destination, .balance))
            #expect(balance.status == .approved && balance.balance.points == 10)
            reopened.close()
            let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
            #expect(totals.pendingTransfers == 0 && totals.balance.points == 10)
            try FileManager.default.removeItem(atPath: directory.data)
        }
    }

    @Test("four producer threads on two shards: every reply arrives once and the totals match the approvals")
    mutating func concurrentProducers() throws {
        defer { directory.remove() }
        let configuration = testConfiguration(shards: 2)
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        let sink = RecordingSink()
        let perThread = 500
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            var factory = RequestFactory()
            for index in 0..<perThread {
                var request = factory.make(card(index % 50), earn(2))
                request.key.word2 = UInt64(thread)
                request.tag = UInt64(thread * perThread + index)
                while !ledger.submit(request, to: sink) { usleep(100) }
            }
        }
        sink.waitFor(count: 4 * perThread)
        #expect(Set(sink.replies.map(\.tag)).count == 4 * perThread)
        #expect(sink.replies.allSatisfy { $0.status == .approved })
        ledger.close()
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
        #expect(totals.balance.points == Int64(4 * perThread * 2) && totals.members == 50)
    }
}

/// The remaining limits: holds per shard, batch bytes, transfers in flight.
@Suite struct LedgerLimitTests {
    let directory = TemporaryDirectory()
    var requests = RequestFactory()

    @Test("at holdsPerShardMax a new hold is refused with capacityExceeded; a released hold frees its slot")
    mutating func holdsPerShardLimit() throws {
        defer { directory.remove() }
        var configuration = testConfiguration()
        configuration.holdsPerShardMax = 2
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        defer { ledger.close() }
        var holds: [LedgerRequest] = []
        for index in 0..<3 {
            _ = ledger.perform(requests.make(card(index), earn(10)))
            holds.append(
                requests.make(
                    card(index), .hold(asset: .points, amount: 5, allowPartial: false, expiresAfterMs: 60_000)))
        }
        #expect(ledger.perform(holds[0]).status == .approved)
        #expect(ledger.perform(holds[1]).status == .approved)
        let refused = ledger.perform(holds[2])
        #expect(refused.status == .capacityExceeded && refused.available.points == 10)
        _ = ledger.perform(requests.make(card(0), .void(holdKey: holds[0].key)))
        let later = requests.make(
            card(2), .hold(asset: .points, amount: 5, allowPartial: false, expiresAfterMs: 60_000))
        #expect(ledger.perform(later).status == .approved)
    }

    @Test("a batch that would exceed batchBytesMax is committed early, in several fdatasyncs")
    mutating func batchBytesLimit() throws {
        defer { directory.remove() }
        var configuration = testConfiguration()
        configuration.batchBytesMax = 4096
        configuration.segmentBytes = 64 << 10
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        let blocker = RecordingSink(blocksDelivery: true)
        #expect(ledger.submit(requests.make(card(0), earn(1)), to: blocker))
        blocker.waitFor(count: 1)
        let sink = RecordingSink()
        for index in 0..<100 { #expect(ledger.submit(requests.make(card(index), earn(1)), to: sink)) }
        blocker.release()
        sink.waitFor(count: 100)
        ledger.close(snapshot: false)
        let statistics = ledger.commitStatistics[0]
        #expect(statistics.records == 101)
        // 160-byte earn records, at most (4096 - 288) / 160 + 1 = 24 per batch: 100 records need at least 5.
        #expect(statistics.syncs >= 1 + 5)
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
        #expect(totals.balance.points == 101)
    }

    @Test("at transfersInFlightMax a further cross-shard replacement is refused until the first completes")
    mutating func transfersInFlightLimit() throws {
        defer { directory.remove() }
        var configuration = testConfiguration(shards: 2)
        configuration.transfersInFlightMax = 1
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        defer { ledger.close() }
        let (second, secondNumber) = card(onShard: 0, of: ledger, startingAt: 10_000)
        let (third, _) = card(onShard: 0, of: ledger, startingAt: secondNumber + 1)
        let (blockingCard, blockingNumber) = card(onShard: 1, of: ledger, startingAt: 20_000)
        let (destination2, destination2Number) = card(onShard: 1, of: ledger, startingAt: blockingNumber + 1)
        let (destination3, _) = card(onShard: 1, of: ledger, startingAt: destination2Number + 1)
        for source in [second, third] { _ = ledger.perform(requests.make(source, earn(3))) }
        let blocker = RecordingSink(blocksDelivery: true)
        #expect(ledger.submit(requests.make(blockingCard, .enrol), to: blocker))
        blocker.waitFor(count: 1)
        let replySink = RecordingSink()
        #expect(ledger.submit(requests.make(second, .replace(newCard: destination2)), to: replySink))
        let refused = ledger.perform(requests.make(third, .replace(newCard: destination3)))
        #expect(refused.status == .capacityExceeded && refused.balance.points == 3)
        blocker.release()
        replySink.waitFor(count: 1)
        #expect(replySink.replies[0].status == .approved && replySink.replies[0].balance.points == 3)
        let retry = ledger.perform(requests.make(third, .replace(newCard: destination3)))
        #expect(retry.status == .approved && retry.balance.points == 3)
    }
}
