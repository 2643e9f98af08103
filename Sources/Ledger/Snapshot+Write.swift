import CCRC32C

#if canImport(Glibc)
    import Glibc
#endif

extension Snapshot {
    /// Writes the state as of `sequence` durably: temp file, fsync, rename, fsync directory.
    /// Returns the snapshot's path.
    static func write(
        _ state: ShardState, sequence: UInt64, lastCRC: UInt32, directory: String
    ) throws(LedgerError) -> String {
        try SnapshotImage(state, sequence: sequence, lastCRC: lastCRC).write(directory: directory)
    }

    /// After a snapshot at `sequence`: deletes older snapshots and the segments whose records all precede it
    /// (segment i goes when segment i + 1 starts at or before `sequence + 1`, so the segment being appended to,
    /// always the last, never goes; `currentSegment` is kept as a second guard).
    static func dropCovered(
        directory: String, sequence: UInt64, keeping snapshotPath: String, currentSegment: String
    ) throws(LedgerError) {
        for name in try FileIO.listDirectory(directory) where name.hasPrefix("snapshot-") {
            let path = directory + "/" + name
            if path != snapshotPath { try FileIO.remove(path) }
        }
        let segments = try WALReader.segments(in: directory)
        for (position, segment) in segments.enumerated().dropLast()
        where segments[position + 1].firstSequence <= sequence + 1 && segment.path != currentSegment {
            try FileIO.remove(segment.path)
        }
        try FileIO.syncDirectory(directory)
    }
}

/// A snapshot's bytes, copied from the state in one pass on the shard thread (a few memcpys), so the slow part
/// (checksum, write, fsync) can run on another thread while the shard keeps serving.
final class SnapshotImage: @unchecked Sendable {
    let sequence: UInt64
    private let bytes: UnsafeMutableRawBufferPointer
    private var used = 0

    init(_ state: ShardState, sequence: UInt64, lastCRC: UInt32) {
        self.sequence = sequence
        let tables = [
            state.members.rawBytesInUse.count, state.cards.cards.rawBytesInUse.count, state.holds.rawBytesInUse.count,
            state.idempotency.count * MemoryLayout<IdempotencyEntry>.stride, state.outbox.rawBytesInUse.count,
            Snapshot.lotSectionBytes(state.lots), Snapshot.settlementSectionBytes(state.settlements),
            Snapshot.spentLotSectionBytes(state.spentLots), Snapshot.engagementSectionBytes(state.engagements),
            Snapshot.keySectionBytes(state.idempotency.store),
        ]
        bytes = .allocate(byteCount: Snapshot.headerBytes + tables.reduce(0, +) + 4, alignment: 16)
        let header = Snapshot.Header(
            shardIndex: UInt32(state.shardIndex), shardCount: UInt32(state.shardCount), sequence: sequence,
            lastCRC: lastCRC, memberCount: state.members.count, cardCount: state.cards.count,
            holdCount: state.holds.count, freeHoldHead: state.freeHoldHead, activeHoldCount: state.activeHoldCount,
            idempotencyNextPosition: state.idempotency.nextPosition, idempotencyCount: state.idempotency.count,
            outboxCount: state.outbox.count)
        Snapshot.encodeHeader(header, into: bytes.baseAddress!)
        used = Snapshot.headerBytes
        append(state.members.rawBytesInUse)
        append(state.cards.cards.rawBytesInUse)
        append(state.holds.rawBytesInUse)
        appendIdempotencyEntries(state.idempotency)
        append(state.outbox.rawBytesInUse)
        appendLots(state.lots)
        appendSettlements(state.settlements)
        appendSpentLots(state.spentLots)
        appendEngagement(state.engagements)
        appendKeySection(state.idempotency.store)
        precondition(used + 4 == bytes.count, "snapshot image size")
    }

    deinit { bytes.deallocate() }

    func append(_ piece: UnsafeRawBufferPointer) {
        guard piece.count > 0 else { return }
        (bytes.baseAddress! + used).copyMemory(from: piece.baseAddress!, byteCount: piece.count)
        used += piece.count
    }

    /// Oldest first; the ring may wrap, so in at most two pieces.
    private func appendIdempotencyEntries(_ table: IdempotencyTable) {
        guard table.count > 0 else { return }
        let stride = MemoryLayout<IdempotencyEntry>.stride
        let start = table.ringIndex(table.oldestPosition)
        let firstPiece = min(table.count, table.capacity - start)
        let base = UnsafeRawPointer(table.entries.base)
        append(UnsafeRawBufferPointer(start: base + start * stride, count: firstPiece * stride))
        if firstPiece < table.count {
            append(UnsafeRawBufferPointer(start: base, count: (table.count - firstPiece) * stride))
        }
    }

    /// Checksums and writes the image durably (temp file, fsync, rename, fsync directory); returns its path.
    func write(directory: String) throws(LedgerError) -> String {
        let crc = ccrc32c_update(0, bytes.baseAddress, used)
        bytes.storeBytes(of: crc.littleEndian, toByteOffset: used, as: UInt32.self)
        let name = Snapshot.fileName(sequence: sequence)
        let temporary = directory + "/" + name + ".tmp"
        let descriptor = try FileIO.openFile(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try FileIO.writeAll(descriptor, UnsafeRawBufferPointer(bytes), offset: 0, path: temporary)
            try FileIO.syncAll(descriptor, path: temporary)
        } catch {
            FileIO.closeFile(descriptor)
            try? FileIO.remove(temporary)
            throw error
        }
        FileIO.closeFile(descriptor)
        try FileIO.rename(temporary, directory + "/" + name)
        try FileIO.syncDirectory(directory)
        return directory + "/" + name
    }
}
