import Metrics
import Synchronization
import Testing

/// Counters and histograms with one writer and racing readers, and the Prometheus text they are exposed in.
@Suite("Metrics")
struct MetricsTests {
    @Test("a histogram puts each value in the first bucket whose bound holds it; +Inf takes the rest")
    func histogramBuckets() {
        let histogram = Histogram(bounds: [10, 100, 1000])
        for value: UInt64 in [0, 10, 11, 100, 101, 1000, 1001, 1_000_000] { histogram.observe(value) }
        let snapshot = histogram.snapshot()
        #expect(snapshot.buckets == [2, 2, 2, 2])
        #expect(snapshot.sum == 1_002_223 && snapshot.count == 8)
    }

    @Test("snapshots of several writers add up bucket by bucket")
    func snapshotsAdd() {
        var total = HistogramSnapshot(bounds: [5])
        total.add(HistogramSnapshot(bounds: [5], buckets: [1, 2], sum: 30))
        total.add(HistogramSnapshot(bounds: [5], buckets: [3, 0], sum: 6))
        #expect(total.buckets == [4, 2] && total.sum == 36 && total.count == 6)
    }

    @Test("a reader on another thread sees the writer's counter grow monotonically to its final value")
    func racingReader() async {
        let counters = CounterArray(count: 2)
        let done = Atomic<Bool>(false)
        let increments = 200_000
        async let reader: Bool = {
            var last: UInt64 = 0
            var monotonic = true
            while !done.load(ordering: .acquiring) {
                let value = counters.load(at: 1)
                if value < last { monotonic = false }
                last = value
            }
            return monotonic
        }()
        for _ in 0..<increments { counters.add(1, at: 1) }
        done.store(true, ordering: .releasing)
        #expect(await reader)
        #expect(counters.load(at: 1) == UInt64(increments) && counters.load(at: 0) == 0)
    }

    @Test("the text format: HELP and TYPE once per family, escaped label values, cumulative buckets in seconds")
    func exposition() {
        var text = PrometheusText()
        text.family("demo_requests_total", type: .counter, help: "Requests, by \\ path\nand code.")
        text.sample([("path", "a\"b\\c\nd"), ("code", "200")], value: 3)
        text.family("demo_latency_seconds", type: .histogram, help: "Latency.")
        text.histogram(
            [("loop", "0")],
            HistogramSnapshot(bounds: [50_000, 1_000_000_000], buckets: [1, 2, 3], sum: 2_500_000_000),
            unitDivisor: 1_000_000_000)
        text.family("demo_queue_depth", type: .gauge, help: "Depth.")
        text.sample(signedValue: -2)
        let expected = """
            # HELP demo_requests_total Requests, by \\\\ path\\nand code.
            # TYPE demo_requests_total counter
            demo_requests_total{path="a\\"b\\\\c\\nd",code="200"} 3
            # HELP demo_latency_seconds Latency.
            # TYPE demo_latency_seconds histogram
            demo_latency_seconds_bucket{loop="0",le="0.00005"} 1
            demo_latency_seconds_bucket{loop="0",le="1"} 3
            demo_latency_seconds_bucket{loop="0",le="+Inf"} 6
            demo_latency_seconds_sum{loop="0"} 2.5
            demo_latency_seconds_count{loop="0"} 6
            # HELP demo_queue_depth Depth.
            # TYPE demo_queue_depth gauge
            demo_queue_depth -2

            """
        #expect(String(decoding: text.bytes, as: UTF8.self) == expected)
    }

    @Test("decimals are exact: no floating point between the counter and the text")
    func decimals() {
        #expect(PrometheusText.decimal(0, divisor: 1_000_000_000) == "0")
        #expect(PrometheusText.decimal(1, divisor: 1_000_000_000) == "0.000000001")
        #expect(PrometheusText.decimal(123_456_789_012, divisor: 1_000_000_000) == "123.456789012")
        #expect(PrometheusText.decimal(UInt64.max, divisor: 1) == "18446744073709551615")
    }

    @Test("names: metric names and label names follow the format's grammar")
    func names() {
        #expect(PrometheusText.isMetricName("loyalty_iso_requests_total") && PrometheusText.isMetricName("a:b"))
        #expect(
            !PrometheusText.isMetricName("1abc") && !PrometheusText.isMetricName("a-b")
                && !PrometheusText.isMetricName(""))
        #expect(
            PrometheusText.isLabelName("le") && !PrometheusText.isLabelName("__name")
                && !PrometheusText.isLabelName("a:b"))
    }
}
