/// When each request of an open-loop run should go out: request `k` is due at `startNs + k / rate` seconds,
/// whatever happened to the requests before it. Latency is measured from this intended time, not from the moment
/// the request was actually written, so a stalled server (or a stalled load generator) shows up as latency instead
/// of silently lowering the offered load: the "coordinated omission" that most closed-loop tools suffer from.
/// Pure arithmetic, no state: the backlog of due-but-unsent requests is `dueCount(at:) - sent`, and costs no memory.
public struct OpenLoopSchedule: Sendable, Equatable {
    public let startNs: UInt64
    public let ratePerSecond: UInt64

    public init(startNs: UInt64, ratePerSecond: UInt64) {
        precondition(ratePerSecond > 0, "an open-loop schedule needs a positive rate")
        self.startNs = startNs
        self.ratePerSecond = ratePerSecond
    }

    /// The intended send time of request `index` (0-based). Full-width arithmetic: no drift, no overflow.
    @inline(__always)
    public func intendedNs(of index: UInt64) -> UInt64 {
        let product = index.multipliedFullWidth(by: 1_000_000_000)
        return startNs &+ ratePerSecond.dividingFullWidth(product).quotient
    }

    /// How many requests are due at `nowNs` (those whose intended time is at or before it).
    @inline(__always)
    public func dueCount(at nowNs: UInt64) -> UInt64 {
        guard nowNs >= startNs else { return 0 }
        // Request k is due when floor(k * 1e9 / rate) <= elapsed, i.e. k < (elapsed + 1) * rate / 1e9.
        let product = (nowNs - startNs + 1).multipliedFullWidth(by: ratePerSecond)
        let (low, carry) = product.low.addingReportingOverflow(999_999_999)
        let rounded = (high: product.high &+ (carry ? 1 : 0), low: low)
        return UInt64(1_000_000_000).dividingFullWidth(rounded).quotient
    }
}
