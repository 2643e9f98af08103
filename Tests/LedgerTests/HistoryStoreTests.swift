import Foundation
import Loyalty
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// The movements history: every record that changes a member's value becomes movements in the history store,
/// chained per member and paged oldest first; a restart after a crash resumes from the mark with the same seqs;
/// retention drops whole old files; past the hold's bound the indexer records a gap instead of blocking the shard.
@Suite struct HistoryStoreTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    func configuration() -> LedgerConfiguration {
        var configuration = testConfiguration(clock: clock)
        configuration.decider = LoyaltyDecider(rules: LogTailTests.program)
        return configuration
    }

    func limits(membersMax: Int = 1000, recordsPerFile: Int = 65_536, retentionMs: Int64 = 400 * 86_400_000)
        -> HistoryStore.Limits
    {
        HistoryStore.Limits(membersMax: membersMax, cardsMax: 1000, recordsPerFile: recordsPerFile, retentionMs: retentionMs)
    }

    func indexer(_ ledger: Ledger, _ limits: HistoryStore.Limits, holdRecordsMax: UInt64 = 1_000_000) throws
        -> HistoryIndexer
    {
        let store = try HistoryStore(root: directory.path, shardCount: ledger.shardCount, limits: limits)
        let clock = self.clock
        return HistoryIndexer(
            ledger: ledger, store: store, holdRecordsMax: holdRecordsMax, nowMs: { clock.nowMs }, log: { _ in })
    }

    /// Feeds `indexer` from a log view reader of its own until a read is not full.
    func indexAll(_ indexer: HistoryIndexer) {
        let reader = LogViewReader(root: directory.path, shardCount: indexer.store.shardCount)
        reader.add(indexer)
        for _ in 0..<10_000 where reader.step() {}
        reader.commit()
    }

    static func all(_ store: HistoryStore, _ member: CardHash) throws -> [HistoryRecord] {
        try store.movements(member: member, after: 0, limit: 100_000).items
    }

    static func summary(_ records: [HistoryRecord]) -> [String] {
        records.map { "\($0.kindName) \($0.assetName) \($0.amount) -> \($0.balanceAfter)" + ($0.reasonName.map { " " + $0 } ?? "") }
    }

    @Test("purchases, a redemption, a reversal, an adjustment, a linked card's purchase and a gift card give their movements in order; a decline and a block give none; the amounts add up to the balance")
    mutating func recordsToMovements() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        defer { ledger.close() }
        let first = requests.make(card(1), LogTailTests.purchase(20_000))
        #expect(ledger.perform(first).status == .approved)
        #expect(ledger.perform(requests.make(card(1), .redeem(asset: .points, amount: 5, allowPartial: false))).status == .approved)
        #expect(ledger.perform(requests.make(card(1), .redeem(asset: .points, amount: 1_000, allowPartial: false))).status == .insufficientFunds)
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: first.key))).status == .approved)
        var adjust = requests.make(card(1), .adjust(asset: .credit, amount: 700))
        adjust.admin = AdminStamp(operation: 7, actor: 1, role: 1, reason: 2)
        #expect(ledger.perform(adjust).status == .approved)
        #expect(ledger.perform(requests.make(card(1), .link(newCard: card(2)))).status == .approved)
        #expect(ledger.perform(requests.make(card(2), LogTailTests.purchase(30_000))).status == .approved)
        var block = requests.make(card(1), .block)
        block.admin = AdminStamp(operation: 8, actor: 1, role: 1, reason: 0)
        #expect(ledger.perform(block).status == .approved)
        #expect(ledger.perform(requests.make(card(3), .issueGift(amountMinor: 5_000, currencyCode: 978))).status == .approved)
        #expect(ledger.perform(requests.make(card(3), .loadGift(amountMinor: 700))).status == .approved)
        var pay = requests.make(
            card(3), .pay(amountMinor: 300, policy: LedgerGiftCardTests.wholePolicy, merchant: LedgerGiftCardTests.shop))
        pay.currencyCode = 978
        #expect(ledger.perform(pay).status == .approved)

        let indexer = try indexer(ledger, limits())
        indexAll(indexer)
        let member = ledger.cardHash(of: card(1))
        let movements = try Self.all(indexer.store, member)
        #expect(movements.map(\.kindName) == ["earn", "redeem", "reverse", "adjust", "earn"], "\(Self.summary(movements))")
        #expect(movements.allSatisfy { $0.member == member }, "the linked card's purchase is the member's")
        #expect(movements[2].reasonName == "terminal" && movements[3].reasonName == "correction")
        let balance = ledger.perform(requests.make(card(1), .balance)).balance
        let points = movements.filter { $0.asset == 0 }
        let credit = movements.filter { $0.asset == 1 }
        #expect(points.reduce(0) { $0 + $1.amount } == balance.points && points.last?.balanceAfter == balance.points)
        #expect(credit.reduce(0) { $0 + $1.amount } == balance.credit && credit.last?.balanceAfter == balance.credit)
        #expect(zip(movements, movements.dropFirst()).allSatisfy { $0.seq < $1.seq }, "oldest first")

        let gift = try Self.all(indexer.store, ledger.cardHash(of: card(3)))
        #expect(Self.summary(gift) == ["giftLoad giftValue 5000 -> 5000", "giftLoad giftValue 700 -> 5700", "giftUse giftValue -300 -> 5400"])
        #expect(indexer.store.statistics.recordsSkipped == 0)
    }

    @Test("a member's 25 movements among another's page by 10 oldest first with a next cursor; the last page has none; an unknown member has none")
    mutating func chainPaging() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        defer { ledger.close() }
        for _ in 0..<25 {
            #expect(ledger.perform(requests.make(card(1), LogTailTests.purchase(10_000))).status == .approved)
            #expect(ledger.perform(requests.make(card(2), LogTailTests.purchase(20_000))).status == .approved)
        }
        let indexer = try indexer(ledger, limits(recordsPerFile: 16))
        indexAll(indexer)
        let member = ledger.cardHash(of: card(1))
        var after: UInt64 = 0
        var seen: [HistoryRecord] = []
        var pages: [Int] = []
        for _ in 0..<10 {
            let page = try indexer.store.movements(member: member, after: after, limit: 10)
            seen += page.items
            pages.append(page.items.count)
            guard let next = page.next else { break }
            after = next
        }
        #expect(pages == [10, 10, 5])
        #expect(seen.count == 25 && seen.allSatisfy { $0.member == member && $0.amount == 10 })
        #expect(seen.map(\.balanceAfter) == Array(1...25).map { Int64($0) * 10 }, "in order, across files of 16")
        #expect(try indexer.store.movements(member: CardHash(high: 1, low: 2), after: 0, limit: 10).items.isEmpty)
        #expect(!indexer.store.knows(member: CardHash(high: 1, low: 2)))
    }

    @Test("between commits the movements are seen at once, while the mark on disk and the log's release wait for the next commit (the reader's interval); a crash then resumes from the mark")
    mutating func commitsFollowTheInterval() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        defer { ledger.close() }
        for index in 0..<5 {
            #expect(ledger.perform(requests.make(card(index), LogTailTests.purchase(10_000))).status == .approved)
        }
        let indexer = try indexer(ledger, limits(recordsPerFile: 4))
        let reader = LogViewReader(root: directory.path, shardCount: 1, commitIntervalMs: 3_600_000)
        reader.add(indexer)
        reader.step()  // the first step commits
        let first = indexer.store.indexedSequences[0]
        #expect(first == 5 && indexer.consumer.firstNeeded(shard: 0) == 6)
        for index in 0..<9 {
            #expect(ledger.perform(requests.make(card(index % 3), LogTailTests.purchase(20_000))).status == .approved)
        }
        reader.step()  // within the interval: added, not committed
        #expect(indexer.store.indexedSequences[0] == 14, "seen at once")
        #expect(try Self.all(indexer.store, ledger.cardHash(of: card(0))).count == 4)
        #expect(indexer.consumer.firstNeeded(shard: 0) == 6, "the log is held from the durable mark")
        try FileManager.default.copyItem(atPath: directory.path + "/history", toPath: directory.path + "/copy/history")
        let crashed = try HistoryStore(root: directory.path + "/copy", shardCount: 1, limits: limits(recordsPerFile: 4))
        #expect(crashed.indexedSequences == [5] && crashed.nextSeq == 6, "a crash now resumes from the last commit")

        reader.commit()
        #expect(indexer.consumer.firstNeeded(shard: 0) == 15, "released through what the mark covers")
        try FileManager.default.removeItem(atPath: directory.path + "/copy")
        try FileManager.default.copyItem(atPath: directory.path + "/history", toPath: directory.path + "/copy/history")
        let committed = try HistoryStore(root: directory.path + "/copy", shardCount: 1, limits: limits(recordsPerFile: 4))
        #expect(committed.indexedSequences == [14] && committed.nextSeq == 15)
        #expect(try Self.all(committed, ledger.cardHash(of: card(0))) == Self.all(indexer.store, ledger.cardHash(of: card(0))))
    }

    @Test("movements and cards written after the mark (a crash before it) are cut at reopening and written again with the same seqs: the store equals one built in one go")
    mutating func restartResumesFromTheMark() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        defer { ledger.close() }
        for index in 0..<30 {
            #expect(ledger.perform(requests.make(card(index % 3), LogTailTests.purchase(10_000))).status == .approved)
        }
        #expect(ledger.perform(requests.make(card(0), .link(newCard: card(9)))).status == .approved)
        var first: HistoryIndexer? = try indexer(ledger, limits(recordsPerFile: 16))
        first!.indexOnce(root: directory.path)
        let mark = first!.store.nextSeq
        first = nil
        // A crash after the next batch's records and cards were written, before its mark: junk past the mark.
        let history = directory.path + "/history"
        let files = try FileManager.default.contentsOfDirectory(atPath: history).filter { $0.hasSuffix(".hist") }.sorted()
        let handle = try #require(FileHandle(forWritingAtPath: history + "/" + files.last!))
        handle.seekToEndOfFile()
        handle.write(Data(repeating: 0xAB, count: 64 * 3))
        try handle.close()
        let cards = try #require(FileHandle(forWritingAtPath: history + "/cards"))
        cards.seekToEndOfFile()
        cards.write(Data(repeating: 0xCD, count: 32))
        try cards.close()
        #expect(FileManager.default.createFile(atPath: history + "/" + HistoryStore.fileName(firstSeq: mark + 100), contents: Data([1])))

        for index in 0..<10 {
            #expect(ledger.perform(requests.make(card(9), LogTailTests.purchase(10_000 * Int64(index + 1)))).status == .approved)
        }
        let resumed = try indexer(ledger, limits(recordsPerFile: 16))
        #expect(resumed.store.nextSeq == mark, "reopened at the mark")
        indexAll(resumed)
        let members = [card(0), card(1), card(2)].map { ledger.cardHash(of: $0) }
        let afterRestart = try members.map { try Self.all(resumed.store, $0) }

        try FileManager.default.moveItem(atPath: history, toPath: directory.path + "/history-crashed")
        let fresh = try indexer(ledger, limits(recordsPerFile: 16))
        indexAll(fresh)
        let inOneGo = try members.map { try Self.all(fresh.store, $0) }
        #expect(afterRestart == inOneGo, "no movement lost or doubled, the same seqs")
        #expect(afterRestart[0].count == 20, "ten purchases on card 0, ten on the linked card 9")
    }

    @Test("retention drops whole files whose newest movement is older than it, never the one being appended to; the member's page then starts after the gap")
    mutating func retentionDropsOldFiles() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        defer { ledger.close() }
        for _ in 0..<40 {
            #expect(ledger.perform(requests.make(card(1), LogTailTests.purchase(10_000))).status == .approved)
        }
        let indexer = try indexer(ledger, limits(recordsPerFile: 16, retentionMs: 86_400_000))
        indexAll(indexer)
        clock.advance(byMs: 2 * 86_400_000)
        for _ in 0..<5 {
            #expect(ledger.perform(requests.make(card(1), LogTailTests.purchase(10_000))).status == .approved)
        }
        indexAll(indexer)
        #expect(indexer.store.statistics.filesDropped == 2, "files 1-16 and 17-32 are old; 33-48 still takes records")
        let left = try Self.all(indexer.store, ledger.cardHash(of: card(1)))
        #expect(left.map(\.seq) == Array(33...45).map { UInt64($0) })
        #expect(left.last?.balanceAfter == 450)
    }

    @Test("an indexer held past its bound records a gap: every purchase is approved, the snapshot drops the log anyway, and the records never indexed are counted")
    mutating func boundGivesAGap() throws {
        var configuration = configuration()
        configuration.segmentBytes = 64 << 10
        configuration.snapshotIntervalRecords = 100
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration)
        defer { ledger.close() }
        let indexer = try indexer(ledger, limits(), holdRecordsMax: 200)
        for index in 0..<1500 {
            #expect(ledger.perform(requests.make(card(index % 40), LogTailTests.purchase(10_000))).status == .approved)
        }
        #expect(indexer.consumer.recordsReleased(shard: 0) > 0)
        indexAll(indexer)
        let skipped = indexer.store.statistics.recordsSkipped
        #expect(skipped > 0 && skipped <= indexer.consumer.recordsReleased(shard: 0))
        #expect(indexer.store.statistics.movements == 1500 - skipped, "every record after the gap is indexed")
    }

    @Test("at membersMax a new member's movements are refused and counted; known members go on")
    mutating func membersLimit() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        defer { ledger.close() }
        for index in 0..<3 {
            #expect(ledger.perform(requests.make(card(index), LogTailTests.purchase(10_000))).status == .approved)
        }
        #expect(ledger.perform(requests.make(card(0), LogTailTests.purchase(10_000))).status == .approved)
        let indexer = try indexer(ledger, limits(membersMax: 2))
        indexAll(indexer)
        #expect(indexer.store.statistics.movementsRefused == 1)
        #expect(try Self.all(indexer.store, ledger.cardHash(of: card(0))).count == 2)
        #expect(try Self.all(indexer.store, ledger.cardHash(of: card(2))).isEmpty)
    }

    @Test("a change naming no card (the zero hash, which the maps cannot hold) gives no movement; the others go on")
    func zeroCardSkipped() throws {
        defer { directory.remove() }
        let store = try HistoryStore(root: directory.path, shardCount: 1, limits: limits())
        let card = CardHash(high: 7, low: 70)
        let changes = [CardHash.zero, card].enumerated().map { index, hash in
            RecordChange(
                sequence: UInt64(index + 1), timeMs: 1_000, kind: "earn", card: hash, joiningCard: .zero,
                balanceAfter: AssetAmounts(points: 5, credit: 0))
        }
        try store.index(shard: 0, changes: changes, through: 2, skipped: 0)
        #expect(store.statistics.movements == 1 && store.indexedSequences == [2])
        #expect(try Self.all(store, card).map(\.amount) == [5])
        #expect(try Self.all(store, .zero).isEmpty && store.cardCount == 0, "no member, no joined card of zero")
    }

    @Test("a history record is 64 bytes that read back; a flipped byte is refused")
    func recordLayout() {
        let record = HistoryRecord(
            seq: 9, previous: 4, member: CardHash(high: 1, low: 2), timeMs: 1_700_000_000_000, amount: -5, balanceAfter: 12,
            kind: 2, asset: 1, reason: 5, shard: 3)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: HistoryRecord.bytes, alignment: 8)
        defer { buffer.deallocate() }
        record.write(to: buffer.baseAddress!)
        #expect(HistoryRecord.read(buffer.baseAddress!) == record)
        buffer[41] ^= 1
        #expect(HistoryRecord.read(buffer.baseAddress!) == nil)
    }
}
