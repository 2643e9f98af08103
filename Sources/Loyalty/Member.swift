/// What the rules know about one member: aggregates the ledger keeps per member and the rules read and advance,
/// never the member's history itself, so a decision costs the same for ten purchases or ten thousand.
///
/// The ledger stores one per member and records the state after every rules-decided change in its write-ahead
/// log (`encode(into:)`), so a replay sets exactly the state the rules in force produced, whatever the rules are
/// now. Fixed size and plain integers: copying one allocates nothing.
public struct Member: Sendable, Equatable, BitwiseCopyable {
    /// Purchases decided by the rules and not undone.
    public var purchaseCount: UInt32
    /// Their money parts (minor units), for the average ticket.
    public var purchaseVolumeMinor: Int64
    /// The first purchase, in milliseconds since the Unix epoch; 0 before the first purchase.
    public var firstPurchaseTimeMs: Int64
    /// The latest purchase; 0 before the first purchase.
    public var lastPurchaseTimeMs: Int64
    /// Index into the program's tiers; 0 is the base tier (also when the program has no tiers).
    public var tier: UInt8

    public init(
        purchaseCount: UInt32 = 0, purchaseVolumeMinor: Int64 = 0, firstPurchaseTimeMs: Int64 = 0,
        lastPurchaseTimeMs: Int64 = 0, tier: UInt8 = 0
    ) {
        self.purchaseCount = purchaseCount
        self.purchaseVolumeMinor = purchaseVolumeMinor
        self.firstPurchaseTimeMs = firstPurchaseTimeMs
        self.lastPurchaseTimeMs = lastPurchaseTimeMs
        self.tier = tier
    }

    /// A member who has not bought anything yet.
    public static let new = Member()

    /// Bytes of the encoded form. Fixed, with room to grow: new aggregates take reserved (zero) bytes, so log
    /// records keep their size and older records decode with the new fields at zero.
    public static let encodedByteCount = 128

    /// Writes exactly `encodedByteCount` bytes, little-endian, unused bytes zero.
    public func encode(into base: UnsafeMutableRawPointer) {
        base.initializeMemory(as: UInt8.self, repeating: 0, count: Self.encodedByteCount)
        var offset = 0
        func put<T: FixedWidthInteger>(_ value: T) {
            base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
            offset += MemoryLayout<T>.size
        }
        put(purchaseCount)
        put(UInt32(tier))
        put(purchaseVolumeMinor)
        put(firstPurchaseTimeMs)
        put(lastPurchaseTimeMs)
    }

    /// Reads what `encode(into:)` wrote; nil when a value is out of range (a damaged or foreign record).
    public init?(decoding base: UnsafeRawPointer) {
        var offset = 0
        func get<T: FixedWidthInteger>(_: T.Type) -> T {
            defer { offset += MemoryLayout<T>.size }
            return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        let count = get(UInt32.self)
        let tier = get(UInt32.self)
        let volume = get(Int64.self)
        let first = get(Int64.self)
        let last = get(Int64.self)
        guard tier <= UInt32(UInt8.max), volume >= 0, first >= 0, last >= first else { return nil }
        self.init(
            purchaseCount: count, purchaseVolumeMinor: volume, firstPurchaseTimeMs: first, lastPurchaseTimeMs: last,
            tier: UInt8(tier))
    }
}
