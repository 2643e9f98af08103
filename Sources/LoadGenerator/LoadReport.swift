/// The final report, as text for people and JSON for machines; both say the same things.
public enum LoadReport {
    /// The percentiles every report lists.
    public static let percentiles: [Double] = [50, 90, 99, 99.9, 99.99]

    public static func text(_ result: LoadResult) -> String {
        let statistics = result.statistics
        let mode = result.ratePerSecond.map { "open loop at \($0)/s" } ?? "closed loop"
        var lines: [String] = []
        lines.append("target \(result.target)  dialect \(result.dialectName)  \(mode)")
        lines.append("connections \(result.connections) × in-flight \(result.inFlightPerConnection)  mix \(result.mix)")
        let seconds = Double(result.measuredNs) / 1e9
        lines.append(
            "measured \(ReportFormat.fixed(seconds, decimals: 2)) s (after \(ReportFormat.fixed(Double(result.warmupNs) / 1e9, decimals: 1)) s warm-up): sent \(statistics.sent), answered \(statistics.answered)"
        )
        lines.append("throughput \(ReportFormat.fixed(result.throughputPerSecond, decimals: 0)) answers/s")
        let latencyTitle = result.ratePerSecond == nil ? "latency (ms)" : "latency from intended send (ms)"
        lines.append(percentileLine(latencyTitle, statistics.latency))
        if result.ratePerSecond != nil {
            lines.append(percentileLine("service time from actual send (ms)", statistics.serviceTime))
            lines.append(
                "largest send lag behind schedule \(ReportFormat.milliseconds(statistics.sendLagMaximumNs)) ms")
        }
        let codes = statistics.responseCodeCounts.map { "\($0.code): \($0.count)" }.joined(separator: "  ")
        lines.append("response codes  " + (codes.isEmpty ? "none" : codes))
        let kinds = RequestKind.allCases.filter { statistics.sentByKind[$0.rawValue] > 0 }
            .map { "\($0) \(statistics.sentByKind[$0.rawValue])" }.joined(separator: "  ")
        lines.append(
            "sent by kind  \(kinds)"
                + (statistics.substituted > 0
                    ? "  (\(statistics.substituted) reversals/refunds sent as purchases: no approved original yet)"
                    : ""))
        let errors = LoadErrorKind.allCases.filter { statistics.count($0) > 0 }
            .map { "\($0) \(statistics.count($0))" }.joined(separator: "  ")
        lines.append("errors \(statistics.errorCount)" + (errors.isEmpty ? "" : "  (\(errors))"))
        return lines.joined(separator: "\n") + "\n"
    }

    static func percentileLine(_ title: String, _ histogram: LatencyHistogram) -> String {
        var parts = percentiles.map {
            "p\(ServiceLevelObjective.percentileName($0)) \(ReportFormat.milliseconds(histogram.valueAt(percentile: $0)))"
        }
        parts.append("max \(ReportFormat.milliseconds(histogram.maximumNs))")
        parts.append("mean \(ReportFormat.fixed(histogram.meanNs / 1e6, decimals: 3))")
        return "\(title)  " + parts.joined(separator: "  ")
    }

    /// The same report as one JSON object; latencies in microseconds (integers would lose sub-millisecond detail
    /// in milliseconds, and nanoseconds promise more precision than the histogram keeps).
    public static func json(_ result: LoadResult, sloMisses: [String]?) -> String {
        let statistics = result.statistics
        var fields: [String] = []
        fields.append("\"target\": \(ReportFormat.jsonString(result.target))")
        fields.append("\"dialect\": \(ReportFormat.jsonString(result.dialectName))")
        fields.append("\"mode\": \(result.ratePerSecond == nil ? "\"closed\"" : "\"open\"")")
        fields.append("\"rate_per_second\": \(result.ratePerSecond.map(String.init) ?? "null")")
        fields.append(
            "\"connections\": \(result.connections), \"in_flight_per_connection\": \(result.inFlightPerConnection)")
        fields.append("\"mix\": \(ReportFormat.jsonString(result.mix))")
        fields.append("\"warmup_seconds\": \(ReportFormat.fixed(Double(result.warmupNs) / 1e9, decimals: 3))")
        fields.append("\"measured_seconds\": \(ReportFormat.fixed(Double(result.measuredNs) / 1e9, decimals: 3))")
        fields.append("\"sent\": \(statistics.sent), \"answered\": \(statistics.answered)")
        fields.append("\"throughput_per_second\": \(ReportFormat.fixed(result.throughputPerSecond, decimals: 1))")
        fields.append("\"latency_us\": \(latencyJSON(statistics.latency))")
        fields.append("\"service_time_us\": \(latencyJSON(statistics.serviceTime))")
        fields.append(
            "\"send_lag_max_us\": \(ReportFormat.fixed(Double(statistics.sendLagMaximumNs) / 1e3, decimals: 1))")
        let codes = statistics.responseCodeCounts.map { "\(ReportFormat.jsonString($0.code)): \($0.count)" }
        fields.append("\"response_codes\": {\(codes.joined(separator: ", "))}")
        let kinds = RequestKind.allCases.map { "\"\($0)\": \(statistics.sentByKind[$0.rawValue])" }
        fields.append(
            "\"sent_by_kind\": {\(kinds.joined(separator: ", "))}, \"substituted\": \(statistics.substituted)")
        let errors = LoadErrorKind.allCases.map { "\"\($0)\": \(statistics.count($0))" }
        fields.append("\"errors\": \(statistics.errorCount), \"errors_by_kind\": {\(errors.joined(separator: ", "))}")
        if let sloMisses {
            fields.append(
                "\"slo_met\": \(sloMisses.isEmpty), \"slo_misses\": [\(sloMisses.map(ReportFormat.jsonString).joined(separator: ", "))]"
            )
        }
        fields.append("\"timeline\": [\(result.timeline.map(sampleJSON).joined(separator: ",\n    "))]")
        return "{\n  " + fields.joined(separator: ",\n  ") + "\n}\n"
    }

    static func latencyJSON(_ histogram: LatencyHistogram) -> String {
        var parts = percentiles.map {
            "\"p\(ServiceLevelObjective.percentileName($0))\": \(microseconds(histogram.valueAt(percentile: $0)))"
        }
        parts.append("\"max\": \(microseconds(histogram.maximumNs))")
        parts.append("\"mean\": \(ReportFormat.fixed(histogram.meanNs / 1e3, decimals: 1))")
        parts.append("\"count\": \(histogram.totalCount)")
        return "{" + parts.joined(separator: ", ") + "}"
    }

    static func sampleJSON(_ sample: SecondSample) -> String {
        "{\"t\": \(ReportFormat.fixed(sample.elapsedSeconds, decimals: 2)), \"warmup\": \(sample.warmup), "
            + "\"answered\": \(sample.answered), \"errors\": \(sample.errors), \"p50_us\": \(microseconds(sample.p50Ns)), "
            + "\"p99_us\": \(microseconds(sample.p99Ns)), \"max_us\": \(microseconds(sample.maximumNs))}"
    }

    static func microseconds(_ nanoseconds: UInt64) -> String {
        ReportFormat.fixed(Double(nanoseconds) / 1e3, decimals: 1)
    }
}
