/// What one rules-decided purchase did to its member's aggregates, kept by the ledger beside the purchase so
/// that a refund or reversal can undo exactly that (`Program.undo`), and nothing a later purchase did.
public struct PurchaseEffect: Sendable, Equatable, BitwiseCopyable {
    /// The money part counted into the aggregates.
    public var moneyMinor: Int64
    /// When the purchase was decided (milliseconds since the Unix epoch).
    public var timeMs: Int64
    /// The member's previous purchase time (0: none), restored when this purchase is undone while still the
    /// latest.
    public var previousPurchaseTimeMs: Int64
    /// The tier before the purchase.
    public var tierBefore: UInt8

    public init(moneyMinor: Int64 = 0, timeMs: Int64 = 0, previousPurchaseTimeMs: Int64 = 0, tierBefore: UInt8 = 0) {
        self.moneyMinor = moneyMinor
        self.timeMs = timeMs
        self.previousPurchaseTimeMs = previousPurchaseTimeMs
        self.tierBefore = tierBefore
    }

    public static let none = PurchaseEffect()

    /// Bytes of the encoded form; fixed, with reserved zero bytes for later fields.
    public static let encodedByteCount = 48

    public func encode(into base: UnsafeMutableRawPointer) {
        base.initializeMemory(as: UInt8.self, repeating: 0, count: Self.encodedByteCount)
        base.storeBytes(of: moneyMinor.littleEndian, toByteOffset: 0, as: Int64.self)
        base.storeBytes(of: timeMs.littleEndian, toByteOffset: 8, as: Int64.self)
        base.storeBytes(of: previousPurchaseTimeMs.littleEndian, toByteOffset: 16, as: Int64.self)
        base.storeBytes(of: tierBefore, toByteOffset: 24, as: UInt8.self)
    }

    public init?(decoding base: UnsafeRawPointer) {
        let money = Int64(littleEndian: base.loadUnaligned(fromByteOffset: 0, as: Int64.self))
        let time = Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8, as: Int64.self))
        let previous = Int64(littleEndian: base.loadUnaligned(fromByteOffset: 16, as: Int64.self))
        let tier = base.loadUnaligned(fromByteOffset: 24, as: UInt8.self)
        guard money >= 0, time >= 0, previous >= 0 else { return nil }
        self.init(moneyMinor: money, timeMs: time, previousPurchaseTimeMs: previous, tierBefore: tier)
    }
}
