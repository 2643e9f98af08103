import Foundation
import ISO8583
import Network
import Testing

@testable import LoadGenerator

@Suite("SLO, report and configuration")
struct ServiceLevelObjectiveTests {
    static func result(p99Ns: UInt64, errors: UInt64) -> LoadResult {
        var statistics = LoadStatistics()
        // 97 fast, 2 at p99Ns, 1 at twice that: the 99th percentile is p99Ns.
        for _ in 0..<97 { statistics.latency.record(100_000) }
        for _ in 0..<2 { statistics.latency.record(p99Ns) }
        statistics.latency.record(p99Ns * 2)
        statistics.answered = 100
        statistics.sent = 100
        statistics.errors[LoadErrorKind.timeout.rawValue] = errors
        return LoadResult(
            target: "127.0.0.1:1", connections: 1, inFlightPerConnection: 1, ratePerSecond: nil, mix: "purchase=100",
            dialectName: "iso87ascii", warmupNs: 0, measuredNs: 1_000_000_000, statistics: statistics,
            timeline: [
                SecondSample(
                    elapsedSeconds: 1, warmup: false, answered: 200, errors: errors, p50Ns: 100_000, p99Ns: p99Ns,
                    maximumNs: p99Ns * 2)
            ])
    }

    @Test("--slo parses percentiles, max, errors and throughput; rejects bad input")
    func parsing() throws {
        let objective = try ServiceLevelObjective.parse("p99=2ms,p99.9=500us,max=1s,errors=3,throughput=1000")
        #expect(objective.latencyLimits.map(\.percentile) == [99, 99.9, 100])
        #expect(objective.latencyLimits.map(\.limitNs) == [2_000_000, 500_000, 1_000_000_000])
        #expect(objective.errorsMax == 3)
        #expect(objective.throughputMin == 1000)
        for bad in ["p99", "p99=2", "p0=1ms", "p101=1ms", "latency=1ms", "errors=x"] {
            #expect(throws: UsageProblem.self, "\(bad)") { try ServiceLevelObjective.parse(bad) }
        }
    }

    @Test("the exit decision: met targets pass, a slow p99, errors over the limit or low throughput fail")
    func misses() throws {
        let fast = Self.result(p99Ns: 1_000_000, errors: 0)
        #expect(try ServiceLevelObjective.parse("p99=2ms,errors=0").misses(fast).isEmpty)
        let slow = Self.result(p99Ns: 3_000_000, errors: 0)
        #expect(try ServiceLevelObjective.parse("p99=2ms").misses(slow).count == 1)
        let failing = Self.result(p99Ns: 1_000_000, errors: 2)
        #expect(ServiceLevelObjective().misses(failing) == ["errors 2 > 0"])
        #expect(try ServiceLevelObjective.parse("errors=2").misses(failing).isEmpty)
        #expect(try ServiceLevelObjective.parse("throughput=500").misses(fast).count == 1)
        #expect(ServiceLevelObjective().exitStatus(for: fast) == 0)
        #expect(ServiceLevelObjective().exitStatus(for: failing) == 1)
        #expect(try ServiceLevelObjective.parse("p99=2ms").exitStatus(for: slow) == 1)
        #expect(try ServiceLevelObjective.parse("errors=2").exitStatus(for: failing) == 0)
    }

    @Test("the JSON report parses and carries percentiles, codes and errors; the SVG has its three panels")
    func reports() throws {
        let result = Self.result(p99Ns: 1_000_000, errors: 1)
        let json = LoadReport.json(result, sloMisses: ["errors 1 > 0"])
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(object?["errors"] as? Int == 1)
        let median = (object?["latency_us"] as? [String: Any])?["p50"] as? Double ?? 0
        #expect(abs(median - 100) < 1)
        #expect(object?["slo_met"] as? Bool == false)
        let svg = LatencyChart.svg(result)
        #expect(svg.hasPrefix("<svg") && svg.contains("latency over time") && svg.contains("latency distribution"))
        #expect(LoadReport.text(result).contains("errors 1  (timeout 1)"))
    }

    @Test("non-loopback targets are refused without --allow-remote; limits are enforced")
    func configurationLimits() {
        let dialect = BuiltinDialects.dialect(named: "iso87ascii")!
        var configuration = LoadConfiguration(target: SocketAddress("10.1.2.3:8583")!, dialect: dialect)
        #expect(throws: UsageProblem.self) { try configuration.validate(allowRemote: false) }
        #expect(throws: Never.self) { try configuration.validate(allowRemote: true) }
        configuration.target = SocketAddress("127.0.0.1:8583")!
        configuration.connections = 1001
        #expect(throws: UsageProblem.self) { try configuration.validate(allowRemote: false) }
        configuration.connections = 8
        configuration.durationNs = LoadConfiguration.durationNsMax + 1
        #expect(throws: UsageProblem.self) { try configuration.validate(allowRemote: false) }
        #expect(LoadConfiguration.parseDuration("1.5s") == 1_500_000_000)
        #expect(LoadConfiguration.parseDuration("250ms") == 250_000_000)
        #expect(LoadConfiguration.parseDuration("2m") == 120_000_000_000)
        #expect(LoadConfiguration.parseDuration("abc") == nil)
    }
}
