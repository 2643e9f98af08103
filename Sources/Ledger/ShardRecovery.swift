/// Rebuilds one shard's state from its newest snapshot and the log after it.
struct ShardRecovery {
    struct Report {
        var snapshotSequence: UInt64
        var snapshotPath: String?
        var recordsReplayed: Int
        var recordsVerified: Int
        var lastSequence: UInt64
        var tornTail: TornTail?
        /// With the operator's override: the damage the log was cut at (nil: sound).
        var acceptedDamage: AcceptedLogDamage?
        var position: WALPosition
        /// The latest time stamped on a record of the log (nil for an empty log).
        var newestRecordTimeMs: Int64?
        /// Approved admin API changes among the replayed records, in log order (for the audit trail's repair).
        var adminRecords: [AdminRecord] = []
        /// Where recovery's time went: the snapshot's load (by phase) and the replay of the log after it.
        var snapshotPhases = Snapshot.Phases()
        var replayNs: UInt64 = 0
    }

    let directory: String
    let readOnly: Bool
    /// The operator's `--accept-log-damage`: keep the sound part of a damaged log instead of refusing.
    var acceptsDamage = false
    /// False for a directory not yet opened by a build with segment headers (ledger.meta has no `segmentHeaders`).
    var directoryHasSegmentHeaders = true
    /// The log is only read, even where `readOnly` is false and request-key runs are written: a standby's
    /// checkpoint (StandbyCheckpoint) leaves its log to the follower that appends to it.
    var scansLogReadOnly = false
    /// Read-only, of a directory a writer serves: the log is read up to each segment's acknowledged mark
    /// (`WALReader.live`).
    var live = false

    /// Tests only: called by a live recovery once its snapshot is loaded, before the log is read (the shard's
    /// directory and the snapshot's sequence), to play a checkpoint completing in between.
    nonisolated(unsafe) static var afterSnapshotChosen: ((String, UInt64) -> Void)? = nil

    func recover(into state: ShardState) throws(LedgerError) -> Report {
        precondition(state.members.count == 0 && state.idempotency.count == 0, "recovery starts from an empty state")
        var afterSequence: UInt64 = 0
        var snapshotCRC: UInt32?
        var adminRecords: [(key: IdempotencyKey, record: AdminRecord)] = []
        var snapshotPhases = Snapshot.Phases()
        // A served log's segments are pinned before the snapshot is chosen (`SegmentPins`).
        let pins = live ? try SegmentPins(directory: directory) : nil
        let snapshotPath = try Snapshot.newest(in: directory)
        state.idempotency.store = KeyStore(
            directory: directory, shardIndex: state.shardIndex, bufferCapacity: state.limits.keyBufferEntriesMax,
            readOnly: readOnly)
        state.idempotency.store?.mergeSpanMaxMs = state.limits.idempotencyRetentionMs / 8
        if let snapshotPath {
            let loaded = try Snapshot.load(path: snapshotPath, into: state)
            afterSequence = loaded.sequence
            snapshotCRC = loaded.lastCRC
            snapshotPhases = loaded.phases
        } else {
            try state.idempotency.store?.open(runsFirstSequence: 1, runsThrough: 0)
        }
        if live { Self.afterSnapshotChosen?(directory, afterSequence) }
        let replayStartNs = ShardStatistics.now()
        precondition(!live || readOnly, "only a read-only recovery reads a served log")
        var reader = WALReader(
            directory: directory, readOnly: readOnly || scansLogReadOnly, acceptsDamage: acceptsDamage,
            directoryHasSegmentHeaders: directoryHasSegmentHeaders)
        reader.live = live
        reader.pins = pins
        var sequence = afterSequence
        let outcome = try reader.scan(
            afterSequence: afterSequence, snapshotCRC: snapshotCRC,
            prefetch: { body in Self.prefetch(body, state: state) }
        ) { body, file, offset throws(LedgerError) in
            // Records after the snapshot are contiguous (the reader checks it), so this is the record's sequence.
            sequence += 1
            try Self.replay(body, sequence: sequence, into: state, file: file, offset: offset)
            if let record = AdminRecord(body) { adminRecords.append((body.command.key, record)) }
            // A cross-shard change the other shard refused was undone here: it never happened, no entry.
            if body.command.kind == .transferDone && body.command.destinationStatus != .approved {
                adminRecords.removeAll { $0.key == body.command.key }
            }
        }
        precondition(outcome.position.nextSequence > afterSequence, "the log ends at or after the snapshot")
        precondition(
            sequence >= afterSequence + UInt64(outcome.recordsReplayed) && outcome.recordsReplayed
                <= outcome.recordsVerified, "each record replayed once")
        return Report(
            snapshotSequence: afterSequence, snapshotPath: snapshotPath, recordsReplayed: outcome.recordsReplayed,
            recordsVerified: outcome.recordsVerified, lastSequence: outcome.position.nextSequence - 1,
            tornTail: outcome.tornTail, acceptedDamage: outcome.acceptedDamage, position: outcome.position,
            newestRecordTimeMs: outcome.newestTimeMs, adminRecords: adminRecords.map(\.record),
            snapshotPhases: snapshotPhases, replayNs: ShardStatistics.now() - replayStartNs)
    }

    /// Starts the next record's hash-table misses while this one is applied (an unchecked hint only).
    static func prefetch(_ body: UnsafeRawPointer, state: ShardState) {
        var key = ByteReader(base: body + WALRecord.keyOffset, count: 32)
        var hash = ByteReader(base: body + WALRecord.cardHashOffset, count: 16)
        guard let nextKey = key.key(), let nextHash = hash.cardHash() else { return }
        state.idempotency.prefetch(nextKey, terminalReference: .zero)
        state.cards.prefetch(nextHash)
    }

    /// Why the decision a record carries cannot be replayed (nil: it can): the decider refuses its bytes, or the
    /// ledger has no decider to read them. Checked before anything changes, as a malformed body is.
    static func unreadableDecision(_ command: ShardCommand, _ state: ShardState) -> String? {
        guard command.isDecided || command.isPay else { return nil }
        guard let decider = state.decisions else {
            return "a loyalty decision, and the ledger was opened without a decider"
        }
        guard command.isDecided, command.kind != .balance else { return nil }
        if decider.memberState(decoding: command.memberAfter) == nil { return "malformed member state" }
        if command.kind == .earn && decider.purchaseEffect(decoding: command.purchaseEffect) == nil {
            return "malformed purchase effect"
        }
        return nil
    }

    /// Re-applies a record and checks it reproduces the recorded outcome: the read side of the invariants.
    static func replay(
        _ body: WALRecord.Body, sequence: UInt64, into state: ShardState, file: String, offset: Int64
    ) throws(LedgerError) {
        precondition(sequence >= 1, "records are numbered from 1")
        var command = body.command
        if let reason = unreadableDecision(command, state) {
            throw .damagedLog(file: file, offset: offset, reason: reason)
        }
        state.idempotency.beginRecord(sequence: sequence, nowMs: body.timeMs)
        state.idempotency.isReplayingLoggedRecord = true
        let result = state.apply(&command, nowMs: body.timeMs)
        state.idempotency.isReplayingLoggedRecord = false
        precondition(command.kind == body.command.kind && command.key == body.command.key, "replay keeps the command")
        if state.idempotency.sawDamage {
            throw .damagedKeyRun(
                file: file, reason: "a request-key run read while replaying offset \(offset) fails its checksum")
        }
        guard command.options == body.command.options else {
            throw .replayMismatch(file: file, offset: offset, reason: "a purchase without its recorded decision")
        }
        guard result.isLogged else {
            throw .replayMismatch(file: file, offset: offset, reason: "record would not have been logged")
        }
        guard result.reply.status == body.status else {
            throw .replayMismatch(
                file: file, offset: offset, reason: "status \(result.reply.status) where \(body.status) was recorded")
        }
        guard result.reply.balance == body.balanceAfter else {
            throw .replayMismatch(file: file, offset: offset, reason: "balance differs from the recorded one")
        }
        guard body.undone == nil || body.undone == WALRecord.undone(body.command.kind, result.reply) else {
            throw .replayMismatch(file: file, offset: offset, reason: "undone amounts differ from the recorded ones")
        }
        if let disagreement = state.holds.disagreement(member: Int(result.touchedMember)) {
            throw .replayMismatch(file: file, offset: offset, reason: disagreement)
        }
        if let disagreement = state.lotDisagreement(member: Int(result.touchedMember)) {
            throw .replayMismatch(file: file, offset: offset, reason: disagreement)
        }
        precondition(result.touchedMember < Int32(state.members.count), "the touched member exists")
    }
}
