import Testing

@testable import Ledger

/// The records a snapshot copies as raw bytes: every byte is a field, so none is left undefined by alignment.
@Suite struct RecordLayoutTests {
    @Test("members, cards, holds, remembered keys, outbox transfers, lots and receipts have no padding bytes, and keep their sizes")
    func recordsHaveNoPadding() {
        let member = MemberRecord(
            balance: .zero, held: .zero, firstHold: 0, holdCount: 0, cardCount: 0, loyalty: .zero)
        let entry = IdempotencyEntry.zeroForTests
        let outbox = OutboxTransfer(
            key: IdempotencyKey(word0: 1), newCardHash: CardHash(high: 0, low: 0), newCardMasked: MaskedCard(packed: 0),
            amounts: .zero, member: 0, card: 0, destinationShard: 0, previousCardStatus: .active, isPending: false)
        var found: [String] = []
        found += PaddingProbe.padded(member, path: "MemberRecord")
        found += PaddingProbe.padded(entry, path: "IdempotencyEntry")
        found += PaddingProbe.padded(outbox, path: "OutboxTransfer")
        found += PaddingProbe.padded(LoyaltyReceipt.none, path: "LoyaltyReceipt")
        #expect(found.isEmpty, "\(found)")
        // The layout of snapshot formats 5–7 is kept: the reserved bytes sit where the padding was.
        #expect(MemoryLayout<MemberRecord>.stride == 184 && MemoryLayout<MemberRecord>.offset(of: \.referrer) == 168)
        #expect(MemoryLayout<StoredOutcome>.offset(of: \.receipt) == 80)
        #expect(MemoryLayout<OperationEffect>.offset(of: \.purchase) == 40)
        #expect(MemoryLayout<OutboxTransfer>.offset(of: \.lotTerms) == 88)
        #expect(MemoryLayout<LoyaltyReceipt>.offset(of: \.offerAppliedHash) == 4)
        #expect(MemoryLayout<LoyaltyReceipt>.offset(of: \.rulesVersion) == 16)
    }
}
