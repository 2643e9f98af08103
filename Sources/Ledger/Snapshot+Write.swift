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
        let name = fileName(sequence: sequence)
        let temporary = directory + "/" + name + ".tmp"
        let descriptor = try FileIO.openFile(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        var stream = SnapshotStream(descriptor: descriptor, path: temporary)
        do {
            try writeContents(state, sequence: sequence, lastCRC: lastCRC, stream: &stream)
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

    /// After a snapshot at `sequence`: deletes older snapshots and the segments whose records all precede it
    /// (never `currentSegment`, the one being appended to).
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

    private static func writeContents(
        _ state: ShardState, sequence: UInt64, lastCRC: UInt32, stream: inout SnapshotStream
    ) throws(LedgerError) {
        let header = Header(
            shardIndex: UInt32(state.shardIndex), shardCount: UInt32(state.shardCount), sequence: sequence,
            lastCRC: lastCRC, memberCount: state.members.count, cardCount: state.cards.count,
            holdCount: state.holds.count, freeHoldHead: state.freeHoldHead, activeHoldCount: state.activeHoldCount,
            idempotencyNextPosition: state.idempotency.nextPosition, idempotencyCount: state.idempotency.count,
            outboxCount: state.outbox.count)
        let headerBuffer = UnsafeMutableRawPointer.allocate(byteCount: headerBytes, alignment: 8)
        defer { headerBuffer.deallocate() }
        encodeHeader(header, into: headerBuffer)
        try stream.write(UnsafeRawBufferPointer(start: headerBuffer, count: headerBytes))
        try stream.write(state.members.rawBytesInUse)
        try stream.write(state.cards.cards.rawBytesInUse)
        try stream.write(state.holds.rawBytesInUse)
        try writeIdempotencyEntries(state.idempotency, stream: &stream)
        try stream.write(state.outbox.rawBytesInUse)
        var trailer = stream.crc.littleEndian
        try withUnsafeBytes(of: &trailer) { bytes throws(LedgerError) in try stream.write(bytes) }
    }

    /// Oldest first; the ring may wrap, so in at most two pieces.
    private static func writeIdempotencyEntries(
        _ table: IdempotencyTable, stream: inout SnapshotStream
    ) throws(LedgerError) {
        guard table.count > 0 else { return }
        let stride = MemoryLayout<IdempotencyEntry>.stride
        let start = table.ringIndex(table.oldestPosition)
        let firstPiece = min(table.count, table.capacity - start)
        let base = UnsafeRawPointer(table.entries.base)
        try stream.write(UnsafeRawBufferPointer(start: base + start * stride, count: firstPiece * stride))
        if firstPiece < table.count {
            try stream.write(UnsafeRawBufferPointer(start: base, count: (table.count - firstPiece) * stride))
        }
    }
}

/// Sequential writer that keeps a running CRC32C of what it wrote.
struct SnapshotStream {
    let descriptor: Int32
    let path: String
    var offset: Int64 = 0
    var crc: UInt32 = 0

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws(LedgerError) {
        guard bytes.count > 0 else { return }
        crc = ccrc32c_update(crc, bytes.baseAddress, bytes.count)
        try FileIO.writeAll(descriptor, bytes, offset: offset, path: path)
        offset += Int64(bytes.count)
    }
}
