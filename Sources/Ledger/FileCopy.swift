#if canImport(Glibc)
    import Glibc
#endif

/// Copies of whole files or their prefixes for backups and restores (LedgerCopy, and the switch's DataBackup for
/// the files beside the ledger): the ledger's own file calls, one copy loop.
public enum FileCopy {
    /// Bytes read and written per step.
    static let pieceBytes = 1 << 20
    /// Written bytes synced and dropped from the page cache every this many: a copy never leaves gigabytes of
    /// dirty pages whose writeback the shards' fdatasync would queue behind, nor evicts the switch's pages for its
    /// own (the copy is not read again soon).
    static let syncEveryBytes = 8 << 20

    /// Copies the first `length` bytes of `source` (all when nil) to the new file `destination`, synced; all-zero
    /// pieces stay holes, the copy still gets the length. With `allocate` the whole length is allocated first (a
    /// restored log segment must not need space later). Returns the bytes copied.
    @discardableResult
    public static func copy(
        _ source: String, to destination: String, length: Int64? = nil, allocate: Bool = false
    ) throws(LedgerError) -> Int64 {
        let input = try FileIO.openFile(source, flags: O_RDONLY)
        defer { FileIO.closeFile(input) }
        return try copy(descriptor: input, source: source, to: destination, length: length, allocate: allocate)
    }

    static func copy(
        descriptor input: Int32, source: String, to destination: String, length: Int64?, allocate: Bool
    ) throws(LedgerError) -> Int64 {
        let total: Int64
        if let length { total = length } else { total = try FileIO.fileSize(input, path: source) }
        let output = try FileIO.openFile(destination, flags: O_WRONLY | O_CREAT | O_EXCL)
        defer { FileIO.closeFile(output) }
        if allocate && total > 0 { try FileIO.allocate(output, bytes: total, path: destination) }
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: pieceBytes, alignment: 4096)
        defer { piece.deallocate() }
        var offset: Int64 = 0
        while offset < total {
            let wanted = Int(min(Int64(pieceBytes), total - offset))
            let count = try FileIO.readFully(
                input, UnsafeMutableRawBufferPointer(rebasing: piece[0..<wanted]), offset: offset, path: source)
            guard count > 0 else {
                throw .io(operation: "read (the file ends at byte \(offset), before \(total))", path: source, errno: EIO)
            }
            let bytes = UnsafeRawBufferPointer(rebasing: piece[0..<count])
            if !isZero(bytes) {
                do { try FileIO.writeAll(output, bytes, offset: offset, path: destination) } catch {
                    guard case .io(_, _, let number) = error else { throw error }
                    throw .io(operation: "write at byte \(offset)", path: destination, errno: number)
                }
            }
            offset += Int64(count)
            if offset % Int64(syncEveryBytes) == 0 {
                try FileIO.syncData(output, path: destination)
                _ = posix_fadvise(output, 0, off_t(offset), POSIX_FADV_DONTNEED)
            }
        }
        try FileIO.truncate(output, length: total, path: destination)
        try FileIO.syncAll(output, path: destination)
        return total
    }

    /// Writes a small file atomically: temp file, fsync, rename, fsync of the directory.
    public static func writeAtomically(_ bytes: [UInt8], directory: String, name: String) throws(LedgerError) {
        try bytes.withBytes { buffer throws(LedgerError) in
            try FileIO.writeFileAtomically(directory: directory, name: name, buffer)
        }
    }

    static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index + 8 <= bytes.count {
            if bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) != 0 { return false }
            index += 8
        }
        while index < bytes.count {
            if bytes[index] != 0 { return false }
            index += 1
        }
        return true
    }
}
