/// Targets a run must meet, from `--slo p99=2ms,p99.9=5ms,max=50ms,errors=0,throughput=100000`. Latency targets
/// are upper bounds on a percentile; `errors` bounds the error count; `throughput` is a lower bound on answers per
/// second. Without an `errors` target any error fails the run: an unstated tolerance is zero.
public struct ServiceLevelObjective: Sendable, Equatable {
    public var latencyLimits: [(percentile: Double, limitNs: UInt64)] = []
    public var errorsMax: UInt64 = 0
    public var throughputMin: Double?

    public init() {}

    public static func == (left: ServiceLevelObjective, right: ServiceLevelObjective) -> Bool {
        left.errorsMax == right.errorsMax && left.throughputMin == right.throughputMin
            && left.latencyLimits.elementsEqual(right.latencyLimits) {
                $0.percentile == $1.percentile && $0.limitNs == $1.limitNs
            }
    }

    public static func parse(_ text: String) throws(UsageProblem) -> ServiceLevelObjective {
        var objective = ServiceLevelObjective()
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw UsageProblem("--slo: '\(part)' is not NAME=VALUE") }
            let (name, value) = (pair[0].lowercased(), pair[1])
            if name == "errors" {
                guard let count = UInt64(value) else { throw UsageProblem("--slo: errors needs a whole number") }
                objective.errorsMax = count
            } else if name == "throughput" {
                guard let rate = Double(value), rate >= 0 else {
                    throw UsageProblem("--slo: throughput needs a number")
                }
                objective.throughputMin = rate
            } else if name == "max" || name.hasPrefix("p") {
                let percentile = name == "max" ? 100 : Double(name.dropFirst())
                guard let percentile, percentile > 0, percentile <= 100 else {
                    throw UsageProblem("--slo: '\(name)' is not a percentile like p99 or p99.9")
                }
                guard let limit = LoadConfiguration.parseDuration(value), value.last.map({ !$0.isNumber }) ?? false
                else {
                    throw UsageProblem("--slo: \(name) needs a duration with a unit, like 2ms or 500us")
                }
                objective.latencyLimits.append((percentile, limit))
            } else {
                throw UsageProblem("--slo: unknown target '\(name)' (use pNN, max, errors, throughput)")
            }
        }
        return objective
    }

    /// Each missed target, said in one line; empty when the run met them all.
    public func misses(_ result: LoadResult) -> [String] {
        var misses: [String] = []
        let errors = result.statistics.errorCount
        if errors > errorsMax { misses.append("errors \(errors) > \(errorsMax)") }
        for (percentile, limitNs) in latencyLimits {
            let measured = result.statistics.latency.valueAt(percentile: percentile)
            if measured > limitNs {
                let name = percentile == 100 ? "max" : "p" + ServiceLevelObjective.percentileName(percentile)
                misses.append(
                    "\(name) \(ReportFormat.milliseconds(measured)) ms > \(ReportFormat.milliseconds(limitNs)) ms")
            }
        }
        if let throughputMin, result.throughputPerSecond < throughputMin {
            misses.append(
                "throughput \(ReportFormat.fixed(result.throughputPerSecond, decimals: 0))/s < \(ReportFormat.fixed(throughputMin, decimals: 0))/s"
            )
        }
        return misses
    }

    /// The process exit status for a run: 0 when every target was met (with no `--slo`, the only target is zero
    /// errors), 1 otherwise. Scripts and CI gate on this.
    public func exitStatus(for result: LoadResult) -> Int32 {
        misses(result).isEmpty ? 0 : 1
    }

    /// 99 → "99", 99.9 → "99.9".
    static func percentileName(_ percentile: Double) -> String {
        percentile == percentile.rounded() ? String(Int(percentile)) : String(percentile)
    }
}
