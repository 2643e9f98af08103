/// The access layer's limits (configuration `admin`, specs/configuration.md), each with its behaviour at the limit.
public struct AccessSettings: Sendable, Equatable {
    /// Requests per second per token, with a burst of as many: over it, 429 with Retry-After.
    public var requestsPerSecondPerToken = 50
    /// Users at once: a creation over it is 409.
    public var usersMax = 1000
    /// How long an `Idempotency-Key`'s answer is remembered (at least 24 hours, as operations-v1 promises).
    public var idempotencyRetentionMs: Int64 = 24 * 3_600_000
    /// Keys remembered at once (all users): a new key over it is 503 with Retry-After until the oldest expires,
    /// never an early forgetting.
    public var idempotencyKeysMax = 10_000
    /// Refused logins write at most one `auth.refused` entry per this many milliseconds, carrying the count of
    /// refusals since the previous one, so a flood of bad tokens adds at most 8,640 entries (about 3 MB) a day.
    public var refusedLoginEntryIntervalMs: Int64 = 10_000
    /// Changes waiting for the journal thread: over it, 503 (the disk is far behind).
    public var unitsQueuedMax = 4096
    /// Members with a name, phone or birthday in the member directory: an enrolment that would add one more is
    /// 409 before it reaches the ledger. About 150 bytes of memory each by estimate (a million is about 150 MB; not yet measured).
    public var directoryMembersMax = 1_000_000
    /// Entries since the audit journal's checkpoint that make the open or a clean close write a new one
    /// (`AuditJournalCheckpoint`): an open reads and re-hashes only the entries after it. Not a configuration key.
    public var checkpointEntriesBetween: UInt64 = 4096

    public init() {}
}
