/// The transactions the load generator sends (wire contract v1).
public enum RequestKind: Int, Sendable, CaseIterable, CustomStringConvertible {
    case purchase, redeem, balance, reversal, refund

    public var description: String {
        switch self {
        case .purchase: return "purchase"
        case .redeem: return "redeem"
        case .balance: return "balance"
        case .reversal: return "reversal"
        case .refund: return "refund"
        }
    }

    /// Request MTI as a number (0200, 0400).
    var requestMTI: Int { self == .reversal ? 400 : 200 }
    /// The MTI a correct answer carries.
    var responseMTI: Int { self == .reversal ? 410 : 210 }
    /// Field 3 for the kinds that have their own processing code (a reversal copies its original's).
    var processingCode: Int64 {
        switch self {
        case .purchase: return 0
        case .redeem: return 900_000
        case .balance: return 310_000
        case .refund: return 200_000
        case .reversal: return 0
        }
    }
}

/// SplitMix64: a tiny, fast, seedable generator, so that a run's choices can be repeated exactly.
public struct SplitMix64: Sendable {
    var state: UInt64

    public init(seed: UInt64) { state = seed }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

    /// A value in 0..<bound (the tiny modulo bias is irrelevant for load shaping).
    @inline(__always)
    public mutating func next(below bound: UInt64) -> UInt64 { next() % bound }
}
