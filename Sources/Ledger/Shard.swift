import Foundation
import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// One shard: its state, its log, its queue and the one thread that touches them.
///
/// Loop: take everything queued, apply it in memory while encoding log records, commit the batch (one write,
/// one fdatasync), then deliver the replies. What arrives during the commit waits in the queue and forms the
/// next batch, so batches grow with load (group commit).
final class Shard: @unchecked Sendable {
    /// The checkpoint thread's nice value: on busy cores the shard and the ISO loops come first; the copy budget
    /// bounds what a slow checkpoint costs (it is abandoned and tried again, never waited for).
    static let checkpointNice: Int32 = 10
    /// The longest a paced checkpoint is let take: a state too big for `checkpointBytesPerSecondMax` to write in
    /// this time is written faster, so a report's wait (`reportCheckpointWaitMs`, 30 s) and the copy budget hold
    /// at any size (at 32 MiB/s: states above ~640 MB, ~1.7M members on one shard).
    static let checkpointPacedSecondsMax = 20
    let index: Int
    let state: ShardState
    let writer: WALWriter
    let queue: ShardQueue
    let directory: String
    let configuration: LedgerConfiguration
    let sinks: SinkRegistry
    /// Commits, members and a stop, for health checks and metrics (read-only to everyone but this thread).
    let statistics = ShardStatistics()
    /// Members by tier, lot values and sales per merchant, for the dashboard (`Ledger.shardFigures`).
    let figures = ShardFigures()
    /// Set once before the thread starts; used to hand transfer halves to other shards.
    var peers: [Shard] = []
    private var replies = ReplyBatch()
    private var transfersToSend: [(ShardCommand, OutboxTransfer)] = []
    private var acknowledgements: [(Int, ShardCommand)] = []
    /// Commands on cards that forward to another shard, per member's shard, handed over after the batch's commit.
    private var forwards: [[ShardCommand]] = []
    private var batchTimeMs: Int64 = 0
    /// The sales of the commands taken in this batch (`ShardCommand.saleIndex` - 1); emptied once it is committed
    /// and its forwards handed over.
    private var batchSales: [SaleDetail] = []
    private var recordsSinceSnapshot = 0
    /// Set when the log failed (fail-stop): the shard declines everything until a restart.
    var failure: LedgerError?
    /// The shard's condition for health checks, and what it keeps while declining (Shard+Faults.swift).
    let faults = ShardFaults()
    /// What the log consumers (notification outbox, history indexer) still read of this shard's log (kept past
    /// snapshots, each within its bound).
    let logHold = LogHold()
    /// The newest durable checkpoint and the reports that wait for a fresh one (CheckpointRequests.swift).
    let checkpointRequests: CheckpointRequests
    /// The key store's figures when the shard stopped.
    private(set) var keyStatistics = KeyStoreStatistics()
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// 1 when no snapshot is being written.
    private let snapshotSlot = DispatchSemaphore(value: 1)
    /// The checkpoint being written while the shard serves, and the memory its saved chunks may take.
    private var checkpoint: Checkpoint?
    private let copyBudget: CheckpointCopyBudget
    /// The longest the shard spent on the checkpoint in one batch (its start, chunks saved) since it began.
    private var checkpointStallMaxNs: UInt64 = 0
    /// The latest checkpoint ran out of saved chunks: the next one is written unpaced (shard thread only).
    private var lastCheckpointAbandoned = false
    /// The current commit group's start (wall and thread CPU time) and whether a checkpoint was being written.
    private var group: (wallNs: UInt64, cpuNs: UInt64, checkpointing: Bool)?

    init(
        index: Int, state: ShardState, writer: WALWriter, directory: String, configuration: LedgerConfiguration,
        sinks: SinkRegistry
    ) {
        self.index = index
        self.sinks = sinks
        self.state = state
        self.writer = writer
        self.directory = directory
        self.configuration = configuration
        queue = ShardQueue(
            capacity: configuration.queueCapacity,
            internalReserve: configuration.transfersInFlightMax * configuration.shardCount * 2)
        copyBudget = CheckpointCopyBudget(bytesMax: configuration.checkpointCopyBytesMax)
        checkpointRequests = CheckpointRequests(directory: directory)
        statistics.recordMembers(state.members.count)
        figures.catchUp(state)
        forwards = Array(repeating: [], count: configuration.shardCount)
    }

    func start() {
        let thread = Thread { [self] in
            setThreadName("ledger-shard-\(index)")
            run()
            finished.signal()
        }
        thread.name = "ledger-shard-\(index)"
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    /// Before the thread starts: the ledger's time starts no earlier than `timeMs` (the newest record's time).
    func keepTime(atLeast timeMs: Int64) {
        precondition(thread == nil, "the shard's time is set before its thread starts")
        batchTimeMs = max(batchTimeMs, timeMs)
    }

    /// False only in tests that simulate a crash: the final snapshot is skipped, the log stays the truth.
    private var snapshotOnStop = true

    /// Stops after draining the queue, commits, and writes a final snapshot.
    func stopAndWait(snapshot: Bool = true) {
        snapshotOnStop = snapshot
        queue.requestStop()
        finished.wait()
    }

    private func run() {
        state.adoptCurrentThread()
        state.idempotency.store?.startBackgroundWrites()
        var batch: [ShardCommand] = []
        batch.reserveCapacity(configuration.queueCapacity + queue.internalReserve)
        while true {
            statistics.recordPhase(.waiting)
            let stop = queue.takeAll(into: &batch, sales: &batchSales, waitAtMostMs: waitAtMostMs)
            statistics.recordPhase(batch.isEmpty ? .upkeep : .applying)
            if queue.lastBatchQueuedSinceNs > 0 {
                statistics.queueWaitNanoseconds.observe(monotonicNanoseconds() &- queue.lastBatchQueuedSinceNs)
            }
            // One version of the rules decides the whole batch (a reload applies from the next one).
            state.rules = state.decisions?.rulesInForce()
            // The ledger's time never goes backwards: a wall clock stepped back (NTP, an operator) keeps the last
            // time until it catches up, so records, holds, keys and lots stay in the order they happened.
            batchTimeMs = max(batchTimeMs, configuration.clockMs())
            if batch.isEmpty { idle() }
            if !batch.isEmpty { beginGroup() }
            processDeferred()
            for index in batch.indices {
                if index + 1 < batch.count { state.prefetch(for: batch[index + 1]) }
                process(&batch[index])
            }
            batch.removeAll(keepingCapacity: true)
            sweepLotsWhenDue()
            commitAndDeliver()
            statistics.recordPhase(.upkeep)
            batchSales.removeAll(keepingCapacity: true)
            watchReserve()
            endCheckpointWhenWritten()
            if configuration.snapshotIntervalRecords > 0
                && recordsSinceSnapshot >= configuration.snapshotIntervalRecords
            {
                checkpointStallMaxNs = takeSnapshot()
            }
            if checkpointRequests.isWanted.load(ordering: .acquiring) { checkpointForReport() }
            if stop { break }
        }
        syncMarkWhenIdle()
        if failure == nil && snapshotOnStop {
            takeSnapshot(wait: true)
        } else {
            snapshotSlot.wait()
            snapshotSlot.signal()
            endCheckpointWhenWritten()
        }
        if let store = state.idempotency.store {
            store.waitUntilIdle()
            store.adoptFinishedWork()
            keyStatistics = store.statistics
        }
        writer.close()
    }

    /// Works on the command in place in the batch (it is several hundred bytes: no copy per step).
    /// A command is declined before anything of it is applied when the log has no room for its batch (or the
    /// shard stopped), so a decline never leaves half an effect behind.
    func process(_ command: inout ShardCommand) {
        precondition(command.kind != .none, "an empty command reached the shard")
        let groupIsFull = copyBudget.savesPending >= configuration.checkpointSavesPerCommitMax
        if failure == nil && (!writer.hasRoomForRecord || groupIsFull) {
            // The log's batch is full, or the chunks saved for a checkpoint already cost this group its share:
            // what is done so far is committed and answered now, the rest forms the next group.
            commitAndDeliver()
            beginGroup()
        }
        guard failure == nil, !writer.isBatchEmpty || hasRoomForBatch() else {
            decline(command)
            return
        }
        if let home = state.forwardingShard(of: command) {
            forwards[home].append(command)
            return
        }
        state.applyRulesExpiry(&command, nowMs: batchTimeMs)
        state.resolveLotTerms(&command, nowMs: batchTimeMs)
        state.idempotency.beginRecord(sequence: writer.nextSequence, nowMs: batchTimeMs)
        let sale = sale(of: command)
        state.saleLines = sale?.lines ?? []
        let result = state.apply(&command, nowMs: batchTimeMs)
        precondition(result.reply.tag == command.tag || result.reply.tag == 0, "a reply answers its command or nobody")
        precondition(result.transferOut == nil || result.isLogged, "a transfer leaves only after its record")
        precondition(result.touchedMember < Int32(state.members.count), "the touched member exists")
        state.saleLines = []
        figures.applied(command, result, state)
        if result.isLogged {
            // The record is encoded from the command in place (a `Body` holding a copy of it cost one more copy).
            var facts = WALRecord.Facts(
                timeMs: batchTimeMs, status: result.reply.status, balanceAfter: result.reply.balance)
            facts.undone = WALRecord.undone(command.kind, result.reply)
            facts.member = state.memberKey(result.touchedMember, unlessCard: command.cardHash)
            if WALRecord.canCarrySale(command), let sale {
                facts.sale = sale
                facts.saleDebited = result.reply.status.isApproval ? result.reply.debited : .zero
            }
            checkBeforeWriting(command.kind, result)
            writer.append(command, facts)
            recordsSinceSnapshot += 1
        }
        if let bonus = result.bonusOut {
            var internalCommand = command
            internalCommand.sink = SinkRegistry.none
            transfersToSend.append((internalCommand, bonus))
        }
        if let transfer = result.transferOut {
            transfersToSend.append((command, transfer))
        } else {
            if let acknowledgement = result.transferAcknowledgement {
                let done = state.transferDoneCommand(key: acknowledgement.key, status: acknowledgement.status)
                acknowledgements.append((acknowledgement.sourceShard, done))
            }
            deliverLater(command, result.reply)
        }
    }

    /// The sale that came with a command of this batch (nil: none, and for internal commands).
    private func sale(of command: ShardCommand) -> SaleDetail? {
        guard command.saleIndex != 0 else { return nil }
        precondition(Int(command.saleIndex) <= batchSales.count, "a command names a sale its batch does not hold")
        return batchSales[Int(command.saleIndex) - 1]
    }

    func deliverLater(_ command: ShardCommand, _ reply: LedgerReply) {
        guard command.sink != SinkRegistry.none else { return }
        replies.add(reply, to: command.sink)
    }

    /// Invariants on the write side of the log boundary; recovery checks the same after reading back.
    private func checkBeforeWriting(_ kind: CommandKind, _ result: ApplyResult) {
        precondition(result.reply.status != .keyConflict && result.reply.status != .overloaded, "logged a refusal")
        precondition(kind != .none, "logged an empty command")
        if let disagreement = state.holds.disagreement(member: Int(result.touchedMember)) {
            preconditionFailure("before writing: \(disagreement)")
        }
        if result.reply.status.isApproval {
            precondition(!result.reply.credited.hasNegative && !result.reply.debited.hasNegative, "negative movement")
        }
        if let disagreement = state.lotDisagreement(member: Int(result.touchedMember)) {
            preconditionFailure("lots disagree with the balance before logging: \(disagreement)")
        }
    }

    /// Real (monotonic) time of the next lot sweep step. The step itself uses the batch's logged time.
    private var nextSweepNs: UInt64 = 0

    /// One bounded sweep step per `lotSweepIntervalMs` of real time, applied and logged like a command: up to
    /// `lotSweepMembersPerStep` members (one record per member whose value expired), then the expiry notices.
    private func sweepLotsWhenDue() {
        guard configuration.lotSweepIntervalMs > 0, failure == nil, faults.condition.isApproving else { return }
        let nowNs = monotonicNanoseconds()
        guard nowNs >= nextSweepNs else { return }
        nextSweepNs = nowNs + UInt64(configuration.lotSweepIntervalMs) * 1_000_000
        // A step looks at `lotSweepMembersPerStep` members from the cursor, going on from the first member past the
        // last. (It stopped at the last: after a restart the cursor is the last logged step's end, so a step began
        // mid-list and left the members before it to the next one — found by LotCrashTests under load.)
        let budget = min(configuration.lotSweepMembersPerStep, state.members.count)
        var looked = 0
        for _ in 0..<configuration.lotSweepMembersPerStep {
            guard looked < budget, var command = state.sweepCommand(membersMax: budget - looked, stopsAtExpiry: true)
            else { break }
            process(&command)
            looked += Int(command.sweepEndMember - command.sweepFirstMember)
        }
        precondition(looked <= budget, "a sweep step looks at each member once at most")
        noticeExpiringLots()
        greetBirthdays()
    }

    /// Up to `noticesPerStepMax` expiry notices looking at up to `lotSweepMembersPerStep` members, when the rules
    /// in force tell members (`expiryNoticeDays` > 0).
    private func noticeExpiringLots() {
        guard let days = state.rules?.expiryNoticeDays, days > 0 else { return }
        var looked = 0
        for _ in 0..<ShardState.noticesPerStepMax {
            guard
                var command = state.nextNotice(
                    nowMs: batchTimeMs, noticeDays: days, membersMax: configuration.lotSweepMembersPerStep,
                    looked: &looked)
            else { break }
            process(&command)
        }
    }

    /// Up to `birthdaysPerStepMax` birthday greetings looking at up to `lotSweepMembersPerStep` members, when the
    /// rules in force greet members (`notifications.birthdayGreeting`).
    private func greetBirthdays() {
        guard state.rules?.greetsBirthdays == true else { return }
        _ = state.greetBirthdays(
            nowMs: batchTimeMs, membersMax: configuration.lotSweepMembersPerStep,
            greetingsMax: ShardState.birthdaysPerStepMax
        ) { process(&$0) }
    }

    /// Makes the batch durable, then releases its replies and transfer messages. On an I/O error the shard
    /// stops accepting work: memory is ahead of the disk, and only a restart (recovery) makes them agree. The
    /// failed batch is never written again: its requests were answered `systemError`, so it must not become
    /// durable later, and the failure is logged once rather than at every batch after it.
    func commitAndDeliver() {
        if failure == nil, let error = state.idempotency.store?.failure {
            // A run of request keys could not be written: the shard stops as on a log failure (restart recovers).
            stop(after: error, in: "request-key run write")
        }
        if failure == nil {
            let records = writer.recordsInBatch
            let startNs = ShardStatistics.now()
            statistics.recordPhase(.committing)
            defer { statistics.recordPhase(.applying) }
            do {
                try writer.commit()
                if records > 0 {
                    statistics.recordCommit(records: records, nanoseconds: ShardStatistics.now() - startNs)
                }
            } catch {
                stop(after: error, in: "log commit")
            }
            statistics.recordMembers(state.members.count)
            figures.catchUp(state)
        }
        if failure != nil {
            replies.replaceStatus(with: .systemError)
            transfersToSend.removeAll()
            acknowledgements.removeAll()
        }
        for (command, transfer) in transfersToSend {
            var transferIn = state.transferInCommand(transfer)
            transferIn.sink = command.sink
            transferIn.tag = command.tag
            // The client's reply comes from the card's shard: it names the card the client's command named (the
            // replaced or the member's card), as the same command decided on one shard does. Not logged.
            if transferIn.kind == .forwardCard { transferIn.otherMasked = command.masked }
            peers[Int(transfer.destinationShard)].queue.pushInternal(transferIn)
        }
        transfersToSend.removeAll(keepingCapacity: true)
        for (sourceShard, done) in acknowledgements { peers[sourceShard].queue.pushInternal(done) }
        acknowledgements.removeAll(keepingCapacity: true)
        handOverForwards()
        // Last, so that a client who saw a transfer's reply finds its acknowledgement already queued.
        replies.deliver(through: sinks)
        endGroup()
    }

    /// Commands applied since the last commit form a group: one commit, one delivery of replies.
    private func beginGroup() {
        group = (ShardStatistics.now(), ShardStatistics.threadCPUNow(), checkpoint != nil)
    }

    /// The group's time goes to the statistics, apart when a checkpoint was being written, with the chunks saved.
    private func endGroup() {
        let cost = copyBudget.takeCost()
        // The shard's cost of a checkpoint per group: the chunks it saved (starting one is counted by the caller).
        checkpointStallMaxNs = max(checkpointStallMaxNs, cost.nanoseconds)
        if cost.saves > 0 { statistics.recordCheckpointStall(nanoseconds: max(cost.nanoseconds, 1)) }
        guard let started = group else { return }
        group = nil
        statistics.recordBatch(
            nanoseconds: ShardStatistics.now() - started.wallNs,
            cpuNanoseconds: ShardStatistics.threadCPUNow() - started.cpuNs,
            checkpointing: started.checkpointing || cost.saves > 0, chunksSaved: cost.saves)
    }

    /// Hands each member's shard the commands on its cards that forward from here: one lock per shard and batch.
    /// They count against that shard's client queue like any request: beyond it they are answered `overloaded`.
    /// After the commit, so the forwarding record a command relied on is durable before its member's shard acts.
    private func handOverForwards() {
        for home in forwards.indices where !forwards[home].isEmpty {
            precondition(home != index, "a card never forwards to its own shard")
            let accepted = failure == nil ? peers[home].queue.push(contentsOf: forwards[home], sales: batchSales) : 0
            for refused in forwards[home][accepted...] {
                let status: LedgerStatus = failure == nil ? .overloaded : .systemError
                deliverLater(refused, LedgerReply(tag: refused.tag, key: refused.key, status: status))
            }
            statistics.recordForwards(accepted)
            forwards[home].removeAll(keepingCapacity: true)
        }
    }

    /// Starts a checkpoint: the header and counts are taken here, the tables are written by a checkpoint thread
    /// while this one keeps serving and saves a chunk before its first write to it (Checkpoint.swift). One at a
    /// time: while one is being written, a periodic one is skipped (the log keeps everything until a snapshot
    /// covers it). `wait` (on stop) waits for the one in flight, then writes the final one on this thread.
    /// Returns the nanoseconds this thread spent starting it.
    @discardableResult
    private func takeSnapshot(wait: Bool = false) -> UInt64 {
        if wait {
            snapshotSlot.wait()
            endCheckpointWhenWritten()
        } else if checkpoint != nil || snapshotSlot.wait(timeout: .now()) != .success {
            return 0
        }
        let startNs = ShardStatistics.now()
        // Runs whose every key is past retention now are no longer listed; their files go once this is durable.
        state.idempotency.store?.expireRuns(nowMs: batchTimeMs, retentionMs: configuration.idempotencyRetentionMs)
        let expiredRuns = state.idempotency.store?.takeExpiredPaths() ?? []
        let store = state.idempotency.store
        let runsThrough = store?.runsThrough ?? 0
        store?.snapshotStarted(runsThrough: runsThrough)
        let started = Checkpoint(
            state, sequence: writer.nextSequence - 1, lastCRC: writer.lastCRC, budget: wait ? nil : copyBudget)
        started.startedNs = startNs
        started.timeMs = batchTimeMs
        checkpointRequests.started(nowNs: startNs)
        recordsSinceSnapshot = 0
        if wait {
            // At stop nothing is served: the last checkpoint goes at the disk's speed.
            writeSnapshot(started, store: store, expiredRuns: expiredRuns, runsThrough: runsThrough, paced: false)
            snapshotSlot.signal()
            return 0
        }
        // After an abandoned checkpoint the next one is not paced: a slow writer that keeps running out of saved
        // chunks would never cover the log.
        let paced = !lastCheckpointAbandoned
        checkpoint = started
        copyBudget.populateAhead(savableBytes: started.savableBytes)
        let thread = Thread { [self] in
            setThreadName("checkpoint-\(index)")
            setThreadNice(Self.checkpointNice)
            writeSnapshot(started, store: store, expiredRuns: expiredRuns, runsThrough: runsThrough, paced: paced)
            snapshotSlot.signal()
            // A report still waits (this one was abandoned, or started before it asked): the shard starts the next.
            if checkpointRequests.isWanted.load(ordering: .acquiring) { queue.wake() }
        }
        thread.name = "checkpoint-\(index)"
        thread.start()
        let startCost = ShardStatistics.now() - startNs
        statistics.recordCheckpointStart(nanoseconds: startCost)
        statistics.recordCheckpointStall(nanoseconds: max(startCost, 1))
        return startCost
    }

    /// A report waits for a fresh checkpoint: with no record after the newest durable one, that one is the state
    /// now (its time is refreshed, nothing is written); otherwise one starts, unless one is being written (the
    /// report then waits for it to end and asks again).
    private func checkpointForReport() {
        guard failure == nil, checkpoint == nil else { return }
        if checkpointRequests.durableSequence == writer.nextSequence - 1 {
            checkpointRequests.refreshed(nowNs: ShardStatistics.now(), timeMs: batchTimeMs)
        } else {
            checkpointStallMaxNs = takeSnapshot()
        }
    }

    /// Once the checkpoint thread no longer reads the state, writes stop saving chunks and the budget empties.
    private func endCheckpointWhenWritten() {
        guard let current = checkpoint, current.isFinished else { return }
        let saved = copyBudget.used
        let abandoned = copyBudget.isExhausted
        lastCheckpointAbandoned = abandoned
        current.end()
        checkpoint = nil
        statistics.recordCheckpoint(stallNanoseconds: checkpointStallMaxNs, abandoned: abandoned, chunksSaved: saved)
    }

    /// A checkpoint's pace: the configured one, or faster when the file would take longer than
    /// `checkpointPacedSecondsMax` at it.
    static func checkpointPace(bytes: Int, bytesPerSecondMax: Int64) -> Int64 {
        precondition(bytes >= 0 && bytesPerSecondMax > 0, "a size and a pace")
        let needed = Int64(bytes) / Int64(checkpointPacedSecondsMax)
        return min(max(bytesPerSecondMax, needed), CopyPace.bytesPerSecondMax)
    }

    /// Runs on the snapshot thread (or on the shard thread at stop); touches only the checkpoint's sources
    /// (through their regions) and files. `paced`: written at `checkpointBytesPerSecondMax` (when set), so the
    /// log's commits keep the disk.
    private func writeSnapshot(
        _ checkpoint: Checkpoint, store: KeyStore?, expiredRuns: [String], runsThrough: UInt64, paced: Bool
    ) {
        do throws(LedgerError) {
            // The snapshot relies on the runs written so far: none may still be in flight, none may have failed.
            if let store {
                store.waitUntilWritten()
                guard store.writeFailureCount == 0 else {
                    checkpoint.abandon()
                    checkpointRequests.ended()
                    configuration.log("shard \(index): snapshot skipped: a request-key run could not be written")
                    return
                }
            }
            let pace = paced && configuration.checkpointBytesPerSecondMax > 0
                ? CopyPace(bytesPerSecond: Self.checkpointPace(
                    bytes: checkpoint.fileBytes, bytesPerSecondMax: configuration.checkpointBytesPerSecondMax))
                : nil
            defer { if let pace { statistics.recordCheckpointPace(nanoseconds: pace.waitedNs) } }
            guard let path = try checkpoint.write(directory: directory, pace: pace) else {
                checkpointRequests.ended()
                configuration.log(
                    "shard \(index): checkpoint at sequence \(checkpoint.sequence) abandoned: the shard's writes "
                        + "needed more than checkpointCopyBytesMax (\(configuration.checkpointCopyBytesMax) bytes) "
                        + "of saved chunks; the log is kept and the next checkpoint tries again")
                return
            }
            // Reports pin the new file before the older ones go (CheckpointRequests).
            checkpointRequests.published(
                path: path, sequence: checkpoint.sequence, startedNs: checkpoint.startedNs, timeMs: checkpoint.timeMs)
            let dropThrough = logHold.dropThrough(snapshotSequence: checkpoint.sequence)
            try Snapshot.dropCovered(
                directory: directory, sequence: dropThrough, keeping: path, currentSegment: "",
                keepingSegments: configuration.keepsCoveredSegments,
                recyclingBytes: configuration.recyclesLogSegments ? configuration.segmentBytes : nil)
            for run in expiredRuns { try FileIO.remove(run) }
            store?.snapshotDurable(runsThrough: runsThrough)
        } catch {
            checkpointRequests.ended()
            configuration.log("shard \(index): snapshot failed (the log is kept, a later one retries): \(error)")
        }
    }
}

/// Replies of one batch grouped by sink, so each sink gets one `deliver` call per batch.
/// The number of distinct sinks is small (one per event loop); the search is linear. The lists are emptied, not
/// dropped, after a delivery (sinks copy what they are given), so a batch allocates nothing in steady state.
struct ReplyBatch {
    private var groups: [(sink: UInt16, replies: [LedgerReply])] = []
    /// Emptied lists kept for the next batch; past this many (short-lived sinks, one per `Ledger.perform`) they go.
    static let groupsKept = 16

    mutating func add(_ reply: LedgerReply, to sink: UInt16) {
        for index in groups.indices where groups[index].sink == sink {
            groups[index].replies.append(reply)
            return
        }
        groups.append((sink, [reply]))
    }

    mutating func replaceStatus(with status: LedgerStatus) {
        for group in groups.indices {
            for reply in groups[group].replies.indices { groups[group].replies[reply].status = status }
        }
    }

    mutating func deliver(through sinks: SinkRegistry) {
        for index in groups.indices where !groups[index].replies.isEmpty {
            sinks.sink(groups[index].sink).deliver(groups[index].replies)
            groups[index].replies.removeAll(keepingCapacity: true)
        }
        if groups.count > Self.groupsKept { groups.removeAll(keepingCapacity: true) }
    }
}
