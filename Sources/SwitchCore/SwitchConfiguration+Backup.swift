import Ledger

/// `"backup": {"directory", "intervalMinutes", "keep", "bytesPerSecondMax"}`: backups taken by the running switch
/// (docs/backup.md); absent or null: none.
public struct BackupConfiguration: Sendable, Equatable {
    /// Where each backup goes, as `backup-<UTC time>` (made while it runs as `backup-<UTC time>.partial`).
    public var directory: String
    /// One backup at start, then one every this many minutes.
    public var intervalMinutes = 60
    /// Backups kept: after each good one, the oldest beyond this are removed.
    public var keep = 7
    /// The copy's cap in bytes per second (nil: as fast as the disk goes), so a backup leaves the disk to the
    /// shards' syncs (docs/backup.md).
    public var bytesPerSecondMax: Int64?

    public init(directory: String) { self.directory = directory }
}

extension SwitchConfiguration {
    /// Strict like the rest of the file: `directory` is required, an unknown key or a value out of range names its
    /// path (`backup.…`).
    static func backup(_ object: JSONReader) throws(ConfigurationError) -> BackupConfiguration {
        guard let directory = try object.string("directory"), !directory.isEmpty else {
            throw object.error("directory", "is required: the directory the backups go into")
        }
        var backup = BackupConfiguration(directory: directory)
        backup.intervalMinutes = try object.integer("intervalMinutes", range: 1...10_080) ?? backup.intervalMinutes
        backup.keep = try object.integer("keep", range: 1...1000) ?? backup.keep
        backup.bytesPerSecondMax = try object.integer(
            "bytesPerSecondMax", range: Int(CopyPace.bytesPerSecondMin)...Int(CopyPace.bytesPerSecondMax)
        ).map(Int64.init)
        try object.rejectUnknownKeys()
        precondition(!backup.directory.isEmpty, "a backup has a directory")
        precondition(
            (1...10_080).contains(backup.intervalMinutes) && (1...1000).contains(backup.keep), "backup limits in range")
        precondition(
            backup.bytesPerSecondMax.map { $0 >= CopyPace.bytesPerSecondMin } ?? true,
            "a backup pace the copy can keep")
        return backup
    }
}
