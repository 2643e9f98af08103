import ISO8583
import Network

/// Everything one run needs, validated up front. Every quantity has a named maximum, so no flag can make a run
/// unbounded in time, memory or count (STYLE.md: put a limit on everything).
public struct LoadConfiguration: Sendable {
    public static let connectionsMax = 1000
    public static let inFlightPerConnectionMax = 1024
    /// Slots across all connections: bounds the in-flight tables and the timeout scan.
    public static let inFlightTotalMax = 65_536
    public static let ratePerSecondMax: UInt64 = 10_000_000
    public static let durationNsMax: UInt64 = 3600 * 1_000_000_000
    public static let requestCountMax: UInt64 = 10_000_000_000
    public static let timeoutNsMax: UInt64 = 60 * 1_000_000_000

    public var target: SocketAddress
    public var connections = 8
    public var inFlightPerConnection = 32
    /// Requests per second on a fixed schedule (open loop); nil sends as fast as answers come back (closed loop).
    public var ratePerSecond: UInt64?
    /// How long the measured part runs; the run also ends after `requestCount` measured requests.
    public var durationNs: UInt64 = 10 * 1_000_000_000
    public var requestCount: UInt64?
    /// Load sent before measuring starts (connections warm, caches filled, cards enrolled); not in the results.
    public var warmupNs: UInt64 = 0
    /// A request unanswered for this long is an error.
    public var timeoutNs: UInt64 = 2 * 1_000_000_000
    public var cardPool = CardPool(size: 10_000)
    public var mix = TransactionMix.purchasesOnly
    public var dialect: Dialect
    public var framing = Framing()
    /// Field 41 of connection i is this prefix followed by i, zero-filled to 8 characters.
    public var terminalPrefix = "LG"
    public var acquirerId: Int64 = 123_456
    public var merchantId = "LOADGEN00000001"
    public var seed: UInt64 = 1
    /// Purchase amounts are drawn uniformly from this range (minor units); redeems use a tenth of it.
    public var amountMinorRange: ClosedRange<Int64> = 1_000...100_000
    /// TLS to the target (`--tls`), with the authority to verify it and a client certificate for mutual TLS.
    public var tls: TLSClientFiles?
    /// Progress lines on standard error once a second.
    public var progressDescriptor: Int32? = 2

    public init(target: SocketAddress, dialect: Dialect) {
        self.target = target
        self.dialect = dialect
    }

    /// Checks every limit; the message names the flag to change.
    public func validate(allowRemote: Bool) throws(UsageProblem) {
        guard target.isLoopback || allowRemote else {
            throw UsageProblem(
                "\(target.host) is not a loopback address: load tests go to 127.0.0.0/8 unless --allow-remote is given")
        }
        guard (1...LoadConfiguration.connectionsMax).contains(connections) else {
            throw UsageProblem("--connections must be 1...\(LoadConfiguration.connectionsMax)")
        }
        guard (1...LoadConfiguration.inFlightPerConnectionMax).contains(inFlightPerConnection) else {
            throw UsageProblem("--in-flight must be 1...\(LoadConfiguration.inFlightPerConnectionMax)")
        }
        guard connections * inFlightPerConnection <= LoadConfiguration.inFlightTotalMax else {
            throw UsageProblem("connections × in-flight must be at most \(LoadConfiguration.inFlightTotalMax)")
        }
        if let ratePerSecond, !(1...LoadConfiguration.ratePerSecondMax).contains(ratePerSecond) {
            throw UsageProblem("--rate must be 1...\(LoadConfiguration.ratePerSecondMax)")
        }
        guard durationNs > 0 && durationNs <= LoadConfiguration.durationNsMax else {
            throw UsageProblem("--duration must be more than 0 and at most 3600s")
        }
        guard warmupNs <= LoadConfiguration.durationNsMax else { throw UsageProblem("--warmup must be at most 3600s") }
        if let requestCount, !(1...LoadConfiguration.requestCountMax).contains(requestCount) {
            throw UsageProblem("--count must be 1...\(LoadConfiguration.requestCountMax)")
        }
        guard timeoutNs > 0 && timeoutNs <= LoadConfiguration.timeoutNsMax else {
            throw UsageProblem("--timeout must be more than 0 and at most 60s")
        }
        try validateTerminals()
    }

    func validateTerminals() throws(UsageProblem) {
        let digits = 8 - terminalPrefix.utf8.count
        guard digits >= 1, terminalPrefix.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            throw UsageProblem("--terminal-prefix must be 0 to 7 printable ASCII characters")
        }
        var capacity = 1
        for _ in 0..<min(digits, 6) { capacity *= 10 }
        guard connections <= capacity else {
            throw UsageProblem(
                "--terminal-prefix '\(terminalPrefix)' leaves room for \(capacity) terminals, not \(connections)")
        }
    }

    /// Field 41 of connection `index`.
    public func terminalId(_ index: Int) -> [UInt8] {
        var digits = Array(String(index).utf8)
        let width = 8 - terminalPrefix.utf8.count
        if digits.count < width {
            digits.insert(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - digits.count), at: 0)
        }
        return Array(terminalPrefix.utf8) + digits
    }

    /// Parses `500ms`, `10s`, `2m`, `1.5s` or a bare number of seconds.
    public static func parseDuration(_ text: String) -> UInt64? {
        let units: [(suffix: String, nanoseconds: Double)] = [("ms", 1e6), ("us", 1e3), ("s", 1e9), ("m", 60e9)]
        for unit in units where text.hasSuffix(unit.suffix) {
            guard let number = Double(text.dropLast(unit.suffix.count)), number >= 0, number < 1e7 else { return nil }
            return UInt64(number * unit.nanoseconds)
        }
        guard let seconds = Double(text), seconds >= 0, seconds < 1e7 else { return nil }
        return UInt64(seconds * 1e9)
    }
}
