import Foundation
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// Key runs in either format: version 2 (compact entry blocks) is written, version 1 (whole entry records,
/// fixtures/data/keyrun-v1.tar.gz) is still read, answered from and merged into version 2.
@Suite struct KeyRunFormatTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()

    /// The generator's configuration: a 16-key window, 16-version buffers, a snapshot every 500 records.
    func configuration(snapshotEvery: Int = 500) -> LedgerConfiguration {
        var configuration = testConfiguration(clock: clock)
        configuration.idempotencyKeysPerShardMax = 16
        configuration.keyBufferEntriesMax = 16
        configuration.snapshotIntervalRecords = snapshotEvery
        return configuration
    }

    var shardDirectory: String { DataDirectory.shardDirectory(directory.data, shard: 0) }

    /// The runs of shard 0, opened: (file name, header).
    func runHeaders() throws -> [(String, KeyRunHeader)] {
        try FileIO.listDirectory(shardDirectory).filter { KeyRunHeader.range(ofFileName: $0) != nil }.sorted().map {
            ($0, try KeyRun(path: shardDirectory + "/" + $0, shardIndex: 0).header)
        }
    }

    func unpackFixture() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/data/keyrun-v1.tar.gz")
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        let tar = try ChildProcess.run("/bin/tar", ["xzf", fixture.path, "-C", directory.path])
        try #require(tar.status == 0, "tar could not unpack the fixture: \(tar.output)")
    }

    /// Each of the plan's requests answered as the generator answered it: repeats replayed with their balances,
    /// the early reversal's tombstone still declining its late original.
    func expectFixtureRemembered(_ plan: KeyRunV1Plan, on ledger: Ledger, _ when: String) {
        let purchase = ledger.perform(plan.purchase)
        #expect(purchase.isReplay && purchase.balance.points == 40 && purchase.credited.points == 40, "\(when)")
        #expect(ledger.perform(plan.amendedReversal).isReplay, "\(when)")
        #expect(ledger.perform(plan.late).status == .declined, "\(when)")
        for index in stride(from: 0, to: KeyRunV1Plan.earnCount, by: 37) {
            let again = ledger.perform(plan.earns[index])
            #expect(again.isReplay && again.balance.points == Int64(index / 50 + 1), "earn \(index) \(when)")
        }
    }

    @Test("a version-1 directory: its runs answer repeats, reversals and tombstones, and merge into version 2")
    func versionOneRunsReadAndMerged() throws {
        defer { directory.remove() }
        try unpackFixture()
        let fixtureRuns = try runHeaders()
        #expect(fixtureRuns.count >= 4 && fixtureRuns.allSatisfy { $0.1.version == 1 }, "\(fixtureRuns.map(\.0))")
        let fixtureThrough = fixtureRuns.map(\.1.lastSequence).max()!
        var requests = RequestFactory()
        let plan = KeyRunV1Plan(&requests)
        // Snapshots every 20 records: a merge never spans the durable snapshot's boundary, and the fixture's
        // snapshot sits right after its runs, so the oldest runs wait for a snapshot that relies on a new one too.
        var ledger = try Ledger.open(directory: directory.data, configuration: configuration(snapshotEvery: 20))
        expectFixtureRemembered(plan, on: ledger, "from version-1 runs")
        let reversal = ledger.perform(requests.make(card(2), .reverse(originalKey: plan.reversed.key)))
        #expect(reversal.status == .approved && reversal.debited.points == 70)
        for index in 0..<2_000 {
            #expect(ledger.perform(requests.make(card(200 + index % 50), earn(1))).status == .approved)
        }
        ledger.close(snapshot: false)
        let merged = try runHeaders().filter { $0.1.version == 2 && $0.1.firstSequence <= fixtureThrough }
        #expect(!merged.isEmpty, "a merge took version-1 runs into a version-2 one")
        ledger = try Ledger.open(directory: directory.data, configuration: configuration())
        expectFixtureRemembered(plan, on: ledger, "after merges and a restart")
        #expect(ledger.perform(requests.make(card(2), .balance)).balance.points == 0)
        ledger.close()
        #expect(LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider()).isSound)
    }

    @Test("version-2 runs keep an earn's entry in well under half of its whole size")
    func entriesCompact() throws {
        defer { directory.remove() }
        var requests = RequestFactory()
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration())
        for index in 0..<1_000 {
            #expect(ledger.perform(requests.make(card(100 + index % 50), earn(1))).status == .approved)
        }
        ledger.close()
        let headers = try runHeaders().map(\.1)
        let entries = headers.reduce(0) { $0 + $1.entryCount }
        let blockBytes = headers.reduce(0) { $0 + $1.entryBlocks * KeyRunEntryBlock.bytes }
        #expect(entries >= 900 && headers.allSatisfy { $0.version == 2 })
        #expect(blockBytes * 3 < entries * KeyRunHeader.recordBytes, "\(blockBytes) bytes for \(entries) entries")
    }
}

/// The requests of fixtures/data/keyrun-v1.tar.gz, in the order they were made (RequestFactory() from 1): the
/// generator performed them with a 16-key window and 16-version buffers, a snapshot every 500 records.
struct KeyRunV1Plan {
    let purchase: LedgerRequest
    let reversed: LedgerRequest
    let late: LedgerRequest
    let lateReversal: LedgerRequest
    let amended: LedgerRequest
    let amendedReversal: LedgerRequest
    /// Earns of 1 point on cards 100..<150 (earn i on card 100 + i % 50).
    let earns: [LedgerRequest]
    static let earnsBefore = 300
    static let earnCount = 700

    init(_ requests: inout RequestFactory) {
        purchase = requests.make(card(1), earn(40))
        reversed = requests.make(card(2), earn(70))
        late = requests.make(card(3), earn(90))
        lateReversal = requests.make(card(3), .reverse(originalKey: late.key))
        amended = requests.make(card(4), earn(25))
        var made: [LedgerRequest] = []
        for index in 0..<Self.earnsBefore { made.append(requests.make(card(100 + index % 50), earn(1))) }
        amendedReversal = requests.make(card(4), .reverse(originalKey: amended.key))
        for index in Self.earnsBefore..<Self.earnCount { made.append(requests.make(card(100 + index % 50), earn(1))) }
        earns = made
    }
}
