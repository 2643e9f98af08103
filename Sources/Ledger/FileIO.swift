import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// The ledger's file calls: `FileCalls` (EINTR retried, short reads and writes continued) with failures as
/// `LedgerError.io` naming the path.
public enum FileIO {
    static func openFile(_ path: String, flags: Int32, mode: mode_t = 0o600) throws(LedgerError) -> Int32 {
        precondition(!path.isEmpty, "a file has a path")
        let descriptor: Int32
        do { descriptor = try FileCalls.open(path, flags: flags, mode: mode) } catch { throw LedgerError(error) }
        precondition(descriptor >= 0, "an open file has a descriptor")
        return descriptor
    }

    /// Opens a log segment to read under a lease: a shared flock, which a checkpoint respects by deleting the
    /// segment instead of recycling it (`Snapshot.dropCovered`), so this descriptor reads that segment's records
    /// until it is closed. ENOENT when the path no longer names the file opened: recycled between open and lease.
    static func openSegmentLeased(_ path: String) throws(LedgerError) -> Int32 {
        let descriptor = try openFile(path, flags: O_RDONLY)
        do { try FileCalls.lockShared(descriptor, path: path) } catch {
            closeFile(descriptor)
            throw LedgerError(error)
        }
        var opened = stat()
        var named = stat()
        guard fstat(descriptor, &opened) == 0, stat(path, &named) == 0, opened.st_dev == named.st_dev,
            opened.st_ino == named.st_ino
        else {
            closeFile(descriptor)
            throw .io(operation: "lease (the segment was recycled)", path: path, errno: ENOENT)
        }
        precondition(descriptor >= 0, "a leased segment is open")
        return descriptor
    }

    /// The exclusive lease a recycler needs to reuse a segment: nil when a reader holds it (or it is gone).
    /// Close the descriptor after the rename; readers that opened the file before then find it renamed.
    static func tryRecyclingLease(_ path: String) -> Int32? {
        precondition(!path.isEmpty, "a segment has a path")
        guard let descriptor = try? openFile(path, flags: O_RDONLY) else { return nil }
        if (try? FileCalls.tryLock(descriptor, path: path)) == true { return descriptor }
        closeFile(descriptor)
        return nil
    }

    static func closeFile(_ descriptor: Int32) {
        _ = close(descriptor)
    }

    /// Writes all bytes at `offset` (short writes continue; EINTR retried).
    static func writeAll(
        _ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, offset: Int64, path: String
    ) throws(LedgerError) {
        precondition(descriptor >= 0 && offset >= 0, "a write to an open file at a file offset")
        do { try FileCalls.writeAll(descriptor, bytes, offset: offset, path: path) } catch { throw LedgerError(error) }
    }

    /// Reads up to `bytes.count` bytes at `offset`; returns how many were read (less only at end of file).
    public static func readFully(
        _ descriptor: Int32, _ bytes: UnsafeMutableRawBufferPointer, offset: Int64, path: String
    ) throws(LedgerError) -> Int {
        precondition(descriptor >= 0 && offset >= 0, "a read of an open file at a file offset")
        let count: Int
        do { count = try FileCalls.readFully(descriptor, bytes, offset: offset, path: path) } catch {
            throw LedgerError(error)
        }
        precondition(count >= 0 && count <= bytes.count, "a read fills at most its buffer")
        return count
    }

    static func syncData(_ descriptor: Int32, path: String) throws(LedgerError) {
        precondition(descriptor >= 0, "a sync of an open file")
        do { try FileCalls.dataSync(descriptor, path: path) } catch { throw LedgerError(error) }
    }

    static func syncAll(_ descriptor: Int32, path: String) throws(LedgerError) {
        precondition(descriptor >= 0, "a sync of an open file")
        do { try FileCalls.fullSync(descriptor, path: path) } catch { throw LedgerError(error) }
    }

    static func syncDirectory(_ path: String) throws(LedgerError) {
        precondition(!path.isEmpty, "a directory has a path")
        do { try FileCalls.syncDirectory(path) } catch { throw LedgerError(error) }
    }

    /// Allocates `bytes` from the start of the file (posix_fallocate: blocks reserved, the size set), so later
    /// writes inside it need no free space.
    static func allocate(_ descriptor: Int32, bytes: Int64, path: String) throws(LedgerError) {
        precondition(descriptor >= 0 && bytes >= 0, "an allocation of an open file")
        do { try FileCalls.allocate(descriptor, bytes: bytes, path: path) } catch { throw LedgerError(error) }
    }

    /// Writes zeros over `range` of the file (bounded by the range), in pieces of at most 1 MiB.
    static func writeZeros(_ descriptor: Int32, range: Range<Int64>, path: String) throws(LedgerError) {
        precondition(descriptor >= 0 && range.lowerBound >= 0, "zeros written in an open file")
        let pieceBytes = 1 << 20
        let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: pieceBytes, alignment: 4096)
        defer { zeros.deallocate() }
        zeros.initializeMemory(as: UInt8.self, repeating: 0)
        var offset = range.lowerBound
        while offset < range.upperBound {
            let count = Int(min(Int64(pieceBytes), range.upperBound - offset))
            try writeAll(descriptor, UnsafeRawBufferPointer(rebasing: zeros[0..<count]), offset: offset, path: path)
            offset += Int64(count)
        }
        precondition(range.isEmpty || offset == range.upperBound, "the whole range is zeroed")
    }

    static func fileSize(_ descriptor: Int32, path: String) throws(LedgerError) -> Int64 {
        precondition(descriptor >= 0, "the size of an open file")
        var status = stat()
        if fstat(descriptor, &status) != 0 { throw .io(operation: "fstat", path: path, errno: errno) }
        precondition(status.st_size >= 0, "a file's size is not negative")
        return Int64(status.st_size)
    }

    static func sizeOfFile(_ path: String) throws(LedgerError) -> Int64 {
        precondition(!path.isEmpty, "a file has a path")
        var status = stat()
        if stat(path, &status) != 0 { throw .io(operation: "stat", path: path, errno: errno) }
        return Int64(status.st_size)
    }

    static func exists(_ path: String) -> Bool {
        precondition(!path.isEmpty, "a file has a path")
        return access(path, F_OK) == 0
    }

    /// Creates the directory and any missing parents (bounded by the path's length).
    static func makeDirectory(_ path: String) throws(LedgerError) {
        precondition(!path.isEmpty, "a directory has a path")
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw .io(operation: "mkdir", path: prefix, errno: errno)
            }
        }
    }

    static func remove(_ path: String) throws(LedgerError) {
        precondition(!path.isEmpty, "a file has a path")
        if unlink(path) != 0 && errno != ENOENT { throw .io(operation: "unlink", path: path, errno: errno) }
    }

    static func rename(_ from: String, _ to: String) throws(LedgerError) {
        precondition(!from.isEmpty && !to.isEmpty, "a rename names both files")
        if Glibc.rename(from, to) != 0 { throw .io(operation: "rename", path: to, errno: errno) }
    }

    static func truncate(_ descriptor: Int32, length: Int64, path: String) throws(LedgerError) {
        precondition(descriptor >= 0 && length >= 0, "a length of an open file")
        if ftruncate(descriptor, off_t(length)) != 0 { throw .io(operation: "ftruncate", path: path, errno: errno) }
    }

    /// Names in a directory (no "." or ".."), sorted. Bounded by `entriesMax`: a directory bigger than that is
    /// not one of ours.
    static func listDirectory(_ path: String, entriesMax: Int = 100_000) throws(LedgerError) -> [String] {
        precondition(!path.isEmpty && entriesMax >= 1, "a directory's path and a bound on its names")
        guard let directory = opendir(path) else { throw .io(operation: "opendir", path: path, errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while names.count < entriesMax, let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        precondition(names.count <= entriesMax, "a listing is bounded by entriesMax")
        return names.sorted()
    }

    /// Writes a whole small file atomically: temp file, fsync, rename, fsync directory.
    static func writeFileAtomically(
        directory: String, name: String, _ bytes: UnsafeRawBufferPointer
    ) throws(LedgerError) {
        precondition(!directory.isEmpty && !name.isEmpty, "a file is written under a name in a directory")
        let temporary = directory + "/" + name + ".tmp"
        let descriptor = try openFile(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try writeAll(descriptor, bytes, offset: 0, path: temporary)
            try syncAll(descriptor, path: temporary)
        } catch {
            closeFile(descriptor)
            throw error
        }
        closeFile(descriptor)
        try rename(temporary, directory + "/" + name)
        try syncDirectory(directory)
    }

    static func readWholeFile(_ path: String, bytesMax: Int) throws(LedgerError) -> [UInt8] {
        let descriptor = try openFile(path, flags: O_RDONLY)
        defer { closeFile(descriptor) }
        let size = try fileSize(descriptor, path: path)
        guard size <= Int64(bytesMax) else { throw .io(operation: "read (file too large)", path: path, errno: EFBIG) }
        let bytes = try readBytes(descriptor, count: Int(size), offset: 0, path: path)
        precondition(bytes.count <= bytesMax, "a whole file read within its bound")
        return bytes
    }

    /// Up to `count` bytes at `offset` into a new array (fewer at the end of the file).
    static func readBytes(_ descriptor: Int32, count: Int, offset: Int64, path: String) throws(LedgerError) -> [UInt8] {
        precondition(count >= 0 && offset >= 0, "a read of a count of bytes at a file offset")
        var failure: LedgerError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(LedgerError) {
                initialized = try readFully(descriptor, UnsafeMutableRawBufferPointer(buffer), offset: offset, path: path)
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        precondition(bytes.count <= count, "a read returns at most the count asked for")
        return bytes
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body with typed throws (the standard one rethrows untyped errors).
    func withBytes<Value>(
        _ body: (UnsafeRawBufferPointer) throws(LedgerError) -> Value
    ) throws(LedgerError) -> Value {
        let outcome: Result<Value, LedgerError> = withUnsafeBytes { bytes in
            do throws(LedgerError) { return .success(try body(bytes)) } catch { return .failure(error) }
        }
        return try outcome.get()
    }
}

extension LedgerError {
    /// A failed file call as the ledger says it.
    init(_ failure: FileCallFailure) {
        self = .io(operation: failure.operation, path: failure.path, errno: failure.errorNumber)
    }
}
