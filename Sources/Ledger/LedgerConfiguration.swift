#if canImport(Glibc)
    import Glibc
#endif

/// Limits and tuning, fixed at open. Every table and queue the ledger owns is bounded by one of these.
public struct LedgerConfiguration: Sendable {
    /// Number of shards (threads). Must stay the same for a data directory: members are placed by card hash.
    public var shardCount: Int = 2
    /// Requests waiting for a shard; beyond it `submit` refuses with `.overloaded`.
    public var queueCapacity: Int = 8192
    /// Members per shard; enrolment beyond it is refused with `.capacityExceeded`.
    public var membersPerShardMax: Int = 1 << 21
    /// Cards per shard (members plus replacement cards).
    public var cardsPerShardMax: Int = 1 << 21
    /// Active holds per shard.
    public var holdsPerShardMax: Int = 1 << 16
    /// Active holds per member: bounds the work of expiring a member's holds.
    public var holdsPerMemberMax: Int = 16
    /// Request keys kept in memory per shard (the recent window); older ones move to the shard's key store on
    /// disk (`KeyStore`), so this bounds RAM, not how long a key is remembered.
    public var idempotencyKeysPerShardMax: Int = 1 << 18
    /// How long a request key (with its outcome, and the names a reversal or refund finds it by) is remembered:
    /// repeats inside it get the same answer, reversals and refunds find their original. Default 7 days plus the
    /// switch's tolerance for a transmission time in the future (docs/request-keys.md).
    public var idempotencyRetentionMs: Int64 = LedgerConfiguration.idempotencyRetentionDefaultMs
    public static let idempotencyRetentionDefaultMs: Int64 = 168 * 3_600_000 + 600_000
    /// Versions a key store buffers in memory before writing them as one run file (not recorded: it decides
    /// nothing). Each costs an entry (~400 bytes) in each of two buffers.
    public var keyBufferEntriesMax: Int = 1 << 16
    /// Cross-shard card replacements in flight per shard.
    public var transfersInFlightMax: Int = 1024
    /// Gift cards per shard (each also holds a member and a card); issuing beyond it is refused with
    /// `.capacityExceeded`. 16 bytes each plus 16 of index.
    public var giftCardsPerShardMax: Int = 1 << 16
    /// Bytes of log records in one group commit; a fuller batch is committed early.
    public var batchBytesMax: Int = 1 << 20
    /// Size of a preallocated log segment file. Each shard holds two allocated at all times, the current one and
    /// the next (its reserve), and refuses to start without room for both.
    public var segmentBytes: Int = 64 << 20
    /// Zero-fill the next segment in the background (cheaper fdatasync on overwritten blocks), at the cost of
    /// writing each segment's size in zeros once more. Either way its space is allocated ahead.
    public var zeroFillsNextSegment: Bool = true
    /// Keep a segment a checkpoint no longer needs as the next spare instead of deleting it (no zeros to write,
    /// no unwritten extents): `SegmentReserve`. A segment a reader holds (a backup, a log reader, a live `ledger
    /// verify`) is leased (`FileIO.openSegmentLeased`) and deleted instead, so no reader sees another's records.
    public var recyclesLogSegments: Bool = true
    /// While the next segment cannot be allocated (disk full, descriptors exhausted), a shard tries again this
    /// often. When it is needed and missing, the shard declines every request (`systemError`, nothing applied)
    /// until an attempt succeeds: this interval is how soon approvals resume after the cause clears.
    public var reserveRetryIntervalMs: Int = 250
    /// An idle shard makes its segment's acknowledged mark durable after this many milliseconds (a busy one does
    /// so with every batch's fdatasync), so the mark trails the log by at most one batch.
    public var idleMarkSyncMs: Int = 50
    /// The operator's override (`serve --accept-log-damage`): open a damaged log anyway, keeping it up to the
    /// damage and setting the rest aside as `*.damaged` files, each step logged as a failure. Off: refuse.
    public var acceptsLogDamage: Bool = false
    /// A snapshot is written after this many records (and on close); 0 disables periodic snapshots.
    public var snapshotIntervalRecords: Int = 2_000_000
    /// Memory one checkpoint may use for the 512-byte chunks the shard saves before writing them while the
    /// checkpoint thread writes the snapshot (Checkpoint.swift); address space is reserved, RAM is used only as
    /// chunks are saved, kept for the next checkpoint. At the limit the checkpoint is abandoned (the
    /// log keeps everything, the next one tries again): the shard never waits for it.
    public var checkpointCopyBytesMax: Int = 256 << 20
    /// The most chunks one commit group saves for a checkpoint: past it, what the batch applied so far is
    /// committed and answered, and the rest of the batch forms the next group. 256 chunks (128 KiB of copies)
    /// cost about 0.25 ms of CPU at ~1 µs a save, inside the issue's ~1 ms; 4096 (until 2026-12-05) cost 2–4 ms,
    /// and at 1M members under a saturating load 3 of 4 checkpoints ran out of their copy budget (smaller groups
    /// slow the shard's writes while one is written: 0 of 4 at 256); saturation at 100,000 cards showed no cost
    /// (benchmarks/RESULTS.md). Without any bound the first batch of 16,000 scattered earns after a checkpoint
    /// began saved ~48,000 chunks before any of them was answered.
    public var checkpointSavesPerCommitMax: Int = 256
    /// A checkpoint's writing pace in bytes per second (0: as fast as the disk takes it). Why: a checkpoint at
    /// 1M members is ~380 MB, and written at full speed it fills the disk queue the log's fdatasync waits in
    /// (authorization p99 ×8 while reports asked for one every few seconds, benchmarks/RESULTS.md). Paced, it
    /// takes longer and saves more chunks (`checkpointCopyBytesMax`), and the log's commits find the disk free.
    public var checkpointBytesPerSecondMax: Int64 = 0
    /// A report of the serving ledger reads a checkpoint of each shard that started at most this long before it
    /// asked (shared by the reports of that moment), else asks for a new one (CheckpointRequests.swift).
    public var reportCheckpointReuseMs: Int = 1000
    /// How long a report waits for its checkpoints before it is answered "try again" (503, `Retry-After`).
    public var reportCheckpointWaitMs: Int = 30_000
    /// A report whose HTTP client reads nothing of a full window this long is ended (the admin API's report
    /// handler reaches its settings through the ledger's configuration, with the two above).
    public var reportStalledReaderTimeoutMs: Int = 60_000
    /// Tests only: periodic snapshots keep the segments they cover, so a test can replay the whole log and compare.
    var keepsCoveredSegments = false
    // MARK: Lots (dated holdings, see LotTable.swift)
    /// Days a point lot lives from the day it is credited (expires at 00:00 UTC of day + life); nil: never.
    /// Read when a credit is applied and recorded in its log record, so replay never depends on it.
    public var pointsLifeDays: Int? = nil
    /// Days a store-credit lot lives; nil: never.
    public var creditLifeDays: Int? = nil
    /// Expiry days are rounded up to a multiple of this (days since the epoch), so one member's credits of
    /// one bucket share a lot: 1 = a lot per expiry day, 7 = per week. Rounding up only lengthens a life.
    public var lotBucketDays: Int = 1
    /// Lots per member and asset. At the limit a credit joins the member's latest-expiring lot of the asset.
    public var lotsPerMemberMax: Int = 16
    /// Coalition settlement pairs (payer merchant, payee merchant) per shard; a payment needing one more is
    /// declined (96) before it changes anything.
    public var settlementPairsPerShardMax: Int = 1 << 16
    /// Lot parts taken by payments and captures under rules, remembered so that reversals give each back with
    /// its origin and day (`SpentLotTable`); the oldest go first.
    public var spentLotPartsPerShardMax: Int = 1 << 18
    /// (member, engagement type) counts kept per shard; an event needing one more is declined (capacityExceeded).
    public var engagementCountsPerShardMax: Int = 1 << 18
    /// Lot records per shard (free records are reused). Recorded in ledger.meta: it decides outcomes.
    public var lotsPerShardMax: Int = 1 << 22
    /// Real time between expiry sweep steps on an idle or busy shard; 0 disables the sweep (lazy expiry on
    /// touch still happens).
    public var lotSweepIntervalMs: Int = 100
    /// Members one sweep step looks at: bounds the step's work (and its pause of the shard) to this many
    /// members × `lotsPerMemberMax` × 2 lots.
    public var lotSweepMembersPerStep: Int = 1024
    /// Who decides purchases and payments and reads back what it decided (the loyalty rules, `LoyaltyLedger`).
    /// Nil: a ledger of plain earns, redeems and holds; a purchase, a payment or a logged decision then stops it.
    public var decider: (any Decider)? = nil
    /// Skip fdatasync. Only for tests that do not test durability; never in production.
    public var skipSync: Bool = false
    /// Milliseconds since the epoch. Read once per batch and recorded in the log, so replay is deterministic.
    public var clockMs: @Sendable () -> Int64 = LedgerConfiguration.realtimeMs
    /// How far `clockMs` may be behind the newest record at open; further behind, `open` refuses with
    /// `clockBehind`, because a clock that went back would expire holds late, age keys wrongly and date lots
    /// before the records they follow. nil skips the check (an operator's explicit override); either way the
    /// ledger's time never goes backwards: it is max(newest time so far, clock).
    public var clockBehindToleranceMs: Int64? = LedgerConfiguration.clockBehindToleranceDefaultMs
    /// Small enough to catch a clock that was set wrong, large enough for clocks that NTP nudges back a little.
    public static let clockBehindToleranceDefaultMs: Int64 = 2_000
    /// Operational log lines (recovery, truncation). Never receives a card number.
    public var log: @Sendable (String) -> Void = { line in
        let text = "ledger: " + line + "\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
    /// A shard declines requests because its next log segment cannot be allocated, or approves again: said
    /// once per change, apart from `log`, so that a service can log it as the warning it is.
    public var logWarning: @Sendable (String) -> Void = { line in
        let text = "ledger: warning: " + line + "\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
    /// A shard stopped (its log could not be written): said once per shard, apart from `log`, so that a service
    /// can log it as the error it is; every request the shard gets afterwards is answered `systemError`.
    public var logFailure: @Sendable (String) -> Void = { line in
        let text = "ledger: error: " + line + "\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }

    public init() {}

    /// Descriptors each shard may hold at once: its current segment, the next one (made ahead), a segment made
    /// on demand when that one is not ready, its directory (for fsync), and a snapshot being written (the file
    /// and its directory's fsync).
    public static let descriptorsPerShard = 6

    /// Descriptors the ledger may hold at once (the directory lock, then `descriptorsPerShard` per shard): what a
    /// service must keep free beside its connections, so that a full descriptor table never stops the log.
    public var descriptorsReserved: Int { 1 + shardCount * Self.descriptorsPerShard }

    /// Of `descriptorsPerShard`, those opened only for a moment: a segment made on demand and a snapshot being
    /// written (its file and its directory). The others (segment, next segment, directory) stay open.
    public static let descriptorsOpenedOnDemandPerShard = 3

    /// What an open ledger may still open beyond the descriptors it holds: a service counts the ones open now
    /// and adds these.
    public var descriptorsOpenedOnDemand: Int { shardCount * Self.descriptorsOpenedOnDemandPerShard }

    public static let realtimeMs: @Sendable () -> Int64 = {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    func validate() {
        precondition(shardCount >= 1 && shardCount <= 256, "shardCount must be 1...256")
        precondition(queueCapacity >= 1, "queueCapacity must be positive")
        precondition(membersPerShardMax >= 1 && membersPerShardMax < Int(Int32.max), "membersPerShardMax")
        precondition(cardsPerShardMax >= membersPerShardMax && cardsPerShardMax < Int(Int32.max) / 2, "cards")
        precondition(holdsPerShardMax >= 1 && holdsPerShardMax < Int(Int32.max), "holdsPerShardMax")
        precondition(idempotencyKeysPerShardMax >= 1 && idempotencyKeysPerShardMax < Int(Int32.max) / 2, "keys")
        precondition(idempotencyRetentionMs >= 1, "idempotencyRetentionMs must be positive")
        precondition(keyBufferEntriesMax >= 16 && keyBufferEntriesMax <= 1 << 24, "keyBufferEntriesMax: 16...2^24")
        precondition(
            batchBytesMax >= 4096 && segmentBytes >= WALSegment.recordsStart + batchBytesMax,
            "a segment holds its header and a whole batch")
        precondition(reserveRetryIntervalMs >= 1 && idleMarkSyncMs >= 1, "retry and mark intervals are positive")
        precondition(transfersInFlightMax >= 1, "transfersInFlightMax")
        precondition(giftCardsPerShardMax >= 1 && giftCardsPerShardMax < Int(Int32.max) / 2, "giftCardsPerShardMax")
        precondition(checkpointCopyBytesMax >= 4096, "checkpointCopyBytesMax: at least 4096 bytes")
        precondition(checkpointSavesPerCommitMax >= 1, "checkpointSavesPerCommitMax: at least one chunk")
        precondition(
            checkpointBytesPerSecondMax == 0
                || (CopyPace.bytesPerSecondMin...CopyPace.bytesPerSecondMax).contains(checkpointBytesPerSecondMax),
            "checkpointBytesPerSecondMax: 0 or a pace CopyPace takes")
        validateLots()
    }
}

/// Operating errors of the ledger. Card numbers never appear in them.
public enum LedgerError: Error, Equatable, CustomStringConvertible {
    case io(operation: String, path: String, errno: Int32)
    /// The log is damaged — a record before its tail, a gap in sequences, a segment cut short or missing, a log
    /// that ends before its segment headers or the snapshot say it did — the ledger refuses to start rather than
    /// lose acknowledged records silently. `reason` names the sequences.
    case damagedLog(file: String, offset: Int64, reason: String)
    case damagedSnapshot(file: String, reason: String)
    /// A run of remembered request keys is damaged or missing: the ledger refuses rather than forget keys.
    case damagedKeyRun(file: String, reason: String)
    /// The data directory was written with another shard count or format.
    case incompatibleDirectory(reason: String)
    /// Another process (or another open `Ledger`) has the directory open for writing.
    case directoryInUse(path: String)
    /// Replaying a record produced another outcome than the one recorded: a bug, or a changed rule.
    case replayMismatch(file: String, offset: Int64, reason: String)
    /// At open, the clock is behind the newest record by more than `clockBehindToleranceMs`.
    case clockBehind(newestRecordMs: Int64, clockMs: Int64)
    /// At open, the current segment or the next one (the reserve) could not be allocated: too little disk space
    /// or no descriptor. The ledger refuses to start rather than fail at its first segment change.
    case noRoomForLog(directory: String, segmentBytes: Int, reason: String)
    /// The log is in doubt (a sync or write of it failed): the shard stops, and a restart recovers from disk.
    case logFailed(reason: String)

    public var description: String {
        switch self {
        case .io(let operation, let path, let errno):
            "\(operation) \(path): \(String(cString: strerror(errno))) (errno \(errno))"
        case .damagedLog(let file, let offset, let reason):
            "damaged log: \(file) at offset \(offset): \(reason); refusing to start (serve --accept-log-damage "
                + "starts without the rest of the log)"
        case .damagedSnapshot(let file, let reason): "damaged snapshot \(file): \(reason)"
        case .damagedKeyRun(let file, let reason): "damaged request-key run \(file): \(reason); refusing to start"
        case .incompatibleDirectory(let reason): "incompatible data directory: \(reason)"
        case .directoryInUse(let path): "\(path) is in use by another ledger (two writers would corrupt the log)"
        case .replayMismatch(let file, let offset, let reason):
            "replay of \(file) at offset \(offset) disagrees with the recorded outcome: \(reason)"
        case .noRoomForLog(let directory, let segmentBytes, let reason):
            "no room for the log in \(directory): the current segment and the next one (\(segmentBytes) bytes each) "
                + "must be allocated ahead, and \(reason); free disk space or descriptors, or lower "
                + "limits.logSegmentBytes"
        case .logFailed(let reason): "log failure: \(reason)"
        case .clockBehind(let newestRecordMs, let clockMs):
            "the clock says \(UTCTime.rfc3339(milliseconds: clockMs)), "
                + "\(UTCTime.seconds(milliseconds: newestRecordMs - clockMs)) behind the newest log record "
                + "(\(UTCTime.rfc3339(milliseconds: newestRecordMs))); records stamped before the ones already "
                + "written would expire holds late and date keys and lots wrongly"
        }
    }
}

extension LedgerError {
    /// A shortage that an operator (or time) can clear — no space, no descriptor, no memory — met while making
    /// room for the log, never while syncing it: declining and retrying later is safe, nothing is in doubt.
    /// A failed sync is never a shortage, whatever its errno (a thin-provisioned disk reports ENOSPC from
    /// fdatasync): after it, the kernel may have dropped the pages it could not write (PostgreSQL's "fsyncgate").
    public var isShortage: Bool {
        guard case .io(let operation, _, let number) = self else { return false }
        guard operation != "fsync" && operation != "fdatasync" else { return false }
        return number == ENOSPC || number == EDQUOT || number == EMFILE || number == ENFILE || number == ENOMEM
    }
}
