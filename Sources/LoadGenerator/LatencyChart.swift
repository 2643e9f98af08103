import Foundation

/// An SVG picture of a run for people: latency over time (p50, p99, max per second, warm-up shaded), answers per
/// second, and the latency distribution as a percentile curve (the HdrHistogram plot, where the tail that matters
/// gets as much room as the median). Log latency axes, because a tail a hundred times the median is normal.
public enum LatencyChart {
    static let width = 960.0
    static let panelLeft = 80.0
    static let panelRight = 930.0

    public static func svg(_ result: LoadResult) -> String {
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"900\" "
        svg += "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        let mode = result.ratePerSecond.map { "open loop \($0)/s" } ?? "closed loop"
        let latency = result.statistics.latency
        let title =
            "loadgen → \(result.target): \(mode), \(result.connections) × \(result.inFlightPerConnection) in flight"
        svg += text(x: panelLeft, y: 22, title, size: 15, bold: true)
        svg += text(x: panelLeft, y: 40, "mix \(result.mix), dialect \(result.dialectName)", color: "#555555")
        let percentile = { (value: Double) in ReportFormat.milliseconds(latency.valueAt(percentile: value)) }
        let headline =
            "\(ReportFormat.fixed(result.throughputPerSecond, decimals: 0)) answers/s  ·  p50 \(percentile(50)) ms  ·  "
            + "p99 \(percentile(99)) ms  ·  max \(ReportFormat.milliseconds(latency.maximumNs)) ms  ·  "
            + "errors \(result.statistics.errorCount)"
        let headlineColor = result.statistics.errorCount > 0 ? "#d62728" : "#222222"
        svg += text(x: panelLeft, y: 60, headline, size: 14, bold: true, color: headlineColor)
        svg += timePanel(result, top: 92, height: 280)
        svg += throughputPanel(result, top: 410, height: 140)
        svg += distributionPanel(latency, top: 610, height: 240)
        return svg + "</svg>\n"
    }

    /// Latency axis bounds in ms: powers of ten around the data.
    static func logBounds(minimumMs: Double, maximumMs: Double) -> (low: Double, high: Double) {
        let low = pow(10, floor(log10(max(minimumMs, 0.001))))
        let high = pow(10, ceil(log10(max(maximumMs, low * 10))))
        return (low, max(high, low * 10))
    }

    static func logY(_ valueMs: Double, bounds: (low: Double, high: Double), top: Double, height: Double) -> Double {
        let clamped = min(max(valueMs, bounds.low), bounds.high)
        let fraction = (log10(clamped) - log10(bounds.low)) / (log10(bounds.high) - log10(bounds.low))
        return top + height * (1 - fraction)
    }

    static func timePanel(_ result: LoadResult, top: Double, height: Double) -> String {
        let samples = result.timeline.filter { $0.answered > 0 }
        var svg = text(
            x: panelLeft, y: top - 10, "latency over time (ms, log scale; per second of the run)", size: 13, bold: true)
        guard let last = samples.last else { return svg + text(x: panelLeft, y: top + 20, "no answers") }
        let timeMax = max(last.elapsedSeconds, 1)
        let values = samples.flatMap { [Double($0.p50Ns), Double($0.maximumNs)] }.map { $0 / 1e6 }
        let bounds = logBounds(minimumMs: values.min() ?? 0.01, maximumMs: values.max() ?? 1)
        let x = { (seconds: Double) in panelLeft + (panelRight - panelLeft) * seconds / timeMax }
        if let warmupEnd = result.timeline.last(where: \.warmup)?.elapsedSeconds {
            svg +=
                "<rect x=\"\(panelLeft)\" y=\"\(top)\" width=\"\(x(warmupEnd) - panelLeft)\" height=\"\(height)\" fill=\"#eeeeee\"/>\n"
            svg += text(x: panelLeft + 4, y: top + 14, "warm-up", color: "#777777")
        }
        svg += logGrid(bounds: bounds, top: top, height: height)
        svg += timeAxis(timeMax: timeMax, y: top + height)
        let series: [(String, String, (SecondSample) -> UInt64)] = [
            ("max", "#d62728", { $0.maximumNs }), ("p99", "#ff7f0e", { $0.p99Ns }), ("p50", "#1f77b4", { $0.p50Ns }),
        ]
        for (index, (name, color, value)) in series.enumerated() {
            let points = samples.map {
                "\(fixed(x(max($0.elapsedSeconds - 0.5, 0)))),\(fixed(logY(Double(value($0)) / 1e6, bounds: bounds, top: top, height: height)))"
            }
            svg +=
                "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>\n"
            svg += legend(x: panelRight - 200 + Double(index) * 70, y: top - 10, name, color: color)
        }
        return svg
    }

    static func throughputPanel(_ result: LoadResult, top: Double, height: Double) -> String {
        var svg = text(x: panelLeft, y: top - 10, "answers per second (errors in red)", size: 13, bold: true)
        let samples = result.timeline
        guard let last = samples.last, let peak = samples.map(\.answered).max(), peak > 0 else { return svg }
        let timeMax = max(last.elapsedSeconds, 1)
        let scale = niceCeiling(Double(peak))
        let barWidth = max((panelRight - panelLeft) / Double(max(samples.count, 1)) - 2, 1)
        for fraction in [0.0, 0.5, 1.0] {
            let y = top + height * (1 - fraction)
            svg +=
                "<line x1=\"\(panelLeft)\" y1=\"\(fixed(y))\" x2=\"\(panelRight)\" y2=\"\(fixed(y))\" stroke=\"#dddddd\"/>\n"
            svg += text(x: panelLeft - 6, y: y + 4, ReportFormat.fixed(scale * fraction, decimals: 0), anchor: "end")
        }
        for sample in samples {
            let x = panelLeft + (panelRight - panelLeft) * sample.elapsedSeconds / timeMax - barWidth
            let barHeight = height * Double(sample.answered) / scale
            let color = sample.errors > 0 ? "#d62728" : (sample.warmup ? "#bbbbbb" : "#2ca02c")
            svg +=
                "<rect x=\"\(fixed(max(x, panelLeft)))\" y=\"\(fixed(top + height - barHeight))\" width=\"\(fixed(barWidth))\" height=\"\(fixed(barHeight))\" fill=\"\(color)\"/>\n"
        }
        return svg + timeAxis(timeMax: timeMax, y: top + height)
    }

    /// Percentile curve: x is 1/(1 - q) on a log axis (50 %, 90 %, 99 %, … equally spaced), y the latency.
    static func distributionPanel(_ histogram: LatencyHistogram, top: Double, height: Double) -> String {
        var svg = text(
            x: panelLeft, y: top - 10, "latency distribution of the measured phase (ms, log scale, by percentile)",
            size: 13, bold: true)
        guard histogram.totalCount > 0 else { return svg + text(x: panelLeft, y: top + 20, "no answers") }
        let bounds = logBounds(
            minimumMs: Double(histogram.minimumNs) / 1e6, maximumMs: Double(histogram.maximumNs) / 1e6)
        let nines = 5.0
        let x = { (percentile: Double) in
            panelLeft + (panelRight - panelLeft) * min(-log10(1 - percentile / 100), nines) / nines
        }
        svg += logGrid(bounds: bounds, top: top, height: height)
        for (label, percentile) in [
            ("0%", 0.0), ("90%", 90), ("99%", 99), ("99.9%", 99.9), ("99.99%", 99.99), ("99.999%", 99.999),
        ] {
            svg +=
                "<line x1=\"\(fixed(x(percentile)))\" y1=\"\(top)\" x2=\"\(fixed(x(percentile)))\" y2=\"\(top + height)\" stroke=\"#eeeeee\"/>\n"
            svg += text(x: x(percentile), y: top + height + 16, label, anchor: "middle")
        }
        var points: [String] = []
        var step = 0.0
        while step <= nines * 100 {
            let percentile = 100 * (1 - pow(10, -step / 100))
            let valueMs = Double(histogram.valueAt(percentile: percentile)) / 1e6
            points.append("\(fixed(x(percentile))),\(fixed(logY(valueMs, bounds: bounds, top: top, height: height)))")
            step += 2
        }
        svg +=
            "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2.5\" points=\"\(points.joined(separator: " "))\"/>\n"
        for percentile in LoadReport.percentiles {
            let valueNs = histogram.valueAt(percentile: percentile)
            let y = logY(Double(valueNs) / 1e6, bounds: bounds, top: top, height: height)
            svg += "<circle cx=\"\(fixed(x(percentile)))\" cy=\"\(fixed(y))\" r=\"4\" fill=\"#1f77b4\"/>\n"
            svg += text(
                x: x(percentile) + 6, y: y - 6,
                "p\(ServiceLevelObjective.percentileName(percentile)) \(ReportFormat.milliseconds(valueNs))")
        }
        return svg
    }

    static func logGrid(bounds: (low: Double, high: Double), top: Double, height: Double) -> String {
        var svg = ""
        var value = bounds.low
        while value <= bounds.high * 1.0001 {
            let y = logY(value, bounds: bounds, top: top, height: height)
            svg +=
                "<line x1=\"\(panelLeft)\" y1=\"\(fixed(y))\" x2=\"\(panelRight)\" y2=\"\(fixed(y))\" stroke=\"#cccccc\"/>\n"
            svg += text(
                x: panelLeft - 6, y: y + 4,
                value >= 1 ? ReportFormat.fixed(value, decimals: 0) + " ms" : String(value) + " ms", anchor: "end")
            value *= 10
        }
        return svg
            + "<rect x=\"\(panelLeft)\" y=\"\(top)\" width=\"\(panelRight - panelLeft)\" height=\"\(height)\" fill=\"none\" stroke=\"#888888\"/>\n"
    }

    static func timeAxis(timeMax: Double, y: Double) -> String {
        var svg = ""
        let step = max(niceCeiling(timeMax / 10, factors: [1, 2, 5, 10]), 1)
        var seconds = 0.0
        while seconds <= timeMax + 0.001 {
            let x = panelLeft + (panelRight - panelLeft) * seconds / timeMax
            svg += text(x: x, y: y + 16, ReportFormat.fixed(seconds, decimals: 0) + "s", anchor: "middle")
            seconds += step
        }
        return svg
    }

    /// A round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten) at least `value`.
    static func niceCeiling(_ value: Double, factors: [Double] = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) -> Double {
        guard value > 0 else { return 1 }
        let power = pow(10, floor(log10(value)))
        for factor in factors where factor * power >= value { return factor * power }
        return 10 * power
    }

    static func legend(x: Double, y: Double, _ name: String, color: String) -> String {
        "<line x1=\"\(x)\" y1=\"\(y - 4)\" x2=\"\(x + 18)\" y2=\"\(y - 4)\" stroke=\"\(color)\" stroke-width=\"3\"/>\n"
            + text(x: x + 22, y: y, name)
    }

    static func text(
        x: Double, y: Double, _ content: String, size: Int = 12, bold: Bool = false, anchor: String = "start",
        color: String = "#222222"
    ) -> String {
        let escaped = content.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        return
            "<text x=\"\(fixed(x))\" y=\"\(fixed(y))\" font-size=\"\(size)\"\(bold ? " font-weight=\"bold\"" : "") text-anchor=\"\(anchor)\" fill=\"\(color)\">\(escaped)</text>\n"
    }

    static func fixed(_ value: Double) -> String { ReportFormat.fixed(value, decimals: 1) }
}
