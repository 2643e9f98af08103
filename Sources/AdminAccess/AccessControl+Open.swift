import Glibc

/// What opening found, for the log.
public struct AccessOpenReport: Sendable {
    public let entryCount: UInt64
    public let userCount: Int
    public let rememberedAnswers: Int
    /// Members in the directory (with a name, phone or birthday).
    public let directoryMembers: Int
    /// Bytes of a torn last line cut from the journal (an entry never acknowledged), 0 normally.
    public let tornJournalBytes: Int
    public let tornPrivateBytes: Int
}

extension AccessControl {
    /// Opens (creating on first use) `DATA/audit/`, takes its lock, checks the journal's whole chain, rebuilds
    /// users from it, reads the private file, cuts a torn last line from either file (a write a crash cut
    /// short, never acknowledged), rewrites the private file with only what is still live, and starts the
    /// journal thread. A broken entry before the end refuses the start with the file, seq and offset.
    public static func open(
        dataDirectory: String, settings: AccessSettings = AccessSettings(),
        clockMs: @escaping @Sendable () -> Int64 = AuditTime.nowMilliseconds
    ) throws(AccessError) -> (AccessControl, AccessOpenReport) {
        let directory = AuditJournalFile.directory(dataDirectory: dataDirectory)
        try AccessFile.makeDirectory(directory)
        let lockDescriptor = try AccessFile.lock(directory + "/" + AuditJournalFile.lockName)
        do {
            return try open(directory: directory, settings: settings, clockMs: clockMs, lock: lockDescriptor)
        } catch {
            Glibc.close(lockDescriptor)
            throw error
        }
    }

    private static func open(
        directory: String, settings: AccessSettings, clockMs: @escaping @Sendable () -> Int64, lock: Int32
    ) throws(AccessError) -> (AccessControl, AccessOpenReport) {
        let journalPath = directory + "/" + AuditJournalFile.journalName
        var state = State(
            idempotency: IdempotencyStore(
                retentionMs: settings.idempotencyRetentionMs, keysMax: settings.idempotencyKeysMax),
            directory: MemberDirectory(membersMax: settings.directoryMembersMax))
        let (start, sealed) = try resumeFromCheckpoint(directory: directory, journalPath: journalPath, into: &state)
        var created = sealed
        let journal = try AuditJournalFile.read(path: journalPath, from: start) { entry, _ in
            if entry.action == "users.create", let user = user(from: entry) {
                created.append((user, entry.seq))
            } else if entry.action == "users.delete", entry.target.hasPrefix("users/") {
                let id = String(entry.target.dropFirst(6))
                created.removeAll { $0.user.id == id }
            }
            if let operation = entry.operation {
                state.operations.insert(operation)
                state.highestOperation = max(state.highestOperation ?? 0, operation)
            }
        }
        if let damage = journal.damage {
            throw AccessError(
                "audit journal damaged: \(damage); the switch does not start on a broken trail (keep the file as "
                    + "evidence; `loyalty-switch audit verify` names the same entry)")
        }
        let journalDescriptor = try AccessFile.open(journalPath, flags: O_RDWR | O_CREAT)
        try AccessFile.truncate(journalDescriptor, length: journal.end, path: journalPath)
        if journal.tornTailBytes > 0 { try AccessFile.dataSync(journalDescriptor, path: journalPath) }
        state.nextSeq = journal.entryCount + 1
        state.lastHash = journal.lastHash
        state.offsets = journal.offsets
        state.plannedEnd = journal.end
        state.durableEnd = journal.end
        let (tokenHashes, tornPrivate) = try readPrivate(
            directory: directory, lastSeq: journal.entryCount, nowMs: clockMs(), into: &state)
        for (user, seq) in created {
            // A journaled user always has its hash (written first); a missing one cannot log in.
            let hash = tokenHashes[user.id] ?? []
            state.users[user.id] = UserRecord(user: user, tokenHash: hash, durable: true, seq: seq)
            if !hash.isEmpty { state.tokens[hash] = user.id }
        }
        let privatePath = directory + "/" + AuditJournalFile.privateName
        let live = liveRecords(state)
        try AccessFile.writeAtomically(directory: directory, name: AuditJournalFile.privateName, live)
        let privateDescriptor = try AccessFile.open(privatePath, flags: O_RDWR)
        state.checkpointSeq = start.entryCount
        if journal.entryCount - start.entryCount >= settings.checkpointEntriesBetween {
            // What was read may still be only in the page cache (a writer killed before its sync): the checkpoint
            // must never seal entries a power loss could take back.
            try AccessFile.dataSync(journalDescriptor, path: journalPath)
            try checkpoint(state, journal: journal, created: created.map(\.seq)).write(directory: directory)
            state.checkpointSeq = journal.entryCount
        }
        let writer = AuditJournalWriter(
            journalPath: journalPath, journalDescriptor: journalDescriptor, journalEnd: journal.end,
            journalCRC: journal.crc,
            privatePath: privatePath, privateDescriptor: privateDescriptor, privateEnd: Int64(live.count),
            unitsQueuedMax: settings.unitsQueuedMax)
        let readDescriptor = try AccessFile.open(journalPath, flags: O_RDONLY)
        let report = AccessOpenReport(
            entryCount: journal.entryCount, userCount: state.users.count,
            rememberedAnswers: state.idempotency.count, directoryMembers: state.directory.count,
            tornJournalBytes: journal.tornTailBytes,
            tornPrivateBytes: tornPrivate)
        let control = AccessControl(
            directory: directory, settings: settings, clockMs: clockMs, state: state, writer: writer,
            readDescriptor: readDescriptor, lockDescriptor: lock)
        writer.start()
        return (control, report)
    }

    /// The journal's state after its checkpoint (verified against the journal, see `AuditJournalCheckpoint`),
    /// the users it sealed, and its operation ids loaded into `state`; an empty start without a checkpoint. A
    /// journal that does not match its checkpoint refuses the start: the full read names the damaged entry, or,
    /// when the chain itself is whole, the sealed entries were rewritten or removed.
    private static func resumeFromCheckpoint(
        directory: String, journalPath: String, into state: inout State
    ) throws(AccessError) -> (AuditJournalState, [(user: AdminUser, seq: UInt64)]) {
        guard let checkpoint = try AuditJournalCheckpoint.read(directory: directory) else {
            return (AuditJournalState(), [])
        }
        guard let (start, userEntries) = try AuditJournalFile.resume(path: journalPath, checkpoint: checkpoint) else {
            let path = directory + "/" + AuditJournalCheckpoint.fileName
            let damage = try AuditJournalFile.verify(auditDirectory: directory).damage
            let what = damage?.description ?? "it does not hold the \(checkpoint.entryCount) entries \(path) sealed"
            throw AccessError(
                "audit journal damaged: \(what); the switch does not start on a broken trail (keep the files as "
                    + "evidence; `loyalty-switch audit verify` checks the whole chain)")
        }
        state.operations = Set(checkpoint.operations)
        state.highestOperation = checkpoint.operations.last
        return (start, userEntries.compactMap { entry in user(from: entry).map { ($0, entry.seq) } })
    }

    /// The checkpoint of a state whose every entry is verified and durable (nothing queued).
    static func checkpoint(_ state: State, journal: AuditJournalState, created: [UInt64]) -> AuditJournalCheckpoint {
        AuditJournalCheckpoint(
            entryCount: journal.entryCount, end: journal.end, journalCRC: journal.crc, lastHash: journal.lastHash,
            userSeqs: created.sorted(), operations: state.operations.sorted())
    }

    /// Token hashes by user; remembered answers (those still within the retention) and members' texts loaded into
    /// `state`, each only when its audit entry, if any, is durable. A torn last line is ignored (the file is
    /// rewritten next); a broken line before it refuses the start.
    private static func readPrivate(
        directory: String, lastSeq: UInt64, nowMs: Int64, into state: inout State
    ) throws(AccessError) -> (tokens: [String: [UInt8]], tornBytes: Int) {
        let path = directory + "/" + AuditJournalFile.privateName
        guard AccessFile.exists(path) else { return ([:], 0) }
        let descriptor = try AccessFile.open(path, flags: O_RDONLY)
        defer { Glibc.close(descriptor) }
        var tokens: [String: [UInt8]] = [:]
        var broken: Int64?
        let scanned = try LineReader.scan(descriptor, path: path, lineBytesMax: 1 << 20) { line, offset in
            switch PrivateRecord.parse(line) {
            case .token(let user, let hash): tokens[user] = hash
            case .idempotency(let record, let seq):
                if (seq ?? 0) <= lastSeq { state.idempotency.load(record, nowMs: nowMs) }
            case .member(let key, let texts, let seq):
                if (seq ?? 0) <= lastSeq { state.directory.load(key, texts) }
            case nil:
                broken = offset
                return false
            }
            return true
        }
        if let broken {
            throw AccessError("\(path): the record at byte offset \(broken) is not readable; refusing to start")
        }
        return (tokens, scanned.tailBytes)
    }

    /// The private file's content after a start: the token hashes of users that exist, the answers still
    /// remembered and the member directory (one record per member: the start's cost grows with the directory,
    /// a write's does not).
    private static func liveRecords(_ state: State) -> [UInt8] {
        var bytes: [UInt8] = []
        for (id, record) in state.users.sorted(by: { $0.key < $1.key }) where !record.tokenHash.isEmpty {
            bytes += PrivateRecord.token(user: id, hash: record.tokenHash).line()
        }
        for record in state.idempotency.records {
            // The audit seq of a kept answer is durable by now: it is written without one.
            bytes += PrivateRecord.idempotency(record, seq: nil).line()
        }
        for (key, texts) in state.directory.entries {
            bytes += PrivateRecord.member(key, texts, seq: nil).line()
        }
        return bytes
    }
}
