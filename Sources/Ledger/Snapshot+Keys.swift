/// The key store's part of a snapshot (format 6), last in the file before its checksum: the filling buffer's
/// versions (a record each: position, flags (1: a newer version), the entry; `Checkpoint.writeKeyRecords`), then a 32-byte trailer (runs' first sequence, the last sequence the runs cover, the version count,
/// a marker). The runs themselves are files of their own (`KeyRun`); the snapshot only says which it relies on.
extension Snapshot {
    static let keyTrailerBytes = 32
    static let keyTrailerMarker: UInt64 = 0x5443_4553_5945_4B4C  // "LKEYSECT"
    static var keyRecordBytes: Int { (16 + MemoryLayout<IdempotencyEntry>.stride + 7) & ~7 }

    struct KeySection {
        /// Where the section starts (the tables end there).
        var offset: Int
        var runsFirstSequence: UInt64 = 1
        var runsThrough: UInt64 = 0
        var count = 0
    }

    static func keySectionBytes(_ store: KeyStore?) -> Int {
        precondition(keyRecordBytes % 8 == 0 && keyRecordBytes >= 16, "a key record is 8-byte aligned")
        return keyTrailerBytes + (store?.filling.count ?? 0) * keyRecordBytes
    }

    /// Finds the section from the trailer at the end of `bytes` (the snapshot without its checksum).
    static func keySection(_ bytes: UnsafeRawBufferPointer, path: String) throws(LedgerError) -> KeySection {
        guard bytes.count >= headerBytes + keyTrailerBytes else {
            throw .damagedSnapshot(file: path, reason: "no room for the key store section")
        }
        var reader = ByteReader(base: bytes.baseAddress! + bytes.count - keyTrailerBytes, count: keyTrailerBytes)
        guard let first = reader.get(UInt64.self), let through = reader.get(UInt64.self),
            let count = reader.get(UInt64.self), reader.get(UInt64.self) == keyTrailerMarker, first >= 1,
            first <= through + 1, count < UInt64(Int32.max),
            headerBytes + Int(count) * keyRecordBytes + keyTrailerBytes <= bytes.count
        else { throw .damagedSnapshot(file: path, reason: "key store section unreadable") }
        let section = KeySection(
            offset: bytes.count - keyTrailerBytes - Int(count) * keyRecordBytes, runsFirstSequence: first,
            runsThrough: through, count: Int(count))
        precondition(
            section.offset >= headerBytes && section.offset + section.count * keyRecordBytes + keyTrailerBytes
                == bytes.count, "the key section ends the snapshot's content")
        return section
    }

    /// Opens the runs the snapshot relies on and refills the store's buffer.
    static func restoreKeyStore(
        _ section: KeySection, from bytes: UnsafeRawBufferPointer, into state: ShardState
    ) throws(LedgerError) {
        guard let store = state.idempotency.store else { return }
        precondition(section.count >= 0 && section.runsFirstSequence >= 1, "a key section as read")
        precondition(
            section.offset + section.count * keyRecordBytes <= bytes.count, "the key records are inside the file")
        try store.open(runsFirstSequence: section.runsFirstSequence, runsThrough: section.runsThrough)
        store.reserveFilling(extra: section.count)
        for index in 0..<section.count {
            let record = bytes.baseAddress! + section.offset + index * keyRecordBytes
            let position = Int64(littleEndian: record.loadUnaligned(as: Int64.self))
            let flags = UInt64(littleEndian: record.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            let entry = (record + 16).loadUnaligned(as: IdempotencyEntry.self)
            store.restoreFilling(entry, position: position, isAmendment: flags & 1 != 0)
        }
    }
}

extension Snapshot {
    /// The key section's trailer: the runs' first sequence, the last sequence they cover, the buffer's count.
    static func keyTrailer(runsFirstSequence: UInt64, runsThrough: UInt64, count: Int) -> [UInt8] {
        precondition(runsFirstSequence >= 1 && runsFirstSequence <= runsThrough + 1, "the runs cover a range")
        precondition(count >= 0 && count < Int(Int32.max), "a key buffer's count")
        var trailer = [UInt8](repeating: 0, count: keyTrailerBytes)
        trailer.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: runsFirstSequence.littleEndian, toByteOffset: 0, as: UInt64.self)
            bytes.storeBytes(of: runsThrough.littleEndian, toByteOffset: 8, as: UInt64.self)
            bytes.storeBytes(of: UInt64(count).littleEndian, toByteOffset: 16, as: UInt64.self)
            bytes.storeBytes(of: keyTrailerMarker.littleEndian, toByteOffset: 24, as: UInt64.self)
        }
        precondition(trailer.count == keyTrailerBytes, "a key trailer is 32 bytes")
        return trailer
    }
}
