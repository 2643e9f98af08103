/// A checkpoint of one shard of a standby, taken by the follower between two copy passes (docs/replication.md),
/// so that a promotion replays only the log after it and the standby's disk holds only the segments after it.
///
/// Why recover from the files each time, as startup recovery does, instead of applying each batch as it is
/// copied: the standby's files stay the only truth (a follower killed at any point leaves a directory that
/// recovers like any other), and the code is recovery's and the snapshot writer's, already proven on the primary.
/// The cost is a replay of the records since the standby's previous checkpoint, once per `checkpointRecords`.
///
/// What it writes is what the primary's checkpoint writes: the request-key runs replay froze (temp file, sync,
/// rename, as at startup), then the snapshot (`Snapshot.write`: temp file, fsync, rename, directory fsync). The
/// log is never renamed or rewritten: its segments keep the primary's names and offsets, because `StandbyLog`
/// appends at the primary's offsets. Segments wholly covered by the snapshot (and by the derived stores' marks)
/// are deleted afterwards, never the one the follower appends to: the primary's `StandbyHold` reads the newest.
public enum StandbyCheckpoint {
    /// What one checkpoint did.
    public struct Outcome: Equatable, Sendable {
        public var shard: Int
        /// The snapshot's sequence: the standby's last durable one when it was taken.
        public var sequence: UInt64
        public var recordsReplayed: Int
        public var segmentsDeleted: Int
        /// Segments deleted hold records through this sequence at most (the snapshot, or a store's mark).
        public var deletedThrough: UInt64
        public var milliseconds: Int64
    }

    /// Where a checkpoint is, for a test that kills the follower there.
    public enum Phase: String, Sendable {
        /// The shard is recovered and the key runs its replay froze are written; no snapshot yet.
        case replayed
        /// The snapshot is durable; no segment is deleted yet.
        case snapshotWritten = "snapshot-written"
    }

    /// Checkpoints the shard whose log `log` appends to. `holdThrough`: the derived stores' lowest mark in this
    /// shard (segments holding records after it stay). Throws, changing nothing but whole key runs, when the
    /// recovered log does not end where `log` says (the standby's log is then in doubt).
    static func take(
        shard: Int, configuration: LedgerConfiguration, log: StandbyLog, holdThrough: UInt64,
        phase: (Int, Phase) -> Void
    ) throws(LedgerError) -> Outcome {
        precondition(shard >= 0 && shard < configuration.shardCount, "a shard of the standby")
        let startNs = ShardStatistics.now()
        // The snapshot must never be ahead of the log's durable mark (a power cut would otherwise cut the log
        // below the snapshot at the next open).
        try log.syncMark()
        let directory = log.directory
        let state = ShardState(shardIndex: shard, shardCount: configuration.shardCount, limits: configuration)
        var recovery = ShardRecovery(directory: directory, readOnly: false)
        recovery.scansLogReadOnly = true
        let report = try recovery.recover(into: state)
        guard report.lastSequence == log.nextSequence - 1, report.position.lastCRC == log.lastCRC else {
            throw .damagedLog(
                file: directory, offset: 0,
                reason: "the standby's checkpoint recovered through sequence \(report.lastSequence), its log is at "
                    + "\(log.nextSequence - 1): not checkpointed")
        }
        try state.checkInvariants(directory: directory)
        let store = state.idempotency.store
        if let failure = store?.failure { throw failure }
        // As the primary's checkpoint does, runs whose keys are all past retention are no longer listed; their
        // files go once the snapshot is durable. The time is the newest record's: never ahead of the primary's.
        if let store, let newestMs = report.newestRecordTimeMs {
            store.expireRuns(nowMs: newestMs, retentionMs: configuration.idempotencyRetentionMs)
        }
        let expiredRuns = store?.takeExpiredPaths() ?? []
        phase(shard, .replayed)
        let path = try Snapshot.write(
            state, sequence: report.lastSequence, lastCRC: report.position.lastCRC, directory: directory)
        phase(shard, .snapshotWritten)
        let deletedThrough = min(report.lastSequence, holdThrough)
        precondition(deletedThrough <= report.lastSequence, "nothing after the snapshot is deleted")
        let before = try WALReader.segments(in: directory).count
        try Snapshot.dropCovered(
            directory: directory, sequence: deletedThrough, keeping: path, currentSegment: log.segmentPath)
        for run in expiredRuns { try FileIO.remove(run) }
        let after = try WALReader.segments(in: directory)
        precondition(after.last?.path == log.segmentPath, "the segment the follower appends to is kept")
        precondition(after.count <= before, "a checkpoint only deletes segments")
        return Outcome(
            shard: shard, sequence: report.lastSequence, recordsReplayed: report.recordsReplayed,
            segmentsDeleted: before - after.count, deletedThrough: deletedThrough,
            milliseconds: Int64((ShardStatistics.now() - startNs) / 1_000_000))
    }
}

/// The derived stores a standby's seed brought (the movements history, the sales store), read on from their own
/// marks in the standby's log by the follower before its checkpoints delete segments, as the promoted switch's
/// indexers would: a store never loses the records of a segment a standby checkpoint deleted
/// (docs/replication.md). The member search keeps nothing on disk (a start reads the checkpoint), the
/// notifications' progress is not moved: a promotion delivers again from the seed's marks.
final class StandbyStores {
    let root: String
    private let history: HistoryStore?
    private let sales: SalesStore?
    private let historyTails: [LogTail]
    private let salesTails: [LogTail]

    /// Opens the stores present in the standby `root` (none is created).
    init(root: String, configuration: LedgerConfiguration) throws(LedgerError) {
        self.root = root
        let shards = configuration.shardCount
        precondition(shards >= 1, "a standby has shards")
        if FileIO.exists(root + "/history") {
            // The switch's defaults: the member and card bounds of the ledger, 400 days (retention is applied by
            // the promoted switch, never here).
            let limits = HistoryStore.Limits(
                membersMax: configuration.membersPerShardMax * shards,
                cardsMax: configuration.cardsPerShardMax * shards, retentionMs: 400 * 86_400_000)
            history = try HistoryStore(root: root, shardCount: shards, limits: limits)
            historyTails = (0..<shards).map { LogTail(root: root, shard: $0) }
        } else {
            history = nil
            historyTails = []
        }
        if FileIO.exists(root + "/sales") {
            sales = try SalesStore(root: root, shardCount: shards, limits: SalesStore.Limits(retentionDays: 36_500))
            salesTails = (0..<shards).map { LogTail(root: root, shard: $0) }
        } else {
            sales = nil
            salesTails = []
        }
    }

    /// Reads each store on to `through` (the standby's last durable sequence) in `shard`; returns the lowest mark
    /// of the stores there (`UInt64.max` without stores). Bounded by the records to read.
    func catchUp(shard: Int, through: UInt64) throws(LedgerError) -> UInt64 {
        precondition(shard >= 0, "a shard of the standby")
        var lowest = UInt64.max
        if let history {
            let tail = historyTails[shard]
            let readsMax = Self.readsMax(
                from: history.indexedSequences[shard], to: through, LogViewReader.recordsPerReadMax)
            for _ in 0..<readsMax {
                let after = history.indexedSequences[shard]
                guard after < through else { break }
                let batch = try tail.changes(after: after, recordsMax: LogViewReader.recordsPerReadMax)
                guard batch.lastSequence > after else { break }
                let skipped = batch.gap.recordsSkipped + batch.gap.recordsUnreadable
                try history.index(shard: shard, changes: batch.changes, through: batch.lastSequence, skipped: skipped)
            }
            lowest = min(lowest, history.indexedSequences[shard])
        }
        if let sales {
            let readsMax = Self.readsMax(
                from: sales.indexedSequences[shard], to: through, LogViewReader.recordsPerReadMax)
            for _ in 0..<readsMax {
                guard sales.indexedSequences[shard] < through else { break }
                let step = try SalesIndexer.index(shard: shard, tail: salesTails[shard], into: sales)
                guard step.records > 0 || step.skipped > 0 else { break }
            }
            lowest = min(lowest, sales.indexedSequences[shard])
        }
        return lowest
    }

    /// Reads that take a store from `after` to `through`, one more for a gap the first read skips.
    static func readsMax(from after: UInt64, to through: UInt64, _ recordsPerRead: Int) -> Int {
        precondition(recordsPerRead > 0, "a read takes records")
        guard through > after else { return 0 }
        let reads = Int((through - after) / UInt64(recordsPerRead)) + 2
        precondition(reads >= 2, "a catch-up reads at least once and once more for a gap")
        return reads
    }
}
