import Ledger
import Loyalty

/// The loyalty types in the ledger's opaque bytes, and back.
///
/// In memory (members, remembered keys, snapshots) the ledger keeps the rules' own in-memory forms, copied as
/// they are: a member record keeps its size and a format-5 snapshot loads unchanged. Log records carry the
/// rules' encoded forms (`Member.encode(into:)`, `PurchaseEffect.encode(into:)`), as they always have.
enum DecisionCoding {
    /// The value's in-memory bytes in `Bytes` (zero past the value's size).
    static func bytes<Value: BitwiseCopyable, Bytes: DecisionBytes>(of value: Value, as _: Bytes.Type) -> Bytes {
        precondition(MemoryLayout<Value>.size <= Bytes.byteCount, "\(Value.self) does not fit \(Bytes.self)")
        var bytes = Bytes.zero
        withUnsafeMutableBytes(of: &bytes) { $0.storeBytes(of: value, as: Value.self) }
        return bytes
    }

    /// The value whose in-memory bytes `bytes` holds.
    static func value<Value: BitwiseCopyable, Bytes: DecisionBytes>(_: Value.Type, of bytes: Bytes) -> Value {
        precondition(MemoryLayout<Value>.size <= Bytes.byteCount, "\(Value.self) does not fit \(Bytes.self)")
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: Value.self) }
    }
}

extension MemberState {
    public init(_ member: Member) {
        precondition(MemoryLayout<Member>.size == Self.byteCount, "Member's in-memory size changed: snapshots")
        self = DecisionCoding.bytes(of: member, as: Self.self)
    }

    public var member: Member { DecisionCoding.value(Member.self, of: self) }
}

extension PurchaseEffectState {
    public init(_ effect: PurchaseEffect) {
        precondition(MemoryLayout<PurchaseEffect>.size == Self.byteCount, "PurchaseEffect's size changed: snapshots")
        self = DecisionCoding.bytes(of: effect, as: Self.self)
    }

    public var effect: PurchaseEffect { DecisionCoding.value(PurchaseEffect.self, of: self) }
}

extension LoggedMemberState {
    public init(_ member: Member) {
        precondition(Member.encodedByteCount == Self.byteCount, "Member's encoded size is the log's")
        self.init()
        withUnsafeMutableBytes(of: &self) { member.encode(into: $0.baseAddress!) }
    }

    /// Nil when the bytes say something `Member.encode` never writes.
    public var member: Member? { withUnsafeBytes { Member(decoding: $0.baseAddress!) } }
}

extension LoggedPurchaseEffect {
    public init(_ effect: PurchaseEffect) {
        precondition(PurchaseEffect.encodedByteCount == Self.byteCount, "PurchaseEffect's encoded size is the log's")
        self.init()
        withUnsafeMutableBytes(of: &self) { effect.encode(into: $0.baseAddress!) }
    }

    public var effect: PurchaseEffect? { withUnsafeBytes { PurchaseEffect(decoding: $0.baseAddress!) } }
}

extension PaymentTerms {
    /// Layout (little-endian), as pay records have always logged it: 0 pointValueMinor i64, 8 minimumBalancePoints
    /// i64, 16 maximumSharePercent u8, 17 flags u8 (1 credit before points, 2 partial approval; bit 4 is the
    /// ledger's).
    public init(_ policy: RedemptionPolicy) {
        self.init()
        withUnsafeMutableBytes(of: &self) { bytes in
            bytes.storeBytes(of: policy.pointValueMinor.littleEndian, toByteOffset: 0, as: Int64.self)
            bytes.storeBytes(of: policy.minimumBalancePoints.littleEndian, toByteOffset: 8, as: Int64.self)
            bytes.storeBytes(of: UInt8(clamping: policy.maximumSharePercent), toByteOffset: 16, as: UInt8.self)
            let flags: UInt8 = (policy.creditBeforePoints ? 1 : 0) | (policy.partialApproval ? 2 : 0)
            bytes.storeBytes(of: flags, toByteOffset: 17, as: UInt8.self)
        }
    }

    /// The policy, or nil when a flag is set that no policy writes.
    var policy: RedemptionPolicy? {
        withUnsafeBytes { bytes in
            let flags = bytes.load(fromByteOffset: 17, as: UInt8.self)
            guard flags & ~3 == 0 else { return nil }
            return RedemptionPolicy(
                pointValueMinor: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: Int64.self)),
                minimumBalancePoints: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: Int64.self)),
                maximumSharePercent: Int64(bytes.load(fromByteOffset: 16, as: UInt8.self)),
                creditBeforePoints: flags & 1 != 0, partialApproval: flags & 2 != 0)
        }
    }
}

extension PurchaseFacts {
    public init(_ transaction: Transaction) {
        self = DecisionCoding.bytes(of: transaction, as: Self.self)
    }

    public var transaction: Transaction { DecisionCoding.value(Transaction.self, of: self) }
}

extension MerchantName {
    /// The identifier's two words, as the ledger carries them.
    public init(_ identifier: ShortIdentifier) {
        self.init(high: identifier.packed.high, low: identifier.packed.low)
    }

    /// The identifier back. Its two words are the only thing `ShortIdentifier` stores (printable bytes, checked
    /// when it was made from the wire); a name not made from one (`none`) is an identifier no merchant has.
    public var identifier: ShortIdentifier {
        precondition(MemoryLayout<ShortIdentifier>.size == MemoryLayout<MerchantName>.size, "identifier layout")
        return unsafeBitCast(self, to: ShortIdentifier.self)
    }
}
