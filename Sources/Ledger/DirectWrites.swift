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
/// files (RocksDB's direct I/O for flushes and compactions). On a file system in memory (tmpfs), where O_DIRECT is
/// refused, or where a piece is not aligned (a file's unaligned tail, a header rewritten in place) the caller writes
/// through the cache as before.
struct DirectWrites {
    /// The alignment O_DIRECT needs of the buffer's address, the file offset and the length.
    static let alignment = 4096

    /// The O_DIRECT descriptor, -1 when the file system refuses it.
    private(set) var descriptor: Int32 = -1
    let path: String

    /// Opens `path` (made already) for direct writes; without O_DIRECT support every `write` answers false. A
    /// file in memory (tmpfs, ramfs: they accept O_DIRECT since Linux 6.6 and copy anyway) is written as before.
    init(path: String) {
        precondition(!path.isEmpty, "a file to write")
        self.path = path
        guard !FileCalls.isInMemory(path) else { return }
        descriptor = (try? FileIO.openFile(path, flags: O_WRONLY | FileCalls.directFlag)) ?? -1
    }

    /// Free bytes an unprivileged writer may still take on the file system of the open `descriptor` (0 unknown).
    static func availableBytes(_ descriptor: Int32) -> Int64 {
        var info = statvfs()
        guard fstatvfs(descriptor, &info) == 0 else { return 0 }
        let (bytes, overflow) = UInt64(info.f_bavail).multipliedReportingOverflow(by: UInt64(info.f_frsize))
        return overflow ? Int64.max : Int64(clamping: bytes)
    }

    /// What a preparation that grows a file leaves free on its file system at least: the log's next segments and
    /// the key runs come first, so on a nearly full disk nothing is prepared (appends then write as before).
    static let headroomBytes: Int64 = 1 << 30

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
        precondition(!isDirect, "a closed writer writes nothing directly")
    }

    /// Brings `range` of the file into the page cache before its pages are used: by DMA, a piece at a time, and
    /// nothing copied out (readahead); pages already cached cost nothing.
    static func readIntoCache(_ descriptor: Int32, path: String, range: Range<Int64>) throws(LedgerError) {
        precondition(range.lowerBound >= 0, "a range of the file")
        // readahead(2) reads the pages into the cache without copying them to us: a pread into a buffer here was
        // 4–5 % of the switch's samples at 100k/s (`_copy_to_iter`, the next log segment's read-back). One call
        // reads at most the device's readahead window, so it is asked a piece no window is smaller than at a time.
        // Each piece is waited for (one byte of its last page read through the cache) before the next is asked:
        // a whole segment's reads queued at once (64 MiB) put the log's fdatasync behind them, and commits took
        // over 100 ms (answers 91 at a fixed 100k/s). Where readahead is refused, the rest is read as before.
        var offset = range.lowerBound
        let last = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
        defer { last.deallocate() }
        while offset < range.upperBound {
            let count = min(Int64(readAheadPieceBytes), range.upperBound - offset)
            guard FileCalls.readAhead(descriptor, offset: offset, count: count) else { break }
            guard try FileIO.readFully(descriptor, last, offset: offset + count - 1, path: path) == 1 else { break }
            offset += count
        }
        guard offset < range.upperBound else { return }
        try readThrough(descriptor, path: path, range: offset..<range.upperBound)
    }

    /// The readahead window's usual floor (128 KiB: Linux's default `read_ahead_kb`).
    static let readAheadPieceBytes = 128 << 10

    /// `range` read through a buffer (which the kernel fills from its cache, reading what it lacks).
    private static func readThrough(_ descriptor: Int32, path: String, range: Range<Int64>) throws(LedgerError) {
        precondition(range.lowerBound >= 0, "a range of the file")
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: pieceBytes, alignment: alignment)
        defer { piece.deallocate() }
        var offset = range.lowerBound
        while offset < range.upperBound {
            let wanted = Int(min(Int64(pieceBytes), range.upperBound - offset))
            let count = try FileIO.readFully(
                descriptor, UnsafeMutableRawBufferPointer(rebasing: piece[0..<wanted]), offset: offset, path: path)
            guard count > 0 else { break }
            offset += Int64(count)
        }
        precondition(offset >= range.lowerBound, "the read moves forward")
    }

    /// The file's first `bytes`, read into the cache (`readIntoCache`).
    static func readIntoCache(path: String, bytes: Int64) throws(LedgerError) {
        let descriptor = try FileIO.openFile(path, flags: O_RDONLY)
        defer { FileIO.closeFile(descriptor) }
        try readIntoCache(descriptor, path: path, range: 0..<bytes)
    }

    static let pieceBytes = 1 << 20

    /// Makes `range` of the open file (`descriptor`, readable) zeros that are in the page cache without the CPU
    /// writing them there: written around the cache in pieces (a pause of `pauseMicroseconds` after each, so a
    /// big range does not hold the disk), then read back. An appender writes into those pages afterwards at the
    /// price of an overwrite. The range starts at a page boundary (the caller's page before it is cached already).
    /// False, with nothing done, where O_DIRECT is refused or the range is not whole pages. A range past the
    /// file's end grows it: only while `headroomBytes` stay free besides, and a growth that fails (a full disk) is
    /// cut back and answers false, so a preparation never holds space the log needs.
    static func prepare(
        _ descriptor: Int32, path: String, range: Range<Int64>, pauseMicroseconds: UInt32 = 0
    ) throws(LedgerError) -> Bool {
        let aligned = Int64(alignment)
        guard range.lowerBound % aligned == 0, range.upperBound % aligned == 0, !range.isEmpty else { return false }
        var direct = DirectWrites(path: path)
        defer { direct.close() }
        guard direct.isDirect else { return false }
        let size = try FileIO.fileSize(descriptor, path: path)
        guard range.upperBound > size else {
            try fill(direct, descriptor, range: range, pauseMicroseconds: pauseMicroseconds)
            return true
        }
        guard availableBytes(descriptor) >= range.upperBound - size + headroomBytes else { return false }
        do throws(LedgerError) {
            try fill(direct, descriptor, range: range, pauseMicroseconds: pauseMicroseconds)
        } catch {
            try FileIO.truncate(descriptor, length: size, path: path)
            return false
        }
        return true
    }

    /// Zeros over `range` around the cache, then read back into it.
    private static func fill(
        _ direct: DirectWrites, _ descriptor: Int32, range: Range<Int64>, pauseMicroseconds: UInt32
    ) throws(LedgerError) {
        let path = direct.path
        let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: pieceBytes, alignment: alignment)
        defer { zeros.deallocate() }
        zeros.initializeMemory(as: UInt8.self, repeating: 0)
        var offset = range.lowerBound
        while offset < range.upperBound {
            let count = Int(min(Int64(pieceBytes), range.upperBound - offset))
            guard try direct.write(UnsafeRawBufferPointer(rebasing: zeros[0..<count]), offset: offset) else {
                preconditionFailure("whole pages at a page boundary are written directly")
            }
            offset += Int64(count)
            if pauseMicroseconds > 0 { usleep(pauseMicroseconds) }
        }
        try readIntoCache(descriptor, path: path, range: range)
        precondition(offset == range.upperBound, "the whole range is written")
    }
}
