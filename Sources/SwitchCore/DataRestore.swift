import Ledger

/// `loyalty-switch ledger restore --from BACKUP --data DIR`: checks the backup against its manifest (every file's
/// size and checksums, naming the first damaged byte range), checks it opens as a ledger and an audit journal,
/// then copies it into a new or empty data directory and checks that again. Nothing is written into `DIR` before
/// the backup is known good.
public enum DataRestore {
    public static func run(from backup: String, to data: String, decider: any Decider) throws(BackupError) -> BackupManifest {
        let manifest = try BackupManifest.read(directory: backup)
        try check(backup, against: manifest)
        try DataBackup.verify(
            backup, sequences: manifest.lastSequences, auditEntries: manifest.auditEntries, decider: decider)
        let created = try DataBackup.prepareTarget(data)
        do throws(BackupError) {
            var directories: Set<String> = []
            for entry in manifest.files {
                if let slash = entry.path.lastIndex(of: "/") {
                    let directory = String(entry.path[..<slash])
                    if directories.insert(directory).inserted { try BackupFiles.makeDirectory(data + "/" + directory) }
                }
                // Segments get their whole size allocated again, so the restored ledger's appends need no space.
                let isSegment = entry.path.hasSuffix(".log")
                try BackupFiles.copy(backup + "/" + entry.path, to: data + "/" + entry.path, allocate: isSegment)
            }
            precondition(directories.count <= manifest.files.count, "a directory per listed file at most")
            for directory in directories { try BackupFiles.syncDirectory(data + "/" + directory) }
            try BackupFiles.syncDirectory(data)
            try DataBackup.verify(
                data, sequences: manifest.lastSequences, auditEntries: manifest.auditEntries, decider: decider)
            return manifest
        } catch {
            DataBackup.discard(data, created: created)
            throw error
        }
    }

    /// Every listed file is there with its size and checksums; a file the manifest does not list is refused too
    /// (the backup is not the one the manifest describes).
    static func check(_ backup: String, against manifest: BackupManifest) throws(BackupError) {
        let listed = Set(manifest.files.map(\.path))
        for path in try DataBackup.files(under: backup) where path != BackupManifest.fileName && !listed.contains(path) {
            throw BackupError("\(backup)/\(path) is not in the manifest: refusing a backup that is not the one it describes")
        }
        for entry in manifest.files {
            let path = backup + "/" + entry.path
            guard BackupFiles.exists(path) else { throw BackupError("\(path) is missing (the manifest lists it)") }
            let found = try FileDigest.of(path: path)
            if let difference = entry.digest.difference(from: found) {
                throw BackupError("\(path) is damaged: \(difference)")
            }
        }
    }
}
