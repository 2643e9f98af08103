import Foundation
import Testing

@testable import Ledger

/// Checkpoints written by a checkpoint thread while the shard keeps applying commands (Checkpoint.swift).
@Suite struct CheckpointTests {
    /// Periodic checkpoints every 3,000 records over a state of ~60 MB (the ring), and the log kept whole.
    static func configuration(copyBytesMax: Int = 256 << 20, log: LogCollector? = nil) -> LedgerConfiguration {
        var configuration = testConfiguration(log: log)
        configuration.membersPerShardMax = 1 << 14
        configuration.cardsPerShardMax = 1 << 14
        configuration.holdsPerShardMax = 1 << 12
        configuration.idempotencyKeysPerShardMax = 1 << 17
        configuration.segmentBytes = 1 << 20
        configuration.snapshotIntervalRecords = 3000
        configuration.checkpointCopyBytesMax = copyBytesMax
        configuration.keepsCoveredSegments = true
        configuration.skipSync = true
        // The sweep's cursor moves without a record when a step expires nothing, so a replay ends with another
        // cursor than the live shard (where the next step starts, nothing more): off, so states compare byte for byte.
        configuration.lotSweepIntervalMs = 0
        return configuration
    }

    /// Earns, redeems and holds on random cards from `threads` threads at once.
    static func drive(_ ledger: Ledger, threads: Int, perThread: Int, cards: Int) {
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var requests = RequestFactory(startingAt: UInt64(thread + 1) << 32)
            for index in 0..<perThread {
                let operation: LedgerOperation =
                    switch index % 4 {
                    case 0, 1: earn(Int64.random(in: 1...50), credit: Int64.random(in: 0...9))
                    case 2: .redeem(asset: .points, amount: Int64.random(in: 1...20), allowPartial: true)
                    default: .hold(asset: .credit, amount: 2, allowPartial: true, expiresAfterMs: 60_000)
                    }
                _ = ledger.perform(requests.make(card(Int.random(in: 0..<cards)), operation))
            }
        }
    }

    /// The state recovered from `directory` as it is (newest snapshot, then the log after it), and the state from
    /// replaying its whole log without the snapshot, each written out as a snapshot at the same sequence.
    static func recoverBothWays(
        _ directory: TemporaryDirectory, configuration: LedgerConfiguration
    ) throws -> (snapshotSequence: UInt64, fromSnapshot: [UInt8], fromLog: [UInt8]) {
        let shardDirectory = DataDirectory.shardDirectory(directory.data, shard: 0)
        let replayDirectory = directory.path + "/replay"
        try FileManager.default.createDirectory(atPath: replayDirectory, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: shardDirectory)
        where !name.hasPrefix("snapshot-") {
            try FileManager.default.copyItem(atPath: shardDirectory + "/" + name, toPath: replayDirectory + "/" + name)
        }
        var written: [[UInt8]] = []
        var snapshotSequence: UInt64 = 0
        for (index, source) in [shardDirectory, replayDirectory].enumerated() {
            let state = ShardState(shardIndex: 0, shardCount: 1, limits: configuration)
            let report = try ShardRecovery(directory: source, readOnly: true).recover(into: state)
            if index == 0 { snapshotSequence = report.snapshotSequence } else { #expect(report.snapshotSequence == 0) }
            let output = directory.path + "/out-\(index)"
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let path = try Snapshot.write(
                state, sequence: report.lastSequence, lastCRC: report.position.lastCRC, directory: output)
            written.append([UInt8](FileManager.default.contents(atPath: path) ?? Data()))
        }
        return (snapshotSequence, written[0], written[1])
    }

    @Test("a checkpoint taken under concurrent writes equals its sequence's state: recovering from it and replaying the whole log agree (byte for byte)")
    func consistentUnderConcurrentWrites() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = Self.configuration()
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        Self.drive(ledger, threads: 4, perThread: 5000, cards: 3000)
        let statistics = ledger.shardStatistics[0]
        ledger.close(snapshot: false)
        #expect(statistics.checkpointCount >= 2)
        #expect(statistics.checkpointAbandonedCount == 0)
        // The shard saved chunks: checkpoints really overlapped writes to the state they were copying.
        #expect(statistics.checkpointChunksSaved > 0)
        let result = try Self.recoverBothWays(directory, configuration: configuration)
        #expect(result.snapshotSequence > 0)
        #expect(result.fromSnapshot.count > Snapshot.headerBytes)
        // The sections `difference` names cover the file exactly (else it would name the wrong table).
        #expect(Self.sections(result.fromLog).last?.end == result.fromLog.count)
        #expect(Self.difference(result.fromSnapshot, result.fromLog) == nil, "the checkpoint is not its sequence's state")
        let verified = LedgerVerifier.verify(directory: directory.data, decider: configuration.decider!)
        #expect(verified.isSound, "\(verified.error ?? "")")
    }

    @Test("a paced checkpoint takes at most checkpointPacedSecondsMax: a bigger state is written faster than the configured pace")
    func paceBoundsTheDuration() {
        let mib: Int64 = 1 << 20
        #expect(Shard.checkpointPace(bytes: 380 << 20, bytesPerSecondMax: 32 * mib) == 32 * mib)
        #expect(Shard.checkpointPace(bytes: 0, bytesPerSecondMax: 32 * mib) == 32 * mib)
        // 4 GB at 32 MiB/s would take 128 s: written in 20 s instead.
        #expect(Shard.checkpointPace(bytes: 4096 << 20, bytesPerSecondMax: 32 * mib) == 4096 * mib / 20)
        #expect(Shard.checkpointPace(bytes: Int.max, bytesPerSecondMax: 32 * mib) == CopyPace.bytesPerSecondMax)
    }

    @Test("checkpoints written at checkpointBytesPerSecondMax wait for their pace, and still equal their sequences' states; unpaced ones never wait")
    func pacedCheckpoints() throws {
        // 4 MiB/s: below what any writer reaches here, loaded or not (at 256 MiB/s a CI machine under load wrote
        // slower than the pace, so it never waited), above the 20 s floor for a state of this size.
        for pace: Int64 in [0, 4 << 20] {
            let directory = TemporaryDirectory()
            defer { directory.remove() }
            var configuration = Self.configuration()
            configuration.checkpointBytesPerSecondMax = pace
            let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
            Self.drive(ledger, threads: 4, perThread: 2000, cards: 3000)
            let statistics = ledger.shardStatistics[0]
            ledger.close(snapshot: false)
            #expect(statistics.checkpointCount >= 1 && statistics.checkpointAbandonedCount == 0)
            // A checkpoint here is several MB: at 4 MiB/s its writer sleeps between pieces; unpaced it never does.
            #expect((statistics.checkpointPacedNanoseconds > 0) == (pace > 0), "pace \(pace)")
            let result = try Self.recoverBothWays(directory, configuration: configuration)
            #expect(result.snapshotSequence > 0)
            #expect(Self.difference(result.fromSnapshot, result.fromLog) == nil, "pace \(pace)")
        }
    }

    @Test("while a checkpoint is written, a batch is committed and answered in groups that save at most checkpointSavesPerCommitMax chunks (plus one command's), and the checkpoints still equal their sequences' states")
    func savedChunksPerCommitAreBounded() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var configuration = Self.configuration()
        configuration.checkpointSavesPerCommitMax = 4
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        Self.drive(ledger, threads: 4, perThread: 1000, cards: 3000)
        // Thousands in flight at once: batches of hundreds of scattered earns, many while a checkpoint runs.
        let sink = RecordingSink()
        let perThread = 5000
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            var requests = RequestFactory(startingAt: UInt64(thread + 100) << 32)
            for _ in 0..<perThread {
                let request = requests.make(card(Int.random(in: 0..<3000)), earn(Int64.random(in: 1...50)))
                while !ledger.submit(request, to: sink) { usleep(100) }
            }
        }
        sink.waitFor(count: 4 * perThread)
        let statistics = ledger.shardStatistics[0]
        ledger.close(snapshot: false)
        #expect(statistics.checkpointCount >= 2 && statistics.checkpointChunksSaved > 0)
        #expect(statistics.batchNanosecondsCheckpointing.snapshot().count > 0)
        // One earn saves at most its member, lot head and record, its ring entry and key buffer slots: ≤ 16 chunks.
        #expect(statistics.checkpointChunksSavedPerBatchMax <= 4 + 16, "\(statistics.checkpointChunksSavedPerBatchMax)")
        // Every start and every group that saved chunks is one observation of the stall histogram, and its worst
        // is the shard's longest stall: the bucket holding that one is the last with any.
        let stalls = statistics.checkpointStallNanoseconds.snapshot()
        #expect(stalls.count > UInt64(statistics.checkpointCount), "starts and saving groups: \(stalls.count)")
        let worst = statistics.checkpointStallNanosecondsMax
        let worstBucket = stalls.bounds.firstIndex { worst <= $0 } ?? stalls.bounds.count
        #expect(stalls.buckets[worstBucket] > 0 && stalls.buckets[(worstBucket + 1)...].allSatisfy { $0 == 0 }, "\(stalls.buckets)")
        let result = try Self.recoverBothWays(directory, configuration: configuration)
        #expect(Self.difference(result.fromSnapshot, result.fromLog) == nil)
    }

    @Test("a checkpoint whose saved chunks pass checkpointCopyBytesMax is abandoned, logged, and the ledger still recovers whole")
    func budgetExhaustedAbandons() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = LogCollector()
        let configuration = Self.configuration(copyBytesMax: 4096, log: log)
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        Self.drive(ledger, threads: 4, perThread: 4000, cards: 3000)
        let statistics = ledger.shardStatistics[0]
        ledger.close(snapshot: false)
        #expect(statistics.checkpointAbandonedCount >= 1)
        #expect(log.all.contains { $0.contains("abandoned") && $0.contains("checkpointCopyBytesMax") })
        // No leftover temporary file, and whatever snapshot remains agrees with the whole log.
        let shardDirectory = DataDirectory.shardDirectory(directory.data, shard: 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: shardDirectory).filter { $0.hasPrefix("snapshot-") && $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        let result = try Self.recoverBothWays(directory, configuration: configuration)
        #expect(Self.difference(result.fromSnapshot, result.fromLog) == nil)
    }

    /// Where two snapshot files first differ (nil: equal), said briefly rather than printing megabytes: the
    /// section and element, then the offset. Byte for byte, checksum included: the records have no padding left
    /// undefined (RecordLayoutTests; it once differed at byte 3 of an entry's receipt, set by replay from a stack
    /// slot).
    static func difference(_ first: [UInt8], _ second: [UInt8]) -> String? {
        guard first != second else { return nil }
        let layout = sections(first)
        let offset = first.indices.first { $0 >= second.count || first[$0] != second[$0] } ?? first.count
        guard first.count == second.count, !layout.isEmpty, layout.map(\.end) == sections(second).map(\.end) else {
            return "lengths \(first.count) and \(second.count), first difference at offset \(offset): "
                + place(offset, in: first)
        }
        return "first difference at offset \(offset): " + place(offset, in: first)
    }

    /// A section of a format-7 snapshot: its name, where its elements start, their stride and count.
    struct Section {
        var name: String
        var start: Int
        var stride: Int
        var count: Int
        var end: Int { start + stride * count }
    }

    /// The sections of a format-7 snapshot in file order (Checkpoint.init writes them so), from its header and
    /// section headers; empty when the header does not decode.
    static func sections(_ bytes: [UInt8]) -> [Section] {
        bytes.withUnsafeBytes { raw -> [Section] in
            guard let header = Snapshot.decodeHeader(raw.baseAddress!, count: raw.count) else { return [] }
            func count(at offset: Int) -> Int {
                offset + 8 <= raw.count ? Int(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))) : 0
            }
            let strides = Snapshot.strides.map(Int.init)
            var result = [Section(name: "header", start: 0, stride: 1, count: Snapshot.headerBytes)]
            func add(_ name: String, stride: Int, count: Int) {
                result.append(Section(name: name, start: result.last!.end, stride: stride, count: count))
            }
            add("members", stride: strides[0], count: header.memberCount)
            add("cards", stride: strides[1], count: header.cardCount)
            add("holds", stride: strides[2], count: header.holdCount)
            add("idempotency ring (storage order)", stride: strides[3], count: header.idempotencyCount)
            add("outbox", stride: strides[4], count: header.outboxCount)
            let gifts = count(at: result.last!.end)
            add("gift section header", stride: 1, count: Snapshot.settlementSectionHeaderBytes)
            add("gift accounts", stride: MemoryLayout<GiftAccount>.stride, count: gifts)
            let lotHeader = result.last!.end
            add("lot section header", stride: 1, count: Snapshot.lotSectionHeaderBytes)
            add("lot heads", stride: strides[5], count: count(at: lotHeader + 8))
            add("lot records", stride: strides[6], count: count(at: lotHeader))
            let settlements = count(at: result.last!.end)
            add("settlement section header", stride: 1, count: Snapshot.settlementSectionHeaderBytes)
            add("settlements", stride: strides[7], count: settlements)
            let spent = count(at: result.last!.end)
            add("spent-lot section header", stride: 1, count: Snapshot.settlementSectionHeaderBytes)
            add("spent lots (storage order)", stride: strides[8], count: spent)
            let engagements = count(at: result.last!.end)
            add("engagement section header", stride: 1, count: Snapshot.settlementSectionHeaderBytes)
            add("engagement counts", stride: MemoryLayout<EngagementRecord>.stride, count: engagements)
            add("notice section header", stride: 1, count: Snapshot.settlementSectionHeaderBytes)
            let keys = raw.count >= 4 + Snapshot.keyTrailerBytes ? count(at: raw.count - 4 - Snapshot.keyTrailerBytes + 16) : 0
            add("key records", stride: Snapshot.keyRecordBytes, count: keys)
            add("key trailer", stride: 1, count: Snapshot.keyTrailerBytes)
            add("checksum", stride: 1, count: 4)
            return result
        }
    }

    /// "section element N, byte B of its stride" for an offset of a snapshot.
    static func place(_ offset: Int, in bytes: [UInt8]) -> String {
        let all = sections(bytes)
        guard let section = all.first(where: { offset >= $0.start && offset < $0.end }) else {
            return "outside the sections (\(all.map { "\($0.name) \($0.start)..<\($0.end)" }.joined(separator: ", ")))"
        }
        let within = offset - section.start
        return "\(section.name) (\(section.start)..<\(section.end)), element \(within / section.stride) of "
            + "\(section.count), byte \(within % section.stride) of \(section.stride)"
    }

    @Test("comparing snapshots names the section and element of a difference, in a padding-free record's former padding byte too")
    func differenceNamesTheElement() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let state = ShardState(shardIndex: 0, shardCount: 1, limits: testConfiguration())
        for position in 0..<3 {
            var entry = IdempotencyEntry.zeroForTests
            entry.key = IdempotencyKey(word0: UInt64(position + 1))
            entry.createdAtMs = 1
            _ = state.idempotency.insert(entry, nowMs: 1, retentionMs: 1 << 40)
        }
        let path = try Snapshot.write(state, sequence: 3, lastCRC: 0, directory: directory.path)
        let original = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
        let ring = try #require(Self.sections(original).first { $0.name.hasPrefix("idempotency") })
        #expect(ring.count == 3 && Self.sections(original).last?.end == original.count)
        let receipt =
            MemoryLayout<IdempotencyEntry>.offset(of: \.outcome)! + MemoryLayout<StoredOutcome>.offset(of: \.receipt)!
        // Byte 3 of a receipt was padding (replay once left a stack byte there); now a zero field, so a byte
        // there is a real difference.
        var reserved = original
        reserved[ring.start + ring.stride + receipt + 3] = 138
        let inReserved = try #require(Self.difference(original, reserved))
        #expect(inReserved.contains("idempotency ring (storage order)") && inReserved.contains("element 1 of 3"))
        var changed = original
        changed[ring.start + ring.stride + MemoryLayout<IdempotencyEntry>.offset(of: \.createdAtMs)!] = 2
        let named = try #require(Self.difference(original, changed))
        #expect(named.contains("idempotency ring (storage order)") && named.contains("element 1 of 3"), "\(named)")
    }

    @Test("the shard's region saves a chunk once, before its first write; the checkpoint thread reads the old bytes")
    func regionKeepsOldBytes() {
        let storage = FixedStorage<UInt64>(capacity: 4096)
        for value in 0..<2048 { storage.append(UInt64(value)) }
        let budget = CheckpointCopyBudget(bytesMax: 1 << 16)
        let region = storage.beginCheckpoint(elements: 2048, budget: budget)
        storage[600] = 9_999_999  // chunk 1 saved
        storage[601] = 8_888_888  // same chunk: not saved again
        storage.append(77)  // beyond the frozen elements: nothing saved
        #expect(budget.used == 1)
        var copied = [UInt64](repeating: 0, count: 2048)
        let complete = copied.withUnsafeMutableBytes { region.copy(offset: 0, count: 2048 * 8, to: $0.baseAddress!) }
        #expect(complete)
        #expect(copied == (0..<2048).map { UInt64($0) })
        // After the checkpoint thread took a chunk, the shard writes it without saving.
        storage[2000] = 1
        #expect(budget.used == 1)
        region.claimRest()
        storage.endCheckpoint()
        budget.reset()
        #expect(storage[600] == 9_999_999 && storage[2000] == 1)
    }

    /// Pages of `count` bytes at `address` that are resident (mincore).
    static func residentPages(_ address: UnsafeMutableRawPointer, count: Int) -> Int {
        let pages = (count + 4095) / 4096
        var vector = [UInt8](repeating: 0, count: pages)
        #expect(mincore(address, count, &vector) == 0)
        return vector.reduce(0) { $0 + Int($1 & 1) }
    }

    @Test("how far the budget is made resident: 64 MiB past the most used, at most the checkpoint's state, never past the budget, whole pages")
    func populateTargetLimits() {
        let mib = 1 << 20
        let target = CheckpointCopyBudget.populateTarget
        // A big state: 64 MiB past the most one checkpoint used.
        #expect(target(0, 400 * mib, 256 * mib) == 64 * mib)
        #expect(target(100 * mib, 400 * mib, 256 * mib) == 164 * mib)
        // A small ledger: no more than its state (a test suite opened hundreds, each populating 64 MiB).
        #expect(target(0, 3 * mib, 256 * mib) == 3 * mib)
        #expect(target(0, 5_000, 256 * mib) == 8_192, "rounded up to whole pages")
        // The budget caps it, rounded to its last page.
        #expect(target(250 * mib, 400 * mib, 256 * mib) == 256 * mib)
        #expect(target(0, 400 * mib, 100_000) == 102_400)
    }

    @Test("the copy budget's pages are made resident ahead of the shard's saves, and saves written meanwhile keep their bytes")
    func budgetPopulatedAhead() {
        let bytes = 8 << 20
        let budget = CheckpointCopyBudget(bytesMax: bytes)
        let base = budget.pointer(0)
        #expect(Self.residentPages(base, count: bytes) == 0, "reserved address space, no RAM yet")
        // The shard saving chunks into slots while the pages are populated around it: each slot keeps its bytes.
        let slots = Int32(bytes / CheckpointRegion.chunkBytes)
        let writer = Thread {
            for slot in stride(from: 0, to: slots, by: 3) {
                budget.pointer(slot).initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: slot | 1), count: 512)
            }
        }
        writer.start()
        budget.populate(upTo: bytes)
        while writer.isExecuting || !writer.isFinished { usleep(1000) }
        #expect(budget.populatedByteCount == bytes)
        #expect(Self.residentPages(base, count: bytes) == bytes / 4096, "every page resident")
        var kept = true
        for slot in stride(from: 0, to: slots, by: 3) {
            let first = budget.pointer(slot).load(as: UInt8.self)
            let last = budget.pointer(slot).load(fromByteOffset: 511, as: UInt8.self)
            kept = kept && first == UInt8(truncatingIfNeeded: slot | 1) && last == first
        }
        #expect(kept, "saved chunks keep their bytes")
    }

    @Test("a format-7 snapshot keeps the idempotency and spent-lot rings when they wrap (storage order, newest first)")
    func wrappedRingsRoundTrip() throws {
        #expect(Checkpoint.storagePieces(start: 0, count: 0, capacity: 8) == [])
        #expect(Checkpoint.storagePieces(start: 2, count: 5, capacity: 8) == [2..<7])
        #expect(Checkpoint.storagePieces(start: 6, count: 5, capacity: 8) == [0..<3, 6..<8])
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var configuration = testConfiguration()
        configuration.idempotencyKeysPerShardMax = 16
        configuration.spentLotPartsPerShardMax = 8
        let state = ShardState(shardIndex: 0, shardCount: 1, limits: configuration)
        for position in 0..<11 {
            let part = SpentLotTable.Part(
                position: Int64(position), amount: Int64(position * 10), expiresOnDay: 1, origin: 0, asset: .points)
            state.spentLots.append(part)
            var entry = IdempotencyEntry.zeroForTests
            entry.key = IdempotencyKey(word0: UInt64(position + 1))
            entry.createdAtMs = 1
            _ = state.idempotency.insert(entry, nowMs: 1, retentionMs: 1 << 40)
        }
        for position in 11..<21 {
            var entry = IdempotencyEntry.zeroForTests
            entry.key = IdempotencyKey(word0: UInt64(position + 1))
            entry.createdAtMs = 1
            _ = state.idempotency.insert(entry, nowMs: 1, retentionMs: 1 << 40)
        }
        let path = try Snapshot.write(state, sequence: 5, lastCRC: 0, directory: directory.path)
        let loaded = ShardState(shardIndex: 0, shardCount: 1, limits: configuration)
        _ = try Snapshot.load(path: path, into: loaded)
        #expect((0..<loaded.spentLots.count).map { loaded.spentLots[$0].position } == Array(3..<11))
        #expect(loaded.idempotency.oldestPosition == 5 && loaded.idempotency.nextPosition == 21)
        for position in 5..<21 {
            #expect(loaded.idempotency.find(IdempotencyKey(word0: UInt64(position + 1))) == Int64(position))
        }
    }
}

extension IdempotencyEntry {
    /// An all-zero entry (zero is a valid value of every field), to fill in by hand.
    static var zeroForTests: IdempotencyEntry {
        let storage = FixedStorage<IdempotencyEntry>(capacity: 1)
        storage.setCount(1)
        return storage[0]
    }
}

/// The bytes of a value that belong to no field (alignment padding), found through its mirror.
enum PaddingProbe {
    static func size<T>(_ value: T) -> Int { MemoryLayout<T>.size }

    /// Names the values (by path) whose fields do not fill them; empty when every byte is a field.
    static func padded(_ value: Any, path: String) -> [String] {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .struct || mirror.displayStyle == .tuple, !mirror.children.isEmpty else {
            return []
        }
        let fields = mirror.children.reduce(0) { $0 + size($1.value) }
        var found = fields == size(value) ? [] : ["\(path): \(size(value)) bytes, fields \(fields)"]
        for (index, child) in mirror.children.enumerated() {
            found += padded(child.value, path: path + "." + (child.label ?? "\(index)"))
        }
        return found
    }
}
