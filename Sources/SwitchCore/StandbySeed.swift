import Ledger

#if canImport(Glibc)
    import Glibc
#endif

/// The start of a standby (`ledger follow`, docs/replication.md): a new or empty directory is seeded with a
/// verified backup of the primary (`DataBackup.run`: a consistent checkpoint, its log, the audit trail, the
/// consumers' progress, the card-hash key); a seeded one is resumed as it stands.
///
/// The backup's manifest is renamed `standby-seed.json` once the seed is whole: its presence says the seed
/// finished (a seed killed half way leaves a directory without it, which is refused rather than followed), and
/// the directory no longer passes for a backup whose manifest matches its files (its log grows after the seed).
public enum StandbySeed {
    public static let markerName = "standby-seed.json"

    /// What `prepare` found.
    public enum Start: Sendable {
        /// Seeded now, at the manifest's sequences.
        case seeded(BackupManifest)
        /// Seeded before: following resumes where the standby's log ends.
        case resumed
    }

    /// Seeds `standby` from `primary` when it is missing or empty; accepts a finished seed; refuses anything else.
    public static func prepare(
        primary: String, standby: String, decider: any Decider, nowMs: Int64
    ) throws(BackupError) -> Start {
        let names = try BackupFiles.list(standby) ?? []
        if names.contains(markerName) { return .resumed }
        if names.contains(BackupManifest.fileName) {
            // Killed between the seed's last write and the rename: the seed is whole.
            try markSeeded(standby)
            return .resumed
        }
        guard names.isEmpty else {
            throw BackupError(
                "\(standby) holds \(names.count) entries but no \(markerName): not a standby (a seed that did not "
                    + "finish, or another directory); follow into a new or empty directory")
        }
        let manifest = try DataBackup.run(data: primary, to: standby, decider: decider, nowMs: nowMs)
        precondition(
            BackupFiles.exists(standby + "/" + BackupManifest.fileName), "a seed's backup wrote its manifest last")
        try markSeeded(standby)
        return .seeded(manifest)
    }

    private static func markSeeded(_ standby: String) throws(BackupError) {
        let from = standby + "/" + BackupManifest.fileName
        guard rename(from, standby + "/" + markerName) == 0 else { throw BackupFiles.failure("rename", from) }
        precondition(!BackupFiles.exists(from), "a seeded standby no longer passes for a backup")
        try BackupFiles.syncDirectory(standby)
    }
}
