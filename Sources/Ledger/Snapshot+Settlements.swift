/// The settlement section of a snapshot (format 4), last: the pair count (UInt64), 8 zero bytes, then the
/// `SettlementRecord`s as a raw array (32 bytes each).
extension Snapshot {
    static let settlementSectionHeaderBytes = 16

    static func settlementSectionBytes(_ table: SettlementTable) -> Int {
        settlementSectionHeaderBytes + table.records.rawBytesInUse.count
    }

    /// Loads the section at `offset`; returns where it ends (the spent-lot section follows).
    static func loadSettlements(
        from bytes: UnsafeRawBufferPointer, offset: Int, into state: ShardState, path: String
    ) throws(LedgerError) -> Int {
        let count = try sectionCount(bytes, offset: offset, path: path, section: "settlement")
        let table = state.settlements
        guard Int(count) <= table.records.capacity else {
            throw .incompatibleDirectory(reason: "\(path) holds more settlement pairs than settlementPairsPerShardMax")
        }
        let size = Int(count) * MemoryLayout<SettlementRecord>.stride
        guard offset + settlementSectionHeaderBytes + size <= bytes.count else {
            throw .damagedSnapshot(file: path, reason: "length does not match the settlement count")
        }
        UnsafeMutableRawPointer(table.records.base).copyMemory(
            from: bytes.baseAddress! + offset + settlementSectionHeaderBytes, byteCount: size)
        table.records.setCount(Int(count))
        table.rebuildIndex()
        return offset + settlementSectionHeaderBytes + size
    }

    /// A section's 16-byte header: its element count (UInt64), then 8 zero bytes.
    static func sectionCount(
        _ bytes: UnsafeRawBufferPointer, offset: Int, path: String, section: String
    ) throws(LedgerError) -> UInt64 {
        guard offset + settlementSectionHeaderBytes <= bytes.count else {
            throw .damagedSnapshot(file: path, reason: "no \(section) section")
        }
        var reader = ByteReader(base: bytes.baseAddress! + offset, count: settlementSectionHeaderBytes)
        guard let count = reader.get(UInt64.self), reader.get(UInt64.self) == 0, count < UInt64(Int32.max) else {
            throw .damagedSnapshot(file: path, reason: "\(section) section header out of range")
        }
        return count
    }

    /// The spent-lot section, last: the part count (UInt64), 8 zero bytes, the parts oldest first.
    static func spentLotSectionBytes(_ table: SpentLotTable) -> Int {
        settlementSectionHeaderBytes + table.count * MemoryLayout<SpentLotTable.Part>.stride
    }

    /// Loads the section at `offset`, which must end exactly at `end` when given (formats before 7 end with it);
    /// returns where it ends.
    static func loadSpentLots(
        from bytes: UnsafeRawBufferPointer, offset: Int, into state: ShardState, path: String, end: Int?
    ) throws(LedgerError) -> Int {
        let count = try sectionCount(bytes, offset: offset, path: path, section: "spent-lot")
        let stride = MemoryLayout<SpentLotTable.Part>.stride
        let sectionEnd = offset + settlementSectionHeaderBytes + Int(count) * stride
        guard sectionEnd == (end ?? sectionEnd), sectionEnd <= bytes.count else {
            throw .damagedSnapshot(file: path, reason: "length does not match the spent-lot count")
        }
        // A smaller ring than the one that wrote the snapshot keeps the newest parts (the oldest would go first
        // anyway); changing the limit goes through a snapshot, so replay afterwards decides with the new size.
        let skipped = max(0, Int(count) - state.spentLots.capacity)
        var parts: [SpentLotTable.Part] = []
        parts.reserveCapacity(Int(count) - skipped)
        for index in skipped..<Int(count) {
            parts.append(
                (bytes.baseAddress! + offset + settlementSectionHeaderBytes + index * stride).loadUnaligned(
                    as: SpentLotTable.Part.self))
        }
        parts.withUnsafeBufferPointer { state.spentLots.restore($0) }
        return sectionEnd
    }
}

extension SnapshotImage {
    func appendSettlements(_ table: SettlementTable) {
        appendSectionHeader(count: table.records.count)
        append(table.records.rawBytesInUse)
    }

    func appendSectionHeader(count: Int) {
        var header = [UInt8](repeating: 0, count: Snapshot.settlementSectionHeaderBytes)
        header.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(count).littleEndian, as: UInt64.self) }
        header.withUnsafeBytes { append($0) }
    }

    func appendSpentLots(_ table: SpentLotTable) {
        appendSectionHeader(count: table.count)
        // Oldest first, at the element stride the loader reads (the ring may wrap, so copied out in order).
        let parts = (0..<table.count).map { table[$0] }
        parts.withUnsafeBytes { append($0) }
    }
}
