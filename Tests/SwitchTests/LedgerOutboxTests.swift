import Foundation
import Ledger
import Loyalty
import LoyaltyLedger
import Network
import Testing

@testable import SwitchCore

/// The outbox's counters over a real ledger: records a snapshot gave up past the hold's bound are counted once.
@Suite struct LedgerOutboxTests {
    @Test("records released past the hold's bound and then skipped by the reader count once in recordsDropped (the reader's gap), not once for the release and again for the skip")
    func droppedRecordsCountOnce() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var configuration = LedgerConfiguration()
        configuration.shardCount = 1
        configuration.membersPerShardMax = 4096
        configuration.cardsPerShardMax = 4096
        configuration.idempotencyKeysPerShardMax = 4096
        configuration.batchBytesMax = 16 << 10
        configuration.segmentBytes = 64 << 10
        configuration.snapshotIntervalRecords = 100
        configuration.log = { _ in }
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        let outbox = LedgerOutbox(
            dataDirectory: directory.data, ledger: ledger, recordsMax: 200, decider: LoyaltyDecider(rules: nil),
            log: LogSink(descriptor: open("/dev/null", O_WRONLY)))
        outbox.consumer.advance(shard: 0, from: 1)
        var requests: [LedgerRequest] = []
        for index in 0..<1500 {
            let key = IdempotencyKey(word0: UInt64(index + 1), word1: 0x0B0C)
            requests.append(
                LedgerRequest(
                    tag: key.word0, key: key, digest: ContentDigest(high: 0, low: key.word0),
                    card: CardNumber(String(6_037_990_000_000_000 + index % 40))!,
                    operation: .earn(amounts: AssetAmounts(points: 1, credit: 0), purchaseAmountMinor: 1000, autoEnrol: true)))
        }
        for request in requests { #expect(ledger.perform(request).status == .approved) }
        ledger.close()
        let released = outbox.consumer.recordsReleased
        #expect(released > 0, "the bound released records")
        // Nobody finished anything: the reader starts at the first record and meets the gap.
        let source = try #require(outbox.sources.first)
        #expect(source.readOnce())
        let skipped = try LogTail(root: directory.data, shard: 0).events(after: 0, recordsMax: 1, decider: nil)
            .gap.recordsSkipped
        #expect(skipped > 0 && skipped <= released)
        #expect(outbox.counters.recordsDropped == skipped, "released \(released), skipped \(skipped)")
    }
}
