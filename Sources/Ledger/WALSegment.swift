import CCRC32C

#if canImport(Glibc)
    import Glibc
#endif

/// The head of every log segment file: which segment it is, the size it was preallocated to, how far its records
/// were acknowledged, and whether a later segment was created. Records start at `recordsStart`.
///
/// Why: the log alone cannot tell a torn tail (the last batch, never acknowledged) from acknowledged records cut
/// off or deleted later. The writer updates the mark after every batch's fdatasync has returned — a plain pwrite
/// that the next batch's fdatasync makes durable, so it costs no sync of its own — and when the shard idles. A
/// mark can therefore only ever name records already on disk, and trails the log by at most one batch. The
/// header is kept in two slots in two sectors, written alternately, so a torn header write leaves the other.
///
///     slot (64 bytes, at 0 and at 512; little-endian)
///      0 magic UInt32 "LWSG"     4 version UInt32     8 crc32c UInt32 of bytes 12..<64    12 reserved UInt32
///     16 firstSequence UInt64   24 segmentBytes UInt64 (the preallocated size)
///     32 acknowledgedSequence UInt64 (firstSequence - 1: none)   40 acknowledgedEnd UInt64 (byte offset)
///     48 nextFirstSequence UInt64 (0 while this is the newest segment)   56 generation UInt64 (newest slot wins)
enum WALSegment {
    static let magic: UInt32 = 0x4753_574C  // "LWSG"
    static let version: UInt32 = 1
    /// Records start here: the header block is one page, so records and header never share a page.
    static let recordsStart = 4096
    static let slotBytes = 64
    /// One slot per 512-byte sector: a torn write of one sector cannot damage both slots.
    static let slotOffsets = [0, 512]
    /// The header bytes a reader needs to see both slots.
    static let headerBytesRead = 512 + 64

    struct Header: Equatable {
        var firstSequence: UInt64
        var segmentBytes: Int64
        /// The last sequence of this segment whose batch's fdatasync returned before this header was written.
        var acknowledgedSequence: UInt64
        /// Where the acknowledged records end.
        var acknowledgedEnd: Int64
        /// The first sequence of the segment created after this one (0: none yet).
        var nextFirstSequence: UInt64
        /// Bumped at every write; of two valid slots the higher one is the header.
        var generation: UInt64

        /// A fresh segment's header: nothing acknowledged, no successor.
        init(firstSequence: UInt64, segmentBytes: Int64) {
            precondition(firstSequence >= 1, "sequences start at 1")
            precondition(segmentBytes >= Int64(WALSegment.recordsStart), "a segment holds its header")
            self.firstSequence = firstSequence
            self.segmentBytes = segmentBytes
            acknowledgedSequence = firstSequence - 1
            acknowledgedEnd = Int64(WALSegment.recordsStart)
            nextFirstSequence = 0
            generation = 1
        }

        init(
            firstSequence: UInt64, segmentBytes: Int64, acknowledgedSequence: UInt64, acknowledgedEnd: Int64,
            nextFirstSequence: UInt64, generation: UInt64
        ) {
            self.firstSequence = firstSequence
            self.segmentBytes = segmentBytes
            self.acknowledgedSequence = acknowledgedSequence
            self.acknowledgedEnd = acknowledgedEnd
            self.nextFirstSequence = nextFirstSequence
            self.generation = generation
        }

        /// True when the fields agree with each other (checked on both sides of the disk).
        var isConsistent: Bool {
            firstSequence >= 1 && acknowledgedSequence + 1 >= firstSequence
                && acknowledgedEnd >= Int64(WALSegment.recordsStart) && acknowledgedEnd <= segmentBytes
                && (nextFirstSequence == 0 || nextFirstSequence > acknowledgedSequence)
        }
    }

    /// Writes one slot's 64 bytes at `base`.
    static func encode(_ header: Header, at base: UnsafeMutableRawPointer) {
        precondition(header.isConsistent, "inconsistent segment header")
        base.initializeMemory(as: UInt8.self, repeating: 0, count: slotBytes)
        var writer = ByteWriter(base: base, capacity: slotBytes)
        writer.put(magic)
        writer.put(version)
        writer.put(UInt32(0))
        writer.put(UInt32(0))
        writer.put(header.firstSequence)
        writer.put(UInt64(header.segmentBytes))
        writer.put(header.acknowledgedSequence)
        writer.put(UInt64(header.acknowledgedEnd))
        writer.put(header.nextFirstSequence)
        writer.put(header.generation)
        precondition(writer.offset == slotBytes, "a slot is 64 bytes")
        let crc = ccrc32c_update(0, base + 12, slotBytes - 12)
        base.storeBytes(of: crc.littleEndian, toByteOffset: 8, as: UInt32.self)
        assert(decode(slot: UnsafeRawPointer(base)) == header, "a slot reads back as written")
    }

    /// One slot, or nil when its magic, version, checksum or fields are wrong.
    static func decode(slot base: UnsafeRawPointer) -> Header? {
        var reader = ByteReader(base: base, count: slotBytes)
        guard reader.get(UInt32.self) == magic, reader.get(UInt32.self) == version,
            let crc = reader.get(UInt32.self), crc == ccrc32c_update(0, base + 12, slotBytes - 12),
            reader.get(UInt32.self) != nil, let first = reader.get(UInt64.self), let size = reader.get(UInt64.self),
            let acknowledged = reader.get(UInt64.self), let end = reader.get(UInt64.self),
            let next = reader.get(UInt64.self), let generation = reader.get(UInt64.self),
            size <= UInt64(Int64.max), end <= size
        else { return nil }
        let header = Header(
            firstSequence: first, segmentBytes: Int64(size), acknowledgedSequence: acknowledged,
            acknowledgedEnd: Int64(end), nextFirstSequence: next, generation: generation)
        return header.isConsistent ? header : nil
    }

    /// The header of a mapped segment: the valid slot with the higher generation; nil when neither is valid.
    static func read(_ bytes: UnsafeRawBufferPointer) -> Header? {
        guard bytes.count >= headerBytesRead else { return nil }
        let slots = slotOffsets.compactMap { decode(slot: bytes.baseAddress! + $0) }
        let newest = slots.max { $0.generation < $1.generation }
        precondition(newest?.isConsistent ?? true, "a decoded header is consistent")
        return newest
    }

    /// Writes the slot this header's generation selects (a plain pwrite: the next fdatasync makes it durable).
    static func writeSlot(_ header: Header, descriptor: Int32, path: String) throws(LedgerError) {
        precondition(descriptor >= 0, "a slot is written to an open segment")
        var slot = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        try withUnsafeMutableBytes(of: &slot) { bytes throws(LedgerError) in
            precondition(bytes.count == slotBytes, "slot buffer size")
            encode(header, at: bytes.baseAddress!)
            let offset = Int64(slotOffsets[Int(header.generation % 2)])
            try FileIO.writeAll(descriptor, UnsafeRawBufferPointer(bytes), offset: offset, path: path)
        }
    }

    /// Writes both slots with the same content (a new segment, a sealed one, a repaired one), the second one a
    /// generation later; returns the header as now on disk. The caller syncs.
    static func writeBothSlots(_ header: Header, descriptor: Int32, path: String) throws(LedgerError) -> Header {
        var copy = header
        try writeSlot(copy, descriptor: descriptor, path: path)
        copy.generation += 1
        try writeSlot(copy, descriptor: descriptor, path: path)
        precondition(copy.generation == header.generation + 1, "the second slot is a generation later")
        return copy
    }

    static func fileName(firstSequence: UInt64) -> String {
        let digits = String(firstSequence)
        precondition(digits.count <= 20, "a sequence has at most 20 digits")
        return "wal-" + String(repeating: "0", count: 20 - digits.count) + digits + ".log"
    }
}
