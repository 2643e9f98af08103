import Foundation
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// Restart, replay, snapshots and segment handling.
@Suite struct LedgerRecoveryTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    /// Applies a mix of operations and returns (the earn to refund later, the live hold, the last reply).
    mutating func applyMix(_ ledger: Ledger) -> (LedgerRequest, LedgerRequest, LedgerReply) {
        let purchase = requests.make(card(1), earn(200, credit: 50, purchase: 2000))
        _ = ledger.perform(purchase)
        _ = ledger.perform(requests.make(card(2), earn(70)))
        _ = ledger.perform(requests.make(card(1), .redeem(asset: .points, amount: 20, allowPartial: false)))
        _ = ledger.perform(requests.make(card(1), .refund(originalKey: purchase.key, refundAmountMinor: 500)))
        let hold = requests.make(
            card(1), .hold(asset: .points, amount: 30, allowPartial: false, expiresAfterMs: 60_000))
        _ = ledger.perform(hold)
        _ = ledger.perform(requests.make(card(2), .block))
        let last = ledger.perform(requests.make(card(1), .balance))
        return (purchase, hold, last)
    }

    /// After a restart: balances, the hold, refundable remainder and stored outcomes are all as before.
    mutating func checkAfterRestart(_ ledger: Ledger, purchase: LedgerRequest, hold: LedgerRequest, before: LedgerReply)
    {
        let balance = ledger.perform(requests.make(card(1), .balance))
        #expect(balance.balance == before.balance && balance.available == before.available)
        #expect(ledger.perform(requests.make(card(2), earn(1))).status == .cardBlocked)
        #expect(ledger.perform(purchase).isReplay)
        let refund = ledger.perform(requests.make(card(1), .refund(originalKey: purchase.key, refundAmountMinor: 1500)))
        #expect(refund.status == .approved && refund.debited == AssetAmounts(points: 150, credit: 38))
        let capture = ledger.perform(requests.make(card(1), .capture(holdKey: hold.key, amount: 30)))
        #expect(capture.status == .approved && capture.balance.points == before.balance.points - 150 - 30)
    }

    @Test("a clean close and reopen (snapshot) keeps balances, holds, refund state and idempotency keys")
    mutating func reopenFromSnapshot() throws {
        defer { directory.remove() }
        let configuration = testConfiguration(clock: clock)
        let first = try Ledger.open(directory: directory.data, configuration: configuration)
        let (purchase, hold, before) = applyMix(first)
        first.close()
        let second = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(second.recoveryReports[0].snapshotSequence == 7 && second.recoveryReports[0].recordsReplayed == 0)
        checkAfterRestart(second, purchase: purchase, hold: hold, before: before)
        second.close()
    }

    @Test("a stop without snapshot (like a crash) recovers the same state by replaying the log")
    mutating func reopenFromLog() throws {
        defer { directory.remove() }
        let configuration = testConfiguration(clock: clock)
        let first = try Ledger.open(directory: directory.data, configuration: configuration)
        let (purchase, hold, before) = applyMix(first)
        first.close(snapshot: false)
        let second = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(second.recoveryReports[0].snapshotSequence == 0 && second.recoveryReports[0].recordsReplayed == 7)
        checkAfterRestart(second, purchase: purchase, hold: hold, before: before)
        second.close(snapshot: false)
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
        #expect(totals.lastSequences == [11] && totals.members == 2 && totals.cardsBlocked == 1)
    }

    @Test("small segments rotate, periodic snapshots drop covered segments, and recovery still sees everything")
    mutating func segmentsRotateAndDrop() throws {
        defer { directory.remove() }
        var configuration = testConfiguration(clock: clock)
        configuration.batchBytesMax = 4096
        configuration.segmentBytes = 8192
        configuration.snapshotIntervalRecords = 100
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        for index in 0..<450 { _ = ledger.perform(requests.make(card(index % 7), earn(1))) }
        ledger.close(snapshot: false)
        let shardDirectory = directory.data + "/shard-000"
        let names = try FileManager.default.contentsOfDirectory(atPath: shardDirectory)
        #expect(names.filter { $0.hasPrefix("snapshot-") }.count == 1)
        // Periodic snapshots are written in the background; one due while another is written waits for the next
        // batch after that one ends, so its sequence is not always a multiple of the interval.
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
        let snapshotSequence = totals.snapshotSequences[0]
        #expect(snapshotSequence >= 200)
        let segments = names.filter { $0.hasPrefix("wal-") && $0.hasSuffix(".log") }.count
        #expect(segments <= Int(450 - snapshotSequence) / 40 + 2)
        #expect(totals.balance.points == 450 && totals.lastSequences == [450])
        #expect(totals.recordsReplayed == 450 - Int(snapshotSequence))
    }

    @Test("the zero-filled spare segment is prepared in the background and never read as log")
    mutating func spareSegmentIgnored() throws {
        defer { directory.remove() }
        var configuration = testConfiguration(clock: clock)
        configuration.batchBytesMax = 4096
        configuration.segmentBytes = 8192
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        for index in 0..<200 { _ = ledger.perform(requests.make(card(index % 5), earn(1))) }
        ledger.close(snapshot: false)
        let spare = directory.data + "/shard-000/wal-spare.tmp"
        #expect(FileManager.default.fileExists(atPath: spare))
        try Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: URL(fileURLWithPath: spare))
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
        #expect(totals.balance.points == 200 && totals.tornTails.isEmpty)
        let reopened = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(reopened.perform(requests.make(card(0), .balance)).balance.points == 40)
        reopened.close()
    }

    @Test("a second writer on the same directory is refused with directoryInUse until the first closes")
    func singleWriter() throws {
        defer { directory.remove() }
        let first = try Ledger.open(directory: directory.data, configuration: testConfiguration())
        #expect(throws: LedgerError.directoryInUse(path: directory.data)) {
            try Ledger.open(directory: directory.data, configuration: testConfiguration())
        }
        first.close()
        // No retry: close returns once no child spawned meanwhile holds a copy of the lock (LedgerCloseTests).
        let reopened = try Ledger.open(directory: directory.data, configuration: testConfiguration())
        reopened.close()
    }

    @Test("a directory written with 2 shards refuses to open with 1")
    func shardCountMismatch() throws {
        defer { directory.remove() }
        try Ledger.open(directory: directory.data, configuration: testConfiguration(shards: 2)).close()
        #expect(throws: LedgerError.self) {
            try Ledger.open(directory: directory.data, configuration: testConfiguration(shards: 1))
        }
    }

    @Test("no file in the data directory contains a full card number, in ASCII or packed")
    mutating func noCardNumberInFiles() throws {
        defer { directory.remove() }
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        _ = applyMix(ledger)
        ledger.close(snapshot: false)
        let reopened = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        reopened.close()
        let pan = Array("5000000000000001".utf8)
        let files = filesUnder(directory.data)
        #expect(files.count >= 4)
        for file in files {
            let bytes = [UInt8](FileManager.default.contents(atPath: file) ?? Data())
            #expect(!bytes.contains(subsequence: pan), "\(file) contains the card number")
            #expect(!bytes.contains(subsequence: [0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01]))
        }
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        for start in 0...(count - subsequence.count) where self[start] == subsequence[0] {
            if Array(self[start..<(start + subsequence.count)]) == subsequence { return true }
        }
        return false
    }
}

/// `ledger verify`'s engine: totals for a sound directory, a named refusal for a damaged one.
@Suite struct LedgerVerifierTests {
    let directory = TemporaryDirectory()

    @Test("verify prints members, cards, balances per asset, records and last sequences, and changes no file")
    func verifySoundDirectory() throws {
        defer { directory.remove() }
        var requests = RequestFactory()
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(shards: 2))
        for index in 0..<6 { _ = ledger.perform(requests.make(card(index), earn(10, credit: 3))) }
        _ = ledger.perform(requests.make(card(0), .block))
        ledger.close(snapshot: false)
        let before = filesUnder(directory.data).map { FileManager.default.contents(atPath: $0) }
        let result = LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider())
        #expect(result.isSound && result.error == nil)
        for expected in [
            "shards: 2", "members: 6", "cards: 6 (blocked 1, replaced 0)", "balance points: 60 (held 0)",
            "balance credit: 18 (held 0)", "records: 7 verified, 7 after the snapshots", "result: OK",
        ] {
            #expect(result.report.contains(expected), "missing \(expected)")
        }
        #expect(filesUnder(directory.data).map { FileManager.default.contents(atPath: $0) } == before)
    }

    @Test("verify of a damaged log is not sound and names the file and offset")
    func verifyDamagedDirectory() throws {
        defer { directory.remove() }
        var requests = RequestFactory()
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration())
        for index in 0..<6 { _ = ledger.perform(requests.make(card(index), earn(1))) }
        ledger.close(snapshot: false)
        let shardDirectory = directory.data + "/shard-000"
        let segment =
            shardDirectory + "/"
            + (try FileManager.default.contentsOfDirectory(atPath: shardDirectory).first {
                ($0.hasPrefix("wal-") && $0.hasSuffix(".log"))
            }!)
        var bytes = [UInt8](FileManager.default.contents(atPath: segment)!)
        bytes[WALSegment.recordsStart + 50] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        let result = LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider())
        #expect(!result.isSound)
        #expect(
            result.error?.contains(segment) == true
                && result.error?.contains("offset \(WALSegment.recordsStart)") == true)
        #expect(!LedgerVerifier.verify(directory: directory.path + "/missing", decider: LoyaltyDecider()).isSound)
    }
}
