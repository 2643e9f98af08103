import Testing

@testable import Loyalty

/// The fixed encoded forms the ledger logs (Member+Encoding.swift, PurchaseEffect.swift): every field survives a
/// round trip, records written before the new fields existed decode with them zero, and damaged records are refused.
@Suite("Member and PurchaseEffect encoding")
struct MemberTests {
    static func encoded(_ member: Member) -> [UInt8] {
        var bytes = [UInt8](repeating: 0xAA, count: Member.encodedByteCount)
        bytes.withUnsafeMutableBytes { member.encode(into: $0.baseAddress!) }
        return bytes
    }

    static func decoded(_ bytes: [UInt8]) -> Member? {
        bytes.withUnsafeBytes { Member(decoding: $0.baseAddress!) }
    }

    static var everyField: Member {
        var member = Member(
            purchaseCount: 7, purchaseVolumeMinor: 1_234_567, firstPurchaseTimeMs: 1_700_000_000_000,
            lastPurchaseTimeMs: 1_764_000_000_000, tier: 2, birthMonth: 2, birthDay: 29, isReferred: true)
        member.tierWindowDays = 365
        member.tierWindowIndex = 56
        member.tierWindowPurchaseCount = 3
        member.tierWindowVolumeMinor = 900_000
        member.previousTierWindowPurchaseCount = 4
        member.previousTierWindowVolumeMinor = 334_567
        member.pointsDayNumber = 20_416
        member.pointsEarnedOnDay = 4_000_000_000
        member.pendingOfferHash = 0xDEAD_BEEF
        member.pendingOfferGrantTimeMs = 1_763_000_000_000
        member.pendingOfferVisitsLeft = 3
        member.enrolmentRewarded = true
        member.firstPurchaseRewarded = true
        member.birthdayRewardYear = 2026
        for slot in 0..<OfferUses.slotCount {
            member.offerUses.set(slot: slot, hash: UInt32(0x1000_0000 + slot), count: UInt8(250 + slot % 6))
        }
        return member
    }

    @Test("every Member field survives encode and decode, in exactly 128 bytes")
    func memberRoundTrip() {
        let member = Self.everyField
        #expect(Member.encodedByteCount == 128)
        // Packed widest field first: every decision copies one, so its size is part of the evaluation's cost.
        #expect(MemoryLayout<Member>.size == 127)
        #expect(Self.decoded(Self.encoded(member)) == member)
        #expect(Self.decoded(Self.encoded(.new)) == .new)
    }

    @Test("a record in the original 32-byte layout (tier as u32) decodes with every newer field zero")
    func memberOldLayoutDecodes() {
        var bytes = [UInt8](repeating: 0, count: Member.encodedByteCount)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(5).littleEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: UInt32(1).littleEndian, toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: Int64(500_000).littleEndian, toByteOffset: 8, as: Int64.self)
            raw.storeBytes(of: Int64(1_000).littleEndian, toByteOffset: 16, as: Int64.self)
            raw.storeBytes(of: Int64(2_000).littleEndian, toByteOffset: 24, as: Int64.self)
        }
        let expected = Member(
            purchaseCount: 5, purchaseVolumeMinor: 500_000, firstPurchaseTimeMs: 1_000, lastPurchaseTimeMs: 2_000,
            tier: 1)
        #expect(Self.decoded(bytes) == expected)
    }

    @Test("damaged records are refused: unknown flag, reserved bytes, negative volume, month 13, last before first")
    func memberDamagedRefused() {
        let good = Self.encoded(Self.everyField)
        for (offset, byte) in [(7, UInt8(0x80)), (85, 1), (87, 1), (15, 0x80), (5, 13), (29, 0)] {
            var bad = good
            bad[offset] = byte
            #expect(Self.decoded(bad) == nil, "offset \(offset)")
        }
    }

    @Test("every PurchaseEffect field survives encode and decode in 48 bytes; old records decode, damaged are refused")
    func effectRoundTrip() {
        var effect = PurchaseEffect(
            moneyMinor: 250_000, timeMs: 1_764_000_000_000, previousPurchaseTimeMs: 1_763_000_000_000, tierBefore: 1)
        effect.tierWindowDays = 365
        effect.tierWindowIndex = 56
        effect.pointsCountedOnDay = 77
        effect.offerAppliedHash = 0x0102_0304
        effect.offerGrantedHash = 0x0506_0708
        effect.rewardedEvents = [.firstPurchase, .birthday]
        effect.birthdayRewardYearBefore = 2025
        var bytes = [UInt8](repeating: 0xAA, count: PurchaseEffect.encodedByteCount)
        bytes.withUnsafeMutableBytes { effect.encode(into: $0.baseAddress!) }
        #expect(PurchaseEffect.encodedByteCount == 48)
        #expect(bytes.withUnsafeBytes { PurchaseEffect(decoding: $0.baseAddress!) } == effect)
        var old = [UInt8](repeating: 0, count: 48)
        old[0] = 9
        old[24] = 2
        let decoded = old.withUnsafeBytes { PurchaseEffect(decoding: $0.baseAddress!) }
        #expect(decoded == PurchaseEffect(moneyMinor: 9, tierBefore: 2))
        var damaged = bytes
        damaged[25] = 0x10
        #expect(damaged.withUnsafeBytes { PurchaseEffect(decoding: $0.baseAddress!) } == nil)
    }

    @Test("offer use slots keep hashes and counts apart, slot by slot")
    func offerUsesSlots() {
        var uses = OfferUses()
        uses.set(slot: 3, hash: 0xABCD_EF01, count: 9)
        uses.set(slot: 4, hash: 0x1234_5678, count: 255)
        #expect(uses.uses(ofHash: 0xABCD_EF01) == 9)
        #expect(uses.uses(ofHash: 0x1234_5678) == 255)
        #expect(uses.slot(ofHash: 0x1234_5678) == 4)
        #expect(uses.uses(ofHash: 7) == 0)
        #expect(uses.slot(ofHash: 0) == nil)
        uses.set(slot: 3, hash: 0, count: 0)
        #expect(uses.hash(atSlot: 4) == 0x1234_5678)
        #expect(uses.count(atSlot: 3) == 0)
    }
}
