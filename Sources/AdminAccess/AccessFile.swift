import Glibc
import SystemCalls

/// A failure of the access layer's files or of a request it cannot take: the message names the path and what
/// failed, for a log line or a refused start.
public struct AccessError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The few system calls the journal and the private file need: `FileCalls` (EINTR retried, short reads and
/// writes continued) with failures as `AccessError` naming the path.
enum AccessFile {
    static func failure(_ operation: String, _ path: String, _ code: Int32 = errno) -> AccessError {
        AccessError(FileCallFailure(operation, path, code).description)
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
        do { return try FileCalls.open(path, flags: flags, mode: mode) } catch { throw AccessError(error.description) }
    }

    static func size(_ descriptor: Int32, path: String) throws(AccessError) -> Int64 {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure("fstat", path) }
        return Int64(status.st_size)
    }

    static func writeAll(
        _ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, offset: Int64, path: String
    ) throws(AccessError) {
        do { try FileCalls.writeAll(descriptor, bytes, offset: offset, path: path) } catch {
            throw AccessError(error.description)
        }
    }

    /// Up to `count` bytes at `offset` (fewer at the end of the file).
    static func read(_ descriptor: Int32, offset: Int64, count: Int, path: String) throws(AccessError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { raw in
            Result { () throws(FileCallFailure) in try FileCalls.readFully(descriptor, raw, offset: offset, path: path) }
        }
        switch got {
        case .success(let got):
            bytes.removeSubrange(got...)
            return bytes
        case .failure(let error): throw AccessError(error.description)
        }
    }

    static func dataSync(_ descriptor: Int32, path: String) throws(AccessError) {
        do { try FileCalls.dataSync(descriptor, path: path) } catch { throw AccessError(error.description) }
    }

    static func truncate(_ descriptor: Int32, length: Int64, path: String) throws(AccessError) {
        guard ftruncate(descriptor, off_t(length)) == 0 else { throw failure("ftruncate", path) }
    }

    static func syncDirectory(_ path: String) throws(AccessError) {
        do { try FileCalls.syncDirectory(path) } catch { throw AccessError(error.description) }
    }

    /// Replaces `directory/name` with `bytes` atomically (temporary file, fsync, rename, fsync of the directory).
    static func writeAtomically(directory: String, name: String, _ bytes: [UInt8]) throws(AccessError) {
        let temporary = directory + "/" + name + ".tmp"
        let descriptor = try open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        defer { Glibc.close(descriptor) }
        try bytes.withUnsafeBytes { raw in
            Result { () throws(AccessError) in try writeAll(descriptor, raw, offset: 0, path: temporary) }
        }.get()
        do { try FileCalls.fullSync(descriptor, path: temporary) } catch { throw AccessError(error.description) }
        guard rename(temporary, directory + "/" + name) == 0 else { throw failure("rename", temporary) }
        try syncDirectory(directory)
    }

    /// How long `lock` retries a lock held elsewhere before refusing (`FileCalls.lock` says why).
    static let lockWaitMsMax = 2_000

    /// The writer's lock on the access files (flock, released by the kernel if the process dies), so `admin
    /// init` cannot write while `serve` does. Readers (`audit verify`) do not take it.
    static func lock(_ path: String) throws(AccessError) -> Int32 {
        let descriptor = try open(path, flags: O_RDWR | O_CREAT)
        let taken: Bool
        do { taken = try FileCalls.lock(descriptor, path: path, waitMsMax: lockWaitMsMax) } catch {
            Glibc.close(descriptor)
            throw AccessError(error.description)
        }
        if taken { return descriptor }
        Glibc.close(descriptor)
        throw AccessError("\(path) is locked: another process (a running switch?) writes this directory")
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
