/// The fixed 128-byte form of `Member` that the ledger writes to its write-ahead log.
///
/// Layout (little-endian; offsets in bytes). Bytes 0...31 are the original layout; byte 4 held the tier as a
/// 32-bit number ≤ 255, so bytes 5...7 were always zero and now hold the birthday and flags. Older records
/// decode with every newer field zero, which is what a member who never met those rules has.
///
/// | offset | field | | offset | field |
/// |---|---|---|---|---|
/// | 0 | purchaseCount u32 | | 56 | previousTierWindowPurchaseCount u32 |
/// | 4 | tier u8 | | 60 | tierWindowDays u16 |
/// | 5 | birthMonth u8 | | 62 | birthdayRewardYear u16 |
/// | 6 | birthDay u8 | | 64 | pointsDayNumber u32 |
/// | 7 | flags u8 (1 referred, 2 enrolment, 4 first purchase) | | 68 | pointsEarnedOnDay u32 |
/// | 8 | purchaseVolumeMinor i64 | | 72 | pendingOfferGrantTimeMs i64 |
/// | 16 | firstPurchaseTimeMs i64 | | 80 | pendingOfferHash u32 |
/// | 24 | lastPurchaseTimeMs i64 | | 84 | pendingOfferVisitsLeft u8, then 3 reserved bytes (zero) |
/// | 32 | tierWindowIndex u32 | | 88 | offer slot hashes 8 × u32 |
/// | 36 | tierWindowPurchaseCount u32 | | 120 | offer slot use counts 8 × u8 |
/// | 40 | tierWindowVolumeMinor i64 | | | |
/// | 48 | previousTierWindowVolumeMinor i64 | | | |
extension Member {
    /// Bytes of the encoded form. Fixed: new aggregates take reserved (zero) bytes, so log records keep their
    /// size and older records decode with the new fields at zero.
    public static let encodedByteCount = 128

    static let referredFlag: UInt8 = 1
    static let enrolmentRewardedFlag: UInt8 = 2
    static let firstPurchaseRewardedFlag: UInt8 = 4

    var flags: UInt8 {
        (isReferred ? Self.referredFlag : 0) | (enrolmentRewarded ? Self.enrolmentRewardedFlag : 0)
            | (firstPurchaseRewarded ? Self.firstPurchaseRewardedFlag : 0)
    }

    /// Writes exactly `encodedByteCount` bytes, little-endian, unused bytes zero.
    public func encode(into base: UnsafeMutableRawPointer) {
        // The other side of the log boundary: `init?(decoding:)` refuses what is not plausible, so a member the
        // rules produced must never be written in a form its replay would refuse.
        precondition(isPlausible, "a member written to the log is one its replay accepts")
        base.initializeMemory(as: UInt8.self, repeating: 0, count: Self.encodedByteCount)
        func put<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
            base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        }
        put(purchaseCount, 0)
        put(tier, 4)
        put(birthMonth, 5)
        put(birthDay, 6)
        put(flags, 7)
        put(purchaseVolumeMinor, 8)
        put(firstPurchaseTimeMs, 16)
        put(lastPurchaseTimeMs, 24)
        put(tierWindowIndex, 32)
        put(tierWindowPurchaseCount, 36)
        put(tierWindowVolumeMinor, 40)
        put(previousTierWindowVolumeMinor, 48)
        put(previousTierWindowPurchaseCount, 56)
        put(tierWindowDays, 60)
        put(birthdayRewardYear, 62)
        put(pointsDayNumber, 64)
        put(pointsEarnedOnDay, 68)
        put(pendingOfferGrantTimeMs, 72)
        put(pendingOfferHash, 80)
        put(pendingOfferVisitsLeft, 84)
        for slot in 0..<OfferUses.slotCount {
            put(offerUses.hash(atSlot: slot), 88 + 4 * slot)
            put(offerUses.count(atSlot: slot), 120 + slot)
        }
    }

    /// Reads what `encode(into:)` wrote; nil when a value is out of range (a damaged or foreign record).
    public init?(decoding base: UnsafeRawPointer) {
        func get<T: FixedWidthInteger>(_: T.Type, _ offset: Int) -> T {
            T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        let flags = get(UInt8.self, 7)
        self.init(
            purchaseCount: get(UInt32.self, 0), purchaseVolumeMinor: get(Int64.self, 8),
            firstPurchaseTimeMs: get(Int64.self, 16), lastPurchaseTimeMs: get(Int64.self, 24),
            tier: get(UInt8.self, 4), birthMonth: get(UInt8.self, 5), birthDay: get(UInt8.self, 6),
            isReferred: flags & Self.referredFlag != 0)
        enrolmentRewarded = flags & Self.enrolmentRewardedFlag != 0
        firstPurchaseRewarded = flags & Self.firstPurchaseRewardedFlag != 0
        tierWindowIndex = get(UInt32.self, 32)
        tierWindowPurchaseCount = get(UInt32.self, 36)
        tierWindowVolumeMinor = get(Int64.self, 40)
        previousTierWindowVolumeMinor = get(Int64.self, 48)
        previousTierWindowPurchaseCount = get(UInt32.self, 56)
        tierWindowDays = get(UInt16.self, 60)
        birthdayRewardYear = get(UInt16.self, 62)
        pointsDayNumber = get(UInt32.self, 64)
        pointsEarnedOnDay = get(UInt32.self, 68)
        pendingOfferGrantTimeMs = get(Int64.self, 72)
        pendingOfferHash = get(UInt32.self, 80)
        pendingOfferVisitsLeft = get(UInt8.self, 84)
        for slot in 0..<OfferUses.slotCount {
            offerUses.set(slot: slot, hash: get(UInt32.self, 88 + 4 * slot), count: get(UInt8.self, 120 + slot))
        }
        guard isPlausible,
            flags & ~(Self.referredFlag | Self.enrolmentRewardedFlag | Self.firstPurchaseRewardedFlag) == 0,
            get(UInt32.self, 84) >> 8 == 0
        else { return nil }
    }

    /// The invariants every stored member satisfies; checked after decoding (a damaged record is refused) and
    /// asserted by tests on every member the rules produce.
    var isPlausible: Bool {
        let volumeRange = 0...ProgramLimits.memberVolumeMinorMax
        return volumeRange.contains(purchaseVolumeMinor) && firstPurchaseTimeMs >= 0
            && lastPurchaseTimeMs >= firstPurchaseTimeMs && volumeRange.contains(tierWindowVolumeMinor)
            && volumeRange.contains(previousTierWindowVolumeMinor) && birthMonth <= 12 && birthDay <= 31
            && (birthMonth == 0) == (birthDay == 0) && pendingOfferGrantTimeMs >= 0
            && (pendingOfferHash != 0 || (pendingOfferGrantTimeMs == 0 && pendingOfferVisitsLeft == 0))
    }
}
