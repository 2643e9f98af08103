import Foundation
import TestSupport
import Testing

@testable import Ledger

/// Must match the child's `crashKeyWord1` (no crash-test key is the all-zero "no key").
let crashKeyWord1: UInt64 = 0xC4A5

/// Real crashes: a child process applies earns and records each acknowledged key; the test kills it with
/// SIGKILL at a random moment, restarts it, and finally proves that every acknowledged earn is present exactly
/// once and that no earn is half-applied.
@Suite(.serialized) struct LedgerCrashTests {
    static let cycles = 25
    static let cardCount: UInt64 = 40
    static let windowSize = 32

    /// Must match the child's `crashConfiguration()`.
    static func configuration() -> LedgerConfiguration {
        var configuration = LedgerConfiguration()
        configuration.shardCount = 2
        configuration.membersPerShardMax = 1024
        configuration.cardsPerShardMax = 1024
        configuration.holdsPerShardMax = 64
        configuration.idempotencyKeysPerShardMax = 1 << 16
        // The lot crash test's clock runs over 8 days: every key must outlive it (the default is 7 days).
        configuration.idempotencyRetentionMs = 35 * 86_400_000
        configuration.batchBytesMax = 16 << 10
        configuration.segmentBytes = 64 << 10
        configuration.snapshotIntervalRecords = 300
        configuration.log = { _ in }
        return configuration
    }

    /// Must match the child's `crashRequest(key:cardCount:)`.
    static func request(key: UInt64, cardCount: UInt64 = Self.cardCount) -> LedgerRequest {
        let cardDigits = String(4_000_000_000_000_000 + key % cardCount)
        return LedgerRequest(
            tag: key, key: IdempotencyKey(word0: key, word1: crashKeyWord1), digest: ContentDigest(high: key, low: 7),
            card: CardNumber(cardDigits)!,
            operation: .earn(amounts: AssetAmounts(points: 1, credit: 1), purchaseAmountMinor: 100, autoEnrol: true))
    }

    static func childExecutable() -> String {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = testBinary.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("ledger-crash-child").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return testBinary.deletingLastPathComponent().appendingPathComponent("ledger-crash-child").path
    }

    /// Runs the child until its first acknowledgement, waits a random moment, kills it. Returns the keys it
    /// acknowledged.
    static func runAndKill(directory: TemporaryDirectory, cycle: Int, child: String) throws -> [UInt64] {
        let acknowledgements = directory.path + "/acks-\(cycle)"
        let process = try Spawned(
            child, [directory.data, acknowledgements, String(cycle * 1_000_000), String(cardCount)])
        let deadline = Date().addingTimeInterval(30)
        while (try? FileManager.default.attributesOfItem(atPath: acknowledgements)[.size] as? Int) ?? 0 == 0 {
            #expect(process.isRunning, "child exited early in cycle \(cycle)")
            guard process.isRunning, Date() < deadline else { break }
            usleep(500)
        }
        usleep(UInt32.random(in: 0...40_000))
        #expect(process.kill() == .signalled(SIGKILL))
        return acknowledgedKeys(acknowledgements)
    }

    /// Sends every key each cycle may have sent again: each acknowledged one must come back as a replay (it was
    /// applied), every one approved. Returns how many were applied.
    static func countApplied(_ ledger: Ledger, acknowledged: [[UInt64]], cardCount: UInt64) -> Int64 {
        var present: Int64 = 0
        for (cycle, keys) in acknowledged.enumerated() {
            let start = UInt64(cycle * 1_000_000)
            let acknowledgedSet = Set(keys)
            for key in start..<(start + UInt64(keys.count + windowSize + 1)) {
                let reply = ledger.perform(request(key: key, cardCount: cardCount))
                #expect(reply.status == .approved)
                if reply.isReplay { present += 1 }
                if acknowledgedSet.contains(key) { #expect(reply.isReplay, "acknowledged key \(key) was lost") }
            }
        }
        return present
    }

    /// The keys in a child's acknowledgement file, without a last line cut short by the kill.
    static func acknowledgedKeys(_ path: String) -> [UInt64] {
        let text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: true).dropLast(text.hasSuffix("\n") ? 0 : 1)
            .compactMap { UInt64($0) }
    }

    @Test("25 SIGKILLs at random moments: every acknowledged earn is present exactly once, none half-applied")
    func killRepeatedly() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let child = Self.childExecutable()
        try #require(FileManager.default.isExecutableFile(atPath: child), "build ledger-crash-child first: \(child)")
        var acknowledged: [[UInt64]] = []
        for cycle in 0..<Self.cycles {
            acknowledged.append(try Self.runAndKill(directory: directory, cycle: cycle, child: child))
        }
        #expect(acknowledged.allSatisfy { !$0.isEmpty })
        let totals = try Ledger.inspect(directory: directory.data, configuration: Self.configuration())
        #expect(totals.balance.points == totals.balance.credit, "an earn was half-applied")
        #expect(totals.members <= Int(Self.cardCount))
        let ledger = try Ledger.open(directory: directory.data, configuration: Self.configuration())
        defer { ledger.close() }
        let present = Self.countApplied(ledger, acknowledged: acknowledged, cardCount: Self.cardCount)
        #expect(present == totals.balance.points, "applied earns and balance disagree: something applied twice")
        let acknowledgedCount = acknowledged.map(\.count).reduce(0, +)
        #expect(present >= Int64(acknowledgedCount))
        print(
            "crash test: \(Self.cycles) kills, \(acknowledgedCount) acknowledged, \(present) applied, "
                + "\(totals.tornTails.count) torn tails"
        )
    }
}
