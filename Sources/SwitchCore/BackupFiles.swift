import Ledger
import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// The file calls a backup and a restore make outside the ledger's own files (audit, history, notification
/// progress, imports, the manifest): `FileCalls` (EINTR retried), every failure a `BackupError` naming the path.
enum BackupFiles {
    /// Entries of one directory a backup is willing to read (ours hold tens; more is not one of ours).
    static let entriesMax = 100_000

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o600) throws(BackupError) -> Int32 {
        let descriptor: Int32
        do {
            descriptor = try FileCalls.open(path, flags: flags, mode: mode)
        } catch {
            throw BackupError(error.description)
        }
        precondition(descriptor >= 0, "an opened file has a descriptor")
        return descriptor
    }

    static func failure(_ operation: String, _ path: String, _ code: Int32 = errno) -> BackupError {
        BackupError(FileCallFailure(operation, path, code).description)
    }

    static func size(_ descriptor: Int32, path: String) throws(BackupError) -> Int64 {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure("fstat", path) }
        precondition(status.st_size >= 0, "a file's size is not negative")
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
        let count: Int
        do { count = try FileCalls.readFully(descriptor, buffer, offset: offset, path: path) } catch {
            throw BackupError(error.description)
        }
        precondition(count >= 0 && count <= buffer.count, "a read fills at most its buffer")
        return count
    }

    static func sync(_ descriptor: Int32, path: String) throws(BackupError) {
        do { try FileCalls.fullSync(descriptor, path: path) } catch { throw BackupError(error.description) }
    }

    static func syncDirectory(_ path: String) throws(BackupError) {
        do { try FileCalls.syncDirectory(path) } catch { throw BackupError(error.description) }
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
        precondition(names.count <= entriesMax, "a directory's entries within the limit")
        return names.sorted()
    }

    /// `FileCopy.copy` (the ledger's copy loop) with its error as a `BackupError`.
    @discardableResult
    static func copy(
        _ source: String, to destination: String, length: Int64? = nil, allocate: Bool = false, pace: CopyPace? = nil
    ) throws(BackupError) -> Int64 {
        let copied: Int64
        do {
            copied = try FileCopy.copy(source, to: destination, length: length, allocate: allocate, pace: pace)
        } catch {
            throw BackupError(error.description)
        }
        precondition(copied >= 0, "a copy's length is not negative")
        return copied
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
        precondition(count <= bytesMax, "a small file within its limit")
        return Array(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
    }

    static func writeAtomically(_ bytes: [UInt8], directory: String, name: String) throws(BackupError) {
        do { try FileCopy.writeAtomically(bytes, directory: directory, name: name) } catch {
            throw BackupError(error.description)
        }
    }

    /// Removes a directory tree a backup made (bounded by `entriesMax` per directory, depth by the layout).
    static func removeTree(_ path: String) {
        guard isDirectory(path) else {
            unlink(path)
            return
        }
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
