import Glibc

/// Fixed-size bytes the ledger stores, logs and compares without reading them: what the decider wrote.
///
/// Each kind has one size, fixed by the log and snapshot formats that carry it (snapshot version 5, the log's
/// record layout): a decider that changes what it puts in them must read every form it ever wrote, as the
/// ledger replays old logs and snapshots byte for byte. Plain values: copying one allocates nothing.
public protocol DecisionBytes: Sendable, BitwiseCopyable, Equatable {
    static var byteCount: Int { get }
    /// All bytes zero.
    init()
}

extension DecisionBytes {
    /// All bytes zero: a member the rules never saw, a purchase with no effect, no terms.
    public static var zero: Self { Self() }

    /// A copy of exactly `byteCount` bytes.
    public init(copying bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == Self.byteCount, "\(Self.self) is \(Self.byteCount) bytes, given \(bytes.count)")
        precondition(MemoryLayout<Self>.size == Self.byteCount, "\(Self.self) storage is not \(Self.byteCount) bytes")
        self.init()
        Swift.withUnsafeMutableBytes(of: &self) { $0.copyMemory(from: bytes) }
    }

    /// The bytes, for the decider to read (and the log to copy).
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try Swift.withUnsafeBytes(of: self) { try body($0) }
    }

    public static func == (left: Self, right: Self) -> Bool {
        precondition(MemoryLayout<Self>.size >= byteCount, "the bytes compared are the value's")
        return Swift.withUnsafeBytes(of: left) { leftBytes in
            Swift.withUnsafeBytes(of: right) { rightBytes in
                memcmp(leftBytes.baseAddress!, rightBytes.baseAddress!, byteCount) == 0
            }
        }
    }
}

/// A member's loyalty state as the ledger keeps it in memory and in snapshots: the decider's own in-memory form,
/// 127 bytes aligned to 8 (so a member record keeps its size and snapshot layout). All zero: never decided.
public struct MemberState: DecisionBytes {
    public static let byteCount = 127
    var storage:
        (
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt32, UInt16, UInt8
        ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    public init() {}
}

/// A member's loyalty state as a log record carries it (after a decision, a refund, a reversal): 128 bytes.
public struct LoggedMemberState: DecisionBytes {
    public static let byteCount = 128
    var storage:
        (
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64
        ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    public init() {}
}

/// What a decided purchase did to its member's state, kept with its remembered key (in memory and in snapshots)
/// so that a refund or reversal undoes exactly that: the decider's in-memory form, 48 bytes.
public struct PurchaseEffectState: DecisionBytes {
    public static let byteCount = 48
    var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
    public init() {}
}

/// A purchase's effect as its log record carries it: 48 bytes.
public struct LoggedPurchaseEffect: DecisionBytes {
    public static let byteCount = 48
    var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
    public init() {}
}

/// How a payment with stored value is planned (the rules' redemption section), as a pay record logs it: 18
/// bytes. The ledger owns bit 2 of the last byte (the record says a purchase total follows); the decider never
/// sets it.
public struct PaymentTerms: DecisionBytes {
    public static let byteCount = 18
    var storage: (UInt64, UInt64, UInt16) = (0, 0, 0)
    public init() {}

    /// The flags byte the decider and the ledger share.
    var flags: UInt8 {
        get { UInt8(truncatingIfNeeded: storage.2 >> 8) }
        set { storage.2 = storage.2 & 0x00FF | UInt16(newValue) << 8 }
    }
}

/// A purchase's facts only the decider reads (currency, category, terminal, service, sale time…), in the
/// decider's own in-memory form: 72 bytes, carried by the command and never logged (the decision is).
public struct PurchaseFacts: DecisionBytes {
    public static let byteCount = 72
    var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (
        0, 0, 0, 0, 0, 0, 0, 0, 0
    )
    public init() {}
}

/// A merchant's identifier (ISO 8583 field 42) as the ledger carries it to the decider: 16 bytes, first byte
/// most significant, zero-filled. The ledger only passes it on.
public struct MerchantName: Sendable, BitwiseCopyable, Equatable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public static let none = MerchantName(high: 0, low: 0)
}
