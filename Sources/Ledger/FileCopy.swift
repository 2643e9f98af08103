import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif
import Synchronization

/// A bytes-per-second cap shared by every file of one copy (a backup): a token bucket holding at most one
/// piece's worth, refilled at `bytesPerSecond`; a copy that runs ahead sleeps between pieces. Why: a backup at full
/// disk speed takes the disk from the shards' fdatasync (authorization p99 rises while it runs, RESULTS.md); a
/// capped one takes longer and leaves the disk's remaining bandwidth to the switch.
public final class CopyPace: Sendable {
    /// The lowest cap: below it a backup of a real data directory would take days.
    public static let bytesPerSecondMin: Int64 = 65_536
    public static let bytesPerSecondMax: Int64 = 1 << 40
    public let bytesPerSecond: Int64
    /// Monotonic nanoseconds and a sleep, handed in so tests run on virtual time.
    let nowNs: @Sendable () -> UInt64
    let sleepNs: @Sendable (UInt64) -> Void
    /// Tokens (bytes) and when they were counted; full at the start.
    private let bucket: Mutex<(tokens: Double, atNs: UInt64?)> = Mutex((Double(FileCopy.pieceBytes), nil))
    private let sleptNs = Atomic<UInt64>(0)

    public init(
        bytesPerSecond: Int64, nowNs: @escaping @Sendable () -> UInt64 = monotonicNanoseconds,
        sleepNs: @escaping @Sendable (UInt64) -> Void = sleepNanoseconds
    ) {
        precondition(
            (Self.bytesPerSecondMin...Self.bytesPerSecondMax).contains(bytesPerSecond), "a cap within the range")
        self.bytesPerSecond = bytesPerSecond
        self.nowNs = nowNs
        self.sleepNs = sleepNs
    }

    /// Nanoseconds this pace made copies wait so far.
    public var waitedNs: UInt64 { sleptNs.load(ordering: .relaxed) }

    /// Takes `count` bytes from the bucket, sleeping first until the bucket has refilled what it lacks.
    func take(_ count: Int) {
        precondition(count >= 0, "a byte count")
        let capacity = Double(FileCopy.pieceBytes)
        let rate = Double(bytesPerSecond)
        let waitNs: UInt64 = bucket.withLock { bucket in
            let now = nowNs()
            let elapsed = bucket.atNs.map { Double(now &- $0) } ?? 0
            bucket.tokens = min(capacity, bucket.tokens + elapsed * rate / 1e9) - Double(count)
            bucket.atNs = now
            guard bucket.tokens < 0 else { return 0 }
            let wait = UInt64((-bucket.tokens * 1e9 / rate).rounded(.up))
            // The sleep refills exactly what was missing: the bucket is empty when it ends.
            bucket.tokens = 0
            bucket.atNs = now + wait
            return wait
        }
        guard waitNs > 0 else { return }
        sleptNs.add(waitNs, ordering: .relaxed)
        sleepNs(waitNs)
    }

}

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
    /// restored log segment must not need space later); with `pace` the copy keeps under its bytes per second
    /// (pieces written count; an all-zero piece is mostly a hole of preallocated log, read from no disk). Returns the bytes copied.
    @discardableResult
    public static func copy(
        _ source: String, to destination: String, length: Int64? = nil, allocate: Bool = false,
        pace: CopyPace? = nil
    ) throws(LedgerError) -> Int64 {
        precondition(source != destination, "a copy goes to another file")
        let input = try FileIO.openFile(source, flags: O_RDONLY)
        defer { FileIO.closeFile(input) }
        return try copy(
            descriptor: input, source: source, to: destination, length: length, allocate: allocate, pace: pace)
    }

    static func copy(
        descriptor input: Int32, source: String, to destination: String, length: Int64?, allocate: Bool,
        pace: CopyPace?
    ) throws(LedgerError) -> Int64 {
        precondition(input >= 0 && (length ?? 0) >= 0, "a copy reads an open file, a non-negative length")
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
                pace?.take(count)
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
        precondition(offset == total, "every byte up to the length is copied")
        try FileIO.truncate(output, length: total, path: destination)
        try FileIO.syncAll(output, path: destination)
        return total
    }

    /// Writes a small file atomically: temp file, fsync, rename, fsync of the directory.
    public static func writeAtomically(_ bytes: [UInt8], directory: String, name: String) throws(LedgerError) {
        precondition(!directory.isEmpty && !name.isEmpty, "a file is written under a name in a directory")
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
        precondition(index == bytes.count, "every byte is looked at")
        return true
    }
}
