import CLinux

#if canImport(Glibc)
    import Glibc
#endif

/// A file call that failed: which, on what path, and the error number. Each module turns it into its own error
/// (`LedgerError.io`, `AccessError`, `BackupError`) with the same words.
public struct FileCallFailure: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let errorNumber: Int32

    public init(_ operation: String, _ path: String, _ errorNumber: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.errorNumber = errorNumber
    }

    public var description: String {
        "\(path): \(operation) failed: \(String(cString: strerror(errorNumber))) (errno \(errorNumber))"
    }
}

/// The POSIX file calls every store of the program makes (the ledger's log and checkpoints, the audit journal,
/// backups, notification progress): EINTR retried, short reads and writes continued, descriptors close-on-exec,
/// every failure naming its call and path. One copy of each loop, whatever error type the caller throws.
public enum FileCalls {
    /// Asks the kernel to read `count` bytes at `offset` into its page cache, copying nothing to the caller
    /// (readahead(2); at most the device's readahead window per call). False where it is refused.
    public static func readAhead(_ descriptor: Int32, offset: Int64, count: Int64) -> Bool {
        precondition(offset >= 0 && count > 0, "a range of the file")
        return retryingInterrupts { clinux_readahead(descriptor, offset, count) } == 0
    }

    public static func open(_ path: String, flags: Int32, mode: mode_t = 0o600) throws(FileCallFailure) -> Int32 {
        let descriptor = retryingInterrupts { Glibc.open(path, flags | O_CLOEXEC, mode) }
        guard descriptor >= 0 else { throw FileCallFailure("open", path) }
        return descriptor
    }

    /// Writes every byte at `offset`.
    public static func writeAll(
        _ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, offset: Int64, path: String
    ) throws(FileCallFailure) {
        var done = 0
        while done < bytes.count {
            let written = retryingInterrupts {
                pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            }
            guard written >= 0 else { throw FileCallFailure("write", path) }
            precondition(written > 0, "pwrite returned 0 for a non-empty buffer")
            done += written
        }
    }

    /// Writes every byte at the descriptor's position (a pipe, a socket, standard output, a file opened to append).
    public static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String)
        throws(FileCallFailure)
    {
        var done = 0
        while done < bytes.count {
            let written = retryingInterrupts { write(descriptor, bytes.baseAddress! + done, bytes.count - done) }
            guard written >= 0 else { throw FileCallFailure("write", path) }
            precondition(written > 0, "write returned 0 for a non-empty buffer")
            done += written
        }
    }

    /// Reads up to `bytes.count` bytes at `offset`; returns how many were read (fewer only at the end of the file).
    public static func readFully(
        _ descriptor: Int32, _ bytes: UnsafeMutableRawBufferPointer, offset: Int64, path: String
    ) throws(FileCallFailure) -> Int {
        var done = 0
        while done < bytes.count {
            let count = retryingInterrupts {
                pread(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            }
            guard count >= 0 else { throw FileCallFailure("read", path) }
            if count == 0 { break }
            done += count
        }
        return done
    }

    public static func dataSync(_ descriptor: Int32, path: String) throws(FileCallFailure) {
        guard retryingInterrupts({ fdatasync(descriptor) }) == 0 else { throw FileCallFailure("fdatasync", path) }
    }

    public static func fullSync(_ descriptor: Int32, path: String) throws(FileCallFailure) {
        guard retryingInterrupts({ fsync(descriptor) }) == 0 else { throw FileCallFailure("fsync", path) }
    }

    /// fsync of a directory, so that a rename or a new file in it is durable.
    public static func syncDirectory(_ path: String) throws(FileCallFailure) {
        let descriptor = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { close(descriptor) }
        try fullSync(descriptor, path: path)
    }

    /// Tries the exclusive flock without waiting: true when taken, false when another open file holds it.
    public static func tryLock(_ descriptor: Int32, path: String) throws(FileCallFailure) -> Bool {
        if retryingInterrupts({ flock(descriptor, LOCK_EX | LOCK_NB) }) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw FileCallFailure("flock", path)
    }

    /// O_DIRECT, for `open`: writes that bypass the page cache (aligned buffers, offsets and lengths).
    public static let directFlag: Int32 = clinux_open_direct_flag()

    /// Whether `path` lies on a file system held in memory (tmpfs, ramfs).
    public static func isInMemory(_ path: String) -> Bool {
        let type = clinux_filesystem_type(path)
        return type == 0x0102_1994 /* TMPFS_MAGIC */ || type == 0x8584_58F6 /* RAMFS_MAGIC */
    }

    /// Takes a shared flock, waiting while an exclusive one is held (a recycler holds it for one rename).
    public static func lockShared(_ descriptor: Int32, path: String) throws(FileCallFailure) {
        if retryingInterrupts({ flock(descriptor, LOCK_SH) }) != 0 { throw FileCallFailure("flock", path) }
    }

    /// Takes the exclusive flock, retrying for up to `waitMsMax` while another open file holds it: a child that
    /// another thread of this process is spawning holds a copy of a just-closed lock from its fork until its exec
    /// (milliseconds, more on a loaded machine), and a reopen in that instant would otherwise call the file held
    /// by someone else. False: still held after the wait (a real other holder).
    public static func lock(_ descriptor: Int32, path: String, waitMsMax: Int) throws(FileCallFailure) -> Bool {
        precondition(waitMsMax >= 0, "a wait of zero or more milliseconds")
        for waitedMs in 0...waitMsMax {
            if try tryLock(descriptor, path: path) { return true }
            if waitedMs < waitMsMax { usleep(1_000) }
        }
        return false
    }

    /// Allocates `bytes` from the start of the file (posix_fallocate: blocks reserved, the size set), so later
    /// writes inside it need no free space. posix_fallocate returns its error rather than setting errno.
    public static func allocate(_ descriptor: Int32, bytes: Int64, path: String) throws(FileCallFailure) {
        precondition(bytes > 0, "allocate a positive size")
        while true {
            let result = posix_fallocate(descriptor, 0, off_t(bytes))
            if result == 0 { return }
            if result != EINTR { throw FileCallFailure("posix_fallocate", path, result) }
        }
    }
}
