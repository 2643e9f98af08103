import Glibc
import ISO8583
import LoadGenerator
import Network

/// `loyalty-switch loadgen HOST:PORT`: the operations load tester (issue 5).
enum LoadgenCommand {
    static let usage = """
        usage: loyalty-switch loadgen HOST:PORT [OPTIONS]

        Sends ISO 8583 requests to a running switch, checks every answer and reports throughput and latency.
          --connections N        TCP connections, one terminal each (default 8)
          --in-flight N          requests in flight per connection (default 32)
          --rate N               open loop: N requests/s on a fixed schedule, latency counted from each request's
                                 intended send time; without --rate: closed loop, as fast as answers return
          --duration TIME        measured phase, e.g. 10s, 500ms, 2m (default 10s; at most 1h)
          --count N              stop after N measured requests (the duration still bounds the run)
          --warmup TIME          load before measuring (default 0)
          --timeout TIME         an unanswered request is an error after this (default 2s)
          --cards N              card pool size (default 10000); cards enrol on their first purchase
          --mix LIST             purchase=70,redeem=10,balance=10,reversal=5,refund=5 (default purchase=100);
                                 reversals and refunds name earlier approved requests in field 90
          --dialect NAME|FILE    ISO 8583 dialect (default iso87ascii; spec files as for the switch)
          --framing NAME         binary2 (default), bcd2 or ascii4; --tpdu adds a 5-byte TPDU
          --terminal-prefix P    field 41 is P + connection number, zero-filled to 8 characters (default LG)
          --seed N               random seed for cards, amounts and the mix (default 1)
          --json FILE            write the report as JSON
          --svg FILE             draw latency over time and the latency distribution
          --slo LIST             e.g. p99=2ms,p99.9=5ms,max=50ms,errors=0,throughput=50000
          --tls                  TLS 1.2/1.3 to the target (handshakes at connect, before the run starts)
          --ca FILE              with --tls: verify the switch's certificate against this PEM authority
                                 (without it the certificate is not checked: load tests run on loopback)
          --certificate FILE     with --tls: present this PEM client certificate (mutual TLS)
          --private-key FILE     its PEM private key
          --allow-remote         permit a target outside 127.0.0.0/8
          --quiet                no progress lines
        Exit status: 0 when every answer was right and the SLO (if any) was met; 1 when a request failed
        (wrong answer, timeout, closed connection) or an SLO target was missed; 2 for a usage mistake.
        """

    static let valued: Set<String> = [
        "connections", "in-flight", "rate", "duration", "count", "warmup", "timeout", "cards", "mix", "dialect",
        "framing", "terminal-prefix", "seed", "json", "svg", "slo", "ca", "certificate", "private-key",
    ]

    static func run(_ arguments: [String]) -> Int32 {
        if arguments.contains("--help") || arguments.contains("-h") {
            print(usage)
            return 0
        }
        let configuration: LoadConfiguration
        let objective: ServiceLevelObjective?
        let options: CommandLineOptions
        do {
            options = try CommandLineOptions(
                arguments, valued: valued, flags: ["tpdu", "allow-remote", "quiet", "tls"])
            configuration = try parse(options)
            objective = try options.values["slo"].map { (text: String) throws(UsageProblem) in
                try ServiceLevelObjective.parse(text)
            }
        } catch let problem as UsageError {
            printError("error: \(problem.message)\n\(usage)")
            return 2
        } catch {
            printError("error: \(error)\n\(usage)")
            return 2
        }
        return execute(configuration, objective: objective, options: options)
    }

    static func execute(
        _ configuration: LoadConfiguration, objective: ServiceLevelObjective?, options: CommandLineOptions
    ) -> Int32 {
        let result: LoadResult
        do {
            let runner = try LoadRunner(configuration: configuration)
            result = try runner.run()
        } catch {
            printError("error: \(error)")
            return 1
        }
        print(LoadReport.text(result), terminator: "")
        let target = objective ?? ServiceLevelObjective()
        let misses = target.misses(result)
        if let path = options.values["json"] {
            guard writeFile(path, LoadReport.json(result, sloMisses: objective == nil ? nil : misses)) else { return 1 }
        }
        if let path = options.values["svg"] {
            guard writeFile(path, LatencyChart.svg(result)) else { return 1 }
        }
        if objective != nil { print(misses.isEmpty ? "SLO met" : "SLO missed: " + misses.joined(separator: "; ")) }
        if !misses.isEmpty && objective == nil { print("FAILED: \(result.statistics.errorCount) errors") }
        return target.exitStatus(for: result)
    }

    static func parse(_ options: CommandLineOptions) throws -> LoadConfiguration {
        guard options.positionals.count == 1, let target = SocketAddress(options.positionals[0]) else {
            throw UsageError(message: "loadgen needs one target HOST:PORT (IPv4)")
        }
        let dialect = try Dialect.named(options.values["dialect"] ?? BuiltinDialects.defaultName)
        var configuration = LoadConfiguration(target: target, dialect: dialect)
        configuration.connections = try integer(options, "connections") ?? configuration.connections
        configuration.inFlightPerConnection = try integer(options, "in-flight") ?? configuration.inFlightPerConnection
        configuration.ratePerSecond = try integer(options, "rate").map { UInt64($0) }
        configuration.requestCount = try integer(options, "count").map { UInt64($0) }
        configuration.durationNs = try duration(options, "duration") ?? configuration.durationNs
        configuration.warmupNs = try duration(options, "warmup") ?? configuration.warmupNs
        configuration.timeoutNs = try duration(options, "timeout") ?? configuration.timeoutNs
        if let cards = try integer(options, "cards") {
            guard (1...CardPool.sizeMax).contains(cards) else {
                throw UsageError(message: "--cards must be 1...\(CardPool.sizeMax)")
            }
            configuration.cardPool = CardPool(size: cards)
        }
        if let mix = options.values["mix"] { configuration.mix = try TransactionMix.parse(mix) }
        if let name = options.values["framing"] {
            guard let header = Framing.LengthHeader(rawValue: name) else {
                throw UsageError(message: "--framing must be binary2, bcd2 or ascii4")
            }
            configuration.framing.lengthHeader = header
        }
        configuration.framing.hasTPDU = options.has("tpdu")
        configuration.terminalPrefix = options.values["terminal-prefix"] ?? configuration.terminalPrefix
        configuration.seed = try integer(options, "seed").map { UInt64($0) } ?? configuration.seed
        if options.has("quiet") { configuration.progressDescriptor = nil }
        configuration.tls = try tlsFiles(options)
        try configuration.validate(allowRemote: options.has("allow-remote"))
        return configuration
    }

    /// `--tls [--ca FILE] [--certificate FILE --private-key FILE]`; the file options without --tls are a mistake.
    static func tlsFiles(_ options: CommandLineOptions) throws(UsageError) -> TLSClientFiles? {
        let certificate = options.values["certificate"]
        let key = options.values["private-key"]
        guard options.has("tls") else {
            if options.values["ca"] != nil || certificate != nil || key != nil {
                throw UsageError(message: "--ca, --certificate and --private-key need --tls")
            }
            return nil
        }
        guard (certificate == nil) == (key == nil) else {
            throw UsageError(message: "--certificate and --private-key go together")
        }
        return TLSClientFiles(
            certificateAuthorityPath: options.values["ca"], certificatePath: certificate, privateKeyPath: key)
    }

    static func integer(_ options: CommandLineOptions, _ name: String) throws(UsageError) -> Int? {
        guard let text = options.values[name] else { return nil }
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")), value >= 0 else {
            throw UsageError(message: "--\(name) needs a whole number")
        }
        return value
    }

    static func duration(_ options: CommandLineOptions, _ name: String) throws(UsageError) -> UInt64? {
        guard let text = options.values[name] else { return nil }
        guard let value = LoadConfiguration.parseDuration(text) else {
            throw UsageError(message: "--\(name): '\(text)' is not a duration like 10s or 500ms")
        }
        return value
    }

    static func writeFile(_ path: String, _ text: String) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            printError("error: cannot write \(path): \(String(cString: strerror(errno)))")
            return false
        }
        defer { close(descriptor) }
        var copy = text
        return copy.withUTF8 { bytes in write(descriptor, bytes.baseAddress, bytes.count) == bytes.count }
    }
}
