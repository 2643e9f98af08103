import ISO8583
import LoadGenerator
import Network

/// A TrivialResponder on a loopback port of its own for one test; `stop` closes it.
final class TestResponder {
    let group: EventLoopGroup
    let port: UInt16

    let dialect: Dialect
    let framing: Framing

    init(
        fault: TrivialResponder.Fault = .none, dialect: Dialect = BuiltinDialects.dialect(named: "iso87ascii")!,
        framing: Framing = Framing()
    ) throws {
        self.dialect = dialect
        self.framing = framing
        var limits = NetworkLimits()
        limits.idleTimeoutMs = 0
        group = try EventLoopGroup(loopCount: 1, limits: limits, log: LogSink(descriptor: 2, linesPerSecondMax: 5))
        port = try group.listen(on: SocketAddress("127.0.0.1:0")!) { _ in
            TrivialResponder(dialect: dialect, framing: framing, fault: fault)
        }
        group.start()
    }

    func stop() { group.stop() }

    /// A short run against this responder: small, quiet, bounded.
    func configuration(connections: Int = 2, inFlight: Int = 8, durationMs: UInt64 = 300) -> LoadConfiguration {
        var configuration = LoadConfiguration(
            target: SocketAddress("127.0.0.1:\(port)")!, dialect: dialect)
        configuration.framing = framing
        configuration.connections = connections
        configuration.inFlightPerConnection = inFlight
        configuration.durationNs = durationMs * 1_000_000
        configuration.timeoutNs = 200_000_000
        configuration.progressDescriptor = nil
        return configuration
    }

    func run(_ configuration: LoadConfiguration) throws -> LoadResult {
        try LoadRunner(configuration: configuration).run()
    }
}
