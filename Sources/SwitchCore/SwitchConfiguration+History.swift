/// `"history"`: the members' movements history (docs/history.md): on by default, `"history": null` turns it off.
public struct HistoryConfiguration: Sendable, Equatable {
    /// Whole movement files whose newest movement is older than this are dropped.
    public var retentionDays = 400
    /// Log records the indexer may hold behind a snapshot before the snapshot drops them anyway (a gap, counted).
    public var logRecordsHeldMax = 4_000_000
    /// Movement records per file (64 bytes each): the unit retention drops.
    public var recordsPerFile = 65_536
    /// Members and joined cards the indexer keeps in RAM (0: the ledger's own limits).
    public var membersMax = 0
    public var cardsMax = 0

    public init() {}
}

extension SwitchConfiguration {
    /// Strict like the rest of the file: an unknown key or a value out of range names its path (`history.…`).
    static func history(_ object: JSONReader) throws(ConfigurationError) -> HistoryConfiguration {
        var history = HistoryConfiguration()
        history.retentionDays = try object.integer("retentionDays", range: 1...36_500) ?? history.retentionDays
        history.logRecordsHeldMax =
            try object.integer("logRecordsHeldMax", range: 1...1_000_000_000) ?? history.logRecordsHeldMax
        history.recordsPerFile = try object.integer("recordsPerFile", range: 16...(1 << 24)) ?? history.recordsPerFile
        history.membersMax = try object.integer("membersMax", range: 1...(1 << 30)) ?? history.membersMax
        history.cardsMax = try object.integer("cardsMax", range: 1...(1 << 30)) ?? history.cardsMax
        try object.rejectUnknownKeys()
        precondition(history.retentionDays >= 1 && history.logRecordsHeldMax >= 1, "history limits are 1 or more")
        precondition(
            history.recordsPerFile >= 16 && history.membersMax >= 0 && history.cardsMax >= 0, "history sizes in range")
        return history
    }
}
