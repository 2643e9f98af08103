/// The lot section of a snapshot (format 4), after the outbox: a 64-byte header, then the per-member list
/// heads and the lot records as raw arrays (strides are in the file header).
///
///     0  recordCount   UInt64   lot records in use (active and free)
///     8  headCount     UInt64   members with a head entry
///    16  freeHead      Int32    index + 1 of the first free record
///    20  sweepCursor   Int32
///    24  activeCount   UInt64
///    32  expired       2 × Int64 (points, credit)
///    48  outstanding   2 × Int64
extension Snapshot {
    static let lotSectionHeaderBytes = 64

    static func lotSectionBytes(_ lots: LotTable) -> Int {
        precondition(lots.heads.count >= 0 && lots.records.count >= 0, "lot counts are not negative")
        return lotSectionHeaderBytes + lots.heads.rawBytesInUse.count + lots.records.rawBytesInUse.count
    }

    static func encodeLotSectionHeader(_ lots: LotTable) -> [UInt8] {
        precondition(lots.activeCount >= 0 && lots.activeCount <= lots.records.count, "active lots are among the records")
        precondition(lots.freeHead >= 0 && Int(lots.freeHead) <= lots.records.count, "the free lot head names a record")
        precondition(lots.sweepCursor >= 0, "the sweep cursor is not negative")
        var bytes = [UInt8](repeating: 0, count: lotSectionHeaderBytes)
        bytes.withUnsafeMutableBytes { buffer in
            var writer = ByteWriter(base: buffer.baseAddress!, capacity: lotSectionHeaderBytes)
            writer.put(UInt64(lots.records.count))
            writer.put(UInt64(lots.heads.count))
            writer.put(lots.freeHead)
            writer.put(lots.sweepCursor)
            writer.put(UInt64(lots.activeCount))
            writer.put(lots.counters.expired)
            writer.put(lots.counters.outstanding)
            precondition(writer.offset == lotSectionHeaderBytes, "a lot section header is 64 bytes")
        }
        return bytes
    }

    /// Loads the lot section that starts at `offset`; returns where it ends (the settlement section follows).
    static func loadLots(
        from bytes: UnsafeRawBufferPointer, offset: Int, into state: ShardState, path: String
    ) throws(LedgerError) -> Int {
        guard offset + lotSectionHeaderBytes <= bytes.count else {
            throw .damagedSnapshot(file: path, reason: "no lot section")
        }
        var reader = ByteReader(base: bytes.baseAddress! + offset, count: lotSectionHeaderBytes)
        guard let recordCount = reader.get(UInt64.self), let headCount = reader.get(UInt64.self),
            let freeHead = reader.get(Int32.self), let cursor = reader.get(Int32.self),
            let active = reader.get(UInt64.self), let expired = reader.amounts(), let outstanding = reader.amounts(),
            headCount <= UInt64(state.members.count), active <= recordCount, freeHead >= 0,
            UInt64(freeHead) <= recordCount, cursor >= 0
        else { throw .damagedSnapshot(file: path, reason: "lot section header out of range") }
        guard recordCount <= UInt64(state.lots.records.capacity) else {
            throw .incompatibleDirectory(reason: "\(path) holds more lots than lotsPerShardMax allows")
        }
        let headBytes = Int(headCount) * MemoryLayout<MemberLots>.stride
        let recordBytes = Int(recordCount) * MemoryLayout<LotRecord>.stride
        guard offset + lotSectionHeaderBytes + headBytes + recordBytes <= bytes.count else {
            throw .damagedSnapshot(file: path, reason: "length does not match the lot counts")
        }
        let lots = state.lots
        var position = bytes.baseAddress! + offset + lotSectionHeaderBytes
        UnsafeMutableRawPointer(lots.heads.base).copyMemory(from: position, byteCount: headBytes)
        lots.heads.setCount(Int(headCount))
        position += headBytes
        UnsafeMutableRawPointer(lots.records.base).copyMemory(from: position, byteCount: recordBytes)
        lots.records.setCount(Int(recordCount))
        lots.freeHead = freeHead
        lots.sweepCursor = cursor
        lots.activeCount = Int(active)
        lots.counters = LotCounters(expired: expired, outstanding: outstanding)
        precondition(
            lots.activeCount <= lots.records.count && Int(lots.freeHead) <= lots.records.count
                && lots.heads.count <= state.members.count, "a loaded lot section is in range")
        return offset + lotSectionHeaderBytes + headBytes + recordBytes
    }
}
