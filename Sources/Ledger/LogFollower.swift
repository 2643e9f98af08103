#if canImport(Glibc)
    import Glibc
#endif

/// A standby kept by copying the primary's log (docs/replication.md): for every shard, the batches the primary
/// made durable are read (`LogFollowerSource`) and appended byte for byte to the standby's log (`StandbyLog`),
/// which starts from a seed (a backup of the primary: `ledger follow` makes it). The standby is then a data
/// directory like the primary's at the standby's sequences: `serve --data STANDBY` promotes it.
///
/// Holds the standby's writer lock while it runs, so a promotion cannot start while it still appends. Not
/// thread-safe: one thread follows.
public final class LogFollower {
    /// Where one shard stands.
    public struct ShardProgress: Equatable, Sendable {
        public var shard: Int
        /// The last sequence the standby holds durably.
        public var standbySequence: UInt64
        /// The last sequence the primary acknowledged (its newest segment's mark).
        public var primarySequence: UInt64
        /// Records the standby lacks.
        public var lag: UInt64 { primarySequence > standbySequence ? primarySequence - standbySequence : 0 }
    }

    /// What one pass copied.
    public struct Pass: Equatable, Sendable {
        public var records: UInt64 = 0
        public var batches: UInt64 = 0
        public var bytes: UInt64 = 0
    }

    /// The most one read takes from a shard's log: whole batches, so at least the primary's largest batch
    /// (`batchBytesMax`, 1 MiB by default and never more than a segment's eighth).
    public static let readBytesMax = 4 << 20
    /// Reads per shard in one pass: a busy shard cannot hold the others back for longer than this.
    public static let readsPerShardPerPassMax = 16

    public let primary: String
    public let standby: String
    /// A shard is checkpointed once this many records were copied into it since its newest snapshot (0: never).
    public let checkpointRecords: UInt64
    /// Called at each phase of a checkpoint (a test kills the follower there).
    public var checkpointPhase: (Int, StandbyCheckpoint.Phase) -> Void = { _, _ in }
    private var sources: [LogFollowerSource] = []
    private var logs: [StandbyLog] = []
    /// Per shard, the standby's newest snapshot's sequence (0: none).
    private var snapshotSequences: [UInt64] = []
    /// The standby's limits as its `ledger.meta` records them, with the decider replay needs.
    private let configuration: LedgerConfiguration
    /// Opened at the first checkpoint.
    private var stores: StandbyStores?
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readBytesMax, alignment: 4096)
    private var lockDescriptor: Int32 = -1

    /// Opens the standby (its writer lock taken, each shard's log checked as recovery does and cut to its mark)
    /// and positions each shard's reader in the primary's log after the standby's last sequence. Refuses two
    /// directories that are not the same ledger (another layout or card-hash key). `decider` reads the decisions
    /// records carry when a checkpoint replays them; `checkpointRecords` 0 takes no checkpoint.
    public init(
        primary: String, standby: String, decider: (any Decider)? = nil, checkpointRecords: UInt64 = 0
    ) throws(LedgerError) {
        self.primary = primary
        self.standby = standby
        self.checkpointRecords = checkpointRecords
        precondition(primary != standby, "a standby is another directory")
        let shardCount = try Self.checkSameLedger(primary: primary, standby: standby)
        var base = LedgerConfiguration()
        base.shardCount = shardCount
        base.decider = decider
        configuration = try Ledger.recordedConfiguration(directory: standby, base).0
        lockDescriptor = try DataDirectory.lock(standby)
        do throws(LedgerError) {
            for shard in 0..<shardCount {
                let log = try StandbyLog(directory: DataDirectory.shardDirectory(standby, shard: shard))
                logs.append(log)
                snapshotSequences.append(try StandbyLog.newestSnapshotHeader(in: log.directory)?.sequence ?? 0)
                sources.append(
                    LogFollowerSource(
                        directory: DataDirectory.shardDirectory(primary, shard: shard),
                        nextSequence: log.nextSequence, lastCRC: log.lastCRC))
            }
        } catch {
            close()
            throw error
        }
        precondition(
            logs.count == shardCount && sources.count == shardCount && snapshotSequences.count == shardCount,
            "a log, a source and a snapshot sequence per shard")
    }

    deinit {
        close()
        buffer.deallocate()
    }

    /// Makes every mark durable, closes the logs and lets go of the standby's lock.
    public func close() {
        for log in logs { log.close() }
        logs.removeAll()
        stores = nil
        sources.removeAll()
        if lockDescriptor >= 0 { _ = DataDirectory.unlock(standby, descriptor: lockDescriptor) }
        lockDescriptor = -1
        precondition(logs.isEmpty && sources.isEmpty, "a closed follower holds nothing")
    }

    /// The standby's `ledger.meta` and `card-hash.key` must be the primary's: the same shards and limits, and the
    /// same keyed card hashes. Returns the shard count.
    static func checkSameLedger(primary: String, standby: String) throws(LedgerError) -> Int {
        for name in [DataDirectory.metaName, DataDirectory.cardKeyName] {
            let source = try FileIO.readWholeFile(primary + "/" + name, bytesMax: 4096)
            let copy = try FileIO.readWholeFile(standby + "/" + name, bytesMax: 4096)
            guard source == copy else {
                throw .incompatibleDirectory(
                    reason: "\(standby)/\(name) differs from \(primary)/\(name): the standby was seeded from another ledger")
            }
        }
        let meta = try FileIO.readWholeFile(primary + "/" + DataDirectory.metaName, bytesMax: 4096)
        guard let limits = RecordedLimits(text: String(decoding: meta, as: UTF8.self)), limits.shardCount >= 1 else {
            throw .incompatibleDirectory(reason: "\(primary)/\(DataDirectory.metaName) is not understood")
        }
        return limits.shardCount
    }

    /// Copies what each shard's primary made durable since the last pass (at most `readsPerShardPerPassMax`
    /// reads per shard); every append is durable before this returns. Damage in the primary's log throws,
    /// naming the file, offset and sequences; nothing after it is copied.
    public func pass() throws(LedgerError) -> Pass {
        precondition(!logs.isEmpty, "pass after close")
        var pass = Pass()
        for (source, log) in zip(sources, logs) {
            for _ in 0..<Self.readsPerShardPerPassMax {
                guard let chunk = try source.read(into: buffer) else { break }
                try log.append(UnsafeRawBufferPointer(rebasing: buffer[0..<chunk.byteCount]), chunk)
                precondition(log.nextSequence == source.nextSequence, "the copy keeps up with what was read")
                pass.records += chunk.lastSequence - chunk.firstSequence + 1
                pass.batches += UInt64(chunk.batchCount)
                pass.bytes += UInt64(chunk.byteCount)
            }
        }
        if pass.records == 0 {
            for log in logs { try log.syncMark() }
        }
        return pass
    }

    /// Checkpoints every shard that has `checkpointRecords` or more records after its newest snapshot
    /// (StandbyCheckpoint): first the derived stores the seed brought read on to the shard's end, then the
    /// snapshot, then the segments it and the stores cover are deleted. Between passes only: nothing is appended
    /// meanwhile. Returns what each checkpoint did.
    public func checkpointDue() throws(LedgerError) -> [StandbyCheckpoint.Outcome] {
        precondition(!logs.isEmpty, "checkpoint after close")
        guard checkpointRecords > 0 else { return [] }
        var outcomes: [StandbyCheckpoint.Outcome] = []
        for (shard, log) in logs.enumerated()
        where log.nextSequence - 1 >= snapshotSequences[shard] + checkpointRecords {
            if stores == nil { stores = try StandbyStores(root: standby, configuration: configuration) }
            let holdThrough = try stores!.catchUp(shard: shard, through: log.nextSequence - 1)
            let outcome = try StandbyCheckpoint.take(
                shard: shard, configuration: configuration, log: log, holdThrough: holdThrough,
                phase: checkpointPhase)
            precondition(outcome.sequence == log.nextSequence - 1, "a standby checkpoint covers its whole log")
            snapshotSequences[shard] = outcome.sequence
            outcomes.append(outcome)
        }
        return outcomes
    }

    /// Per shard, the sequence of the standby's newest snapshot (0: none).
    public var checkpointSequences: [UInt64] { snapshotSequences }

    /// Where every shard stands: the standby's last sequence and the primary's newest acknowledged one.
    public func progress() throws(LedgerError) -> [ShardProgress] {
        var found: [ShardProgress] = []
        for (shard, log) in logs.enumerated() {
            let primarySequence = try Self.acknowledgedSequence(DataDirectory.shardDirectory(primary, shard: shard))
            found.append(
                ShardProgress(shard: shard, standbySequence: log.nextSequence - 1, primarySequence: primarySequence))
        }
        return found
    }

    /// The last sequence the newest segment of a shard's log acknowledges (0 for a log without segments).
    static func acknowledgedSequence(_ directory: String) throws(LedgerError) -> UInt64 {
        guard let newest = try WALReader.segments(in: directory).last else { return 0 }
        let descriptor: Int32
        do { descriptor = try FileIO.openSegmentLeased(newest.path) } catch { return 0 }
        defer { FileIO.closeFile(descriptor) }
        let bytes = try FileIO.readBytes(descriptor, count: WALSegment.headerBytesRead, offset: 0, path: newest.path)
        return bytes.withUnsafeBytes { WALSegment.read($0) }?.acknowledgedSequence ?? 0
    }
}
