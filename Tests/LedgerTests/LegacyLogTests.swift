import Foundation
import LoyaltyLedger
import Glibc
import Testing

@testable import Ledger

/// A log written by a build before segment headers opens, verifies and goes on in headed segments; damage to it
/// is still refused by name wherever the files can show it (WALReader+Legacy.swift).
@Suite struct LegacyLogTests {
    let directory = TemporaryDirectory()
    var requests = RequestFactory()

    var shardDirectory: String { directory.data + "/shard-000" }

    /// 64 KiB segments: a few hundred records fill one.
    static func configuration() -> LedgerConfiguration {
        var configuration = testConfiguration()
        configuration.segmentBytes = 64 << 10
        return configuration
    }

    /// `count` earns of 1 point over 5 cards, in batches, then a stop as a crash leaves it; then the directory
    /// rewritten as a build before segment headers left it. Returns each segment's records by path.
    mutating func writeLegacyLog(_ count: Int) throws -> [(path: String, records: [UInt8])] {
        let ledger = try Ledger.open(directory: directory.data, configuration: Self.configuration())
        earnInBatches(count, on: ledger)
        ledger.close(snapshot: false)
        return try LegacyLog.convert(directory.data)
    }

    /// `count` earns of 1 point over 5 cards, submitted 100 at a time (batches of many records).
    mutating func earnInBatches(_ count: Int, on ledger: Ledger) {
        for start in stride(from: 0, to: count, by: 100) {
            let sink = RecordingSink()
            let batch = (start..<min(count, start + 100)).map { requests.make(card($0 % 5), earn(1)) }
            #expect(ledger.submit(batch, to: sink).isEmpty)
            sink.waitFor(count: batch.count)
            #expect(sink.replies.allSatisfy { $0.status == .approved })
        }
    }

    /// Open and verify refuse with the same damaged-log error; returns its file and reason.
    func expectRefusal() -> (file: String, offset: Int64, reason: String)? {
        let verified = LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider())
        #expect(!verified.isSound)
        do {
            let ledger = try Ledger.open(directory: directory.data, configuration: Self.configuration())
            ledger.close()
            Issue.record("opened a damaged log written before segment headers")
            return nil
        } catch {
            #expect(verified.error == error.description, "verify fails the same way")
            guard case .damagedLog(let file, let offset, let reason) = error else {
                Issue.record("not a damaged log: \(error)")
                return nil
            }
            return (file, offset, reason)
        }
    }

    @Test("a log written before segment headers opens with its balances, goes on in a headed segment, survives a crash")
    mutating func legacyLogOpensAndContinues() throws {
        defer { directory.remove() }
        let legacy = try writeLegacyLog(900)
        #expect(legacy.count >= 3, "several legacy segments")
        let before = try Ledger.inspect(directory: directory.data, configuration: Self.configuration())
        #expect(before.lastSequences == [900] && before.balance.points == 900 && before.tornTails.isEmpty)

        var ledger = try Ledger.open(directory: directory.data, configuration: Self.configuration())
        #expect(ledger.recoveryReports[0].lastSequence == 900)
        for index in 0..<10 { #expect(ledger.perform(requests.make(card(index % 5), earn(1))).status == .approved) }
        ledger.close(snapshot: false)
        let paths = try SegmentFile.paths(in: shardDirectory)
        #expect(Array(paths.prefix(legacy.count)) == legacy.map(\.path), "the legacy segments are kept as they were")
        #expect(paths.count == legacy.count + 1)
        let headed = SegmentFile.header([UInt8](FileManager.default.contents(atPath: paths.last!)!))
        #expect(headed?.firstSequence == 901, "the first segment this build writes starts after the legacy log")
        let meta = try String(contentsOfFile: directory.data + "/ledger.meta", encoding: .utf8)
        #expect(meta.contains("segmentHeaders=1"))

        ledger = try Ledger.open(directory: directory.data, configuration: Self.configuration())
        #expect(ledger.recoveryReports[0].lastSequence == 910 && ledger.recoveryReports[0].recordsReplayed == 910)
        let balance = ledger.perform(requests.make(card(0), .balance))
        #expect(balance.balance.points == 182, "180 legacy earns and 2 new ones on card 0")
        ledger.close()
        let remaining = try SegmentFile.paths(in: shardDirectory)
        #expect(remaining.allSatisfy { !legacy.map(\.path).contains($0) }, "the snapshot covers the legacy segments")
        let after = try Ledger.inspect(directory: directory.data, configuration: Self.configuration())
        #expect(after.balance.points == 910 && after.lastSequences == [911])
    }

    @Test("a legacy segment cut mid-file, a missing one, a bad record before the last: refused, named, verify agrees")
    mutating func legacyDamageRefused() throws {
        defer { directory.remove() }
        let legacy = try writeLegacyLog(900)
        let newest = legacy[legacy.count - 1]
        let newestName = URL(fileURLWithPath: newest.path).lastPathComponent

        // The newest segment cut mid-record, half-way through its records: the old torn-tail rule would have
        // taken it for an unacknowledged last batch; its size says it was cut.
        let cut = (newest.records.count / 2) | 5
        #expect(truncate(newest.path, off_t(cut)) == 0)
        if let refusal = expectRefusal() {
            #expect(refusal.file == newest.path, "\(refusal)")
            #expect(
                refusal.reason.hasPrefix(
                    "the file is \(cut) bytes but segments written before segment headers were allocated 67108864: "
                        + "cut short; its records end at sequence "), "\(refusal.reason)")
        }
        try LegacyLog.write(newest.records, to: newest.path)

        // A segment in the middle deleted: the next one does not start where the log before it ends.
        try FileManager.default.removeItem(atPath: legacy[1].path)
        if let refusal = expectRefusal() {
            #expect(refusal.file == legacy[2].path && refusal.offset == 0, "\(refusal)")
            #expect(refusal.reason.contains("are missing: the log before this segment ends at sequence"))
        }
        try LegacyLog.write(legacy[1].records, to: legacy[1].path)

        // A bit flipped in the first segment: not the last one, so never a torn tail.
        var flipped = legacy[0].records
        flipped[flipped.count / 2] ^= 0x10
        try LegacyLog.write(flipped, to: legacy[0].path)
        if let refusal = expectRefusal() {
            #expect(refusal.file == legacy[0].path && refusal.reason.contains("(not the last segment)"), "\(refusal)")
        }
        try LegacyLog.write(legacy[0].records, to: legacy[0].path)
        #expect(LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider()).isSound, "restored: \(newestName)")
    }

    @Test("after the upgrade, the headed segments deleted, or a headerless segment after a headed one, are refused")
    mutating func upgradedLogKeepsItsTail() throws {
        defer { directory.remove() }
        let legacy = try writeLegacyLog(700)
        let ledger = try Ledger.open(directory: directory.data, configuration: Self.configuration())
        earnInBatches(400, on: ledger)
        ledger.close(snapshot: false)
        let headed = try SegmentFile.paths(in: shardDirectory).filter { !legacy.map(\.path).contains($0) }
        #expect(headed.count >= 2, "\(headed)")
        let headedBytes = headed.map { [UInt8](FileManager.default.contents(atPath: $0)!) }

        for path in headed { try FileManager.default.removeItem(atPath: path) }
        if let refusal = expectRefusal() {
            #expect(refusal.file == legacy.last!.path, "\(refusal)")
            #expect(
                refusal.reason.contains("written before segment headers, ends the log at sequence 700")
                    && refusal.reason.contains("segments written after sequence 700 are missing"), "\(refusal.reason)")
        }
        for (path, bytes) in zip(headed, headedBytes) { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
        #expect(LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider()).isSound)

        // The newest segment's records without its header, as an old build would have written them: after a
        // headed segment that is damage, not a segment from before the upgrade.
        let newest = headedBytes.last!
        let records = SegmentFile.records(newest)
        try LegacyLog.write(Array(newest[WALSegment.recordsStart..<records.last!.end]), to: headed.last!)
        if let refusal = expectRefusal() {
            #expect(refusal.file == headed.last! && refusal.offset == 0, "\(refusal)")
            #expect(refusal.reason.hasPrefix("no valid segment header"), "\(refusal.reason)")
        }
    }

    @Test("a headed segment with both header slots damaged is refused, never read as one written before headers")
    mutating func damagedHeaderIsNotLegacy() throws {
        defer { directory.remove() }
        let ledger = try Ledger.open(directory: directory.data, configuration: Self.configuration())
        earnInBatches(50, on: ledger)
        ledger.close(snapshot: false)
        let path = try SegmentFile.paths(in: shardDirectory)[0]
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        for slot in WALSegment.slotOffsets { bytes[slot + 16] ^= 0x01 }  // each slot's first sequence: checksum fails
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        for marker in [true, false] {
            if !marker {
                let meta = directory.data + "/" + DataDirectory.metaName
                let text = try String(contentsOfFile: meta, encoding: .utf8)
                try text.replacingOccurrences(of: " segmentHeaders=1", with: "").write(
                    toFile: meta, atomically: true, encoding: .utf8)
            }
            if let refusal = expectRefusal() {
                #expect(refusal.file == path && refusal.offset == 0, "marker \(marker): \(refusal)")
                #expect(refusal.reason.hasPrefix("no valid segment header"), "marker \(marker): \(refusal.reason)")
            }
        }
    }
}

/// Rewrites a data directory as a build before segment headers left it: every segment's records from offset 0 of
/// a 64 MiB file (the rest sparse zeros), no header, and `ledger.meta` without `segmentHeaders=1`.
enum LegacyLog {
    /// Converts every shard's segments; returns each one's path and records, oldest first.
    static func convert(_ root: String) throws -> [(path: String, records: [UInt8])] {
        var converted: [(path: String, records: [UInt8])] = []
        for shard in 0..<(try Ledger.recordedShardCount(directory: root)) {
            for path in try SegmentFile.paths(in: DataDirectory.shardDirectory(root, shard: shard)) {
                let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
                let end = SegmentFile.records(bytes).last?.end ?? WALSegment.recordsStart
                let records = Array(bytes[WALSegment.recordsStart..<end])
                try write(records, to: path)
                converted.append((path, records))
            }
        }
        let meta = root + "/" + DataDirectory.metaName
        let text = try String(contentsOfFile: meta, encoding: .utf8)
        precondition(text.contains(" segmentHeaders=1"), "a headed directory to convert")
        try text.replacingOccurrences(of: " segmentHeaders=1", with: "").write(
            toFile: meta, atomically: true, encoding: .utf8)
        return converted
    }

    /// A headerless segment holding `records`, at the size every build before segment headers allocated.
    static func write(_ records: [UInt8], to path: String) throws {
        try Data(records).write(to: URL(fileURLWithPath: path))
        guard truncate(path, off_t(WALReader.legacySegmentBytes)) == 0 else {
            throw LedgerError.io(operation: "truncate", path: path, errno: errno)
        }
    }
}
