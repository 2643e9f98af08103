/// The key store's part of a snapshot (format 6), last in the file before its checksum: the filling buffer's
/// versions, then a 32-byte trailer (runs' first sequence, the last sequence the runs cover, the version count,
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
        keyTrailerBytes + (store?.filling.count ?? 0) * keyRecordBytes
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
        return KeySection(
            offset: bytes.count - keyTrailerBytes - Int(count) * keyRecordBytes, runsFirstSequence: first,
            runsThrough: through, count: Int(count))
    }

    /// Opens the runs the snapshot relies on and refills the store's buffer.
    static func restoreKeyStore(
        _ section: KeySection, from bytes: UnsafeRawBufferPointer, into state: ShardState
    ) throws(LedgerError) {
        guard let store = state.idempotency.store else { return }
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

extension SnapshotImage {
    /// The filling buffer in slot order (first versions in position order, newer versions among them).
    func appendKeySection(_ store: KeyStore?) {
        let recordBytes = Snapshot.keyRecordBytes
        var record = [UInt8](repeating: 0, count: recordBytes)
        if let store {
            let buffer = store.filling
            for slot in 0..<buffer.count {
                record.withUnsafeMutableBytes { bytes in
                    bytes.initializeMemory(as: UInt8.self, repeating: 0)
                    bytes.storeBytes(of: buffer.positions[slot].littleEndian, as: Int64.self)
                    bytes.storeBytes(
                        of: UInt64(buffer.isAmendment[slot] ? 1 : 0).littleEndian, toByteOffset: 8, as: UInt64.self)
                    bytes.baseAddress!.advanced(by: 16).storeBytes(of: buffer.entries[slot], as: IdempotencyEntry.self)
                }
                record.withUnsafeBytes { append($0) }
            }
        }
        var trailer = [UInt64](repeating: 0, count: 4)
        trailer[0] = (store?.runsFirstSequence ?? 1).littleEndian
        trailer[1] = (store?.runsThrough ?? 0).littleEndian
        trailer[2] = UInt64(store?.filling.count ?? 0).littleEndian
        trailer[3] = Snapshot.keyTrailerMarker.littleEndian
        trailer.withUnsafeBytes { append($0) }
    }
}
