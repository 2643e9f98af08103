/// The settlement section of a snapshot (format 4), last: the pair count (UInt64), 8 zero bytes, then the
/// `SettlementRecord`s as a raw array (32 bytes each).
extension Snapshot {
    static let settlementSectionHeaderBytes = 16

    static func settlementSectionBytes(_ table: SettlementTable) -> Int {
        settlementSectionHeaderBytes + table.records.rawBytesInUse.count
    }

    /// Loads the section at `offset`, which must end exactly at the end of `bytes`.
    static func loadSettlements(
        from bytes: UnsafeRawBufferPointer, offset: Int, into state: ShardState, path: String
    ) throws(LedgerError) {
        guard offset + settlementSectionHeaderBytes <= bytes.count else {
            throw .damagedSnapshot(file: path, reason: "no settlement section")
        }
        var reader = ByteReader(base: bytes.baseAddress! + offset, count: settlementSectionHeaderBytes)
        guard let count = reader.get(UInt64.self), reader.get(UInt64.self) == 0, count < UInt64(Int32.max) else {
            throw .damagedSnapshot(file: path, reason: "settlement section header out of range")
        }
        let table = state.settlements
        guard Int(count) <= table.records.capacity else {
            throw .incompatibleDirectory(reason: "\(path) holds more settlement pairs than settlementPairsPerShardMax")
        }
        let size = Int(count) * MemoryLayout<SettlementRecord>.stride
        guard offset + settlementSectionHeaderBytes + size == bytes.count else {
            throw .damagedSnapshot(file: path, reason: "length does not match the settlement count")
        }
        UnsafeMutableRawPointer(table.records.base).copyMemory(
            from: bytes.baseAddress! + offset + settlementSectionHeaderBytes, byteCount: size)
        table.records.setCount(Int(count))
        table.rebuildIndex()
    }
}

extension SnapshotImage {
    func appendSettlements(_ table: SettlementTable) {
        var header = [UInt8](repeating: 0, count: Snapshot.settlementSectionHeaderBytes)
        header.withUnsafeMutableBytes { buffer in
            buffer.storeBytes(of: UInt64(table.records.count).littleEndian, as: UInt64.self)
        }
        header.withUnsafeBytes { append($0) }
        append(table.records.rawBytesInUse)
    }
}
