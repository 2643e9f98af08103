import Foundation
import Testing

@testable import Ledger

/// Real crashes with lots: the child earns (1 point, 1 credit per key) with its clock on a fixed day per cycle,
/// points living 2 days and credit 3, while a sweep step runs every millisecond; the test kills it with SIGKILL
/// at a random moment, one cycle (one day) after another. Afterwards the balances and the expiry counters must
/// be exactly what an uninterrupted run of the applied earns gives, computed from which keys are present.
@Suite(.serialized) struct LotCrashTests {
    static let cycles = 8
    static let firstDay: Int64 = 20_000
    static let cardCount: UInt64 = 40

    /// Must match the child's `crashConfiguration()` + `crashLotConfiguration(day:)`.
    static func configuration(day: Int64, sweepIntervalMs: Int) -> LedgerConfiguration {
        var configuration = LedgerCrashTests.configuration()
        let nowMs = day * LotTerms.millisecondsPerDay + 3_600_000
        configuration.clockMs = { nowMs }
        configuration.pointsLifeDays = 2
        configuration.creditLifeDays = 3
        configuration.lotSweepIntervalMs = sweepIntervalMs
        configuration.lotSweepMembersPerStep = 4
        configuration.snapshotIntervalRecords = 1500
        return configuration
    }

    /// Runs the child on `day` until its first acknowledgement, waits a random moment, kills it.
    static func runAndKill(directory: TemporaryDirectory, cycle: Int, child: String) throws -> [UInt64] {
        let acknowledgements = directory.path + "/acks-\(cycle)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: child)
        process.arguments = [
            directory.data, acknowledgements, String(cycle * 1_000_000), String(cardCount),
            "lots:\(firstDay + Int64(cycle))",
        ]
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while (try? FileManager.default.attributesOfItem(atPath: acknowledgements)[.size] as? Int) ?? 0 == 0 {
            guard process.isRunning, Date() < deadline else { break }
            usleep(500)
        }
        // At least 20 ms: under a loaded machine a shorter run may end before any sweep step expired a lot.
        usleep(UInt32.random(in: 20_000...80_000))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL)
        let text = String(decoding: FileManager.default.contents(atPath: acknowledgements) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: true).dropLast(text.hasSuffix("\n") ? 0 : 1)
            .compactMap { UInt64($0) }
    }

    @Test("8 SIGKILLs across 8 days with sweeps running: balances and expiry counters equal an uninterrupted run")
    func killDuringSweeps() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let child = LedgerCrashTests.childExecutable()
        try #require(FileManager.default.isExecutableFile(atPath: child), "build ledger-crash-child first: \(child)")
        var acknowledged: [[UInt64]] = []
        for cycle in 0..<Self.cycles {
            acknowledged.append(try Self.runAndKill(directory: directory, cycle: cycle, child: child))
        }
        let lastDay = Self.firstDay + Int64(Self.cycles - 1)
        let afterKills = try Ledger.inspect(
            directory: directory.data, configuration: Self.configuration(day: lastDay, sweepIntervalMs: 0))
        #expect(afterKills.lotTotals.expired.points > 0, "lots expired during the cycles")
        let sweepRecords = filesUnder(directory.data).filter { $0.hasSuffix(".log") }.map {
            sweepRecordOffsets([UInt8](FileManager.default.contents(atPath: $0)!)).count
        }.reduce(0, +)
        // Whether sweep steps are still in the log depends on timing: lazy expiry on touch can beat the sweep to
        // every lot, and a periodic snapshot can cover the steps, on a loaded machine (seen twice in full-suite runs).
        // The balances and counters below are checked either way.
        withKnownIssue("sweep steps may all be covered or pre-empted on a loaded machine", isIntermittent: true) {
            #expect(sweepRecords > 0, "the log kept since the last snapshot holds sweep steps that recovery replayed")
        }
        let checkDay = lastDay + 1
        let ledger = try Ledger.open(
            directory: directory.data, configuration: Self.configuration(day: checkDay, sweepIntervalMs: 0))
        var balances: [AssetAmounts] = []
        for index in 0..<Self.cardCount {
            let number = CardNumber(String(4_000_000_000_000_000 + index))!
            let reply = ledger.perform(
                LedgerRequest(
                    tag: 0, key: IdempotencyKey(word0: 900_000_000 + index), digest: ContentDigest(high: 1, low: 1),
                    card: number, operation: .balance))
            balances.append(reply.balance)
        }
        let present = probe(ledger, acknowledged: acknowledged)
        ledger.close()
        let final = try Ledger.inspect(
            directory: directory.data, configuration: Self.configuration(day: checkDay, sweepIntervalMs: 0))
        check(balances: balances, present: present, final: final, lastCycle: Self.cycles - 1)
        print("lot crash test: \(sweepRecords) sweep records in the remaining log")
    }

    /// Re-sends every key that may have been applied; the replays are the keys present before. Keys the child
    /// never got durable are applied now (on the check day) and counted apart.
    func probe(_ ledger: Ledger, acknowledged: [[UInt64]]) -> (keys: [Int: [UInt64]], newlyApplied: Int) {
        var present: [Int: [UInt64]] = [:]
        var newlyApplied = 0
        for (cycle, keys) in acknowledged.enumerated() {
            let start = UInt64(cycle * 1_000_000)
            let acknowledgedSet = Set(keys)
            for key in start..<(start + UInt64(keys.count + LedgerCrashTests.windowSize + 1)) {
                let reply = ledger.perform(LedgerCrashTests.request(key: key))
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
                let card = Int(key % Self.cardCount)
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
