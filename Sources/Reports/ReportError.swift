import Ledger

/// Why a report was not made, named so the HTTP answer (an RFC 9457 problem naming the parameter) and the CLI
/// message can say it.
public enum ReportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A query parameter that is wrong for this report: its name and why.
    case badParameter(name: String, reason: String)
    /// The data directory could not be read (damaged, foreign, missing).
    case unreadable(String)
    /// The reader went away (the HTTP client closed); nothing more is written.
    case cancelled

    public var description: String {
        switch self {
        case .badParameter(let name, let reason): return "\(name): \(reason)"
        case .unreadable(let reason): return reason
        case .cancelled: return "cancelled"
        }
    }
}
