/// A histogram with fixed bucket bounds, one writer thread and any number of readers (see `CounterArray`).
///
/// Bounds are upper limits in the writer's unit (nanoseconds, records); an observation goes to the first bucket
/// whose bound is at least the value, or to the last (+Inf) bucket. Prometheus buckets are cumulative: the
/// exposition adds them up at scrape time, so the writer touches one bucket and the sum per observation.
public final class Histogram: Sendable {
    /// Buckets beyond this would cost the writer a longer search for little insight.
    public static let boundsMax = 32

    /// Upper bounds, strictly increasing; the +Inf bucket is implicit.
    public let bounds: [UInt64]
    /// Counters 0..<bounds.count are the finite buckets, then +Inf, then the sum of observed values.
    let counters: CounterArray

    public init(bounds: [UInt64]) {
        precondition(!bounds.isEmpty && bounds.count <= Histogram.boundsMax, "a histogram has 1...32 bounds")
        precondition(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 }, "bounds must increase strictly")
        self.bounds = bounds
        counters = CounterArray(count: bounds.count + 2)
    }

    /// Writer thread only.
    @inline(__always)
    public func observe(_ value: UInt64) {
        var bucket = 0
        while bucket < bounds.count && value > bounds[bucket] { bucket += 1 }
        counters.add(1, at: bucket)
        counters.add(value, at: bounds.count + 1)
    }

    /// Any thread: the buckets (not cumulative; the last is +Inf) and the sum, read once each. The count is the
    /// sum of the buckets read, so a scrape's `_count` always equals its `+Inf` bucket.
    public func snapshot() -> HistogramSnapshot {
        var buckets: [UInt64] = []
        buckets.reserveCapacity(bounds.count + 1)
        for index in 0...bounds.count { buckets.append(counters.load(at: index)) }
        return HistogramSnapshot(bounds: bounds, buckets: buckets, sum: counters.load(at: bounds.count + 1))
    }
}

/// Histogram counts at one moment; snapshots of several writers (one per loop or shard) add up.
public struct HistogramSnapshot: Sendable, Equatable {
    public let bounds: [UInt64]
    /// One count per finite bound, then the +Inf bucket; not cumulative.
    public private(set) var buckets: [UInt64]
    public private(set) var sum: UInt64

    public init(bounds: [UInt64], buckets: [UInt64], sum: UInt64) {
        precondition(buckets.count == bounds.count + 1, "one bucket per bound plus +Inf")
        self.bounds = bounds
        self.buckets = buckets
        self.sum = sum
    }

    /// An empty snapshot with these bounds, to add others to.
    public init(bounds: [UInt64]) {
        self.init(bounds: bounds, buckets: [UInt64](repeating: 0, count: bounds.count + 1), sum: 0)
    }

    public var count: UInt64 { buckets.reduce(0, &+) }

    /// Adds another writer's counts (same bounds).
    public mutating func add(_ other: HistogramSnapshot) {
        precondition(other.bounds == bounds, "only histograms with the same bounds add up")
        for index in buckets.indices { buckets[index] &+= other.buckets[index] }
        sum &+= other.sum
    }
}
