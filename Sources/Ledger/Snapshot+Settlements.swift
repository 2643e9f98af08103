/// The settlement section of a snapshot (format 4), last: the pair count (UInt64), 8 zero bytes, then the
/// `SettlementRecord`s as a raw array (32 bytes each).
extension Snapshot {
    static let settlementSectionHeaderBytes = 16

    /// A section's 16-byte header: its element count, then 8 zero bytes (format 7's spent-lot section puts its
    /// ring's start and capacity there instead, 4 bytes each).
    static func sectionHeader(count: Int, start: Int = 0, capacity: Int = 0) -> [UInt8] {
        precondition(count >= 0 && count < Int(Int32.max), "a section's count is read back below Int32.max")
        precondition(
            capacity == 0 ? start == 0 : (count <= capacity && start >= 0 && start < capacity),
            "a section's ring fields are read back in range")
        var header = [UInt8](repeating: 0, count: settlementSectionHeaderBytes)
        header.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: UInt64(count).littleEndian, as: UInt64.self)
            bytes.storeBytes(of: UInt32(start).littleEndian, toByteOffset: 8, as: UInt32.self)
            bytes.storeBytes(of: UInt32(capacity).littleEndian, toByteOffset: 12, as: UInt32.self)
        }
        return header
    }

    /// Loads the section at `offset`; returns where it ends (the spent-lot section follows).
    static func loadSettlements(
        from bytes: UnsafeRawBufferPointer, offset: Int, into state: ShardState, path: String
    ) throws(LedgerError) -> Int {
        let count = try sectionCount(bytes, offset: offset, path: path, section: "settlement").count
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
        precondition(table.records.count == count, "the settlement table holds the section's pairs")
        return offset + settlementSectionHeaderBytes + size
    }

    /// A section's 16-byte header: its element count (UInt64), then 8 bytes that are zero unless `allowsRing`
    /// (format 7's spent-lot ring: its start and capacity).
    static func sectionCount(
        _ bytes: UnsafeRawBufferPointer, offset: Int, path: String, section: String, allowsRing: Bool = false
    ) throws(LedgerError) -> (count: Int, start: Int, capacity: Int) {
        guard offset + settlementSectionHeaderBytes <= bytes.count else {
            throw .damagedSnapshot(file: path, reason: "no \(section) section")
        }
        var reader = ByteReader(base: bytes.baseAddress! + offset, count: settlementSectionHeaderBytes)
        guard let count = reader.get(UInt64.self), let start = reader.get(UInt32.self),
            let capacity = reader.get(UInt32.self), count < UInt64(Int32.max),
            allowsRing ? (UInt64(capacity) >= count && (capacity == 0 || start < capacity)) : start == 0 && capacity == 0
        else {
            throw .damagedSnapshot(file: path, reason: "\(section) section header out of range")
        }
        precondition(allowsRing || (start == 0 && capacity == 0), "only a ring's section names a start")
        return (Int(count), Int(start), Int(capacity))
    }

    /// The spent-lot section, last: the part count (UInt64), 8 zero bytes, the parts oldest first (format 7: the
    /// ring's start and capacity (UInt32 each) instead of the zeros, the parts in storage order).
    /// Loads the section at `offset`; before format 7 it must end exactly at the end of `bytes` (7: the
    /// engagement section follows). Returns where it ends.
    static func loadSpentLots(
        from bytes: UnsafeRawBufferPointer, offset: Int, into state: ShardState, path: String, version: UInt32
    ) throws(LedgerError) -> Int {
        let section = try sectionCount(bytes, offset: offset, path: path, section: "spent-lot", allowsRing: version >= 7)
        let count = section.count
        let stride = MemoryLayout<SpentLotTable.Part>.stride
        let sectionEnd = offset + settlementSectionHeaderBytes + count * stride
        guard version >= 7 ? sectionEnd <= bytes.count : sectionEnd == bytes.count else {
            throw .damagedSnapshot(file: path, reason: "length does not match the spent-lot count")
        }
        // In storage order the file holds the newest `wrapped` parts first; oldest first starts after them.
        let wrapped = section.capacity > 0 ? max(0, section.start + count - section.capacity) : 0
        // A smaller ring than the one that wrote the snapshot keeps the newest parts (the oldest would go first
        // anyway); changing the limit goes through a snapshot, so replay afterwards decides with the new size.
        let skipped = max(0, count - state.spentLots.capacity)
        precondition(wrapped >= 0 && wrapped <= count && skipped <= count, "the ring's pieces are inside its count")
        var parts: [SpentLotTable.Part] = []
        parts.reserveCapacity(count - skipped)
        for index in skipped..<count {
            let stored = (index + wrapped) % max(count, 1)
            parts.append(
                (bytes.baseAddress! + offset + settlementSectionHeaderBytes + stored * stride).loadUnaligned(
                    as: SpentLotTable.Part.self))
        }
        if let reason = parts.withUnsafeBufferPointer({ state.spentLots.restore($0) }) {
            throw .damagedSnapshot(file: path, reason: reason)
        }
        precondition(state.spentLots.count == count - skipped, "the spent-lot ring holds the parts kept")
        return sectionEnd
    }
}
