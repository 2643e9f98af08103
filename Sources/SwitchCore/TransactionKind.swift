import ISO8583

/// What a request asks for, from its MTI (repeat digit ignored) and the transaction type in field 3.
/// The table of wire contract v1, "Transactions".
public enum TransactionKind: Sendable, Equatable {
    case purchase
    case redeem
    case hold
    case completion
    case refund
    case balanceInquiry
    /// Enrolment with a birthday and a referrer (field 48), not in wire contract v1: processing code 91.
    case profile
    case offlinePurchase
    case reversal
    case networkManagement
    /// An MTI or processing code the switch does not serve: answered 12.
    case unsupported

    /// Classifies a request; `transactionType` is the first two digits of field 3 (nil when absent).
    public static func classify(mti: MTI, transactionType: Int?) -> TransactionKind {
        precondition(transactionType.map { $0 >= 0 } ?? true, "a transaction type is two digits of field 3")
        switch (mti.withoutRepeat.value, transactionType) {
        case (200, 0): return .purchase
        case (200, 90): return .redeem
        case (200, 20): return .refund
        case (200, 31): return .balanceInquiry
        case (200, 91): return .profile
        case (100, 90): return .hold
        case (220, 90): return .completion
        case (220, 0): return .offlinePurchase
        case (400, _), (420, _): return .reversal
        case (800, _): return .networkManagement
        default: return .unsupported
        }
    }

    /// Field 4 must be present and positive for these.
    var needsAmount: Bool {
        switch self {
        case .purchase, .redeem, .hold, .refund, .offlinePurchase: return true
        case .completion, .balanceInquiry, .profile, .reversal, .networkManagement, .unsupported: return false
        }
    }
}
