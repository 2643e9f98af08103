import Synchronization

/// Time that a test moves by hand and the machine never does (SwiftNIO's `NIOEmbedded` `advanceTime`): a hold that
/// expires after a day, a key retained for a week or a tier window of a year is tested in milliseconds, without a
/// sleep, and every suite (ledger, switch, HTTP, admin access) reads the same kind of clock. It serves both the
/// wall clock (`nowMs`, `closure`: what the ledger and the switch take as `clockMs`) and monotonic time
/// (`monotonicNs`, for deadlines), one count of nanoseconds behind both.
public final class VirtualClock: Sendable {
    private let nanoseconds: Atomic<Int64>

    /// Starts at `ms` milliseconds (by default 2023-11-14, a plausible wall clock).
    public init(ms: Int64 = 1_700_000_000_000) {
        precondition(ms >= 0 && ms < Int64.max / 1_000_000, "a virtual clock holds nanoseconds in 63 bits")
        nanoseconds = Atomic(ms * 1_000_000)
    }

    /// Wall-clock milliseconds now.
    public var nowMs: Int64 { nanoseconds.load(ordering: .relaxed) / 1_000_000 }

    /// Monotonic nanoseconds now (the same count: never goes back unless a test sets it back).
    public var monotonicNs: UInt64 { UInt64(nanoseconds.load(ordering: .relaxed)) }

    /// The clock as a `clockMs` closure for the ledger's and the switch's configuration.
    public var closure: @Sendable () -> Int64 { { [self] in nowMs } }

    public func advance(byMs milliseconds: Int64) { nanoseconds.add(milliseconds * 1_000_000, ordering: .relaxed) }

    public func advance(milliseconds: Int) { advance(byMs: Int64(milliseconds)) }

    /// Puts the clock at `ms` (a test that jumps to a date, or back, on purpose).
    public func set(ms: Int64) { nanoseconds.store(ms * 1_000_000, ordering: .relaxed) }
}
