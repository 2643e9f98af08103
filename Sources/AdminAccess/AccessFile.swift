import Glibc

/// A failure of the access layer's files or of a request it cannot take: the message names the path and what
/// failed, for a log line or a refused start.
public struct AccessError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The few system calls the journal and the private file need, each retrying EINTR and naming its path on
/// failure. (The ledger has its own; this module must not depend on it.)
enum AccessFile {
    static func failure(_ operation: String, _ path: String, _ code: Int32 = errno) -> AccessError {
        AccessError("\(path): \(operation) failed: \(String(cString: strerror(code))) (errno \(code))")
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// `mkdir -p` with mode 0700: the trail and tokens are the operator's business only.
    static func makeDirectory(_ path: String) throws(AccessError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST { throw failure("mkdir", prefix) }
        }
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o600) throws(AccessError) -> Int32 {
        while true {
            let descriptor = Glibc.open(path, flags | O_CLOEXEC, mode)
            if descriptor >= 0 { return descriptor }
            if errno != EINTR { throw failure("open", path) }
        }
    }

    static func size(_ descriptor: Int32, path: String) throws(AccessError) -> Int64 {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure("fstat", path) }
        return Int64(status.st_size)
    }

    static func writeAll(
        _ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, offset: Int64, path: String
    ) throws(AccessError) {
        var written = 0
        while written < bytes.count {
            let result = pwrite(
                descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(offset + Int64(written)))
            if result < 0 {
                if errno == EINTR { continue }
                throw failure("write", path)
            }
            written += result
        }
    }

    /// Up to `count` bytes at `offset` (fewer at the end of the file).
    static func read(_ descriptor: Int32, offset: Int64, count: Int, path: String) throws(AccessError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let result = bytes.withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress! + got, count - got, off_t(offset + Int64(got)))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw failure("read", path)
            }
            if result == 0 { break }
            got += result
        }
        bytes.removeSubrange(got...)
        return bytes
    }

    static func dataSync(_ descriptor: Int32, path: String) throws(AccessError) {
        while fdatasync(descriptor) != 0 {
            if errno != EINTR { throw failure("fdatasync", path) }
        }
    }

    static func truncate(_ descriptor: Int32, length: Int64, path: String) throws(AccessError) {
        guard ftruncate(descriptor, off_t(length)) == 0 else { throw failure("ftruncate", path) }
    }

    static func syncDirectory(_ path: String) throws(AccessError) {
        let descriptor = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { Glibc.close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure("fsync", path) }
    }

    /// Replaces `directory/name` with `bytes` atomically (temporary file, fsync, rename, fsync of the directory).
    static func writeAtomically(directory: String, name: String, _ bytes: [UInt8]) throws(AccessError) {
        let temporary = directory + "/" + name + ".tmp"
        let descriptor = try open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        defer { Glibc.close(descriptor) }
        try bytes.withUnsafeBytes { raw in
            Result { () throws(AccessError) in try writeAll(descriptor, raw, offset: 0, path: temporary) }
        }.get()
        guard fsync(descriptor) == 0 else { throw failure("fsync", temporary) }
        guard rename(temporary, directory + "/" + name) == 0 else { throw failure("rename", temporary) }
        try syncDirectory(directory)
    }

    /// The writer's lock on the access files (flock, released by the kernel if the process dies), so `admin
    /// init` cannot write while `serve` does. Readers (`audit verify`) do not take it.
    static func lock(_ path: String) throws(AccessError) -> Int32 {
        let descriptor = try open(path, flags: O_RDWR | O_CREAT)
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let code = errno
            Glibc.close(descriptor)
            if code == EWOULDBLOCK {
                throw AccessError("\(path) is locked: another process (a running switch?) writes this directory")
            }
            throw failure("flock", path, code)
        }
        return descriptor
    }
}

/// Reads a file of JSON lines in bounded blocks from `offset` (the start of a line) and hands each complete line
/// (without its newline) and its offset to `visit`, which returns false to stop. Returns where the last complete
/// line ends and how many bytes follow it (a torn tail: a line whose newline never reached the disk).
struct LineReader {
    static let blockBytes = 1 << 20

    static func scan(
        _ descriptor: Int32, path: String, from offset: Int64 = 0, lineBytesMax: Int,
        visit: (UnsafeRawBufferPointer, Int64) -> Bool
    ) throws(AccessError) -> (end: Int64, tailBytes: Int, stopped: Bool) {
        precondition(offset >= 0, "a file offset")
        var pending: [UInt8] = []
        var pendingOffset = offset
        var readOffset = offset
        while true {
            let block = try AccessFile.read(descriptor, offset: readOffset, count: blockBytes, path: path)
            if block.isEmpty { return (pendingOffset, pending.count, false) }
            readOffset += Int64(block.count)
            pending.append(contentsOf: block)
            var start = 0
            while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let keepGoing = pending.withUnsafeBytes { raw in
                    visit(UnsafeRawBufferPointer(rebasing: raw[start..<newline]), pendingOffset + Int64(start))
                }
                start = newline + 1
                if !keepGoing { return (pendingOffset + Int64(start), 0, true) }
            }
            pending.removeSubrange(0..<start)
            pendingOffset += Int64(start)
            if pending.count > lineBytesMax {
                // A line longer than any writer writes: hand it over whole-sized so the caller names it.
                let keepGoing = pending.withUnsafeBytes { visit($0, pendingOffset) }
                return (pendingOffset, pending.count, !keepGoing)
            }
        }
    }
}
