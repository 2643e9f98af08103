import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// Writes of a big file made once, sequentially, off the shard thread (a checkpoint, a key run or a merge, the
/// next log segment's zeros) go around the page cache (O_DIRECT) wherever they are aligned, and a file the shard
/// reads soon after is read back into the cache by DMA (`readIntoCache`).
///
/// Why: on the test machine, copying into page-cache pages the kernel had to allocate cost ~5 s of CPU per GB
/// (`copy_folio_from_iter_atomic`: the host takes free guest memory back, so each new page is faulted in on first
/// touch), against ~0.05 s written directly and ~0.4 s read back: 25 % of the switch's samples at 100k/s went to
/// that copy (benchmarks/RESULTS.md, "Write-once files around the page cache"). Databases do the same for the same
/// files (RocksDB's direct I/O for flushes and compactions). Where O_DIRECT is refused (tmpfs) or a piece is not
/// aligned (a file's unaligned tail, a header rewritten in place) the caller writes through the cache as before.
struct DirectWrites {
    /// The alignment O_DIRECT needs of the buffer's address, the file offset and the length.
    static let alignment = 4096

    /// The O_DIRECT descriptor, -1 when the file system refuses it.
    private(set) var descriptor: Int32 = -1
    let path: String

    /// Opens `path` (made already) for direct writes; without O_DIRECT support every `write` answers false.
    init(path: String) {
        precondition(!path.isEmpty, "a file to write")
        self.path = path
        descriptor = (try? FileIO.openFile(path, flags: O_WRONLY | FileCalls.directFlag)) ?? -1
    }

    var isDirect: Bool { descriptor >= 0 }

    /// Writes `bytes` at `offset` around the cache when both are aligned; false when the caller must write them
    /// through the cache.
    func write(_ bytes: UnsafeRawBufferPointer, offset: Int64) throws(LedgerError) -> Bool {
        guard descriptor >= 0, let base = bytes.baseAddress, bytes.count > 0 else { return false }
        let aligned = Self.alignment
        guard Int(bitPattern: base) % aligned == 0, bytes.count % aligned == 0, offset % Int64(aligned) == 0 else {
            return false
        }
        try FileIO.writeAll(descriptor, bytes, offset: offset, path: path)
        return true
    }

    /// How many of `count` buffered bytes to write now: whole pages while direct writes go on (the rest waits for
    /// more, so the file offset stays page-aligned), everything at the end or without direct writes.
    func writable(_ count: Int, final: Bool) -> Int {
        precondition(count >= 0, "a count of buffered bytes")
        return isDirect && !final ? count - count % Self.alignment : count
    }

    /// Writes `bytes` at `offset`: the whole pages around the cache when aligned, the rest through `descriptor`,
    /// written behind.
    func write(
        _ bytes: UnsafeRawBufferPointer, offset: Int64, through descriptor: Int32, writeBehind: inout WriteBehind
    ) throws(LedgerError) {
        let whole = isDirect ? bytes.count - bytes.count % Self.alignment : 0
        var done = 0
        if whole > 0, try write(UnsafeRawBufferPointer(rebasing: bytes[0..<whole]), offset: offset) { done = whole }
        guard done < bytes.count else { return }
        let end = offset + Int64(bytes.count)
        try FileIO.writeAll(
            descriptor, UnsafeRawBufferPointer(rebasing: bytes[done...]), offset: offset + Int64(done), path: path)
        writeBehind.wrote(through: end)
    }

    mutating func close() {
        if descriptor >= 0 { FileIO.closeFile(descriptor) }
        descriptor = -1
    }

    /// Reads the file's first `bytes` once, so its pages are in the page cache before the shard reads them (the
    /// pages come in by DMA; only the copy out touches them). Pages already cached cost a copy.
    static func readIntoCache(path: String, bytes: Int64) throws(LedgerError) {
        precondition(bytes >= 0, "a length to read")
        let descriptor = try FileIO.openFile(path, flags: O_RDONLY)
        defer { FileIO.closeFile(descriptor) }
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: alignment)
        defer { piece.deallocate() }
        var offset: Int64 = 0
        while offset < bytes {
            let count = try FileIO.readFully(descriptor, piece, offset: offset, path: path)
            guard count > 0 else { break }
            offset += Int64(count)
        }
        precondition(offset >= 0, "the read moves forward")
    }
}
