import Foundation
import Testing

@testable import LoadGenerator

@Suite("Latency histogram")
struct LatencyHistogramTests {
    /// Exact nearest-rank percentile of sorted samples.
    static func exact(_ sorted: [UInt64], _ percentile: Double) -> UInt64 {
        let rank = max(Int((percentile / 100 * Double(sorted.count)).rounded(.up)), 1)
        return sorted[min(rank, sorted.count) - 1]
    }

    @Test("every bucket's midpoint is within 1/256 of every value in the bucket, across the whole range")
    func bucketErrorBound() {
        for index in 0..<LatencyHistogram.bucketCount {
            let (lower, width) = LatencyHistogram.bucketRange(of: index)
            let upper = lower + width - 1
            let middle = LatencyHistogram.representative(of: index)
            #expect(LatencyHistogram.bucketIndex(of: lower) == index)
            #expect(LatencyHistogram.bucketIndex(of: upper) == index)
            if lower > 0 {
                #expect(Double(middle - lower) / Double(lower) <= 1.0 / 256)
                #expect(Double(upper - middle) / Double(upper) <= 1.0 / 256)
            }
        }
        #expect(LatencyHistogram.bucketIndex(of: LatencyHistogram.valueMaxNs) == LatencyHistogram.bucketCount - 1)
    }

    @Test("percentiles of 200,000 log-uniform samples (1 ns to 10 s) are within 1 % of the exact values")
    func percentilesWithinOnePercent() {
        var random = SplitMix64(seed: 42)
        var samples: [UInt64] = []
        var histogram = LatencyHistogram()
        for _ in 0..<200_000 {
            let exponent = Double(random.next(below: 1_000_000)) / 1_000_000 * 10
            let value = UInt64(pow(10, exponent))
            samples.append(value)
            histogram.record(value)
        }
        samples.sort()
        for percentile in [0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 99.999] {
            let truth = Double(Self.exact(samples, percentile))
            let measured = Double(histogram.valueAt(percentile: percentile))
            #expect(abs(measured - truth) <= truth * 0.01, "p\(percentile): \(measured) vs \(truth)")
        }
        #expect(histogram.valueAt(percentile: 100) == samples.last!)
        #expect(histogram.minimumNs == samples.first!)
        #expect(histogram.totalCount == 200_000)
    }

    @Test("values past the range are clamped and counted; add() merges; reset() empties")
    func clampMergeReset() {
        var first = LatencyHistogram()
        first.record(LatencyHistogram.valueMaxNs + 5)
        #expect(first.clampedCount == 1)
        #expect(first.maximumNs == LatencyHistogram.valueMaxNs)
        var second = LatencyHistogram()
        second.record(1000)
        second.add(first)
        #expect(second.totalCount == 2)
        #expect(abs(Double(second.valueAt(percentile: 50)) - 1000) <= 1000 / 256)
        second.reset()
        #expect(second.totalCount == 0 && second.valueAt(percentile: 99) == 0)
    }
}
