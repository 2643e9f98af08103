/// `"search"`: the member search (`GET /v1/members?…`, docs/segments.md): on by default, `"search": null` turns
/// it off.
public struct SearchConfiguration: Sendable, Equatable {
    /// Members and card suffixes the index keeps in RAM (0: the ledger's own limits, per shard × shards); past
    /// them new ones are not searchable and are counted.
    public var membersMax = 0
    public var cardsMax = 0
    /// Log records the index may hold behind a snapshot before the snapshot drops them anyway (the index then
    /// reads that shard's checkpoint view again).
    public var logRecordsHeldMax = 4_000_000

    public init() {}
}

/// `"segments"`: RFM scores and VIPs (the `segments` report, docs/segments.md).
public struct SegmentsConfiguration: Sendable, Equatable {
    /// Where the members' purchases come from: `sales` (the sales store) or `lifetimeFigures` (each member's
    /// lifetime counts from the member search, spread over its first and last purchase: an approximation for
    /// tests and demonstrations, never the default).
    public enum Source: String, Sendable, Equatable {
        case sales
        case lifetimeFigures
    }

    /// The window RFM looks at when the report is asked without `from`: the last `windowDays` days.
    public var windowDays = 365
    /// Members with activity in the window the report scores at most (a map entry each); more: the report fails.
    public var membersMax = 2_000_000
    public var source = Source.sales

    public init() {}
}

extension SwitchConfiguration {
    /// Strict like the rest of the file: an unknown key or a value out of range names its path (`search.…`).
    static func search(_ object: JSONReader) throws(ConfigurationError) -> SearchConfiguration {
        var search = SearchConfiguration()
        search.membersMax = try object.integer("membersMax", range: 1...(1 << 30)) ?? search.membersMax
        search.cardsMax = try object.integer("cardsMax", range: 1...(1 << 30)) ?? search.cardsMax
        search.logRecordsHeldMax =
            try object.integer("logRecordsHeldMax", range: 1...1_000_000_000) ?? search.logRecordsHeldMax
        try object.rejectUnknownKeys()
        precondition(
            search.membersMax >= 0 && search.cardsMax >= 0 && search.logRecordsHeldMax >= 1, "search limits in range")
        return search
    }

    static func segments(_ object: JSONReader) throws(ConfigurationError) -> SegmentsConfiguration {
        var segments = SegmentsConfiguration()
        segments.windowDays = try object.integer("windowDays", range: 1...3_650) ?? segments.windowDays
        segments.membersMax = try object.integer("membersMax", range: 1...(1 << 30)) ?? segments.membersMax
        if let name = try object.string("source") {
            guard let source = SegmentsConfiguration.Source(rawValue: name) else {
                throw object.error("source", "must be sales or lifetimeFigures")
            }
            segments.source = source
        }
        try object.rejectUnknownKeys()
        precondition((1...3_650).contains(segments.windowDays) && segments.membersMax >= 1, "segments limits in range")
        return segments
    }
}
