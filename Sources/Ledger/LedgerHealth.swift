import Synchronization

/// What one shard can do right now: the ledger's answer to a health check.
public enum ShardCondition: Sendable, Equatable {
    /// Approving; the next log segment is allocated ahead.
    case serving
    /// Approving, but the next log segment could not be allocated (disk full, descriptors exhausted): when the
    /// current one is full the shard declines until it can. Retried every `reserveRetryIntervalMs`.
    case servingWithoutReserve(reason: String)
    /// Declining every request (`systemError`, answered 96; nothing applied) because the log has no room for the
    /// next batch; approvals resume by themselves once an attempt to allocate the next segment succeeds.
    case declining(reason: String)
    /// Stopped after a failed write or sync of its log (fail-stop): declining everything until a restart, which
    /// recovers from what is on disk.
    case stopped(reason: String)

    /// True while the shard approves requests.
    public var isApproving: Bool {
        switch self {
        case .serving, .servingWithoutReserve: true
        case .declining, .stopped: false
        }
    }
}

/// The ledger's health: one condition per shard, read without disturbing the shards.
public struct LedgerHealth: Sendable, Equatable {
    public var shards: [ShardCondition]

    /// Every shard approves and has its next segment allocated.
    public var isHealthy: Bool { shards.allSatisfy { $0 == .serving } }
    /// Every shard approves (some perhaps without a reserve).
    public var isApproving: Bool { shards.allSatisfy(\.isApproving) }
    /// Some shard stopped: only a restart brings it back.
    public var needsRestart: Bool {
        shards.contains { if case .stopped = $0 { true } else { false } }
    }
}

extension Ledger {
    /// Each shard's condition now. Cheap (one lock per shard), safe from any thread: for `GET /v1/health`.
    public var health: LedgerHealth { LedgerHealth(shards: shardConditions) }
}

/// A shard's condition and the bookkeeping of its declines, owned by the shard's thread; the condition is read
/// by any thread.
final class ShardFaults: @unchecked Sendable {
    private let cell = Mutex<ShardCondition>(.serving)
    /// Transfer halves that arrived while the shard declined: they must not be lost (a refused half would strand
    /// the transfer until a restart resends it), so they wait here, in arrival order, and go first once the log
    /// has room. Bounded by the queue's internal reserve: peers keep at most that many in flight.
    var deferred: [ShardCommand] = []
    /// Requests declined since the shard started declining, and when it started (monotonic ns).
    var declinedCount = 0
    var decliningSinceNs: UInt64 = 0

    var condition: ShardCondition { cell.withLock { $0 } }

    /// Sets the condition; returns the one before.
    @discardableResult
    func set(_ condition: ShardCondition) -> ShardCondition {
        cell.withLock { current in
            let previous = current
            current = condition
            return previous
        }
    }

    var isDeclining: Bool {
        if case .declining = condition { return true }
        return false
    }
}
