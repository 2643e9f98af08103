import CCRC32C
import Foundation
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// Lots through the real ledger: shard threads, the log, snapshots, recovery, `ledger verify` and `breakage`.
@Suite struct LotDurabilityTests {
    let directory = TemporaryDirectory()
    var requests = RequestFactory()

    static let millisecondsPerDay = LotTerms.millisecondsPerDay

    func lotConfiguration(clock: VirtualClock, sweepIntervalMs: Int = 1) -> LedgerConfiguration {
        var configuration = testConfiguration(clock: clock)
        configuration.pointsLifeDays = 2
        configuration.creditLifeDays = 3
        configuration.lotSweepIntervalMs = sweepIntervalMs
        configuration.lotSweepMembersPerStep = 7
        return configuration
    }

    /// Six days of earns and redeems on 30 cards, then ten idle days in which only the sweep can expire
    /// anything. Stops like a crash (no snapshot). Returns what was earned and what was redeemed.
    mutating func writeSixDays(clock: VirtualClock) throws -> (earned: AssetAmounts, redeemed: AssetAmounts) {
        let ledger = try Ledger.open(directory: directory.data, configuration: lotConfiguration(clock: clock))
        var earned = AssetAmounts.zero
        var redeemed = AssetAmounts.zero
        for day in 0..<6 {
            for index in 0..<30 {
                let reply = ledger.perform(requests.make(card(index), earn(10, credit: 3)))
                #expect(reply.status == .approved)
                earned.points += 10
                earned.credit += 3
            }
            for index in stride(from: 0, to: 30, by: 4) {
                let reply = ledger.perform(requests.make(card(index), redeem(Int64(day + 3))))
                redeemed.points += reply.debited.points
            }
            clock.advance(byMs: Self.millisecondsPerDay)
            usleep(20_000)
        }
        clock.advance(byMs: 10 * Self.millisecondsPerDay)
        usleep(300_000)
        ledger.close(snapshot: false)
        return (earned, redeemed)
    }

    @Test("an idle shard's sweep expires everything due; replay from the log equals the state from a snapshot")
    mutating func sweepAndReplayEquality() throws {
        defer { directory.remove() }
        let clock = VirtualClock()
        let (earned, redeemed) = try writeSixDays(clock: clock)
        let fromLog = try Ledger.inspect(directory: directory.data, configuration: lotConfiguration(clock: clock))
        #expect(fromLog.lotTotals.outstanding == .zero, "the sweep alone expired the last days' lots")
        #expect(fromLog.balance == .zero)
        #expect(fromLog.lotTotals.expired.points + redeemed.points == earned.points)
        #expect(fromLog.lotTotals.expired.credit == earned.credit)
        #expect(fromLog.recordsReplayed > 30 * 6, "the log, not a snapshot, was replayed")
        let ledger = try Ledger.open(
            directory: directory.data, configuration: lotConfiguration(clock: clock, sweepIntervalMs: 0))
        ledger.close()
        let fromSnapshot = try Ledger.inspect(directory: directory.data, configuration: lotConfiguration(clock: clock))
        #expect(fromSnapshot.recordsReplayed == 0)
        #expect(fromSnapshot.lotCounters == fromLog.lotCounters)
        #expect(fromSnapshot.balance == fromLog.balance && fromSnapshot.activeLots == fromLog.activeLots)
        let breakage = try LedgerBreakage.report(directory: directory.data, decider: LoyaltyDecider()).get()
        #expect(
            breakage
                == LedgerBreakage.csvHeader + "\n0,0,\(earned.points - redeemed.points),0,\(earned.credit)\n"
                + "total,0,\(earned.points - redeemed.points),0,\(earned.credit)\n")
    }

    @Test("a sweep step goes on past the last member: after a restart mid-list it reaches the members before it")
    mutating func sweepStepWrapsAround() throws {
        defer { directory.remove() }
        let clock = VirtualClock()
        var configuration = lotConfiguration(clock: clock, sweepIntervalMs: 3_600_000)  // one step per open
        configuration.lotSweepMembersPerStep = 64
        configuration.creditLifeDays = 100
        /// Opens the ledger on the clock's day, gives `body` it, and stops like a crash once a request went through
        /// the shard (so its first loop, and the sweep step in it, is committed).
        func day(_ body: (Ledger) -> Void) throws {
            let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
            body(ledger)
            #expect(ledger.perform(requests.make(card(999), .balance)).status == .unknownCard)
            ledger.close(snapshot: false)
            clock.advance(byMs: Self.millisecondsPerDay)
        }
        // Day 0: member 0's first lot; day 1: its second and one lot on each of members 1...19 (points live 2 days).
        try day { #expect($0.perform(requests.make(card(0), earn(1))).status == .approved) }
        try day { ledger in
            for index in 0..<20 { #expect(ledger.perform(requests.make(card(index), earn(1))).status == .approved) }
        }
        // Day 2: the step expires member 0's first lot, logging [0, 1); members 1...19 are looked at, nothing due.
        try day { _ in }
        let dayTwo = try Ledger.inspect(directory: directory.data, configuration: configuration)
        #expect(dayTwo.lotTotals.expired.points == 1)
        // Day 3: recovery puts the cursor at 1 (the last logged step's end); the day's one step must reach member 0.
        try day { _ in }
        let expired = try Ledger.inspect(directory: directory.data, configuration: configuration).lotTotals.expired
        #expect(expired.points == 21, "every lot due is expired by the day's step: \(expired.points) of 21")
    }

    @Test("a damaged sweep record before the last batch refuses to open, naming the file and offset")
    mutating func damagedSweepRecordRefuses() throws {
        defer { directory.remove() }
        let clock = VirtualClock()
        _ = try writeSixDays(clock: clock)
        let shardDirectory = directory.data + "/shard-000"
        let segments = try FileManager.default.contentsOfDirectory(atPath: shardDirectory).filter {
            $0.hasPrefix("wal-") && $0.hasSuffix(".log")
        }.sorted()
        let path = shardDirectory + "/" + segments[0]
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        let sweeps = sweepRecordOffsets(bytes)
        try #require(sweeps.count >= 2, "the run logged sweep steps")
        bytes[sweeps[0] + WALRecord.headerBytes + 40] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect {
            try Ledger.inspect(directory: directory.data, configuration: lotConfiguration(clock: clock))
        } throws: { error in
            guard case .damagedLog(let file, let offset, _) = error as? LedgerError else { return false }
            return file == path && offset == Int64(sweeps[0])
        }
    }
}

/// Offsets of the log records whose kind is `expireLots` in one segment's bytes.
func sweepRecordOffsets(_ bytes: [UInt8]) -> [Int] {
    SegmentFile.records(bytes).filter { bytes[$0.offset + WALRecord.headerBytes] == CommandKind.expireLots.rawValue }
        .map(\.offset)
}

extension LotDurabilityTests {
    @Test("verify finds a lot whose amount no longer adds up to its member's balance (snapshot bytes changed)")
    mutating func verifyDetectsDamagedLotSum() throws {
        defer { directory.remove() }
        let clock = VirtualClock()
        let ledger = try Ledger.open(
            directory: directory.data, configuration: lotConfiguration(clock: clock, sweepIntervalMs: 0))
        for index in 0..<5 { _ = ledger.perform(requests.make(card(index), earn(10, credit: 1))) }
        ledger.close()
        #expect(LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider()).isSound)
        let shardDirectory = directory.data + "/shard-000"
        let name = try FileManager.default.contentsOfDirectory(atPath: shardDirectory).first {
            $0.hasPrefix("snapshot-")
        }!
        let path = shardDirectory + "/" + name
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        // The lot records end where the (empty) settlement, spent-lot, engagement and notice sections begin, then
        // the (empty) key store section and the checksum.
        let lastLotAmount =
            bytes.count - 4 - Snapshot.keyTrailerBytes - 4 * Snapshot.settlementSectionHeaderBytes
            - MemoryLayout<LotRecord>.stride
        bytes[lastLotAmount] &+= 1
        let crc = bytes.withUnsafeBytes { ccrc32c_update(0, $0.baseAddress, $0.count - 4) }
        for index in 0..<4 { bytes[bytes.count - 4 + index] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(index))) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let result = LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider())
        #expect(!result.isSound)
        #expect(result.error?.contains("lots sum to 2 but the balance is 1") == true, "\(result.error ?? "")")
    }

    @Test("a card replaced across shards takes its value along: the source's lots go, the destination forms lots")
    mutating func replacementMovesLots() throws {
        defer { directory.remove() }
        let clock = VirtualClock()
        var configuration = lotConfiguration(clock: clock, sweepIntervalMs: 0)
        configuration.shardCount = 2
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        let (oldCard, number) = card(onShard: 0, of: ledger, startingAt: 1)
        let (newCard, _) = card(onShard: 1, of: ledger, startingAt: number + 1)
        _ = ledger.perform(requests.make(oldCard, earn(40, credit: 4)))
        #expect(ledger.perform(requests.make(oldCard, .replace(newCard: newCard))).status == .approved)
        #expect(ledger.perform(requests.make(newCard, .balance)).balance == AssetAmounts(points: 40, credit: 4))
        ledger.close()
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
        #expect(totals.lotCounters.map(\.outstanding) == [.zero, AssetAmounts(points: 40, credit: 4)])
        #expect(totals.activeLots == 2)
    }

    @Test("lot limits are recorded in ledger.meta: lowering lotsPerMemberMax below a member's lots is refused")
    mutating func lotLimitsRecorded() throws {
        defer { directory.remove() }
        let clock = VirtualClock()
        var configuration = lotConfiguration(clock: clock, sweepIntervalMs: 0)
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        for _ in 0..<3 {
            _ = ledger.perform(requests.make(card(1), earn(5)))
            clock.advance(byMs: Self.millisecondsPerDay / 2 + 1)
        }
        ledger.close()
        let meta = try String(contentsOfFile: directory.data + "/ledger.meta", encoding: .utf8)
        #expect(meta.contains("lotsPerMemberMax=16") && meta.contains("lotsPerShardMax=\(1 << 22)"))
        configuration.lotsPerMemberMax = 1
        #expect(throws: LedgerError.self) { try Ledger.open(directory: directory.data, configuration: configuration) }
        configuration.lotsPerMemberMax = 8
        let reopened = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(reopened.perform(requests.make(card(1), .balance)).balance.points == 10, "the day-2 lot expired")
        reopened.close()
        let changed = try String(contentsOfFile: directory.data + "/ledger.meta", encoding: .utf8)
        #expect(changed.contains("lotsPerMemberMax=8"))
    }
}
