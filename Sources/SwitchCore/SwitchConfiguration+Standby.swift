/// `"standby"`: a standby kept by `ledger follow` (docs/replication.md). The switch keeps in its log what the
/// standby in `directory` has not copied yet, at most `logRecordsHeldMax` records behind a snapshot per shard.
/// Off by default: without it a snapshot drops the log it covers whatever a follower still needs.
public struct StandbyConfiguration: Sendable, Equatable {
    /// The standby's data directory (`ledger follow --to`), read only: its log's acknowledged marks.
    public var directory: String
    public var logRecordsHeldMax = 4_000_000

    public init(directory: String) {
        self.directory = directory
    }
}

extension SwitchConfiguration {
    /// Strict like the rest of the file: an unknown key or a value out of range names its path (`standby.…`).
    static func standby(_ object: JSONReader) throws(ConfigurationError) -> StandbyConfiguration {
        guard let directory = try object.nonEmptyString("directory", meaning: "path") else {
            throw object.error("directory", "the standby's data directory is required")
        }
        var standby = StandbyConfiguration(directory: directory)
        standby.logRecordsHeldMax =
            try object.integer("logRecordsHeldMax", range: 1...1_000_000_000) ?? standby.logRecordsHeldMax
        try object.rejectUnknownKeys()
        precondition(
            !standby.directory.isEmpty && standby.logRecordsHeldMax >= 1, "a standby has a directory and a hold limit")
        return standby
    }
}
