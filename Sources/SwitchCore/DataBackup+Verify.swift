import AdminAccess
import Ledger

extension DataBackup {
    /// Opens the copy read-only as `ledger verify` and `audit verify` do: it must recover without a torn tail to
    /// the sequences copied, and its journal must chain to the entries copied.
    static func verify(
        _ directory: String, sequences: [UInt64]?, auditEntries: UInt64?, decider: any Decider
    ) throws(BackupError) {
        var configuration = LedgerConfiguration()
        configuration.decider = decider
        let totals: LedgerTotals
        do {
            totals = try Ledger.inspect(directory: directory, configuration: configuration)
        } catch { throw BackupError("ledger verify of \(directory) failed: \(error)") }
        if let torn = totals.tornTails.first {
            throw BackupError("ledger verify of \(directory): a torn tail in \(torn.file) at offset \(torn.offset)")
        }
        if let sequences, totals.lastSequences != sequences {
            throw BackupError(
                "ledger verify of \(directory): the log ends at sequences \(totals.lastSequences), "
                    + "the copy was cut at \(sequences)")
        }
        let journal: AuditJournalState
        do { journal = try AuditJournalFile.verify(dataDirectory: directory) } catch {
            throw BackupError("audit verify of \(directory) failed: \(error)")
        }
        if let damage = journal.damage { throw BackupError("audit verify of \(directory): \(damage)") }
        if journal.tornTailBytes > 0 {
            throw BackupError("audit verify of \(directory): \(journal.tornTailBytes) bytes after the last whole entry")
        }
        if let auditEntries, journal.entryCount != auditEntries {
            throw BackupError(
                "audit verify of \(directory): \(journal.entryCount) entries where \(auditEntries) were copied")
        }
        precondition(journal.damage == nil && journal.tornTailBytes == 0, "a verified copy has a whole journal")
    }

    /// Every file under `directory` (relative paths, sorted, the manifest itself left out) with its digest.
    static func digests(of directory: String) throws(BackupError) -> [BackupManifest.Entry] {
        var entries: [BackupManifest.Entry] = []
        for path in try files(under: directory) where path != BackupManifest.fileName {
            entries.append(.init(path: path, digest: try FileDigest.of(path: directory + "/" + path)))
        }
        assert(entries.allSatisfy { BackupManifest.isSafe($0.path) }, "digests name paths inside the backup")
        return entries
    }

    /// Relative paths of the regular files under `directory`, two levels deep at most (our layout).
    static func files(under directory: String) throws(BackupError) -> [String] {
        var found: [String] = []
        for name in try BackupFiles.list(directory) ?? [] {
            guard BackupFiles.isDirectory(directory + "/" + name) else {
                found.append(name)
                continue
            }
            for child in try BackupFiles.list(directory + "/" + name) ?? [] {
                guard !BackupFiles.isDirectory(directory + "/" + name + "/" + child) else {
                    throw BackupError("\(directory)/\(name)/\(child): a directory where only files are expected")
                }
                found.append(name + "/" + child)
            }
        }
        assert(found.allSatisfy { !$0.hasPrefix("/") && !$0.isEmpty }, "relative paths of files")
        return found
    }
}
