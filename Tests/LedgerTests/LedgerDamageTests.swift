import Foundation
import LoyaltyLedger
import Testing

@testable import Ledger

/// Torn writes and bit rot in the log and in snapshots: cut off when it is the unacknowledged tail, refuse
/// (naming file and offset) when it is anything earlier.
@Suite struct LedgerDamageTests {
    let directory = TemporaryDirectory()
    var requests = RequestFactory()

    /// 20 single-record batches, then one batch of 8 records (the shard thread is held in `deliver` while
    /// they queue up). Stops without a snapshot, like a crash. Returns the segment's path.
    mutating func writeLog(configuration: LedgerConfiguration) throws -> String {
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        for index in 0..<20 { _ = ledger.perform(requests.make(card(index % 3), earn(1))) }
        let blocker = RecordingSink(blocksDelivery: true)
        #expect(ledger.submit(requests.make(card(0), .balance), to: blocker))
        blocker.waitFor(count: 1)
        let sink = RecordingSink()
        for index in 0..<8 { #expect(ledger.submit(requests.make(card(index % 3), earn(1)), to: sink)) }
        blocker.release()
        sink.waitFor(count: 8)
        ledger.close(snapshot: false)
        let segments = try SegmentFile.paths(in: directory.data + "/shard-000")
        #expect(segments.count == 1)
        return segments[0]
    }

    /// The segment as a crash during the last batch's commit leaves it: the bytes of that batch written up to
    /// `cut` (the rest still zero), and the header's mark at the batch before (it is written after a sync).
    func tornInLastBatch(_ original: [UInt8], cut: Int) -> [UInt8] {
        let all = SegmentFile.records(original)
        let lastBatch = all.filter { $0.batchFirstSequence == all.last!.batchFirstSequence }
        var bytes = original
        for index in cut..<lastBatch.last!.end { bytes[index] = 0 }
        SegmentFile.setAcknowledged(&bytes, sequence: lastBatch[0].sequence - 1, end: lastBatch[0].offset)
        return bytes
    }

    @Test("the last batch cut at every byte offset recovers exactly the whole records before the cut")
    mutating func tornTailAtEveryOffset() throws {
        defer { directory.remove() }
        let configuration = testConfiguration()
        let segment = try writeLog(configuration: configuration)
        let original = [UInt8](FileManager.default.contents(atPath: segment)!)
        let all = SegmentFile.records(original)
        #expect(all.count == 29)
        let lastBatch = all.filter { $0.batchFirstSequence == all.last!.batchFirstSequence }
        #expect(lastBatch.count == 8)
        for cut in lastBatch[0].offset...lastBatch.last!.end {
            try Data(tornInLastBatch(original, cut: cut)).write(to: URL(fileURLWithPath: segment))
            let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
            // A record is whole when everything of it was written: it ends before the cut, or only zeros (its
            // padding) were left unwritten.
            let whole = all.prefix {
                $0.end <= cut || ($0.offset < cut && original[cut..<$0.end].allSatisfy { $0 == 0 })
            }
            #expect(totals.lastSequences == [UInt64(whole.count)], "cut at \(cut)")
            #expect(totals.balance.points == Int64(whole.count - 1), "cut at \(cut)")
            // A cut that leaves only zero bytes after the last whole record is a clean end, not a torn tail: nothing
            // of the next record was written (its checksum's first byte is zero once in 256 records).
            let lastWholeEnd = whole.last!.end
            let cleanEnd = lastWholeEnd >= cut || original[lastWholeEnd..<cut].allSatisfy { $0 == 0 }
            #expect(totals.tornTails.isEmpty == cleanEnd, "cut at \(cut)")
        }
    }

    @Test("opening a torn log zeroes the torn tail with a log line, and the ledger appends after the cut")
    mutating func tornTailIsRepairedOnOpen() throws {
        defer { directory.remove() }
        let log = LogCollector()
        let configuration = testConfiguration(log: log)
        let segment = try writeLog(configuration: configuration)
        let original = [UInt8](FileManager.default.contents(atPath: segment)!)
        let all = SegmentFile.records(original)
        try Data(tornInLastBatch(original, cut: all[24].offset + 13)).write(to: URL(fileURLWithPath: segment))
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(log.all.contains { $0.contains("torn tail") && $0.contains("offset \(all[24].offset)") })
        #expect(ledger.recoveryReports[0].lastSequence == 24)
        _ = ledger.perform(requests.make(card(7), earn(5)))
        ledger.close(snapshot: false)
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
        #expect(totals.lastSequences == [25] && totals.tornTails.isEmpty && totals.balance.points == 23 + 5)
        #expect(FileManager.default.contents(atPath: segment)!.count == configuration.segmentBytes, "size kept")
    }

    @Test("a bit flipped in an earlier batch refuses to start, naming the file and the record's offset")
    mutating func bitFlipMidLogRefuses() throws {
        defer { directory.remove() }
        let configuration = testConfiguration()
        let segment = try writeLog(configuration: configuration)
        var bytes = [UInt8](FileManager.default.contents(atPath: segment)!)
        let target = SegmentFile.records(bytes)[10]
        bytes[target.offset + 60] ^= 0x04
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        do {
            _ = try Ledger.open(directory: directory.data, configuration: configuration)
            Issue.record("opened a log with a damaged record before the tail")
        } catch {
            guard case .damagedLog(let file, let offset, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(file == segment && offset == Int64(target.offset))
            #expect(error.description.contains(segment) && error.description.contains("offset \(target.offset)"))
        }
        #expect(throws: LedgerError.self) {
            try Ledger.inspect(directory: directory.data, configuration: configuration)
        }
        #expect([UInt8](FileManager.default.contents(atPath: segment)!) == bytes, "refusal must not modify the log")
    }

    @Test("a bit flipped inside an unacknowledged last batch is a torn tail: cut off there with a log line")
    mutating func bitFlipInTailTruncates() throws {
        defer { directory.remove() }
        let log = LogCollector()
        let configuration = testConfiguration(log: log)
        let segment = try writeLog(configuration: configuration)
        let original = [UInt8](FileManager.default.contents(atPath: segment)!)
        let all = SegmentFile.records(original)
        var bytes = tornInLastBatch(original, cut: all.last!.end)
        let target = all[25]
        bytes[target.offset + 45] ^= 0x80
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(ledger.recoveryReports[0].lastSequence == 25)
        #expect(log.all.contains { $0.contains("torn tail") && $0.contains("offset \(target.offset)") })
        ledger.close()
    }

    @Test("a bit flipped inside an acknowledged last batch refuses, naming the record and the acknowledged mark")
    mutating func bitFlipInAcknowledgedTailRefuses() throws {
        defer { directory.remove() }
        let configuration = testConfiguration()
        let segment = try writeLog(configuration: configuration)
        var bytes = [UInt8](FileManager.default.contents(atPath: segment)!)
        let all = SegmentFile.records(bytes)
        let target = all[25]
        bytes[target.offset + 45] ^= 0x80
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        let expected = LedgerError.damagedLog(
            file: segment, offset: Int64(target.offset),
            reason: "the record of sequence 26 fails its checksum or framing, but its header says sequences "
                + "through 29 were acknowledged (ending at offset \(all.last!.end))")
        #expect(throws: expected) { try Ledger.open(directory: directory.data, configuration: configuration) }
        #expect(throws: expected) { try Ledger.inspect(directory: directory.data, configuration: configuration) }
    }

    @Test("a damaged length field in an earlier batch also refuses (the scan finds later intact batches)")
    mutating func damagedLengthRefuses() throws {
        defer { directory.remove() }
        let configuration = testConfiguration()
        let segment = try writeLog(configuration: configuration)
        var bytes = [UInt8](FileManager.default.contents(atPath: segment)!)
        let target = SegmentFile.records(bytes)[3]
        bytes[target.offset + 5] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        do {
            _ = try Ledger.inspect(directory: directory.data, configuration: configuration)
            Issue.record("inspected a log with a damaged record before the tail")
        } catch {
            guard case .damagedLog(let file, let offset, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(file == segment && offset == Int64(target.offset))
        }
    }

    @Test("a missing segment in the middle of the log refuses to start, naming the segment after the gap")
    mutating func missingSegmentRefuses() throws {
        defer { directory.remove() }
        var configuration = testConfiguration()
        configuration.batchBytesMax = 4096
        configuration.segmentBytes = 8192
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        for index in 0..<200 { _ = ledger.perform(requests.make(card(index % 5), earn(1))) }
        ledger.close(snapshot: false)
        let shardDirectory = directory.data + "/shard-000"
        let segments = try FileManager.default.contentsOfDirectory(atPath: shardDirectory)
            .filter { $0.hasPrefix("wal-") && $0.hasSuffix(".log") }.sorted()
        #expect(segments.count >= 3)
        try FileManager.default.removeItem(atPath: shardDirectory + "/" + segments[1])
        do {
            _ = try Ledger.open(directory: directory.data, configuration: configuration)
            Issue.record("opened a log with a missing segment")
        } catch {
            guard case .damagedLog(let file, let offset, let reason) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(file == shardDirectory + "/" + segments[2] && offset == 0 && reason.contains("are missing"))
        }
    }

    @Test("a snapshot with a flipped bit refuses to start with damagedSnapshot")
    mutating func damagedSnapshotRefuses() throws {
        defer { directory.remove() }
        let configuration = testConfiguration()
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        for index in 0..<10 { _ = ledger.perform(requests.make(card(index), earn(3))) }
        ledger.close()
        let shardDirectory = directory.data + "/shard-000"
        let name = try FileManager.default.contentsOfDirectory(atPath: shardDirectory).first {
            $0.hasPrefix("snapshot-")
        }!
        let path = shardDirectory + "/" + name
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[bytes.count / 2] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: LedgerError.damagedSnapshot(file: path, reason: "checksum mismatch")) {
            try Ledger.open(directory: directory.data, configuration: configuration)
        }
    }
}

/// Damage that loses acknowledged records — a segment cut short, acknowledged records zeroed, the newest segment
/// or every segment deleted, a log that ends before the snapshot — refuses the open and fails `ledger verify`
/// with the same reason, naming the file, the offset and the sequences; the operator's override starts with the
/// sound part and sets the rest aside, loudly, and the next open is clean.
@Suite struct LedgerLostRecordTests {
    let directory = TemporaryDirectory()
    var requests = RequestFactory()

    var shardDirectory: String { directory.data + "/shard-000" }

    /// `count` earns of 1 point, one per batch (each acknowledged), then a stop as a crash would leave it.
    mutating func writeLog(_ count: Int, configuration: LedgerConfiguration, snapshot: Bool = false) throws {
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        for index in 0..<count { #expect(ledger.perform(requests.make(card(index % 5), earn(1))).status == .approved) }
        ledger.close(snapshot: snapshot)
    }

    /// Open and verify refuse with the same error; returns it.
    func expectRefusal(_ configuration: LedgerConfiguration) -> LedgerError? {
        let verified = LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider())
        #expect(!verified.isSound)
        do {
            let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
            ledger.close()
            Issue.record("opened a log that lost acknowledged records")
            return nil
        } catch {
            #expect(verified.error == error.description, "verify fails the same way")
            return error
        }
    }

    /// The override starts, says so as a failure, keeps `kept` points, appends; then a plain open is clean.
    mutating func expectOverrideKeeps(_ kept: Int64, configuration: LedgerConfiguration) throws {
        let failures = LogCollector()
        var overriding = configuration
        overriding.acceptsLogDamage = true
        overriding.logFailure = failures.closure
        let ledger = try Ledger.open(directory: directory.data, configuration: overriding)
        #expect(failures.all.count == 1 && failures.all[0].contains("STARTING WITH A DAMAGED LOG"), "\(failures.all)")
        #expect(ledger.perform(requests.make(card(0), earn(1))).status == .approved)
        ledger.close(snapshot: false)
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
        #expect(totals.balance.points == kept + 1 && totals.tornTails.isEmpty)
        #expect(LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider()).isSound)
    }

    @Test("a segment cut short 100 records before its end refuses (not a torn tail), naming file, offset, sequences")
    mutating func segmentCutShort() throws {
        defer { directory.remove() }
        let configuration = testConfiguration()
        try writeLog(300, configuration: configuration)
        let path = try SegmentFile.paths(in: shardDirectory)[0]
        let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        let all = SegmentFile.records(bytes)
        let cut = all[all.count - 100].offset + 13
        try Data(bytes[0..<cut]).write(to: URL(fileURLWithPath: path))
        let error = expectRefusal(configuration)
        #expect(
            error
                == .damagedLog(
                    file: path, offset: Int64(all[199].end),
                    reason: "the file is \(cut) bytes but was allocated \(configuration.segmentBytes): cut short; its "
                        + "records end at sequence 200 (offset \(all[199].end)), but its header says sequences "
                        + "through 300 were acknowledged (ending at offset \(all[299].end))"))
        try expectOverrideKeeps(200, configuration: configuration)
        #expect(FileManager.default.fileExists(atPath: path + ".damaged"), "the cut segment is kept aside")
    }

    @Test("acknowledged records zeroed at the end of a segment that keeps its size refuse, naming the sequences")
    mutating func acknowledgedRecordsZeroed() throws {
        defer { directory.remove() }
        let configuration = testConfiguration()
        try writeLog(120, configuration: configuration)
        let path = try SegmentFile.paths(in: shardDirectory)[0]
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        let all = SegmentFile.records(bytes)
        for index in all[70].offset..<all[119].end { bytes[index] = 0 }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        guard case .damagedLog(let file, let offset, let reason) = expectRefusal(configuration) else { return }
        #expect(file == path && offset == Int64(all[70].offset))
        #expect(reason.contains("acknowledged records are missing") && reason.contains("end at sequence 70"))
        #expect(reason.contains("through 120 were acknowledged"))
        try expectOverrideKeeps(70, configuration: configuration)
    }

    @Test("the newest segment deleted refuses, naming the segment that says the log continues and the sequences")
    mutating func newestSegmentDeleted() throws {
        defer { directory.remove() }
        var configuration = testConfiguration()
        configuration.batchBytesMax = 4096
        configuration.segmentBytes = 8192
        try writeLog(200, configuration: configuration)
        let paths = try SegmentFile.paths(in: shardDirectory)
        #expect(paths.count >= 4)
        let previous = SegmentFile.records([UInt8](FileManager.default.contents(atPath: paths[paths.count - 2])!))
        try FileManager.default.removeItem(atPath: paths.last!)
        guard case .damagedLog(let file, let offset, let reason) = expectRefusal(configuration) else { return }
        let missing = URL(fileURLWithPath: paths.last!).lastPathComponent
        #expect(file == paths[paths.count - 2] && offset == Int64(previous.last!.end))
        #expect(reason.contains("continues in \(missing)") && reason.contains("which is missing"))
        #expect(reason.contains("ends at sequence \(previous.last!.sequence)"))
        try expectOverrideKeeps(Int64(previous.last!.sequence), configuration: configuration)
    }

    @Test("every segment deleted next to a snapshot refuses: no log segment")
    mutating func everySegmentDeleted() throws {
        defer { directory.remove() }
        let configuration = testConfiguration()
        try writeLog(40, configuration: configuration, snapshot: true)
        for path in try SegmentFile.paths(in: shardDirectory) { try FileManager.default.removeItem(atPath: path) }
        guard case .damagedLog(let file, _, let reason) = expectRefusal(configuration) else { return }
        #expect(file == shardDirectory && reason.contains("no log segment") && reason.contains("sequence 40"))
        try expectOverrideKeeps(40, configuration: configuration)
    }

    @Test("a log that ends before the snapshot refuses, naming both sequences; the override starts from the snapshot")
    mutating func logEndsBeforeSnapshot() throws {
        defer { directory.remove() }
        let configuration = testConfiguration()
        try writeLog(100, configuration: configuration, snapshot: true)
        let path = try SegmentFile.paths(in: shardDirectory)[0]
        try SegmentFile.unwriteLastRecords(path: path, count: 10)
        guard case .damagedLog(let file, _, let reason) = expectRefusal(configuration) else { return }
        #expect(file == path)
        #expect(reason == "the log ends at sequence 90 but the snapshot covers sequences through 100")
        try expectOverrideKeeps(100, configuration: configuration)
    }
}
