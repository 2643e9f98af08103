/// Field 7 (transmission date and time) judged against how long the ledger remembers request keys: a request the
/// ledger could have forgotten must not be applied, or a late enough repeat would be applied twice. So a request
/// older than the retention, or implausibly far in the future, is declined (05) before it reaches the ledger and
/// changes nothing; one without a readable field 7 is a format error (30), since field 7 is part of its key.
enum RequestAge {
    /// How far ahead of the switch's clock field 7 may be (terminal clocks drift). The ledger keeps keys this
    /// long past the retention, and as long again for its own time running ahead of the clock, so a repeat the
    /// switch still accepts always finds its key (docs/request-keys.md).
    static let futureToleranceMs: Int64 = 600_000

    enum Verdict: Equatable {
        case fresh
        /// Older than the retention by field 7.
        case stale(ageMs: Int64)
        /// Ahead of the clock by more than `futureToleranceMs`.
        case future(aheadMs: Int64)
        /// Absent, or no real date and time.
        case unreadable
    }

    /// Field 7 (`MMDDhhmmss`, UTC, placed in the year nearest `nowMs`) against `retentionMs`.
    static func judge(field7: Int64?, nowMs: Int64, retentionMs: Int64) -> Verdict {
        precondition(retentionMs >= 3_600_000, "requestKeyRetentionHours is at least 1 (the parser's range)")
        guard let field7, let transmissionMs = SaleTime.transmissionMs(field7, nowMs: nowMs) else { return .unreadable }
        if nowMs - transmissionMs > retentionMs { return .stale(ageMs: nowMs - transmissionMs) }
        if transmissionMs - nowMs > futureToleranceMs { return .future(aheadMs: transmissionMs - nowMs) }
        precondition(
            abs(nowMs - transmissionMs) <= max(retentionMs, futureToleranceMs), "a fresh request is within both bounds")
        return .fresh
    }

    /// How long the ledger must remember a key for requests judged with `retentionHours`.
    static func ledgerRetentionMs(hours: Int) -> Int64 {
        precondition((1...2_160).contains(hours), "requestKeyRetentionHours is 1...2160 (the parser's range)")
        let retentionMs = Int64(hours) * 3_600_000 + 2 * futureToleranceMs
        precondition(retentionMs > Int64(hours) * 3_600_000, "the ledger keeps keys past the switch's retention")
        return retentionMs
    }
}
