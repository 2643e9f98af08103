/// The engagement section of a snapshot (format 7), after the spent-lot section: the count (UInt64), 8 zero
/// bytes, then the `EngagementRecord`s as a raw array (32 bytes each). Formats 5 and 6 have none (no counts).
extension Snapshot {
    static func engagementSectionBytes(_ table: EngagementTable) -> Int {
        settlementSectionHeaderBytes + table.records.rawBytesInUse.count
    }

    /// Loads the section at `offset`, which must end exactly at the end of `bytes`.
    static func loadEngagement(
        from bytes: UnsafeRawBufferPointer, offset: Int, into state: ShardState, path: String
    ) throws(LedgerError) {
        guard offset + settlementSectionHeaderBytes <= bytes.count else {
            throw .damagedSnapshot(file: path, reason: "no engagement section")
        }
        var reader = ByteReader(base: bytes.baseAddress! + offset, count: settlementSectionHeaderBytes)
        guard let count = reader.get(UInt64.self), reader.get(UInt64.self) == 0, count < UInt64(Int32.max) else {
            throw .damagedSnapshot(file: path, reason: "engagement section header out of range")
        }
        let table = state.engagements
        guard Int(count) <= table.records.capacity else {
            throw .incompatibleDirectory(reason: "\(path) holds more engagement counts than engagementCountsPerShardMax")
        }
        let stride = MemoryLayout<EngagementRecord>.stride
        guard offset + settlementSectionHeaderBytes + Int(count) * stride == bytes.count else {
            throw .damagedSnapshot(file: path, reason: "length does not match the engagement count")
        }
        let first = bytes.baseAddress! + offset + settlementSectionHeaderBytes
        for index in 0..<Int(count) {
            let record = (first + index * stride).loadUnaligned(as: EngagementRecord.self)
            guard record.count.count >= 1, record.member >= 0, Int(record.member) < state.members.count,
                record.type.high != 0
            else { throw .damagedSnapshot(file: path, reason: "engagement count \(index) out of range") }
        }
        UnsafeMutableRawPointer(table.records.base).copyMemory(from: first, byteCount: Int(count) * stride)
        table.records.setCount(Int(count))
        table.rebuildIndex()
    }
}

extension SnapshotImage {
    func appendEngagement(_ table: EngagementTable) {
        var header = [UInt8](repeating: 0, count: Snapshot.settlementSectionHeaderBytes)
        header.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(table.records.count).littleEndian, as: UInt64.self) }
        header.withUnsafeBytes { append($0) }
        append(table.records.rawBytesInUse)
    }
}
