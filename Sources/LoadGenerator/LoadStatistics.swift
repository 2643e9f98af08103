/// The kinds of failure a run counts. Any of them makes the run fail unless `--slo errors=N` allows it.
public enum LoadErrorKind: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// An answer with the wrong MTI for its request (e.g. 0210 to a 0400).
    case wrongMTI
    /// An answer whose STAN names no request in flight on its connection (wrong or late STAN).
    case unmatched
    /// An answer whose STAN matches but whose terminal id (41) does not.
    case wrongTerminal
    /// An answer whose STAN and terminal match a request in flight but whose card (2) or processing code (3)
    /// differ from that request's, which the switch echoes: an answer to some other request.
    case echoMismatch
    /// An answer without a two-character field 39.
    case missingResponseCode
    /// Bytes that are not a frame or not a message of the dialect.
    case undecodable
    /// No answer within `--timeout`.
    case timeout
    /// The peer closed or reset a connection while the run needed it.
    case unexpectedClose
    /// Requests in flight on a connection when it closed: never answered.
    case lostInFlight
    /// Requests an open-loop schedule called for that never went out (all connections full till the end).
    case unsent

    public var description: String {
        switch self {
        case .wrongMTI: return "wrong_mti"
        case .unmatched: return "unmatched"
        case .wrongTerminal: return "wrong_terminal"
        case .echoMismatch: return "echo_mismatch"
        case .missingResponseCode: return "missing_response_code"
        case .undecodable: return "undecodable"
        case .timeout: return "timeout"
        case .unexpectedClose: return "unexpected_close"
        case .lostInFlight: return "lost_in_flight"
        case .unsent: return "unsent"
        }
    }
}

/// One second of the run, for the progress line and the latency-over-time chart.
public struct SecondSample: Sendable, Equatable {
    public var elapsedSeconds: Double
    public var warmup: Bool
    public var answered: UInt64
    public var errors: UInt64
    public var p50Ns: UInt64
    public var p99Ns: UInt64
    public var maximumNs: UInt64
}

/// What a run counted. Latency and response codes cover measured requests (sent after warm-up); errors are counted
/// in every phase, because a wrong answer during warm-up is still a wrong answer.
public struct LoadStatistics: Sendable {
    /// From the intended send time (open loop) or the send time (closed loop) to the answer.
    public var latency = LatencyHistogram()
    /// From the actual send to the answer: differs from `latency` only when the generator fell behind schedule.
    public var serviceTime = LatencyHistogram()
    public var sent: UInt64 = 0
    public var answered: UInt64 = 0
    /// Answers by field 39, indexed by its two bytes (`code[0] << 7 | code[1] & 0x7F`).
    public var responseCodes = [UInt64](repeating: 0, count: 1 << 14)
    public var errors = [UInt64](repeating: 0, count: LoadErrorKind.allCases.count)
    public var sentByKind = [UInt64](repeating: 0, count: RequestKind.allCases.count)
    /// Reversals and refunds sent as purchases because no approved original was waiting.
    public var substituted: UInt64 = 0
    /// The most a request went out after its intended time (open loop).
    public var sendLagMaximumNs: UInt64 = 0

    public init() {}

    public var errorCount: UInt64 { errors.reduce(0, +) }

    public func count(_ kind: LoadErrorKind) -> UInt64 { errors[kind.rawValue] }

    static func codeIndex(_ first: UInt8, _ second: UInt8) -> Int { Int(first & 0x7F) << 7 | Int(second & 0x7F) }

    /// Response codes seen, as ("00", count), ascending.
    public var responseCodeCounts: [(code: String, count: UInt64)] {
        var result: [(code: String, count: UInt64)] = []
        for index in 0..<responseCodes.count where responseCodes[index] > 0 {
            let code = String(decoding: [UInt8(index >> 7), UInt8(index & 0x7F)], as: UTF8.self)
            result.append((code, responseCodes[index]))
        }
        return result
    }

    public func responseCount(_ code: String) -> UInt64 {
        let bytes = Array(code.utf8)
        guard bytes.count == 2 else { return 0 }
        return responseCodes[LoadStatistics.codeIndex(bytes[0], bytes[1])]
    }
}

/// The outcome of a run: what was asked, what was measured.
public struct LoadResult: Sendable {
    public var target: String
    public var connections: Int
    public var inFlightPerConnection: Int
    public var ratePerSecond: UInt64?
    public var mix: String
    public var dialectName: String
    public var warmupNs: UInt64
    /// How long the measured phase lasted (from its start to its last answer or the end of the drain).
    public var measuredNs: UInt64
    public var statistics: LoadStatistics
    public var timeline: [SecondSample]

    /// Answers per second over the measured phase.
    public var throughputPerSecond: Double {
        measuredNs == 0 ? 0 : Double(statistics.answered) * 1e9 / Double(measuredNs)
    }
}
