/// Latencies in nanoseconds, counted in log-linear buckets: every power of two is split into 128 equal
/// sub-buckets, so a bucket is never wider than 1/128 of its lower bound and the bucket midpoint that a percentile
/// reports is within 1/256 (0.4 %) of every value in it. The same idea as HdrHistogram, with a fixed range and
/// precision chosen for request latencies: recording is one `leadingZeroBitCount`, a shift and an increment, and
/// the table (4,352 counters, 34 KiB) never grows.
public struct LatencyHistogram: Sendable, Equatable {
    /// log2 of the sub-buckets per power of two.
    public static let subBucketBits = 7
    static let subBucketCount = 1 << subBucketBits
    /// Values above this (about 18 minutes) are recorded as this value and counted in `clampedCount`.
    public static let valueMaxNs: UInt64 = (1 << 40) - 1
    static let bucketCount = (40 - subBucketBits + 1) * subBucketCount

    public private(set) var counts: [UInt64]
    public private(set) var totalCount: UInt64 = 0
    public private(set) var minimumNs: UInt64 = .max
    public private(set) var maximumNs: UInt64 = 0
    public private(set) var sumNs: UInt64 = 0
    /// Values larger than `valueMaxNs`, recorded as `valueMaxNs`.
    public private(set) var clampedCount: UInt64 = 0

    public init() {
        counts = [UInt64](repeating: 0, count: LatencyHistogram.bucketCount)
    }

    /// The bucket holding `value`: exact below 128, then 128 sub-buckets per power of two.
    @inline(__always)
    static func bucketIndex(of value: UInt64) -> Int {
        if value < UInt64(subBucketCount) { return Int(value) }
        let shift = (63 - value.leadingZeroBitCount) - subBucketBits
        let subBucket = Int(truncatingIfNeeded: value >> UInt64(shift))
        return (shift + 1) * subBucketCount + (subBucket - subBucketCount)
    }

    /// The smallest value and the width of a bucket.
    static func bucketRange(of index: Int) -> (lower: UInt64, width: UInt64) {
        if index < subBucketCount { return (UInt64(index), 1) }
        let shift = index / subBucketCount - 1
        let subBucket = UInt64(index % subBucketCount + subBucketCount)
        return (subBucket << UInt64(shift), 1 << UInt64(shift))
    }

    /// The value a percentile reports for a bucket: its midpoint, which halves the worst-case error.
    static func representative(of index: Int) -> UInt64 {
        let range = bucketRange(of: index)
        return range.lower + (range.width - 1) / 2
    }

    @inline(__always)
    public mutating func record(_ valueNs: UInt64) {
        var value = valueNs
        if value > LatencyHistogram.valueMaxNs {
            value = LatencyHistogram.valueMaxNs
            clampedCount &+= 1
        }
        counts[LatencyHistogram.bucketIndex(of: value)] &+= 1
        totalCount &+= 1
        sumNs &+= value
        if value < minimumNs { minimumNs = value }
        if value > maximumNs { maximumNs = value }
    }

    /// The value at `percentile` (0...100) by nearest rank, within 0.4 % of a true sample; 0 when empty.
    /// The result is clamped to the exact minimum and maximum, so p100 is the true maximum.
    public func valueAt(percentile: Double) -> UInt64 {
        guard totalCount > 0 else { return 0 }
        let wanted = min(max(percentile, 0), 100)
        if wanted >= 100 { return maximumNs }
        var rank = UInt64((wanted / 100 * Double(totalCount)).rounded(.up))
        rank = min(max(rank, 1), totalCount)
        var seen: UInt64 = 0
        for index in 0..<counts.count where counts[index] > 0 {
            seen &+= counts[index]
            if seen >= rank {
                return min(max(LatencyHistogram.representative(of: index), minimumNs), maximumNs)
            }
        }
        return maximumNs
    }

    public var meanNs: Double { totalCount == 0 ? 0 : Double(sumNs) / Double(totalCount) }

    /// Adds another histogram's counts (e.g. one per phase, or per thread).
    public mutating func add(_ other: LatencyHistogram) {
        for index in 0..<counts.count { counts[index] &+= other.counts[index] }
        totalCount &+= other.totalCount
        sumNs &+= other.sumNs
        clampedCount &+= other.clampedCount
        minimumNs = min(minimumNs, other.minimumNs)
        maximumNs = max(maximumNs, other.maximumNs)
    }

    /// Empties the histogram, keeping its table.
    public mutating func reset() {
        for index in 0..<counts.count { counts[index] = 0 }
        totalCount = 0
        sumNs = 0
        clampedCount = 0
        minimumNs = .max
        maximumNs = 0
    }

    /// Non-empty buckets as (lower bound, upper bound, count), for the distribution chart and JSON.
    public var nonEmptyBuckets: [(lowerNs: UInt64, upperNs: UInt64, count: UInt64)] {
        var result: [(lowerNs: UInt64, upperNs: UInt64, count: UInt64)] = []
        for index in 0..<counts.count where counts[index] > 0 {
            let range = LatencyHistogram.bucketRange(of: index)
            result.append((range.lower, range.lower + range.width - 1, counts[index]))
        }
        return result
    }
}
