/// Everything a receipt (ISO 8583 field 63) names from one version of the rules: its tiers' identifiers and its
/// offers as a receipt describes them. Small (at most `ProgramLimits.tierLevelsMax` tiers and
/// `ProgramLimits.offersMax` offers, whatever the program's merchants), so every version put in force can be kept
/// and a decision's receipt is always named by the version that decided it, after reloads and restarts alike.
public struct ReceiptNames: Sendable, Equatable {
    public let version: Int64
    public let tiers: [ShortIdentifier]
    /// By the offer id's `stableHash` (what a decision records), in the program's order.
    public let offers: [(hash: UInt32, summary: Program.OfferSummary)]

    public init(_ program: Program) {
        version = program.version
        tiers = (0..<program.tierCount).map { program.tierIdentifier(at: $0) }
        offers = program.offerHashes.compactMap { hash in program.offer(withHash: hash).map { (hash, $0) } }
    }

    public static func == (left: ReceiptNames, right: ReceiptNames) -> Bool {
        left.version == right.version && left.tiers == right.tiers
            && left.offers.map(\.hash) == right.offers.map(\.hash)
            && left.offers.map(\.summary) == right.offers.map(\.summary)
    }

    /// The tier at `level`; nil beyond the program's tiers (or for a program without tiers).
    public func tier(_ level: UInt8) -> ShortIdentifier? {
        Int(level) < tiers.count ? tiers[Int(level)] : nil
    }

    /// The offer whose id hash a decision recorded; nil for 0 or an offer this version does not have.
    public func offer(withHash hash: UInt32) -> Program.OfferSummary? {
        guard hash != 0 else { return nil }
        return offers.first { $0.hash == hash }?.summary
    }

    // MARK: Bytes

    /// version (8), tier count (1), offer count (1), then 16 bytes per tier and 60 per offer (hash 4, identifier
    /// 16, credit basis points, bonus points, return days, purchase at least, valid visits: 8 each), little-endian.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(10 + tiers.count * 16 + offers.count * 60)
        func put(_ value: UInt64, _ width: Int) {
            for shift in stride(from: 0, to: width * 8, by: 8) { out.append(UInt8(truncatingIfNeeded: value >> shift)) }
        }
        func put(_ identifier: ShortIdentifier) {
            let (high, low) = identifier.packed
            for word in [high, low] {
                for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
            }
        }
        put(UInt64(bitPattern: version), 8)
        put(UInt64(tiers.count), 1)
        put(UInt64(offers.count), 1)
        for tier in tiers { put(tier) }
        for (hash, offer) in offers {
            put(UInt64(hash), 4)
            put(offer.identifier)
            for value in [
                offer.creditBasisPoints, offer.bonusPoints, offer.returnWithinDays, offer.purchaseAtLeastMinor,
                offer.validVisits,
            ] {
                put(UInt64(bitPattern: value), 8)
            }
        }
        return out
    }

    /// Reads what `bytes` wrote; nil when the bytes are not exactly that (a wrong length, a count beyond the
    /// program limits, an identifier that is not printable).
    public init?(bytes: some Collection<UInt8>) {
        let data = Array(bytes)
        var offset = 0
        func take(_ width: Int) -> UInt64? {
            guard offset + width <= data.count else { return nil }
            var value: UInt64 = 0
            for index in 0..<width { value |= UInt64(data[offset + index]) << UInt64(8 * index) }
            offset += width
            return value
        }
        func identifier() -> ShortIdentifier? {
            guard offset + ShortIdentifier.bytesMax <= data.count else { return nil }
            var end = offset + ShortIdentifier.bytesMax
            while end > offset, data[end - 1] == 0 { end -= 1 }
            defer { offset += ShortIdentifier.bytesMax }
            return ShortIdentifier(bytes: data[offset..<end])
        }
        guard let version = take(8), let tierCount = take(1), let offerCount = take(1),
            tierCount <= UInt64(ProgramLimits.tierLevelsMax), offerCount <= UInt64(ProgramLimits.offersMax)
        else { return nil }
        var tiers: [ShortIdentifier] = []
        for _ in 0..<tierCount {
            guard let tier = identifier() else { return nil }
            tiers.append(tier)
        }
        var offers: [(hash: UInt32, summary: Program.OfferSummary)] = []
        for _ in 0..<offerCount {
            guard let hash = take(4), hash != 0, let name = identifier() else { return nil }
            var values: [Int64] = []
            for _ in 0..<5 {
                guard let value = take(8) else { return nil }
                values.append(Int64(bitPattern: value))
            }
            offers.append(
                (
                    UInt32(hash),
                    Program.OfferSummary(
                        identifier: name, creditBasisPoints: values[0], bonusPoints: values[1],
                        returnWithinDays: values[2], purchaseAtLeastMinor: values[3], validVisits: values[4])
                ))
        }
        guard offset == data.count else { return nil }
        self.version = Int64(bitPattern: version)
        self.tiers = tiers
        self.offers = offers
    }
}
