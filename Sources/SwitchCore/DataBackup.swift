import AdminAccess
import Ledger

#if canImport(Glibc)
    import Glibc
#endif

/// `loyalty-switch ledger backup` and the scheduled backup: a consistent, verified copy of a data directory,
/// taken while the switch serves or not (docs/backup.md).
///
/// Order matters, because the parts are copied at different instants: the ledger's files are pinned first (so a
/// checkpoint cannot delete what the copy needs), then the notification progress, the history and the audit
/// journal are copied, and the ledger's log is read last. Every consumer's mark and every audit entry then
/// describes records the copied log holds; the log may hold a few more (as after a crash between a record and
/// its audit entry, which the switch handles at start).
public enum DataBackup {
    /// Directories copied beside the ledger, in this order; anything else in the data directory is not part of it.
    static let parts = ["notifications", "history", "sales", "imports"]
    /// Copied after the ledger's log: every version a copied record was decided under had its receipt names on
    /// disk before that record was written, so they are in the copy.
    static let partsAfterLog = [ReceiptNamesJournal.directoryName]

    /// Copies `data` into `target` (missing or empty), verifies the copy and writes its manifest last. On any
    /// failure whatever was written is removed, so no half backup has a manifest. With `pace` every file's copy
    /// shares its bytes-per-second cap (`backup.bytesPerSecondMax`, `--bytes-per-second`).
    public static func run(
        data: String, to target: String, decider: any Decider, nowMs: Int64, pace: CopyPace? = nil
    ) throws(BackupError) -> BackupManifest {
        let created = try prepareTarget(target)
        do throws(BackupError) {
            let ledger: LedgerCopy
            do { ledger = try LedgerCopy(root: data) } catch { throw BackupError("\(data): \(error)") }
            defer { ledger.close() }
            ledger.pace = pace
            for part in parts { try copyPart(part, from: data, to: target, pace: pace) }
            let auditEntries = try copyAudit(from: data, to: target, pace: pace)
            let sequences: [UInt64]
            do {
                try ledger.catchUp()
                sequences = try ledger.write(to: target)
            } catch { throw BackupError("copying the ledger: \(error)") }
            ledger.close()
            for part in partsAfterLog { try copyPart(part, from: data, to: target, pace: pace) }
            try verify(target, sequences: sequences, auditEntries: auditEntries, decider: decider)
            let manifest = BackupManifest(
                createdAtMs: nowMs, lastSequences: sequences, auditEntries: auditEntries,
                files: try digests(of: target))
            precondition(
                manifest.lastSequences == sequences && manifest.auditEntries == auditEntries,
                "the manifest says what was copied")
            try BackupFiles.writeAtomically(manifest.encoded(), directory: target, name: BackupManifest.fileName)
            return manifest
        } catch {
            discard(target, created: created)
            throw error
        }
    }

    /// Refuses a target that holds anything (an old backup would be mixed with the new one); creates a missing
    /// one. Returns true when it created it.
    static func prepareTarget(_ target: String) throws(BackupError) -> Bool {
        if let names = try BackupFiles.list(target) {
            guard names.isEmpty else {
                throw BackupError("\(target) is not empty (\(names.count) entries): a backup goes into a new or empty directory")
            }
            return false
        }
        try BackupFiles.makeDirectory(target)
        precondition(BackupFiles.isDirectory(target), "the target was made")
        return true
    }

    /// Removes what a failed backup wrote (the target itself only when it made it).
    static func discard(_ target: String, created: Bool) {
        if created {
            BackupFiles.removeTree(target)
            return
        }
        for name in (try? BackupFiles.list(target)) ?? [] { BackupFiles.removeTree(target + "/" + name) }
    }

    /// Copies a directory of files whole (skipping temp files and upload spools); a file that disappears while
    /// listed (history retention, a finished import) is left out. `progress` files are copied first.
    static func copyPart(_ part: String, from data: String, to target: String, pace: CopyPace?) throws(BackupError) {
        let source = data + "/" + part
        guard let names = try BackupFiles.list(source) else { return }
        let destination = target + "/" + part
        try BackupFiles.makeDirectory(destination)
        let ordered = names.filter { $0 == "progress" } + names.filter { $0 != "progress" }
        precondition(ordered.count == names.count, "every name is copied, progress first")
        for name in ordered where !name.hasSuffix(".tmp") && !name.hasSuffix(".csv") {
            guard !BackupFiles.isDirectory(source + "/" + name) else { continue }
            do {
                try BackupFiles.copy(source + "/" + name, to: destination + "/" + name, pace: pace)
            } catch {
                if BackupFiles.exists(source + "/" + name) { throw error }
            }
        }
        try BackupFiles.syncDirectory(destination)
    }

    /// The audit journal up to its last whole, chained entry, then the private file up to its last whole line
    /// (its records are written before their journal entries, so every copied entry finds its token). Returns the
    /// entries copied.
    static func copyAudit(from data: String, to target: String, pace: CopyPace?) throws(BackupError) -> UInt64 {
        let source = AuditJournalFile.directory(dataDirectory: data)
        guard BackupFiles.isDirectory(source) else { return 0 }
        let destination = AuditJournalFile.directory(dataDirectory: target)
        try BackupFiles.makeDirectory(destination)
        let journal = "/" + AuditJournalFile.journalName
        let state: AuditJournalState
        do { state = try AuditJournalFile.read(path: source + journal) } catch { throw BackupError("\(error)") }
        if let damage = state.damage { throw BackupError("the source's audit journal is damaged: \(damage)") }
        precondition(state.end >= 0, "the journal's whole entries end inside it")
        if BackupFiles.exists(source + journal) {
            try BackupFiles.copy(source + journal, to: destination + journal, length: state.end, pace: pace)
        }
        let privateFile = "/" + AuditJournalFile.privateName
        if BackupFiles.exists(source + privateFile) {
            let end = try BackupFiles.completeLinesEnd(source + privateFile)
            try BackupFiles.copy(source + privateFile, to: destination + privateFile, length: end, pace: pace)
        }
        try BackupFiles.syncDirectory(destination)
        return state.entryCount
    }
}
