import CCRC32C

/// A key run's entries, compact (run format 2): packed into 4 KiB blocks, each entry stored as its difference
/// from the entry before it in the block, with only the bytes that differ.
///
/// Why: entries are ~320 bytes, mostly zeros (a purchase leaves most outcome and effect fields empty), and
/// neighbours share their acquirer, terminal, card and time. Stored whole they made merges write 4–5 GB a minute
/// at 100k requests/s, and the log's fdatasync waited behind those writes (benchmarks/RESULTS.md). Compact, an
/// entry takes ~70–110 bytes; a lookup still reads one 4 KiB block.
///
/// Block layout (little-endian), 4096 bytes:
///
///     0   CRC32C of bytes 4..<4096
///     4   entries in the block (UInt16, at least 1)
///     6   bytes of records after the 16-byte head (UInt16)
///     8   the run's index of the block's first entry (UInt64)
///     16  records; zeros after them
///
/// Record: the entry XOR the block's previous entry (zeros for the first), as a word mask (bit w: word w is not
/// zero, `maskBytes` bytes), then for each such word a byte mask (bit b: byte b is not zero) and those bytes.
enum KeyRunEntryBlock {
    static let bytes = 4096
    static let headBytes = 16
    static var entryBytes: Int { KeyRunHeader.entryStride }
    static var words: Int { entryBytes / 8 }
    static var maskBytes: Int { (words + 7) / 8 }
    /// The largest record: every word and byte differs.
    static var recordBytesMax: Int { maskBytes + words * 9 }

    /// Encodes `entry` against `previous` (both `entryBytes` long) into `output`; returns the bytes written, at
    /// most `recordBytesMax`.
    static func encode(
        _ entry: UnsafeRawPointer, previous: UnsafeRawPointer, into output: UnsafeMutableRawPointer
    ) -> Int {
        precondition(entryBytes % 8 == 0 && words <= 64, "an entry is whole words, at most 64 of them")
        var wordMask: UInt64 = 0
        var written = maskBytes
        for word in 0..<words {
            let difference =
                entry.loadUnaligned(fromByteOffset: word * 8, as: UInt64.self)
                ^ previous.loadUnaligned(fromByteOffset: word * 8, as: UInt64.self)
            if difference == 0 { continue }
            wordMask |= 1 << UInt64(word)
            let maskAt = written
            written += 1
            var byteMask: UInt8 = 0
            var rest = difference
            for byte in 0..<8 {
                let value = UInt8(truncatingIfNeeded: rest)
                rest >>= 8
                if value == 0 { continue }
                byteMask |= 1 << UInt8(byte)
                output.storeBytes(of: value, toByteOffset: written, as: UInt8.self)
                written += 1
            }
            output.storeBytes(of: byteMask, toByteOffset: maskAt, as: UInt8.self)
        }
        for byte in 0..<maskBytes {
            let maskByte = UInt8(truncatingIfNeeded: wordMask >> UInt64(byte * 8))
            output.storeBytes(of: maskByte, toByteOffset: byte, as: UInt8.self)
        }
        precondition(written <= recordBytesMax, "a record is at most recordBytesMax")
        return written
    }

    /// Decodes one record from `input` (`available` bytes) onto `entry`, which holds the previous entry and becomes
    /// this one; returns the bytes read, nil when the record runs past `available` or names words past the entry.
    static func decode(_ input: UnsafeRawPointer, available: Int, onto entry: UnsafeMutableRawPointer) -> Int? {
        guard available >= maskBytes else { return nil }
        var wordMask: UInt64 = 0
        for byte in 0..<maskBytes {
            wordMask |= UInt64(input.load(fromByteOffset: byte, as: UInt8.self)) << UInt64(byte * 8)
        }
        guard wordMask >> UInt64(words) == 0 || words == 64 else { return nil }
        var read = maskBytes
        while wordMask != 0 {
            let word = wordMask.trailingZeroBitCount
            wordMask &= wordMask - 1
            guard read < available else { return nil }
            let byteMask = input.load(fromByteOffset: read, as: UInt8.self)
            read += 1
            guard byteMask != 0, read + byteMask.nonzeroBitCount <= available else { return nil }
            var difference: UInt64 = 0
            var bytes = byteMask
            while bytes != 0 {
                let byte = bytes.trailingZeroBitCount
                bytes &= bytes - 1
                difference |= UInt64(input.load(fromByteOffset: read, as: UInt8.self)) << UInt64(byte * 8)
                read += 1
            }
            let old = entry.loadUnaligned(fromByteOffset: word * 8, as: UInt64.self)
            entry.storeBytes(of: old ^ difference, toByteOffset: word * 8, as: UInt64.self)
        }
        precondition(read <= available && read <= recordBytesMax, "a record is read inside its bytes")
        return read
    }

    /// A block's head after its checksum is checked: (entries, record bytes, first entry index); nil when the
    /// checksum fails or the head is out of range.
    static func head(_ block: UnsafeRawPointer) -> (count: Int, used: Int, first: Int)? {
        let crc = UInt32(littleEndian: block.loadUnaligned(as: UInt32.self))
        guard ccrc32c_update(0, block + 4, bytes - 4) == crc else { return nil }
        let count = Int(UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt16.self)))
        let used = Int(UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 6, as: UInt16.self)))
        let first = UInt64(littleEndian: block.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        guard count >= 1, used >= count * maskBytes, used <= bytes - headBytes, first < 1 << 40 else { return nil }
        return (count, used, Int(first))
    }

    /// Writes the head and checksum of a block whose records (`used` bytes after the head) are in place.
    static func seal(_ block: UnsafeMutableRawPointer, count: Int, used: Int, first: Int) {
        precondition(count >= 1 && count <= UInt16.max && used <= bytes - headBytes && first >= 0, "a block's head")
        (block + headBytes + used).initializeMemory(as: UInt8.self, repeating: 0, count: bytes - headBytes - used)
        block.storeBytes(of: UInt16(count).littleEndian, toByteOffset: 4, as: UInt16.self)
        block.storeBytes(of: UInt16(used).littleEndian, toByteOffset: 6, as: UInt16.self)
        block.storeBytes(of: UInt64(first).littleEndian, toByteOffset: 8, as: UInt64.self)
        let crc = ccrc32c_update(0, block + 4, bytes - 4)
        block.storeBytes(of: crc.littleEndian, as: UInt32.self)
        assert(head(UnsafeRawPointer(block)).map { $0 == (count, used, first) } == true, "a block reads back")
    }

    /// Calls `body` with each entry of a checked block (its run index and bytes, valid during the call), in order,
    /// until `body` returns false; false when a record does not decode (the block is damaged).
    static func visit(
        _ block: UnsafeRawPointer, count: Int, used: Int, first: Int, scratch: UnsafeMutableRawPointer,
        _ body: (Int, UnsafeRawPointer) throws(LedgerError) -> Bool
    ) throws(LedgerError) -> Bool {
        precondition(count >= 1 && used <= bytes - headBytes, "a checked block")
        scratch.initializeMemory(as: UInt8.self, repeating: 0, count: entryBytes)
        var offset = headBytes
        for entry in 0..<count {
            guard let read = decode(block + offset, available: headBytes + used - offset, onto: scratch) else {
                return false
            }
            offset += read
            guard try body(first + entry, UnsafeRawPointer(scratch)) else { return true }
        }
        return offset == headBytes + used
    }
}
