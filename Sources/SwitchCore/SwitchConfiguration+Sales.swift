/// `"sales"`: the sales store (docs/sales.md) that the `sales`, `items` and `credit-conversion` reports and the
/// segments report read: on by default; `"sales": null` or `"enabled": false` turns it off.
public struct SalesConfiguration: Sendable, Equatable {
    /// Whole day files whose every sale is older than this are dropped.
    public var retentionDays = 400
    /// Log records the indexer may hold behind a snapshot before the snapshot drops them anyway (a gap, counted).
    public var logRecordsHeldMax = 4_000_000
    /// Recent sales a reversal is matched with for its amount and kind (newest kept, ~60 bytes each in RAM).
    public var originalsMax = 1 << 20

    public init() {}
}

extension SwitchConfiguration {
    /// Strict like the rest of the file: an unknown key or a value out of range names its path (`sales.…`); nil
    /// when `enabled` is false.
    static func sales(_ object: JSONReader) throws(ConfigurationError) -> SalesConfiguration? {
        var sales = SalesConfiguration()
        let enabled = try object.boolean("enabled") ?? true
        sales.retentionDays = try object.integer("retentionDays", range: 1...36_500) ?? sales.retentionDays
        sales.logRecordsHeldMax =
            try object.integer("logRecordsHeldMax", range: 1...1_000_000_000) ?? sales.logRecordsHeldMax
        sales.originalsMax = try object.integer("originalsMax", range: 1...(1 << 26)) ?? sales.originalsMax
        try object.rejectUnknownKeys()
        precondition(
            sales.retentionDays >= 1 && sales.logRecordsHeldMax >= 1 && sales.originalsMax >= 1,
            "sales limits are 1 or more")
        return enabled ? sales : nil
    }
}
