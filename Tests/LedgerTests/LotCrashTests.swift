import Foundation
import TestSupport
import Testing

@testable import Ledger

/// Real crashes with lots: the child earns (1 point, 1 credit per key) with its clock on a fixed day per cycle,
/// points living 2 days and credit 3, on the half of the cards whose index has the day's parity, while a sweep
/// step over every member runs each millisecond; the test kills it with SIGKILL at a random moment after both
/// shards acknowledged an earn, one cycle (one day) after another. A shard sweeps before its first commit, so at
/// each kill every lot due that day is expired, those of the half not earned on that day by the sweep alone.
/// Afterwards the expiry counters as the kills left them, and the balances and counters on the day after, must be
/// exactly what an uninterrupted run of the applied earns gives, computed from which keys are present.
@Suite(.serialized) struct LotCrashTests {
    static let cycles = 8
    static let firstDay: Int64 = 20_000
    static let cardCount: UInt64 = 40
    /// Cycle c uses the keys c × keysPerCycle ..< (c + 1) × keysPerCycle, so a key says its day.
    static let keysPerCycle: UInt64 = 1_000_000
    /// The card-hash key written into the data directory before the first cycle: with it both shards own cards of
    /// either parity (checked by the test), so each day both shards receive earns and acknowledge them.
    static let cardHashKey: (UInt64, UInt64) = (0x5EED_0001, 0x5EED_0002)

    /// Must match the child's `crashConfiguration()` + `crashLotConfiguration(day:)`.
    static func configuration(day: Int64, sweepIntervalMs: Int) -> LedgerConfiguration {
        var configuration = LedgerCrashTests.configuration()
        let nowMs = day * LotTerms.millisecondsPerDay + 3_600_000
        configuration.clockMs = { nowMs }
        configuration.pointsLifeDays = 2
        configuration.creditLifeDays = 3
        configuration.lotSweepIntervalMs = sweepIntervalMs
        configuration.lotSweepMembersPerStep = 64
        configuration.snapshotIntervalRecords = 1500
        return configuration
    }

    /// Must match the child's `lotCrashRequest(key:cardCount:day:)`: the card index has the parity of the key's day.
    static func cardIndex(key: UInt64) -> UInt64 {
        let day = firstDay + Int64(key / keysPerCycle)
        return 2 * (key % (cardCount / 2)) + UInt64(day % 2)
    }

    static func card(index: UInt64) -> CardNumber { CardNumber(String(4_000_000_000_000_000 + index))! }

    static func request(key: UInt64) -> LedgerRequest {
        LedgerRequest(
            tag: key, key: IdempotencyKey(word0: key, word1: crashKeyWord1), digest: ContentDigest(high: key, low: 7),
            card: card(index: cardIndex(key: key)),
            operation: .earn(amounts: AssetAmounts(points: 1, credit: 1), purchaseAmountMinor: 100, autoEnrol: true))
    }

    static func shard(ofCard index: UInt64) -> Int {
        ShardState.shard(of: card(index: index).hash(key0: cardHashKey.0, key1: cardHashKey.1), shardCount: 2)
    }

    /// Writes `cardHashKey` where the ledger keeps its key, so the first open uses it instead of a random one.
    static func prepareDataDirectory(_ directory: TemporaryDirectory) throws {
        try FileManager.default.createDirectory(atPath: directory.data, withIntermediateDirectories: true)
        var key = cardHashKey
        let bytes = withUnsafeBytes(of: &key) { Data($0) }
        try bytes.write(to: URL(fileURLWithPath: directory.data + "/" + DataDirectory.cardKeyName))
    }

    /// The keys in the acknowledgement file; an unfinished last line is left out.
    static func acknowledgedKeys(_ path: String) -> [UInt64] {
        let text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: true).dropLast(text.hasSuffix("\n") ? 0 : 1)
            .compactMap { UInt64($0) }
    }

    /// Waits (at most 30 s) until both shards acknowledged an earn: each commits, and so acknowledges, only after
    /// its first sweep step. False when the child stopped or the time ran out.
    static func waitForBothShards(_ process: Spawned, acknowledgements: String) -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline {
            let shards = Set(acknowledgedKeys(acknowledgements).map { shard(ofCard: cardIndex(key: $0)) })
            if shards.count == 2 { return true }
            usleep(1_000)
        }
        return false
    }

    /// Runs the child on the cycle's day until both shards acknowledged, waits a random moment, kills it.
    static func runAndKill(directory: TemporaryDirectory, cycle: Int, child: String) throws -> [UInt64] {
        let acknowledgements = directory.path + "/acks-\(cycle)"
        let process = try Spawned(
            child,
            [
                directory.data, acknowledgements, String(UInt64(cycle) * keysPerCycle), String(cardCount),
                "lots:\(firstDay + Int64(cycle))",
            ])
        #expect(waitForBothShards(process, acknowledgements: acknowledgements), "cycle \(cycle): both shards answer")
        usleep(UInt32.random(in: 0...40_000))
        #expect(process.kill() == .signalled(SIGKILL))
        return acknowledgedKeys(acknowledgements)
    }

    @Test("8 SIGKILLs across 8 days with sweeps running: expiry at each kill, balances and counters after, all exact")
    func killDuringSweeps() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let child = LedgerCrashTests.childExecutable()
        try #require(FileManager.default.isExecutableFile(atPath: child), "build ledger-crash-child first: \(child)")
        for parity in UInt64(0)...1 {
            let shards = Set(stride(from: parity, to: Self.cardCount, by: 2).map { Self.shard(ofCard: $0) })
            try #require(shards.count == 2, "with the fixed card-hash key both shards own cards of parity \(parity)")
        }
        try Self.prepareDataDirectory(directory)
        var acknowledged: [[UInt64]] = []
        for cycle in 0..<Self.cycles {
            acknowledged.append(try Self.runAndKill(directory: directory, cycle: cycle, child: child))
        }
        let lastDay = Self.firstDay + Int64(Self.cycles - 1)
        // Read from disk without applying anything: what the kills left, replayed from the log and snapshots.
        let afterKills = try Ledger.inspect(
            directory: directory.data, configuration: Self.configuration(day: lastDay, sweepIntervalMs: 0))
        let sweepRecords = filesUnder(directory.data).filter { $0.hasSuffix(".log") }.map {
            sweepRecordOffsets([UInt8](FileManager.default.contents(atPath: $0)!)).count
        }.reduce(0, +)
        let checkDay = lastDay + 1
        let ledger = try Ledger.open(
            directory: directory.data, configuration: Self.configuration(day: checkDay, sweepIntervalMs: 0))
        var balances: [AssetAmounts] = []
        for index in 0..<Self.cardCount {
            let reply = ledger.perform(
                LedgerRequest(
                    tag: 0, key: IdempotencyKey(word0: 900_000_000 + index), digest: ContentDigest(high: 1, low: 1),
                    card: Self.card(index: index), operation: .balance))
            balances.append(reply.balance)
        }
        let present = probe(ledger, acknowledged: acknowledged)
        ledger.close()
        // In the last cycle each shard's sweep, before its first acknowledgement, expired everything due: among it
        // cycle 4's credit on the cards not earned in cycle 7, which nothing else touched. A sweep that did not
        // run, or that recovery lost, fails here.
        #expect(
            afterKills.lotTotals.expired == Self.expired(present.keys, atCycle: Self.cycles - 1),
            "expiry counters after the kills differ from an uninterrupted run up to the last day")
        let final = try Ledger.inspect(
            directory: directory.data, configuration: Self.configuration(day: checkDay, sweepIntervalMs: 0))
        check(balances: balances, present: present, final: final, lastCycle: Self.cycles - 1)
        print("lot crash test: \(sweepRecords) sweep records in the remaining log")
    }

    /// What an uninterrupted run has expired on the day of cycle `last`: a point earned in cycle c from cycle c + 2
    /// on, a credit unit from cycle c + 3 on (one cycle is one day).
    static func expired(_ keys: [Int: [UInt64]], atCycle last: Int) -> AssetAmounts {
        var expired = AssetAmounts.zero
        for (cycle, cycleKeys) in keys {
            if cycle + 2 <= last { expired.points += Int64(cycleKeys.count) }
            if cycle + 3 <= last { expired.credit += Int64(cycleKeys.count) }
        }
        return expired
    }

    /// Re-sends every key that may have been applied; the replays are the keys present before. Keys the child
    /// never got durable are applied now (on the check day) and counted apart.
    func probe(_ ledger: Ledger, acknowledged: [[UInt64]]) -> (keys: [Int: [UInt64]], newlyApplied: Int) {
        var present: [Int: [UInt64]] = [:]
        var newlyApplied = 0
        for (cycle, keys) in acknowledged.enumerated() {
            let start = UInt64(cycle) * Self.keysPerCycle
            let acknowledgedSet = Set(keys)
            for key in start..<(start + UInt64(keys.count + LedgerCrashTests.windowSize + 1)) {
                let reply = ledger.perform(Self.request(key: key))
                #expect(reply.status == .approved)
                if reply.isReplay { present[cycle, default: []].append(key) } else { newlyApplied += 1 }
                if acknowledgedSet.contains(key) { #expect(reply.isReplay, "acknowledged key \(key) was lost") }
            }
        }
        return (present, newlyApplied)
    }

    /// On the check day (last cycle + 1) a point earned in cycle c is held iff c + 2 > last + 1, credit iff
    /// c + 3 > last + 1; everything else earned must have expired, nothing more.
    func check(
        balances: [AssetAmounts], present: (keys: [Int: [UInt64]], newlyApplied: Int), final: LedgerTotals,
        lastCycle: Int
    ) {
        var expected = [AssetAmounts](repeating: .zero, count: Int(Self.cardCount))
        var expired = AssetAmounts.zero
        for (cycle, keys) in present.keys {
            for key in keys {
                let card = Int(Self.cardIndex(key: key))
                if cycle + 2 > lastCycle + 1 { expected[card].points += 1 } else { expired.points += 1 }
                if cycle + 3 > lastCycle + 1 { expected[card].credit += 1 } else { expired.credit += 1 }
            }
        }
        #expect(balances == expected, "balances after the kills differ from an uninterrupted run")
        #expect(final.lotTotals.expired == expired, "expiry counters differ from an uninterrupted run")
        let held = expected.reduce(AssetAmounts.zero) {
            AssetAmounts(points: $0.points + $1.points, credit: $0.credit + $1.credit)
        }
        let fresh = Int64(present.newlyApplied)
        #expect(final.lotTotals.outstanding == AssetAmounts(points: held.points + fresh, credit: held.credit + fresh))
        let applied = present.keys.values.map(\.count).reduce(0, +)
        print("lot crash test: \(Self.cycles) kills, \(applied) earns applied, expired \(expired), held \(held)")
    }
}
