/// The engagement section of a snapshot (format 7), after the spent-lot section: the count (UInt64), 8 zero
/// bytes, then the `EngagementRecord`s as a raw array (32 bytes each). Formats 5 and 6 have none (no counts).
extension Snapshot {
    /// Loads the section at `offset`; returns where it ends (the notice section follows, or the end of `bytes`).
    static func loadEngagement(
        from bytes: UnsafeRawBufferPointer, offset: Int, into state: ShardState, path: String
    ) throws(LedgerError) -> Int {
        let count = try sectionCount(bytes, offset: offset, path: path, section: "engagement").count
        let table = state.engagements
        guard Int(count) <= table.records.capacity else {
            throw .incompatibleDirectory(
                reason: "\(path) holds more engagement counts than engagementCountsPerShardMax")
        }
        let stride = MemoryLayout<EngagementRecord>.stride
        let end = offset + settlementSectionHeaderBytes + Int(count) * stride
        guard end <= bytes.count else {
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
        precondition(table.records.count == count, "the engagement table holds the section's counts")
        return end
    }
}
