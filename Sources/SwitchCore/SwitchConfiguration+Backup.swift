/// `"backup": {"directory", "intervalMinutes", "keep"}`: backups taken by the running switch (docs/backup.md);
/// absent or null: none.
public struct BackupConfiguration: Sendable, Equatable {
    /// Where each backup goes, as `backup-<UTC time>` (made while it runs as `backup-<UTC time>.partial`).
    public var directory: String
    /// One backup at start, then one every this many minutes.
    public var intervalMinutes = 60
    /// Backups kept: after each good one, the oldest beyond this are removed.
    public var keep = 7

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
        try object.rejectUnknownKeys()
        return backup
    }
}
