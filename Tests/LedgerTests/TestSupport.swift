import Foundation
import LoyaltyLedger
import Synchronization
import Testing

@testable import Ledger
import TestSupport

/// A fresh directory under /tmp for one test, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ name: String = #function) {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "ledger-test-\(safe)-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.removeItem(atPath: path)
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var data: String { path + "/data" }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Leaves the last `count` records of a shard's log under `data` unwritten, as if the process died first.
    func dropLastRecords(shard: Int, count: Int) throws {
        let path = try SegmentFile.paths(in: data + "/shard-00\(shard)").last!
        try SegmentFile.unwriteLastRecords(path: path, count: count)
    }
}

/// Collects log lines for assertions.
final class LogCollector: Sendable {
    let lines = Mutex<[String]>([])

    var closure: @Sendable (String) -> Void { { [self] line in lines.withLock { $0.append(line) } } }
    var all: [String] { lines.withLock { $0 } }
}

/// A small configuration: tables sized for tests, one shard unless asked.
func testConfiguration(shards: Int = 1, clock: VirtualClock? = nil, log: LogCollector? = nil) -> LedgerConfiguration {
    var configuration = LedgerConfiguration()
    configuration.shardCount = shards
    configuration.membersPerShardMax = 4096
    configuration.cardsPerShardMax = 4096
    configuration.holdsPerShardMax = 256
    configuration.idempotencyKeysPerShardMax = 4096
    configuration.batchBytesMax = 16 << 10
    configuration.segmentBytes = 256 << 10
    configuration.snapshotIntervalRecords = 0
    configuration.decider = LoyaltyDecider()
    if let clock { configuration.clockMs = clock.closure }
    if let log {
        configuration.log = log.closure
        configuration.logFailure = log.closure
    } else {
        configuration.log = { _ in }
        configuration.logFailure = { _ in }
    }
    return configuration
}

/// Card numbers that differ per `number`, 16 digits.
func card(_ number: Int) -> CardNumber { CardNumber(String(5_000_000_000_000_000 + number))! }

/// Builds requests with distinct keys; the digest follows the operation's content unless given.
struct RequestFactory {
    private var nextKey: UInt64

    init(startingAt first: UInt64 = 1) { nextKey = first }

    mutating func make(_ card: CardNumber, _ operation: LedgerOperation, digest: UInt64 = 0) -> LedgerRequest {
        let key = IdempotencyKey(word0: nextKey, word1: 0xABCD)
        nextKey += 1
        return LedgerRequest(
            tag: key.word0, key: key, digest: ContentDigest(high: digest, low: key.word0), card: card,
            operation: operation)
    }
}

func earn(_ points: Int64, credit: Int64 = 0, purchase: Int64 = 1000, autoEnrol: Bool = true) -> LedgerOperation {
    .earn(amounts: AssetAmounts(points: points, credit: credit), purchaseAmountMinor: purchase, autoEnrol: autoEnrol)
}

/// Finds a card number that lands on `shard` (card numbers are placed by keyed hash).
func card(onShard shard: Int, of ledger: Ledger, startingAt start: Int) -> (CardNumber, Int) {
    var number = start
    while ledger.shardIndex(of: card(number)) != shard { number += 1 }
    return (card(number), number)
}

/// Every regular file under `directory`, recursively.
func filesUnder(_ directory: String) -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
    var files: [String] = []
    while let relative = enumerator.nextObject() as? String {
        var isDirectory: ObjCBool = false
        let path = directory + "/" + relative
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            files.append(path)
        }
    }
    return files.sorted()
}

/// A sink that records everything delivered; optionally blocks the shard thread until released.
final class RecordingSink: LedgerReplySink, @unchecked Sendable {
    private let lock = NSLock()
    private var received: [LedgerReply] = []
    private let gate = DispatchSemaphore(value: 0)
    private let arrived = DispatchSemaphore(value: 0)
    let blocksDelivery: Bool

    init(blocksDelivery: Bool = false) { self.blocksDelivery = blocksDelivery }

    func deliver(_ replies: [LedgerReply]) {
        lock.lock()
        received.append(contentsOf: replies)
        lock.unlock()
        for _ in replies { arrived.signal() }
        if blocksDelivery { gate.wait() }
    }

    func release() { gate.signal() }

    func waitFor(count: Int) {
        for _ in 0..<count { arrived.wait() }
    }

    var replies: [LedgerReply] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }
}

/// One log segment file as the tests see it: where its records are, what its header says, and the surgery that
/// reproduces what a crash or an operator's mistake leaves on disk.
enum SegmentFile {
    struct Record {
        var offset: Int
        var end: Int
        var sequence: UInt64
        var batchFirstSequence: UInt64
    }

    /// The segment files of a shard directory, oldest first.
    static func paths(in shardDirectory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: shardDirectory)
            .filter { $0.hasPrefix("wal-") && $0.hasSuffix(".log") }.sorted().map { shardDirectory + "/" + $0 }
    }

    /// The valid records from the start of the record area, in order.
    static func records(_ bytes: [UInt8]) -> [Record] {
        let reader = WALReader(directory: "", readOnly: true)
        var found: [Record] = []
        bytes.withUnsafeBytes { buffer in
            var offset = WALSegment.recordsStart
            while let header = reader.validRecord(buffer, at: offset) {
                let end = offset + WALRecord.alignedLength(bodyLength: header.bodyLength)
                found.append(
                    Record(
                        offset: offset, end: end, sequence: header.sequence,
                        batchFirstSequence: header.batchFirstSequence))
                offset = end
            }
        }
        return found
    }

    static func header(_ bytes: [UInt8]) -> WALSegment.Header? {
        bytes.withUnsafeBytes { WALSegment.read($0) }
    }

    /// Rewrites the header's acknowledged mark, as a crash before that mark was written leaves it.
    static func setAcknowledged(_ bytes: inout [UInt8], sequence: UInt64, end: Int) {
        var header = self.header(bytes)!
        header.acknowledgedSequence = sequence
        header.acknowledgedEnd = Int64(end)
        header.generation += 1
        bytes.withUnsafeMutableBytes { buffer in
            for slot in WALSegment.slotOffsets { WALSegment.encode(header, at: buffer.baseAddress! + slot) }
        }
    }

    /// What a crash leaves when the last `count` records were never written: zeros where they were, and a mark
    /// that never named them. The file keeps its allocated size, as it does on disk.
    static func unwriteLastRecords(path: String, count: Int) throws {
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        let all = records(bytes)
        precondition(all.count >= count, "fewer records than asked to unwrite")
        let kept = all.dropLast(count)
        let start = kept.last?.end ?? WALSegment.recordsStart
        for index in start..<(all.last?.end ?? start) { bytes[index] = 0 }
        setAcknowledged(&bytes, sequence: kept.last?.sequence ?? (header(bytes)!.firstSequence - 1), end: start)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
