/// How many times a member used each personalised offer: 8 slots of (offer id hash, use count), packed into five
/// words so `Member` stays plain, fixed-size and `BitwiseCopyable`.
///
/// Offers are identified by a hash of their id (`OfferTable.hash(of:)`, never 0), not by their position in the
/// configuration, so reordering offers or reloading the file keeps each member's counts; an offer whose id
/// changes is a new offer with fresh counts. A slot whose hash names no offer of the program in force is free
/// to reuse. With at most `ProgramLimits.offersMax` (8) offers there is always a slot.
public struct OfferUses: Sendable, Equatable, BitwiseCopyable {
    public static let slotCount = 8

    /// Slot hashes two to a word: slot `2k` in the low half of word `k`, slot `2k + 1` in the high half.
    var hashWords: (UInt64, UInt64, UInt64, UInt64)
    /// One byte per slot, slot 0 in the lowest byte.
    var counts: UInt64

    public init() {
        hashWords = (0, 0, 0, 0)
        counts = 0
    }

    public static func == (left: OfferUses, right: OfferUses) -> Bool {
        left.hashWords == right.hashWords && left.counts == right.counts
    }

    /// The id hash in `slot` (0: empty).
    public func hash(atSlot slot: Int) -> UInt32 {
        precondition((0..<Self.slotCount).contains(slot), "slot out of range")
        let word: UInt64
        switch slot / 2 {
        case 0: word = hashWords.0
        case 1: word = hashWords.1
        case 2: word = hashWords.2
        default: word = hashWords.3
        }
        return UInt32(truncatingIfNeeded: word >> UInt64(32 * (slot % 2)))
    }

    public func count(atSlot slot: Int) -> UInt8 {
        precondition((0..<Self.slotCount).contains(slot), "slot out of range")
        return UInt8(truncatingIfNeeded: counts >> UInt64(8 * slot))
    }

    mutating func set(slot: Int, hash: UInt32, count: UInt8) {
        precondition((0..<Self.slotCount).contains(slot), "slot out of range")
        let shift = UInt64(32 * (slot % 2))
        let mask = ~(UInt64(UInt32.max) << shift)
        let bits = UInt64(hash) << shift
        switch slot / 2 {
        case 0: hashWords.0 = hashWords.0 & mask | bits
        case 1: hashWords.1 = hashWords.1 & mask | bits
        case 2: hashWords.2 = hashWords.2 & mask | bits
        default: hashWords.3 = hashWords.3 & mask | bits
        }
        let countShift = UInt64(8 * slot)
        counts = counts & ~(UInt64(0xFF) << countShift) | UInt64(count) << countShift
    }

    /// The slot holding `hash`, or nil.
    public func slot(ofHash hash: UInt32) -> Int? {
        guard hash != 0 else { return nil }
        for slot in 0..<Self.slotCount where self.hash(atSlot: slot) == hash { return slot }
        return nil
    }

    /// Uses of the offer with id hash `hash` (0 when it has no slot).
    public func uses(ofHash hash: UInt32) -> Int {
        slot(ofHash: hash).map { Int(count(atSlot: $0)) } ?? 0
    }
}
