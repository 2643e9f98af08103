import Testing

@testable import Ledger

/// The sizes the log, snapshot, key-run, history and sales formats are built on: a change of one of them changes a
/// file format, so it must fail here first (TigerBeetle asserts its record layouts at comptime; this is ours).
@Suite struct FixedSizeLayoutTests {
    @Test("the decider's bytes keep the sizes the log and snapshots carry them in")
    func decisionBytesKeepTheirSizes() {
        #expect(MemoryLayout<MemberState>.size == MemberState.byteCount && MemberState.byteCount == 127)
        #expect(MemoryLayout<LoggedMemberState>.size == LoggedMemberState.byteCount && LoggedMemberState.byteCount == 128)
        #expect(MemoryLayout<PurchaseEffectState>.size == PurchaseEffectState.byteCount)
        #expect(MemoryLayout<LoggedPurchaseEffect>.size == LoggedPurchaseEffect.byteCount)
        #expect(PurchaseEffectState.byteCount == 48 && LoggedPurchaseEffect.byteCount == 48)
        #expect(MemoryLayout<PaymentTerms>.size == PaymentTerms.byteCount && PaymentTerms.byteCount == 18)
        #expect(MemoryLayout<PurchaseFacts>.size == PurchaseFacts.byteCount && PurchaseFacts.byteCount == 72)
    }

    @Test("the tables a snapshot copies raw keep their strides: lots, settlements, engagement counts, remembered keys")
    func snapshotTablesKeepTheirStrides() {
        #expect(MemoryLayout<LotRecord>.stride == 32)
        #expect(MemoryLayout<SettlementRecord>.stride == 32)
        #expect(MemoryLayout<EngagementRecord>.stride == 32)
        #expect(MemoryLayout<GiftAccount>.stride == 16)
        #expect(MemoryLayout<IdempotencyEntry>.stride == 320)
        #expect(Snapshot.keyRecordBytes == 16 + MemoryLayout<IdempotencyEntry>.stride && Snapshot.keyRecordBytes % 8 == 0)
        #expect(Snapshot.strides.count == 9 && Snapshot.strides.allSatisfy { $0 > 0 && $0 % 8 == 0 })
    }

    @Test("file headers and fixed records keep their byte counts: log record, segment slot, snapshot, key run, history, sales")
    func fileRecordsKeepTheirByteCounts() {
        #expect(WALRecord.headerBytes == 32 && WALRecord.recordBytesMax == 32 + WALRecord.bodyBytesMax)
        #expect(WALRecord.alignedLength(bodyLength: WALRecord.bodyBytesMax) % 8 == 0)
        #expect(WALSegment.slotBytes == 64 && WALSegment.recordsStart == 4096)
        #expect(WALSegment.slotOffsets.allSatisfy { $0 + WALSegment.slotBytes <= WALSegment.headerBytesRead })
        #expect(Snapshot.headerBytes == 128 && Snapshot.lotSectionHeaderBytes == 64)
        #expect(Snapshot.settlementSectionHeaderBytes == 16 && Snapshot.keyTrailerBytes == 32)
        #expect(KeyRunHeader.bytes == 128 && KeyRunHeader.recordBytes == 16 + KeyRunHeader.entryStride)
        #expect(KeyRunHeader.namesPerPage * 16 + 16 <= KeyRunHeader.pageBytes)
        #expect(HistoryRecord.bytes == 64)
        #expect(SaleEntry.bytes == 160 && SaleEntry.lineBytes == 48)
        #expect(WALRecord.saleHeadBytes + SaleDetail.linesMax * WALRecord.saleLineBytes <= WALRecord.bodyBytesMax)
    }
}
