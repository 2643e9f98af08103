import Foundation
import Loyalty
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// The sales store: the indexer turns approved records with a sale into fixed-size sale entries and basket lines;
/// a restart cuts back to the durable mark and indexes the rest again, nothing twice; old pairs go by retention.
@Suite struct SalesStoreTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    func open() throws -> Ledger {
        var configuration = testConfiguration(clock: clock)
        configuration.decider = LoyaltyDecider(rules: LedgerCoalitionTests.rules)
        return try Ledger.open(directory: directory.data, configuration: configuration)
    }

    func store(retentionDays: Int = 400) throws -> SalesStore {
        try SalesStore(root: directory.data, shardCount: 1, limits: SalesStore.Limits(retentionDays: retentionDays))
    }

    func sale(_ terminal: String, _ merchant: String, lines: Int = 0) -> SaleDetail {
        SaleDetail(
            terminal: SaleRecordTests.code(terminal), merchant: MerchantName(ShortIdentifier(merchant)!),
            lines: (0..<lines).map(SaleRecordTests.line))
    }

    static func all(_ store: SalesStore) throws -> [(SaleEntry, [SaleLine])] {
        var found: [(SaleEntry, [SaleLine])] = []
        try store.forEachSale(fromMs: 0, toMs: .max / 2) { found.append(($0, $1)) }
        return found
    }

    /// Two purchases (one with a basket), a payment, a refund and a reversal of the second purchase; a declined
    /// payment and a balance inquiry that leave no entry.
    mutating func traffic(_ ledger: Ledger) {
        var first = requests.make(card(1), LedgerCoalitionTests.purchase(100_000, at: "KIOSK"))
        first.sale = sale("T1", "KIOSK", lines: 2)
        #expect(ledger.perform(first).status == .approved)
        var second = requests.make(card(1), LedgerCoalitionTests.purchase(50_000, at: "BAKERY"))
        second.sale = sale("T2", "BAKERY")
        #expect(ledger.perform(second).status == .approved)
        var pay = requests.make(card(1), LedgerCoalitionTests.pay(200, at: "KIOSK"))
        pay.sale = sale("T1", "KIOSK")
        #expect(ledger.perform(pay).status.isApproval)
        var refund = requests.make(card(1), .refund(originalKey: first.key, refundAmountMinor: 50_000))
        refund.sale = sale("T1", "KIOSK")
        #expect(ledger.perform(refund).status == .approved)
        var reversal = requests.make(card(1), .reverse(originalKey: second.key))
        reversal.sale = sale("T2", "BAKERY")
        #expect(ledger.perform(reversal).status == .approved)
        var declined = requests.make(card(9), LedgerCoalitionTests.pay(200, at: "KIOSK"))
        declined.sale = sale("T1", "KIOSK")
        #expect(!ledger.perform(declined).status.isApproval)
    }

    @Test("purchases, a payment, a refund and a reversal become entries with kinds, amounts, earned, spent and lines")
    mutating func entriesFromTheLog() throws {
        let ledger = try open()
        defer { directory.remove() }
        traffic(ledger)
        let store = try store()
        let indexer = SalesIndexer(
            ledger: ledger, store: store, holdRecordsMax: 1_000, nowMs: { 0 }, log: { _ in })
        indexer.indexOnce(root: directory.data)
        ledger.close()
        let found = try Self.all(store)
        #expect(found.map(\.0.kind) == [.purchase, .purchase, .payment, .refund, .purchaseReversal])
        #expect(found.map(\.0.amountMinor) == [100_000, 50_000, 200, -50_000, -50_000])
        #expect(found.map(\.0.terminal.text) == ["T1", "T2", "T1", "T1", "T2"])
        #expect(found[0].1 == (0..<2).map(SaleRecordTests.line) && found[1].1.isEmpty)
        #expect(found[0].0.earned.points == 100 && found[3].0.earned.points == -50 && found[4].0.earned.points == -50)
        #expect(found[2].0.spent.points == 20, "200 paid with points worth 10 each")
        #expect(found.allSatisfy { $0.0.masked == card(1).masked })
        #expect(store.counters.sales == 5)
    }

    @Test("a restart cuts what was written after the mark and indexes it again: no entry twice, none lost")
    mutating func restartCutsBackToTheMark() throws {
        let ledger = try open()
        defer { directory.remove() }
        traffic(ledger)
        var store = try store()
        let indexer = SalesIndexer(
            ledger: ledger, store: store, holdRecordsMax: 1_000, nowMs: { 0 }, log: { _ in })
        indexer.indexOnce(root: directory.data)
        let before = try Self.all(store).map(\.0)
        // A crash after appending and before the mark: 160 stray bytes at the end of the newest sales file.
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.data + "/sales")
        let newest = try #require(names.filter { $0.hasSuffix(".sales") }.max())
        let handle = try #require(FileHandle(forWritingAtPath: directory.data + "/sales/" + newest))
        handle.seekToEndOfFile()
        handle.write(Data(repeating: 7, count: SaleEntry.bytes))
        handle.closeFile()
        store = try self.store()
        #expect(try Self.all(store).map(\.0) == before, "cut back to the mark")
        var more = requests.make(card(2), LedgerCoalitionTests.purchase(30_000, at: "KIOSK"))
        more.sale = sale("T3", "KIOSK")
        #expect(ledger.perform(more).status == .approved)
        let again = SalesIndexer(
            ledger: ledger, store: store, holdRecordsMax: 1_000, nowMs: { 0 }, log: { _ in })
        again.indexOnce(root: directory.data)
        ledger.close()
        #expect(try Self.all(store).map(\.0.terminal.text) == ["T1", "T2", "T1", "T1", "T2", "T3"])
    }

    @Test("an add that failed half done (the entries written, their lines not: a full disk) leaves bytes past the counts; the next add writes at the counts, and every entry reads back with its own lines")
    mutating func halfWrittenAddIsOverwritten() throws {
        let ledger = try open()
        defer { directory.remove() }
        traffic(ledger)
        let store = try store()
        let indexer = SalesIndexer(
            ledger: ledger, store: store, holdRecordsMax: 1_000, nowMs: { 0 }, log: { _ in })
        indexer.indexOnce(root: directory.data)
        // The failed add's entries: written to the live store's newest sales file, its counts and mark unchanged.
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.data + "/sales")
        let newest = try #require(names.filter { $0.hasSuffix(".sales") }.max())
        let handle = try #require(FileHandle(forWritingAtPath: directory.data + "/sales/" + newest))
        handle.seekToEndOfFile()
        handle.write(Data(repeating: 7, count: 2 * SaleEntry.bytes))
        handle.closeFile()
        var more = requests.make(card(2), LedgerCoalitionTests.purchase(30_000, at: "KIOSK"))
        more.sale = sale("T3", "KIOSK", lines: 3)
        #expect(ledger.perform(more).status == .approved)
        indexer.indexOnce(root: directory.data)
        ledger.close()
        let found = try Self.all(store)
        #expect(found.map(\.0.terminal.text) == ["T1", "T2", "T1", "T1", "T2", "T3"])
        #expect(found.last?.1 == (0..<3).map(SaleRecordTests.line), "its own three lines")
        #expect(try Self.all(try self.store()).map(\.0.terminal.text) == found.map(\.0.terminal.text), "and so after a reopen")
    }

    @Test("records without a sale are indexed before any sale: the store reopens on its marks alone, then takes sales")
    mutating func reopenBeforeAnySale() throws {
        let ledger = try open()
        defer { directory.remove() }
        #expect(ledger.perform(requests.make(card(1), LedgerCoalitionTests.purchase(10_000, at: "KIOSK"))).status == .approved)
        let first = try store()
        let indexer = SalesIndexer(
            ledger: ledger, store: first, holdRecordsMax: 1_000, nowMs: { 0 }, log: { _ in })
        indexer.indexOnce(root: directory.data)
        #expect(first.indexedSequences[0] > 0 && first.counters.sales == 0, "a purchase without a sale tail is no sale")
        let reopened = try store()
        #expect(reopened.indexedSequences == first.indexedSequences)
        var purchase = requests.make(card(1), LedgerCoalitionTests.purchase(20_000, at: "KIOSK"))
        purchase.sale = sale("T1", "KIOSK")
        #expect(ledger.perform(purchase).status == .approved)
        SalesIndexer(
            ledger: ledger, store: reopened, holdRecordsMax: 1_000, nowMs: { 0 }, log: { _ in }
        ).indexOnce(root: directory.data)
        ledger.close()
        #expect(try Self.all(reopened).map(\.0.amountMinor) == [20_000])
        #expect(try Self.all(try store()).count == 1, "and reopens with its pair")
    }

    /// A reversal or refund finds its original among the recent sales the store remembers: at least half of
    /// `originalsMax` newest names, never more than all of them (two generations, the older dropped whole).
    @Test("recent originals: the newest half of originalsMax names are always known, none beyond originalsMax")
    mutating func recentOriginalsBound() throws {
        let ledger = try open()
        var keys: [IdempotencyKey] = []
        for index in 0..<30 {
            var purchase = requests.make(card(index % 5), LedgerCoalitionTests.purchase(10_000, at: "KIOSK"))
            purchase.sale = sale("T1", "KIOSK")
            #expect(ledger.perform(purchase).status == .approved)
            keys.append(purchase.key)
        }
        ledger.close()
        let store = try SalesStore(
            root: directory.data, shardCount: 1, limits: SalesStore.Limits(retentionDays: 400, originalsMax: 8))
        #expect(try SalesIndexer.catchUp(root: directory.data, store: store) == 30)
        let known = keys.map { store.original($0) != nil }
        let knownCount = known.filter { $0 }.count
        #expect(knownCount >= 4 && knownCount <= 8, "\(known)")
        #expect(known == Array(repeating: false, count: 30 - knownCount) + Array(repeating: true, count: knownCount),
            "the newest are the ones known: \(known)")
        #expect(store.original(keys[29]).map { $0.1 } == 10_000)
    }

    @Test("retention: a pair whose sales are all older than retentionDays is dropped; the newest stays")
    mutating func retentionDropsOldPairs() throws {
        let ledger = try open()
        defer { directory.remove() }
        let store = try store(retentionDays: 2)
        let indexer = SalesIndexer(
            ledger: ledger, store: store, holdRecordsMax: 1_000, nowMs: { 0 }, log: { _ in })
        for day in 0..<5 {
            var purchase = requests.make(card(1), LedgerCoalitionTests.purchase(10_000, at: "KIOSK"))
            purchase.sale = sale("T\(day)", "KIOSK")
            #expect(ledger.perform(purchase).status == .approved)
            indexer.indexOnce(root: directory.data)
            clock.advance(byMs: 86_400_000)
        }
        ledger.close()
        let now = clock.nowMs
        try store.dropExpired(nowMs: now)
        #expect(try Self.all(store).map(\.0.terminal.text) == ["T3", "T4"], "sales of 3 or more days ago are gone")
        #expect(store.counters.filesDropped == 3)
    }

    @Test("the newest pair is made ready past its counts; a pair the store moves past is cut to exactly its entries")
    mutating func olderPairsAreExactlyTheirEntries() throws {
        let ledger = try open()
        defer { directory.remove() }
        var store = try store()
        let indexer = SalesIndexer(
            ledger: ledger, store: store, holdRecordsMax: 1_000, nowMs: { 0 }, log: { _ in })
        for day in 0..<3 {
            for index in 0..<(day + 2) {
                var purchase = requests.make(card(1), LedgerCoalitionTests.purchase(10_000, at: "KIOSK"))
                purchase.sale = sale("T\(day)\(index)", "KIOSK", lines: 1)
                #expect(ledger.perform(purchase).status == .approved)
            }
            indexer.indexOnce(root: directory.data)
            clock.advance(byMs: 86_400_000)
        }
        ledger.close()
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.data + "/sales")
        let days = files.filter { $0.hasSuffix(".sales") }.compactMap { Int64($0.dropLast(6)) }.sorted()
        #expect(days.count == 3)
        func size(_ day: Int64, _ suffix: String) throws -> Int64 {
            try FileIO.sizeOfFile(directory.data + "/sales/\(day).\(suffix)")
        }
        for (index, day) in days.dropLast().enumerated() {
            #expect(try size(day, "sales") == Int64((index + 2) * SaleEntry.bytes), "day \(index): its entries only")
            #expect(try size(day, "items") == Int64((index + 2) * SaleEntry.lineBytes), "day \(index): its lines only")
        }
        // The newest: exactly its entries where the file system refuses direct writes, else ready ahead.
        let newest = try size(days.last!, "sales")
        #expect(newest == Int64(4 * SaleEntry.bytes) || newest >= SalesStore.preparedBytesAhead, "\(newest)")
        let expected = (0..<3).flatMap { day in (0..<(day + 2)).map { "T\(day)\($0)" } }
        #expect(try Self.all(store).map(\.0.terminal.text) == expected)
        store = try self.store()
        #expect(try Self.all(store).map(\.0.terminal.text) == expected, "reopened: cut back to the counts")
        #expect(try size(days.last!, "sales") == Int64(4 * SaleEntry.bytes))
        let beside = try SalesStore(readingBeside: directory.data, shardCount: 1)
        #expect(try Self.all(beside).map(\.0.terminal.text) == expected, "a reader beside: by the mark")
    }
}
