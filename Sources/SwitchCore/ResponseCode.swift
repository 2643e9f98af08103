import Ledger

/// Field 39: every code the switch answers, and the one table from ledger outcomes to codes (wire contract v1,
/// "Response codes"). Nothing else in the switch spells a code, so a code means one thing everywhere.
///
/// The raw value is the code's two ASCII digits, so writing one allocates nothing.
enum ResponseCode: UInt16, Sendable, CaseIterable {
    case approved = 0x3030  // "00"
    /// Declined without a more specific reason: an original after its reversal, an expired hold, a stale advice,
    /// a request whose field 7 is older than the request-key retention or too far ahead (`RequestAge`).
    case declined = 0x3035  // "05"
    case partiallyApproved = 0x3130  // "10"
    /// Unknown MTI, processing code or network management code.
    case invalidTransaction = 0x3132  // "12"
    case invalidAmount = 0x3133  // "13"
    case unknownCard = 0x3134  // "14"
    case originalNotFound = 0x3235  // "25"
    case formatError = 0x3330  // "30"
    case insufficientFunds = 0x3531  // "51"
    /// Not permitted for this card (an original of another card, a profile already given).
    case notPermittedForCard = 0x3537  // "57"
    /// Not permitted at this merchant (value earned where the rules' groups do not allow spending here).
    case notPermittedAtMerchant = 0x3538  // "58"
    case cardBlocked = 0x3632  // "62"
    /// Not answered inside the latency budget, or shed.
    case notAnsweredInTime = 0x3931  // "91"
    case keyConflict = 0x3934  // "94"
    case systemError = 0x3936  // "96"

    /// The code for a ledger outcome.
    init(_ status: LedgerStatus) {
        switch status {
        case .approved: self = .approved
        case .partiallyApproved: self = .partiallyApproved
        case .insufficientFunds: self = .insufficientFunds
        case .unknownCard: self = .unknownCard
        case .cardBlocked: self = .cardBlocked
        case .invalidAmount: self = .invalidAmount
        case .originalNotFound: self = .originalNotFound
        case .declined: self = .declined
        case .notPermitted: self = .notPermittedForCard
        case .notPermittedAtMerchant: self = .notPermittedAtMerchant
        case .keyConflict: self = .keyConflict
        case .overloaded, .undone: self = .notAnsweredInTime
        case .capacityExceeded, .systemError, .originalMayBeForgotten: self = .systemError
        }
        precondition(
            status.isApproval == (self == .approved || self == .partiallyApproved), "00 and 10 only for approvals")
    }

    /// The two characters, e.g. "58" (for logs and tests).
    var text: String { String(decoding: [UInt8(rawValue >> 8), UInt8(rawValue & 0xFF)], as: UTF8.self) }

    /// Calls `body` with the two ASCII bytes, from the stack.
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        precondition(
            (0x30...0x39).contains(rawValue >> 8) && (0x30...0x39).contains(rawValue & 0xFF),
            "a code is two ASCII digits")
        var bigEndian = rawValue.bigEndian
        return withUnsafeBytes(of: &bigEndian) { body($0) }
    }
}
