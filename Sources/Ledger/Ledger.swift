import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The sharded in-memory ledger with a write-ahead log.
///
/// `open` recovers every shard (snapshot + log) and starts one thread per shard. `submit` routes a request
/// to its shard by the keyed hash of its card number; the reply arrives later, on the shard's thread, through
/// the sink, and only after the request's log record is durable. `close` drains, commits, snapshots and stops.
///
/// Design in brief (details at the types named):
/// - Placement: a card lives on shard `hash.high % shardCount`; its member lives with it. A member's cards are on
///   one shard; replacing a card with one that hashes elsewhere moves the balances to a member on the other shard
///   (`ShardState+Transfer.swift`: outbox on the source, idempotent apply on the destination, resent by recovery).
/// - Shard loop (`Shard`): take everything queued, apply in memory while encoding one log record per state change
///   (`WALRecord`), one `pwrite` + one `fdatasync` per batch (`WALWriter`), then deliver the replies.
/// - Idempotency (`IdempotencyTable`): every outcome except a conflict or a refusal is remembered with its key
///   and digest, for `idempotencyKeysPerShardMax` keys and `idempotencyRetentionMs`; a repeat gets it back with
///   `isReplay`. Declines are remembered too. Reversals, captures and refunds find their original here, so they
///   must arrive inside the window.
/// - Refund policy: the pro-rata claw-back is taken in full even when the points were spent; the balance may go
///   negative (`ShardState+Reversal.swift`).
/// - Recovery (`ShardRecovery`, `WALReader`): newest snapshot, then every record is checked (CRC32C, sequence,
///   chain) and replayed, and the replayed outcome must equal the recorded one. Damage inside the last batch is
///   a torn write and is cut off with a log line; damage anywhere before refuses to start, naming file and offset.
/// - Limits that decide outcomes are recorded in `ledger.meta` (replay must decide as the writer did); changing
///   them goes through a snapshot (`changeLimits`).
/// - Card numbers: only a keyed SipHash-128 (key in `card-hash.key`) and the masked form are kept.
public final class Ledger: @unchecked Sendable {
    public let directory: String
    public let configuration: LedgerConfiguration
    /// What recovery found, per shard (for logs and for `ledger verify`).
    public let recoveryReports: [ShardRecoveryReport]
    let shards: [Shard]
    private let cardHashKey: (UInt64, UInt64)
    private let closeState = NSLock()
    private let sinks: SinkRegistry
    /// The directory's writer lock, released by `close` (internal: a test hands it to a child to hold).
    let lock: Int32
    /// Sinks `perform` reuses, so that they stay few in the registry (one per concurrent caller).
    private let waitingSinks = Mutex<[WaitingSink]>([])
    private var isClosed = false
    private let inspections: InspectionBoard

    private init(
        directory: String, configuration: LedgerConfiguration, shards: [Shard], cardHashKey: (UInt64, UInt64),
        reports: [ShardRecoveryReport], lock: Int32, inspections: InspectionBoard
    ) {
        precondition(!shards.isEmpty && reports.count == shards.count, "a report per shard")
        precondition(lock >= 0, "a ledger holds its directory's lock")
        self.lock = lock
        self.inspections = inspections
        self.directory = directory
        self.configuration = configuration
        self.shards = shards
        self.cardHashKey = cardHashKey
        recoveryReports = reports
        sinks = shards.first!.sinks
    }

    /// Opens (creating on first use) the data directory, recovers it and starts the shards.
    /// Refuses with `LedgerError.damagedLog` when a record before the log's tail is damaged.
    public static func open(directory: String, configuration: LedgerConfiguration = LedgerConfiguration())
        throws(LedgerError) -> Ledger
    {
        configuration.validate()
        let recorded = try DataDirectory.prepare(directory, configuration: configuration, create: true)
        let lock = try DataDirectory.lock(directory)
        do throws(LedgerError) {
            return try open(directory: directory, configuration: configuration, recorded: recorded, lock: lock)
        } catch {
            FileIO.closeFile(lock)
            throw error
        }
    }

    private static func open(
        directory: String, configuration: LedgerConfiguration, recorded: RecordedLimits, lock: Int32
    ) throws(LedgerError) -> Ledger {
        let key = try DataDirectory.cardHashKey(directory, create: true)
        if recorded != RecordedLimits(configuration) {
            try changeLimits(
                directory, from: recorded.applied(to: configuration), to: configuration,
                directoryHasSegmentHeaders: recorded.hasSegmentHeaders)
        }
        let sinks = SinkRegistry()
        let (shards, reports) = try openShardsInParallel(
            root: directory, configuration: configuration, directoryHasSegmentHeaders: recorded.hasSegmentHeaders,
            sinks: sinks)
        if !recorded.hasSegmentHeaders {
            // Every shard's writer has started a headed segment after the segments written before segment headers
            // (it never appends to those): from here on a shard without a segment, or whose newest segment has no
            // header, lost its log (WALReader+Legacy.swift).
            try DataDirectory.writeMeta(directory, RecordedLimits(configuration))
            configuration.log(
                "log upgraded to segments with headers: each shard goes on in a new segment after the ones written "
                    + "before (read as before, dropped by the next snapshot); ledger.meta says segmentHeaders=1")
        }
        let inspections = InspectionBoard()
        let newestRecordTimeMs = reports.compactMap(\.newestRecordTimeMs).max()
        for shard in shards {
            shard.peers = shards
            shard.state.inspections = inspections
            if let newestRecordTimeMs { shard.keepTime(atLeast: newestRecordTimeMs) }
        }
        for shard in shards { shard.start() }
        for shard in shards {
            for transfer in shard.state.pendingTransfers {
                shards[Int(transfer.destinationShard)].queue.pushInternal(shard.state.transferInCommand(transfer))
            }
        }
        return Ledger(
            directory: directory, configuration: configuration, shards: shards, cardHashKey: key, reports: reports,
            lock: lock, inspections: inspections)
    }

    /// Limits decide outcomes, so records must be replayed under the limits they were written with: recover
    /// with the recorded limits, snapshot every shard (so nothing is left to replay), then record the new ones.
    private static func changeLimits(
        _ directory: String, from old: LedgerConfiguration, to new: LedgerConfiguration,
        directoryHasSegmentHeaders: Bool
    ) throws(LedgerError) {
        precondition(old.shardCount == new.shardCount, "a shard count is never changed in place")
        var recovered: [(ShardState, ShardRecovery.Report, String)] = []
        for index in 0..<old.shardCount {
            let shardDirectory = DataDirectory.shardDirectory(directory, shard: index)
            let state = ShardState(shardIndex: index, shardCount: old.shardCount, limits: old)
            var recovery = ShardRecovery(directory: shardDirectory, readOnly: false)
            recovery.directoryHasSegmentHeaders = directoryHasSegmentHeaders
            let report = try recovery.recover(into: state)
            guard state.members.count <= new.membersPerShardMax, state.cards.count <= new.cardsPerShardMax,
                state.holds.records.count <= new.holdsPerShardMax, state.outbox.count <= new.transfersInFlightMax,
                state.lots.fits(lotsPerShardMax: new.lotsPerShardMax, lotsPerMemberMax: new.lotsPerMemberMax),
                state.settlements.records.count <= new.settlementPairsPerShardMax
            else {
                throw .incompatibleDirectory(reason: "shard \(index) holds more than the new limits allow")
            }
            recovered.append((state, report, shardDirectory))
        }
        for (state, report, shardDirectory) in recovered {
            let path = try Snapshot.write(
                state, sequence: report.lastSequence, lastCRC: report.position.lastCRC, directory: shardDirectory)
            try Snapshot.dropCovered(
                directory: shardDirectory, sequence: report.lastSequence, keeping: path,
                currentSegment: report.position.segmentPath ?? "")
        }
        var limits = RecordedLimits(new)
        // The log is unchanged: a directory still ending in segments without headers must not claim otherwise.
        limits.hasSegmentHeaders = directoryHasSegmentHeaders
        try DataDirectory.writeMeta(directory, limits)
        new.log(
            "limits changed: \(RecordedLimits(old).text.trimmingSuffixNewline()) -> "
                + RecordedLimits(new).text.trimmingSuffixNewline()
        )
    }

    /// Shards recover independently (own directory, own state), so they recover on parallel threads.
    private static func openShardsInParallel(
        root: String, configuration: LedgerConfiguration, directoryHasSegmentHeaders: Bool, sinks: SinkRegistry
    ) throws(LedgerError) -> ([Shard], [ShardRecoveryReport]) {
        let results = Mutex<[Int: Result<(Shard, ShardRecoveryReport), LedgerError>]>([:])
        DispatchQueue.concurrentPerform(iterations: configuration.shardCount) { index in
            let result: Result<(Shard, ShardRecoveryReport), LedgerError>
            do throws(LedgerError) {
                result = .success(
                    try openShard(
                        index, root: root, configuration: configuration,
                        directoryHasSegmentHeaders: directoryHasSegmentHeaders, sinks: sinks))
            } catch {
                result = .failure(error)
            }
            results.withLock { $0[index] = result }
        }
        var shards: [Shard] = []
        var reports: [ShardRecoveryReport] = []
        for index in 0..<configuration.shardCount {
            let (shard, report) = try results.withLock { $0[index]! }.get()
            precondition(shard.index == index, "shards in index order")
            shards.append(shard)
            reports.append(report)
        }
        precondition(shards.count == configuration.shardCount, "every shard opened")
        return (shards, reports)
    }

    private static func openShard(
        _ index: Int, root: String, configuration: LedgerConfiguration, directoryHasSegmentHeaders: Bool,
        sinks: SinkRegistry
    ) throws(LedgerError) -> (Shard, ShardRecoveryReport) {
        let shardDirectory = DataDirectory.shardDirectory(root, shard: index)
        let state = ShardState(shardIndex: index, shardCount: configuration.shardCount, limits: configuration)
        var recovery = ShardRecovery(directory: shardDirectory, readOnly: false)
        recovery.acceptsDamage = configuration.acceptsLogDamage
        recovery.directoryHasSegmentHeaders = directoryHasSegmentHeaders
        let report = try recovery.recover(into: state)
        try checkClock(newestRecordTimeMs: report.newestRecordTimeMs, configuration: configuration)
        logRecovery(report, shard: index, members: state.members.count, configuration: configuration)
        let writer = try WALWriter(
            directory: shardDirectory, segmentBytes: configuration.segmentBytes,
            batchBytesMax: configuration.batchBytesMax, skipSync: configuration.skipSync,
            zeroFillsReserve: configuration.zeroFillsNextSegment,
            retryIntervalMs: configuration.reserveRetryIntervalMs, position: report.position)
        precondition(writer.nextSequence == report.lastSequence + 1, "the log continues after what was recovered")
        let shard = Shard(
            index: index, state: state, writer: writer, directory: shardDirectory, configuration: configuration,
            sinks: sinks)
        return (shard, ShardRecoveryReport(report, members: state.members.count))
    }

    /// What recovery did, in the log: a torn tail as information, a damaged log started anyway as a failure (the
    /// operator asked for it, and must see what it cost).
    private static func logRecovery(
        _ report: ShardRecovery.Report, shard index: Int, members: Int, configuration: LedgerConfiguration
    ) {
        if let torn = report.tornTail {
            configuration.log(
                "shard \(index): torn tail in \(torn.file) at offset \(torn.offset): zeroed \(torn.bytesDiscarded) "
                    + "bytes (an incomplete last batch, never acknowledged)")
        }
        if let damage = report.acceptedDamage {
            configuration.logFailure(
                "shard \(index): STARTING WITH A DAMAGED LOG (--accept-log-damage): \(damage.damage); the log is "
                    + "kept through sequence \(damage.lastSequenceKept) and everything after it is lost; set aside: "
                    + (damage.setAside.isEmpty ? "nothing" : damage.setAside.joined(separator: ", ")))
        }
        configuration.log(
            "shard \(index): recovered snapshot \(report.snapshotSequence) + \(report.recordsReplayed) records, "
                + "last sequence \(report.lastSequence), \(members) members (snapshot: \(report.snapshotPhases); "
                + "replay \(Double(report.replayNs / 100_000) / 10) ms)")
    }

    /// Refuses a clock behind the newest record by more than the tolerance, before anything is written: records
    /// stamped earlier than the ones before them would expire holds late and date keys and lots wrongly.
    private static func checkClock(
        newestRecordTimeMs: Int64?, configuration: LedgerConfiguration
    ) throws(LedgerError) {
        guard let newestRecordTimeMs, let toleranceMs = configuration.clockBehindToleranceMs else { return }
        precondition(toleranceMs >= 0, "clockBehindToleranceMs must not be negative")
        let clockMs = configuration.clockMs()
        if newestRecordTimeMs - clockMs > toleranceMs {
            throw .clockBehind(newestRecordMs: newestRecordTimeMs, clockMs: clockMs)
        }
    }

    /// A new reader of every shard's log, whose unfinished records snapshots keep (up to `recordsMax` behind them
    /// per shard). Register at start, once per name, at most `LogHold.consumersMax`; until its first `advance` on
    /// a shard, it holds nothing there.
    public func registerLogConsumer(name: String, recordsMax: UInt64) -> LogConsumer {
        LogConsumer(name: name, recordsMax: recordsMax, holds: shards.map(\.logHold))
    }

    public var shardCount: Int { shards.count }

    /// The keyed hash the ledger knows a card by: the admin API's card ids are made from it (not reversible
    /// without the directory's secret key).
    public func cardHash(of card: CardNumber) -> CardHash { card.hash(key0: cardHashKey.0, key1: cardHashKey.1) }

    /// The ledger key of a caller's engagement event id (`POST /v1/events {"id"}`): its keyed 128-bit hash under
    /// the first word "EVENT", apart from every terminal's and every admin operation's keys, and the same in
    /// every run (the key is the data directory's), so a repeat after a restart finds the first.
    public func eventKey(id: [UInt8]) -> IdempotencyKey {
        let hash = id.withUnsafeBytes { SipHash128.hash(key0: cardHashKey.0, key1: cardHashKey.1, bytes: $0) }
        return IdempotencyKey(word0: 0x4556_454E_5400_0000, word1: hash.high, word2: hash.low, word3: UInt64(id.count))
    }

    /// The inspection a `.inspect` request with `tag` left, taken once its reply arrived (nil: the card is unknown).
    public func takeInspection(tag: UInt64) -> CardInspection? { inspections.take(tag: tag) }

    /// The shard that owns a card.
    public func shardIndex(of card: CardNumber) -> Int {
        let shard = ShardState.shard(of: card.hash(key0: cardHashKey.0, key1: cardHashKey.1), shardCount: shards.count)
        precondition(shard >= 0 && shard < shards.count, "a shard of the ledger")
        return shard
    }

    /// Queues one request. False when its shard's queue is full (or the ledger is closed): nothing was
    /// queued, and the caller answers "overloaded" itself.
    public func submit(_ request: LedgerRequest, to sink: some LedgerReplySink) -> Bool {
        submit(request, toSinkNumbered: sinks.number(of: sink))
    }

    private func submit(_ request: LedgerRequest, toSinkNumbered sink: UInt16) -> Bool {
        let command = ShardCommand(request: request, cardHashKey: cardHashKey, sink: sink)
        let shard = ShardState.shard(of: command.cardHash, shardCount: shards.count)
        precondition(shard >= 0 && shard < shards.count, "a shard of the ledger")
        return shards[shard].queue.push(command, sale: request.sale)
    }

    /// Queues a batch. Returns the replies for requests refused at once (status `.overloaded`); every other
    /// request is answered through `sink`.
    /// One lock and at most one wake-up per shard for the whole batch.
    public func submit(_ requests: [LedgerRequest], to sink: some LedgerReplySink) -> [LedgerReply] {
        var buffers = SubmitBuffers()
        return submit(requests, to: sink, buffers: &buffers)
    }

    /// `submit` with the caller's buffers, kept between calls (an event loop keeps one): the commands are
    /// sorted by shard and the batch's sales gathered in them, emptied in place afterwards, so a steady stream of
    /// batches allocates nothing here (the shard queues copy what they accept). An array, not `some Collection`:
    /// iterating a generic collection across modules reads each element through a coroutine whose frame is
    /// malloc'd (one allocation per request, seen in issue 17's allocation count).
    public func submit(
        _ requests: [LedgerRequest], to sink: some LedgerReplySink, buffers: inout SubmitBuffers
    ) -> [LedgerReply] {
        var refused: [LedgerReply] = []
        let number = sinks.number(of: sink)
        if buffers.perShard.count != shards.count {
            buffers.perShard = [[ShardCommand]](repeating: [], count: shards.count)
        }
        defer {
            for shard in buffers.perShard.indices { buffers.perShard[shard].removeAll(keepingCapacity: true) }
            buffers.sales.removeAll(keepingCapacity: true)
        }
        // The sales of the batch, named by the commands' `saleIndex`.
        for request in requests {
            var command = ShardCommand(request: request, cardHashKey: cardHashKey, sink: number)
            if let sale = request.sale {
                buffers.sales.append(sale)
                command.saleIndex = UInt32(buffers.sales.count)
            }
            buffers.perShard[ShardState.shard(of: command.cardHash, shardCount: shards.count)].append(command)
        }
        for shard in buffers.perShard.indices where !buffers.perShard[shard].isEmpty {
            let commands = buffers.perShard[shard]
            let accepted = shards[shard].queue.push(contentsOf: commands, sales: buffers.sales)
            for command in commands[accepted...] {
                refused.append(LedgerReply(tag: command.tag, key: command.key, status: .overloaded))
            }
        }
        return refused
    }

    /// Buffers one submitter reuses across `submit` calls (see `submit(_:to:buffers:)`); not shared between threads.
    public struct SubmitBuffers {
        var perShard: [[ShardCommand]] = []
        var sales: [SaleDetail] = []
        public init() {}
    }

    /// Synchronous convenience for tests and tools: submits and waits for the durable reply.
    /// Never call it from a sink's `deliver` (that runs on a shard thread, which would wait for itself).
    public func perform(_ request: LedgerRequest) -> LedgerReply {
        let sink = waitingSinks.withLock { $0.popLast() } ?? WaitingSink()
        defer { waitingSinks.withLock { $0.append(sink) } }
        guard submit(request, to: sink) else {
            return LedgerReply(tag: request.tag, key: request.key, status: .overloaded)
        }
        return sink.wait()
    }

    /// Drains every queue, commits, writes a snapshot per shard and stops the threads; returns once the directory's
    /// lock is free, so the same process can reopen it at once. Idempotent.
    public func close() { close(snapshot: true) }

    /// With `snapshot: false`, stops as a crash would right after the last commit: no final snapshot, so the
    /// next open replays the log. For recovery tests and the recovery benchmark; services call `close()`.
    public func close(snapshot: Bool) {
        closeState.lock()
        defer { closeState.unlock() }
        guard !isClosed else { return }
        isClosed = true
        for shard in shards { shard.stopAndWait(snapshot: snapshot) }
        if !DataDirectory.unlock(directory, descriptor: lock) {
            configuration.log(
                "\(directory)/ledger.lock is still held \(DataDirectory.unlockWaitMsMax) ms after close: another "
                    + "process holds it")
        }
    }

    /// The latest time on any record in the log when it was opened (nil for an empty log). New records are
    /// stamped no earlier than this.
    public var newestRecordTimeMs: Int64? { recoveryReports.compactMap(\.newestRecordTimeMs).max() }

    /// Each shard's commits, members and stop reason, in shard order; readable from any thread at any time
    /// (health checks and metrics), without touching the shards.
    public var shardStatistics: [ShardStatistics] { shards.map(\.statistics) }

    /// One shard's statistics, without building the array (a budget miss asks for its card's shard).
    public func statistics(ofShard index: Int) -> ShardStatistics {
        precondition(index >= 0 && index < shards.count, "a shard of the ledger")
        return shards[index].statistics
    }
    /// Each shard's members by tier, lot values and sales per merchant, readable from any thread (the dashboard).
    public var shardFigures: [ShardFigures] { shards.map(\.figures) }
    /// Each shard's condition, in shard order (see `health`).
    var shardConditions: [ShardCondition] { shards.map { $0.faults.condition } }

    /// Each shard's key store when it stopped (runs, bytes, index RAM, merges). Read after `close`.
    public var keyStoreStatistics: [KeyStoreStatistics] { shards.map(\.keyStatistics) }

    /// Write statistics per shard since open: (records, fdatasync calls). Read after `close`.
    public var commitStatistics: [(records: Int, syncs: Int)] {
        shards.map { ($0.writer.recordsWritten, $0.writer.syncCount) }
    }

    deinit { close() }
}

/// A sink that blocks the caller until one reply arrives. For `perform` only.
final class WaitingSink: LedgerReplySink, @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private var reply: LedgerReply?

    func deliver(_ replies: [LedgerReply]) {
        precondition(replies.count == 1 && reply == nil, "WaitingSink expects exactly one reply")
        reply = replies[0]
        semaphore.signal()
    }

    /// Waits for the reply and resets for the next use.
    func wait() -> LedgerReply {
        semaphore.wait()
        defer { reply = nil }
        return reply!
    }
}

/// What recovery did for one shard.
public struct ShardRecoveryReport: Sendable {
    public var snapshotSequence: UInt64
    public var recordsReplayed: Int
    public var recordsVerified: Int
    public var lastSequence: UInt64
    public var tornTail: TornTail?
    /// With `acceptsLogDamage`: the damage the log was cut at and what was set aside (nil: the log was sound).
    public var acceptedDamage: AcceptedLogDamage?
    public var members: Int
    /// The latest time stamped on a record of the shard's log, in milliseconds since the epoch (nil: empty log).
    public var newestRecordTimeMs: Int64?
    /// Approved admin API changes among the replayed records, in log order (the audit trail's repair reads them).
    public var adminRecords: [AdminRecord]

    init(_ report: ShardRecovery.Report, members: Int) {
        adminRecords = report.adminRecords
        snapshotSequence = report.snapshotSequence
        recordsReplayed = report.recordsReplayed
        recordsVerified = report.recordsVerified
        lastSequence = report.lastSequence
        tornTail = report.tornTail
        acceptedDamage = report.acceptedDamage
        self.members = members
        newestRecordTimeMs = report.newestRecordTimeMs
    }
}
