#if canImport(Glibc)
    import Glibc
#endif

/// The file calls a backup and a restore make outside the ledger's own files (audit, history, notification
/// progress, imports, the manifest): EINTR retried, every failure a `BackupError` naming the path.
enum BackupFiles {
    /// Entries of one directory a backup is willing to read (ours hold tens; more is not one of ours).
    static let entriesMax = 100_000
    /// Bytes copied between two syncs of the copy (LedgerCopy.syncEveryBytes says why).
    static let syncEveryBytes = 8 << 20

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o600) throws(BackupError) -> Int32 {
        while true {
            let descriptor = Glibc.open(path, flags | O_CLOEXEC, mode)
            if descriptor >= 0 { return descriptor }
            if errno != EINTR { throw failure("open", path) }
        }
    }

    static func failure(_ operation: String, _ path: String, _ code: Int32 = errno) -> BackupError {
        BackupError("\(path): \(operation) failed: \(String(cString: strerror(code))) (errno \(code))")
    }

    static func size(_ descriptor: Int32, path: String) throws(BackupError) -> Int64 {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure("fstat", path) }
        return Int64(status.st_size)
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    /// Reads up to the buffer's size at `offset`; fewer bytes only at the end of the file.
    static func read(
        _ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: Int64, path: String
    ) throws(BackupError) -> Int {
        var done = 0
        while done < buffer.count {
            let count = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("read", path)
            }
            if count == 0 { break }
            done += count
        }
        return done
    }

    static func write(
        _ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, offset: Int64, path: String
    ) throws(BackupError) {
        var done = 0
        while done < bytes.count {
            let count = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("write at byte \(offset + Int64(done))", path)
            }
            done += count
        }
    }

    static func sync(_ descriptor: Int32, path: String) throws(BackupError) {
        while fsync(descriptor) != 0 {
            if errno != EINTR { throw failure("fsync", path) }
        }
    }

    static func syncDirectory(_ path: String) throws(BackupError) {
        let descriptor = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { close(descriptor) }
        try sync(descriptor, path: path)
    }

    static func makeDirectory(_ path: String) throws(BackupError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw failure("mkdir", path) }
    }

    /// Names in a directory, sorted; nil when it does not exist.
    static func list(_ path: String) throws(BackupError) -> [String]? {
        guard let directory = opendir(path) else {
            if errno == ENOENT { return nil }
            throw failure("opendir", path)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            guard names.count < entriesMax else { throw BackupError("\(path): more than \(entriesMax) entries") }
            names.append(name)
        }
        return names.sorted()
    }

    /// Copies the first `length` bytes of `source` (all when nil) to a new file `destination`, synced. With
    /// `sparse`, all-zero pieces stay holes and the copy is given the length anyway. Returns the bytes copied.
    @discardableResult
    static func copy(
        _ source: String, to destination: String, length: Int64? = nil, allocate: Bool = false
    ) throws(BackupError) -> Int64 {
        let input = try open(source, flags: O_RDONLY)
        defer { close(input) }
        let total: Int64
        if let length { total = length } else { total = try size(input, path: source) }
        let output = try open(destination, flags: O_WRONLY | O_CREAT | O_EXCL)
        defer { close(output) }
        if allocate && total > 0 {
            let result = posix_fallocate(output, 0, off_t(total))
            guard result == 0 else { throw failure("posix_fallocate of \(total) bytes", destination, result) }
        }
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: FileDigest.pieceBytes, alignment: 4096)
        defer { piece.deallocate() }
        var offset: Int64 = 0
        while offset < total {
            let wanted = Int(min(Int64(piece.count), total - offset))
            let count = try read(input, into: UnsafeMutableRawBufferPointer(rebasing: piece[0..<wanted]), offset: offset, path: source)
            guard count > 0 else { throw BackupError("\(source): ends at byte \(offset) before \(total)") }
            let bytes = UnsafeRawBufferPointer(rebasing: piece[0..<count])
            if !isZero(bytes) { try write(output, bytes, offset: offset, path: destination) }
            offset += Int64(count)
            if offset % Int64(syncEveryBytes) == 0 {
                // As LedgerCopy: bounded dirty pages, so the shards' fdatasync never waits behind the copy.
                try sync(output, path: destination)
                _ = posix_fadvise(output, 0, off_t(offset), POSIX_FADV_DONTNEED)
            }
        }
        if ftruncate(output, off_t(total)) != 0 { throw failure("ftruncate", destination) }
        try sync(output, path: destination)
        return total
    }

    static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.allSatisfy { $0 == 0 }
    }

    /// Where the last complete line of a file ends (0 when none): the part of an append-only line file that a
    /// writer in the middle of a line has not torn.
    static func completeLinesEnd(_ path: String) throws(BackupError) -> Int64 {
        let descriptor = try open(path, flags: O_RDONLY)
        defer { close(descriptor) }
        var end = try size(descriptor, path: path)
        var byte: UInt8 = 0
        while end > 0 {
            let count = pread(descriptor, &byte, 1, off_t(end - 1))
            guard count >= 0 else { throw failure("read", path) }
            if count == 1 && byte == UInt8(ascii: "\n") { return end }
            end -= 1
        }
        return 0
    }

    /// The whole of a small file (at most `bytesMax` bytes).
    static func readAll(_ path: String, bytesMax: Int) throws(BackupError) -> [UInt8] {
        let descriptor = try open(path, flags: O_RDONLY)
        defer { close(descriptor) }
        let total = try size(descriptor, path: path)
        guard total <= Int64(bytesMax) else { throw BackupError("\(path): \(total) bytes, more than \(bytesMax)") }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(total), alignment: 8)
        defer { buffer.deallocate() }
        let count = try read(descriptor, into: buffer, offset: 0, path: path)
        return Array(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
    }

    /// Writes a small file atomically: temp file, fsync, rename, fsync of the directory.
    static func writeAtomically(_ bytes: [UInt8], directory: String, name: String) throws(BackupError) {
        let temporary = directory + "/" + name + ".tmp"
        let descriptor = try open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do throws(BackupError) {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
            defer { buffer.deallocate() }
            buffer.copyBytes(from: bytes)
            try write(descriptor, UnsafeRawBufferPointer(buffer), offset: 0, path: temporary)
            try sync(descriptor, path: temporary)
        } catch {
            close(descriptor)
            throw error
        }
        close(descriptor)
        guard rename(temporary, directory + "/" + name) == 0 else { throw failure("rename", temporary) }
        try syncDirectory(directory)
    }

    /// Removes a directory tree a backup made (bounded by `entriesMax` per directory, depth by the layout).
    static func removeTree(_ path: String) {
        var pending = [path]
        var directories: [String] = []
        while let next = pending.popLast() {
            guard let names = try? list(next) else { continue }
            directories.append(next)
            for name in names {
                let child = next + "/" + name
                if isDirectory(child) { pending.append(child) } else { unlink(child) }
            }
        }
        for directory in directories.reversed() { rmdir(directory) }
    }
}
