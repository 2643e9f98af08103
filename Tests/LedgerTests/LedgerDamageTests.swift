import Foundation
import Testing

@testable import Ledger

/// Torn writes and bit rot in the log and in snapshots: cut off when it is the unacknowledged tail, refuse
/// (naming file and offset) when it is anything earlier.
@Suite struct LedgerDamageTests {
    let directory = TemporaryDirectory()
    var requests = RequestFactory()

    struct RecordLocation {
        var offset: Int
        var end: Int
        var batchFirstSequence: UInt64
    }

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
        let shardDirectory = directory.data + "/shard-000"
        let segments = try FileManager.default.contentsOfDirectory(atPath: shardDirectory).filter {
            ($0.hasPrefix("wal-") && $0.hasSuffix(".log"))
        }
        #expect(segments.count == 1)
        return shardDirectory + "/" + segments[0]
    }

    func records(_ bytes: [UInt8]) -> [RecordLocation] {
        let reader = WALReader(directory: "", readOnly: true, segmentBytes: bytes.count)
        var found: [RecordLocation] = []
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while let header = reader.validRecord(buffer, at: offset) {
                let end = offset + WALRecord.alignedLength(bodyLength: header.bodyLength)
                found.append(RecordLocation(offset: offset, end: end, batchFirstSequence: header.batchFirstSequence))
                offset = end
            }
        }
        return found
    }

    @Test("the last batch cut at every byte offset recovers exactly the whole records before the cut")
    mutating func tornTailAtEveryOffset() throws {
        defer { directory.remove() }
        let configuration = testConfiguration()
        let segment = try writeLog(configuration: configuration)
        let original = [UInt8](FileManager.default.contents(atPath: segment)!)
        let all = records(original)
        #expect(all.count == 29)
        let lastBatch = all.filter { $0.batchFirstSequence == all.last!.batchFirstSequence }
        #expect(lastBatch.count == 8)
        for cut in lastBatch[0].offset...lastBatch.last!.end {
            try Data(original[0..<cut]).write(to: URL(fileURLWithPath: segment))
            let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
            let whole = all.filter { $0.end <= cut }.count
            #expect(totals.lastSequences == [UInt64(whole)], "cut at \(cut)")
            #expect(totals.balance.points == Int64(whole - 1), "cut at \(cut)")
            // A cut that leaves only zero bytes after the last whole record is a clean end, not a torn tail: nothing
            // of the next record was written (its checksum's first byte is zero once in 256 records).
            let lastWholeEnd = all.last { $0.end <= cut }?.end ?? 0
            let cleanEnd = original[lastWholeEnd..<cut].allSatisfy { $0 == 0 }
            #expect(totals.tornTails.isEmpty == cleanEnd, "cut at \(cut)")
        }
    }

    @Test("opening a torn log truncates it with a log line, and the ledger appends after the cut")
    mutating func tornTailIsTruncatedOnOpen() throws {
        defer { directory.remove() }
        let log = LogCollector()
        let configuration = testConfiguration(log: log)
        let segment = try writeLog(configuration: configuration)
        let original = [UInt8](FileManager.default.contents(atPath: segment)!)
        let all = records(original)
        let cut = all[24].offset + 13
        try Data(original[0..<cut]).write(to: URL(fileURLWithPath: segment))
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(log.all.contains { $0.contains("torn tail") && $0.contains("offset \(all[24].offset)") })
        #expect(ledger.recoveryReports[0].lastSequence == 24)
        _ = ledger.perform(requests.make(card(7), earn(5)))
        ledger.close(snapshot: false)
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration)
        #expect(totals.lastSequences == [25] && totals.tornTails.isEmpty && totals.balance.points == 23 + 5)
    }

    @Test("a bit flipped in an earlier batch refuses to start, naming the file and the record's offset")
    mutating func bitFlipMidLogRefuses() throws {
        defer { directory.remove() }
        let configuration = testConfiguration()
        let segment = try writeLog(configuration: configuration)
        var bytes = [UInt8](FileManager.default.contents(atPath: segment)!)
        let target = records(bytes)[10]
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

    @Test("a bit flipped inside the last batch is a torn tail: truncated there with a log line")
    mutating func bitFlipInTailTruncates() throws {
        defer { directory.remove() }
        let log = LogCollector()
        let configuration = testConfiguration(log: log)
        let segment = try writeLog(configuration: configuration)
        var bytes = [UInt8](FileManager.default.contents(atPath: segment)!)
        let all = records(bytes)
        let target = all[25]
        bytes[target.offset + 45] ^= 0x80
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(ledger.recoveryReports[0].lastSequence == 25)
        #expect(log.all.contains { $0.contains("torn tail") && $0.contains("offset \(target.offset)") })
        ledger.close()
    }

    @Test("a damaged length field in an earlier batch also refuses (the scan finds later intact batches)")
    mutating func damagedLengthRefuses() throws {
        defer { directory.remove() }
        let configuration = testConfiguration()
        let segment = try writeLog(configuration: configuration)
        var bytes = [UInt8](FileManager.default.contents(atPath: segment)!)
        let target = records(bytes)[3]
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
            #expect(file == shardDirectory + "/" + segments[2] && offset == 0 && reason.contains("records missing"))
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

/// What happens when the log cannot be written.
@Suite struct LedgerWriteFailureTests {
    let directory = TemporaryDirectory()

    @Test("a log write failure answers systemError, stops the shard (said once, as a failure), and loses nothing")
    func writeFailureStopsShard() throws {
        defer { directory.remove() }
        let log = LogCollector()
        let failures = LogCollector()
        var configuration = testConfiguration(log: log)
        configuration.logFailure = failures.closure
        configuration.batchBytesMax = 4096
        configuration.segmentBytes = 8192
        configuration.prepareSpareSegments = false
        var requests = RequestFactory()
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        // 8192-byte segments hold 51 earn records; the next segment's name is taken, so rotation fails.
        let blockedName = directory.data + "/shard-000/" + WALWriter.segmentName(firstSequence: 52)
        try FileManager.default.createSymbolicLink(atPath: blockedName, withDestinationPath: "/dev/full")
        for index in 0..<51 { #expect(ledger.perform(requests.make(card(index % 4), earn(1))).status == .approved) }
        #expect(ledger.perform(requests.make(card(0), earn(1))).status == .systemError)
        #expect(ledger.perform(requests.make(card(0), .balance)).status == .systemError)
        for index in 0..<3 { #expect(ledger.perform(requests.make(card(index), earn(1))).status == .systemError) }
        // Once, as a failure, when the shard stops: not again for every request it refuses afterwards.
        #expect(failures.all.count == 1 && failures.all[0].contains("log commit failed, shard stopped"))
        #expect(!log.all.contains { $0.contains("log commit failed") }, "\(log.all)")
        ledger.close()
        try FileManager.default.removeItem(atPath: blockedName)
        let reopened = try Ledger.open(directory: directory.data, configuration: configuration)
        let total = (0..<4).map { reopened.perform(requests.make(card($0), .balance)).balance.points }.reduce(0, +)
        #expect(total == 51)
        reopened.close()
    }
}
