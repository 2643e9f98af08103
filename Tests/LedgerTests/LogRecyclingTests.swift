import Foundation
import Glibc
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// Log segments a checkpoint no longer needs become the next segments (`SegmentReserve`, "recycled"): their
/// older records stay in the file past the writer's end mark, and recovery, `verify` and a crash mid-batch still
/// read exactly the new records.
@Suite struct LogRecyclingTests {
    let directory = TemporaryDirectory()
    var requests = RequestFactory()

    /// 256 KiB segments, a checkpoint every 300 records: a segment fills every ~1,500 earns and goes soon after.
    func configuration(recycles: Bool = true, log: LogCollector? = nil) -> LedgerConfiguration {
        var configuration = testConfiguration(log: log)
        configuration.snapshotIntervalRecords = 300
        configuration.recyclesLogSegments = recycles
        return configuration
    }

    var shardDirectory: String { DataDirectory.shardDirectory(directory.data, shard: 0) }

    /// The log's segments: (path, header, bytes).
    func segments() throws -> [(String, WALSegment.Header, [UInt8])] {
        try WALReader.segments(in: shardDirectory).map { segment in
            let bytes = [UInt8](FileManager.default.contents(atPath: segment.path) ?? Data())
            let header = try #require(bytes.withUnsafeBytes { WALSegment.read($0) }, "\(segment.path) has a header")
            return (segment.path, header, bytes)
        }
    }

    /// Whether a segment holds bytes past its acknowledged records and their end mark: an older segment's records.
    static func holdsOlderRecords(_ header: WALSegment.Header, _ bytes: [UInt8]) -> Bool {
        let end = Int(header.acknowledgedEnd)
        return bytes[end..<(end + WALWriter.endMarkBytes)].allSatisfy { $0 == 0 }
            && bytes[(end + WALWriter.endMarkBytes)...].contains { $0 != 0 }
    }

    mutating func earns(_ count: Int, on ledger: Ledger) {
        for index in 0..<count {
            #expect(ledger.perform(requests.make(card(100 + index % 40), earn(1))).status == .approved)
        }
    }

    @Test("covered segments become the next ones: older records past the end mark, a crash replays only the new")
    mutating func recycledSegmentsRecover() throws {
        defer { directory.remove() }
        let log = LogCollector()
        var ledger = try Ledger.open(directory: directory.data, configuration: configuration(log: log))
        earns(12_000, on: ledger)
        ledger.close(snapshot: false)
        let recycled = try segments().filter { Self.holdsOlderRecords($0.1, $0.2) }
        #expect(!recycled.isEmpty, "a segment in use was a recycled one")
        let waiting = SegmentReserve.recycledFiles(directory: shardDirectory)
        #expect(waiting.count <= SegmentReserve.recycledSlots)
        // Opened again without a snapshot at close: the replay ends at the end mark, with no torn tail to repair.
        ledger = try Ledger.open(directory: directory.data, configuration: configuration(log: log))
        let points = (100..<140).reduce(Int64(0)) {
            $0 + ledger.perform(requests.make(card($1), .balance)).balance.points
        }
        #expect(points == 12_000)
        #expect(!log.all.contains { $0.contains("torn") }, "\(log.all.filter { $0.contains("torn") })")
        earns(3_000, on: ledger)
        ledger.close(snapshot: false)
        #expect(LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider()).isSound)
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration())
        #expect(totals.balance.points == 15_000 && totals.tornTails.isEmpty)
    }

    @Test("a batch torn in a recycled segment is a torn tail; intact records after the end mark are not ignored")
    mutating func tornBatchInRecycledSegment() throws {
        defer { directory.remove() }
        var ledger = try Ledger.open(directory: directory.data, configuration: configuration())
        earns(12_000, on: ledger)
        ledger.close(snapshot: false)
        let (path, header, bytes) = try #require(try segments().last)
        #expect(Self.holdsOlderRecords(header, bytes))
        // Garbage where the next batch would start (a write torn before its first record was whole): beyond the
        // acknowledged mark, so a torn tail, repaired, and the balances stay.
        let end = Int(header.acknowledgedEnd)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64(end))
        try handle.write(contentsOf: [UInt8](repeating: 0x5A, count: 40))
        try handle.close()
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration())
        #expect(totals.balance.points == 12_000 && totals.tornTails.count == 1)
        ledger = try Ledger.open(directory: directory.data, configuration: configuration())
        earns(100, on: ledger)
        ledger.close()
        #expect(LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider()).isSound)
        let after = try Ledger.inspect(directory: directory.data, configuration: configuration())
        #expect(after.balance.points == 12_100)
    }

    @Test("a crash right after a recycled file became the next segment, before its first batch: an empty segment")
    mutating func crashBeforeFirstBatchInRecycledSegment() throws {
        defer { directory.remove() }
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration())
        earns(12_000, on: ledger)
        ledger.close(snapshot: false)
        // A recycled file waiting is published as the next segment the way the writer starts one (header, end
        // mark, rename), and then nothing: the process died before the first batch, with the old segment unsealed.
        let waiting = try #require(SegmentReserve.recycledFiles(directory: shardDirectory).first)
        let (_, last, _) = try #require(try segments().last)
        let descriptor = try FileIO.openFile(waiting, flags: O_RDWR)
        defer { FileIO.closeFile(descriptor) }
        let published = try WALWriter.publish(
            descriptor, temporaryPath: waiting, directory: shardDirectory,
            firstSequence: last.acknowledgedSequence + 1, segmentBytes: Int(last.segmentBytes))
        let bytes = [UInt8](FileManager.default.contents(atPath: published.path)!)
        #expect(bytes[(WALSegment.recordsStart + WALWriter.endMarkBytes)...].contains { $0 != 0 }, "older records")
        let totals = try Ledger.inspect(directory: directory.data, configuration: configuration())
        #expect(totals.balance.points == 12_000 && totals.tornTails.isEmpty)
        let reopened = try Ledger.open(directory: directory.data, configuration: configuration())
        earns(100, on: reopened)
        reopened.close()
        #expect(LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider()).isSound)
    }

    @Test("at recycledSlots, a checkpoint keeps the newest covered segments of a segment's size and deletes the rest")
    func recyclingSlotsAreBounded() throws {
        defer { directory.remove() }
        try FileIO.makeDirectory(shardDirectory)
        let segmentBytes = 64 << 10
        // Fourteen covered segments (one of another size), then the current one.
        for index in 0..<15 {
            let path = shardDirectory + "/" + WALSegment.fileName(firstSequence: UInt64(1 + index * 100))
            let size = index == 12 ? segmentBytes / 2 : segmentBytes
            #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: UInt8(index), count: size)))
        }
        let snapshot = shardDirectory + "/" + Snapshot.fileName(sequence: 1_450)
        #expect(FileManager.default.createFile(atPath: snapshot, contents: Data([1])))
        try Snapshot.dropCovered(
            directory: shardDirectory, sequence: 1_450, keeping: snapshot, currentSegment: "",
            recyclingBytes: segmentBytes)
        let kept = SegmentReserve.recycledFiles(directory: shardDirectory)
        #expect(kept.count == SegmentReserve.recycledSlots)
        // The newest of the right size first (13, 11, 10, …; 12 is half a segment): the likeliest still cached.
        let firstBytes = kept.map { FileManager.default.contents(atPath: $0)!.first! }
        #expect(firstBytes == [13, 11, 10, 9, 8, 7, 6, 5])
        #expect(try WALReader.segments(in: shardDirectory).map(\.firstSequence) == [1_401])
    }

    @Test("a segment a reader leases is deleted when covered, never recycled: the reader keeps its records")
    mutating func leasedSegmentIsDeleted() throws {
        defer { directory.remove() }
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration())
        earns(500, on: ledger)
        let (path, header, bytes) = try #require(try segments().last)
        let lease = try FileIO.openSegmentLeased(path)
        defer { FileIO.closeFile(lease) }
        let records = Array(bytes[WALSegment.recordsStart..<Int(header.acknowledgedEnd)])
        earns(12_000, on: ledger)
        // Segments are recycled by the reserve's thread once a checkpoint covers them: on a loaded machine (the
        // suites run in parallel) it can lag behind 12,000 earns, so more traffic gives it the chance (bounded).
        var rounds = 0
        while try !segments().contains(where: { Self.holdsOlderRecords($0.1, $0.2) }) && rounds < 8 {
            earns(4_000, on: ledger)
            rounds += 1
        }
        ledger.close(snapshot: false)
        #expect(!FileManager.default.fileExists(atPath: path), "a checkpoint covered the leased segment")
        #expect(try segments().contains { Self.holdsOlderRecords($0.1, $0.2) }, "other segments were recycled")
        var status = stat()
        #expect(fstat(lease, &status) == 0)
        #expect(status.st_nlink == 0, "the leased segment was deleted, not renamed for reuse")
        var after = [UInt8](repeating: 0, count: records.count)
        #expect(pread(lease, &after, after.count, off_t(WALSegment.recordsStart)) == after.count)
        let unchanged = after == records
        #expect(unchanged, "the leased descriptor still reads the records it held when leased")
    }

    @Test("a backup taken while checkpoints recycle segments copies the records it pinned and verifies")
    mutating func backupWhileRecycling() throws {
        defer { directory.remove() }
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration())
        earns(4_000, on: ledger)
        let pinned = try WALReader.segments(in: shardDirectory).map(\.path)
        #expect(!pinned.isEmpty)
        let copy = try LedgerCopy(root: directory.data)
        defer { copy.close() }
        // Every pinned segment is covered (deleted or recycled) before the copy is written.
        earns(12_000, on: ledger)
        ledger.close(snapshot: false)
        #expect(pinned.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
        #expect(!SegmentReserve.recycledFiles(directory: shardDirectory).isEmpty, "recycling went on meanwhile")
        let destination = directory.path + "/copy"
        let sequences = try copy.write(to: destination)
        let verified = LedgerVerifier.verify(directory: destination, decider: LoyaltyDecider())
        #expect(verified.isSound, "\(verified.error ?? "")")
        let totals = try Ledger.inspect(directory: destination, configuration: configuration())
        #expect(sequences[0] >= 4_000 && totals.balance.points == Int64(sequences[0]), "\(sequences) \(totals.balance)")
    }

    // Found by the SIGKILL suite under load: covered segments left the log newest first (the newest into the
    // recycling slots), so a kill part way left older covered segments behind a gap, and the next start refused
    // the directory ("sequences … are missing"). They now leave oldest first; the slots still get the newest.
    @Test("a crash part way through dropping covered segments leaves a contiguous log, never a gap")
    func crashWhileDroppingLeavesNoGap() throws {
        defer { directory.remove() }
        try FileIO.makeDirectory(shardDirectory)
        let segmentBytes = 64 << 10
        let firsts = (0..<15).map { UInt64(1 + $0 * 100) }
        for first in firsts {
            let path = shardDirectory + "/" + WALSegment.fileName(firstSequence: first)
            #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: 1, count: segmentBytes)))
        }
        let snapshot = shardDirectory + "/" + Snapshot.fileName(sequence: 1_450)
        #expect(FileManager.default.createFile(atPath: snapshot, contents: Data([1])))
        var dropped: [String] = []
        let mine = shardDirectory + "/"
        Snapshot.beforeDrop = { (path: String) throws(LedgerError) in
            guard path.hasPrefix(mine) else { return }
            dropped.append(path)
            if dropped.count == 5 { throw .io(operation: "a crash played", path: path, errno: EIO) }
        }
        defer { Snapshot.beforeDrop = nil }
        #expect(throws: LedgerError.self) {
            try Snapshot.dropCovered(
                directory: shardDirectory, sequence: 1_450, keeping: snapshot, currentSegment: "",
                recyclingBytes: segmentBytes)
        }
        let order = dropped.compactMap { UInt64($0.split(separator: "/").last!.dropFirst(4).dropLast(4)) }
        #expect(order == Array(firsts.prefix(5)), "oldest first: \(order)")
        let left = try WALReader.segments(in: shardDirectory).map(\.firstSequence)
        #expect(left == Array(firsts.dropFirst(4)), "a contiguous run of segments is left: \(left)")
    }

    @Test("recycling off: covered segments are deleted, and no segment holds older records")
    mutating func recyclingOff() throws {
        defer { directory.remove() }
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration(recycles: false))
        earns(12_000, on: ledger)
        ledger.close(snapshot: false)
        #expect(try segments().allSatisfy { !Self.holdsOlderRecords($0.1, $0.2) })
        #expect(SegmentReserve.recycledFiles(directory: shardDirectory).isEmpty)
    }
}
