import CCRC32C

extension Snapshot {
    /// Upper bound on a snapshot file we map.
    static let fileBytesMax = 16 << 30

    struct Loaded {
        var sequence: UInt64
        var lastCRC: UInt32
        var path: String
        /// Where the load's time went (nanoseconds), for the recovery log line and the benchmark.
        var phases = Phases()
    }

    struct Phases: CustomStringConvertible {
        var readNs: UInt64 = 0
        var checksumNs: UInt64 = 0
        var keysNs: UInt64 = 0
        var tablesNs: UInt64 = 0

        var description: String {
            func ms(_ ns: UInt64) -> String { String(Double(ns / 100_000) / 10) + " ms" }
            return "read \(ms(readNs)), checksum \(ms(checksumNs)), key store \(ms(keysNs)), tables \(ms(tablesNs))"
        }
    }

    /// The newest snapshot in `directory` (by sequence in the name), or nil when there is none.
    static func newest(in directory: String) throws(LedgerError) -> String? {
        let names = try FileIO.listDirectory(directory).filter { $0.hasPrefix("snapshot-") && $0.hasSuffix(".snap") }
        assert(zip(names, names.dropFirst()).allSatisfy { $0 < $1 }, "a listing is sorted: the last name is the newest")
        return names.last.map { directory + "/" + $0 }
    }

    /// Loads the snapshot into an empty state. A damaged or foreign snapshot refuses to start: with segments
    /// already dropped, falling back to an older one would silently lose data.
    static func load(path: String, into state: ShardState) throws(LedgerError) -> Loaded {
        var phases = Phases()
        var mark = ShardStatistics.now()
        func lap(_ phase: inout UInt64) {
            let now = ShardStatistics.now()
            phase = now - mark
            mark = now
        }
        // Mapped, not read: the tables are copied once, from the page cache into place (a read() into a buffer
        // first cost a second copy of the whole file and a page fault per 4 KiB of that buffer).
        let file = try MappedFile(path: path, bytesMax: fileBytesMax)
        defer { withExtendedLifetime(file) {} }
        let bytes = file.bytes
        lap(&phases.readNs)
        guard bytes.count >= headerBytes + 4 else { throw .damagedSnapshot(file: path, reason: "too short") }
        let contentBytes = bytes.count - 4
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: contentBytes, as: UInt32.self))
        guard ccrc32c_update(0, bytes.baseAddress, contentBytes) == stored else {
            throw .damagedSnapshot(file: path, reason: "checksum mismatch")
        }
        lap(&phases.checksumNs)
        try checkVersion(bytes, path: path)
        guard let header = decodeHeader(bytes.baseAddress!, count: contentBytes) else {
            throw .damagedSnapshot(file: path, reason: "unknown format or layout (written by another build?)")
        }
        try checkFits(header, state: state, path: path)
        precondition(header.activeHoldCount <= header.holdCount, "a decoded header's active holds are among its holds")
        var keys = KeySection(offset: contentBytes)
        if header.version >= 6 {
            keys = try keySection(UnsafeRawBufferPointer(rebasing: bytes[0..<contentBytes]), path: path)
        }
        precondition(keys.offset >= headerBytes && keys.offset <= contentBytes, "the key section is inside the file")
        // The store first: the ring's entries that no longer fit follow its buffer's.
        try restoreKeyStore(keys, from: bytes, into: state)
        lap(&phases.keysNs)
        try copyTables(
            header, from: UnsafeRawBufferPointer(rebasing: bytes[0..<keys.offset]), into: state, path: path)
        lap(&phases.tablesNs)
        precondition(
            state.members.count == header.memberCount && state.cards.count == header.cardCount
                && state.holds.records.count == header.holdCount && state.outbox.count == header.outboxCount,
            "the tables hold the counts the snapshot's header says")
        return Loaded(sequence: header.sequence, lastCRC: header.lastCRC, path: path, phases: phases)
    }

    /// A snapshot of another format version is not damage: it is refused with both versions named.
    private static func checkVersion(_ bytes: UnsafeRawBufferPointer, path: String) throws(LedgerError) {
        let foundMagic = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let foundVersion = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        guard foundMagic == magic, !versionsRead.contains(foundVersion) else { return }
        throw .incompatibleDirectory(
            reason: "\(path) is snapshot format \(foundVersion); this build reads only formats "
                + "\(versionsRead.lowerBound) to \(versionsRead.upperBound)")
    }

    private static func checkFits(_ header: Header, state: ShardState, path: String) throws(LedgerError) {
        precondition(state.members.count == 0 && state.cards.count == 0, "a snapshot loads into an empty state")
        guard header.shardIndex == UInt32(state.shardIndex), header.shardCount == UInt32(state.shardCount) else {
            throw .incompatibleDirectory(
                reason: "\(path) belongs to shard \(header.shardIndex) of \(header.shardCount)")
        }
        guard header.memberCount <= state.members.capacity, header.cardCount <= state.cards.cards.capacity,
            header.holdCount <= state.holds.records.capacity, header.outboxCount <= state.outbox.capacity
        else {
            throw .incompatibleDirectory(reason: "\(path) holds more than the configured limits allow")
        }
    }

    private static func copyTables(
        _ header: Header, from bytes: UnsafeRawBufferPointer, into state: ShardState, path: String
    ) throws(LedgerError) {
        var offset = headerBytes
        let sizes = [
            header.memberCount * Int(strides[0]), header.cardCount * Int(strides[1]),
            header.holdCount * Int(strides[2]),
            header.idempotencyCount * Int(strides[3]), header.outboxCount * Int(strides[4]),
        ]
        guard headerBytes + sizes.reduce(0, +) <= bytes.count else {
            throw .damagedSnapshot(file: path, reason: "length does not match the counts in its header")
        }
        func copy<Element>(_ storage: FixedStorage<Element>, count: Int, size: Int) {
            precondition(count <= storage.capacity && size == count * MemoryLayout<Element>.stride, "a table fits")
            precondition(offset + size <= bytes.count, "a table is copied from inside the file")
            UnsafeMutableRawPointer(storage.base).copyMemory(from: bytes.baseAddress! + offset, byteCount: size)
            storage.setCount(count)
            offset += size
        }
        copy(state.members.records, count: header.memberCount, size: sizes[0])
        copy(state.cards.cards, count: header.cardCount, size: sizes[1])
        state.cards.rebuildIndex()
        copy(state.holds.records, count: header.holdCount, size: sizes[2])
        if let reason = state.holds.restore(freeHead: header.freeHoldHead, activeCount: header.activeHoldCount) {
            throw .damagedSnapshot(file: path, reason: reason)
        }
        copyIdempotency(header, from: bytes.baseAddress! + offset, into: state)
        offset += sizes[3]
        copy(state.outbox, count: header.outboxCount, size: sizes[4])
        precondition(offset == headerBytes + sizes.reduce(0, +), "the tables end where their counts say")
        if header.version >= 7 { offset = try loadGifts(from: bytes, offset: offset, into: state, path: path) }
        let lotsEnd = try loadLots(from: bytes, offset: offset, into: state, path: path)
        precondition(lotsEnd >= offset + lotSectionHeaderBytes && lotsEnd <= bytes.count, "the lot section's end")
        let settlementsEnd = try loadSettlements(from: bytes, offset: lotsEnd, into: state, path: path)
        precondition(
            settlementsEnd >= lotsEnd + settlementSectionHeaderBytes && settlementsEnd <= bytes.count,
            "the settlement section's end")
        let spentLotsEnd = try loadSpentLots(
            from: bytes, offset: settlementsEnd, into: state, path: path, version: header.version)
        precondition(
            spentLotsEnd >= settlementsEnd + settlementSectionHeaderBytes && spentLotsEnd <= bytes.count,
            "the spent-lot section's end")
        var hasNoticeMarks = false
        if header.version >= 7 {
            let engagementEnd = try loadEngagement(from: bytes, offset: spentLotsEnd, into: state, path: path)
            hasNoticeMarks = try loadNotices(from: bytes, offset: engagementEnd, path: path)
        }
        if !hasNoticeMarks { clearNoticeMarks(state.lots) }
    }

    /// Places entries at their positions in this run's ring; when the ring is now smaller, the oldest go.
    /// With a key store the entries that do not fit go to it (they are remembered, not forgotten).
    private static func copyIdempotency(_ header: Header, from base: UnsafeRawPointer, into state: ShardState) {
        let table = state.idempotency
        let kept = min(header.idempotencyCount, table.capacity)
        let skipped = header.idempotencyCount - kept
        let oldest = header.idempotencyNextPosition - Int64(kept)
        precondition(kept >= 0 && skipped >= 0, "the ring's entries are split into kept and skipped")
        precondition(table.count == 0, "entries are restored into an empty ring")
        let stride = MemoryLayout<IdempotencyEntry>.stride
        // Format 7 holds the writer's ring in storage order: when it wrapped, its newest `wrapped` entries first.
        let count = header.idempotencyCount
        var wrapped = 0
        if header.ringCapacity > 0 && count > 0 {
            let start = Int((header.idempotencyNextPosition - Int64(count)) % Int64(header.ringCapacity))
            wrapped = max(0, start + count - header.ringCapacity)
        }
        precondition(wrapped >= 0 && wrapped <= count, "a ring wraps at most its count of entries")
        func entry(_ index: Int) -> IdempotencyEntry {
            (base + ((index + wrapped) % count) * stride).loadUnaligned(as: IdempotencyEntry.self)
        }
        if let store = table.store, skipped > 0 {
            store.reserveFilling(extra: skipped)
            for index in 0..<skipped {
                store.addFirst(entry(index), position: oldest - Int64(skipped - index))
            }
        }
        for index in 0..<kept {
            table.entries[table.ringIndex(oldest + Int64(index))] = entry(skipped + index)
        }
        state.idempotency.restore(nextPosition: header.idempotencyNextPosition, count: kept)
        precondition(
            state.idempotency.count == kept && state.idempotency.nextPosition == header.idempotencyNextPosition,
            "the ring holds the entries the snapshot kept")
    }
}
