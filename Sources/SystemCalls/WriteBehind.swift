import CLinux

/// Write-behind for a big file written sequentially in the background (a checkpoint, a key run, a merge):
/// RocksDB's `bytes_per_sync`. Every `windowBytes` written, the kernel starts writing that window and the writer
/// waits until the window before it is on disk, so at most two windows are dirty. Without it a file of hundreds of
/// megabytes stays dirty until its final fsync, and the log's fdatasync (the same ext4 journal and disk queue) waits
/// behind all of it: authorization p99 went from 15 ms to over 500 ms while checkpoints and key-run merges ran
/// (benchmarks/RESULTS.md, 2026-12-04). It also paces the writer to what the disk takes.
///
/// sync_file_range(2) is advisory here: an error it meets is reported again by the final fsync, which the writer
/// makes anyway before the file counts.
public struct WriteBehind {
    public static let windowBytes: Int64 = 2 << 20
    private let descriptor: Int32
    /// Bytes whose writeback has been started, and bytes known to be on disk.
    private var started: Int64
    private var waited: Int64

    /// `offset`: where the writer starts (bytes before it are not its concern).
    public init(descriptor: Int32, offset: Int64 = 0) {
        self.descriptor = descriptor
        started = offset
        waited = offset
    }

    /// The file's bytes up to `end` have been written (pwrite returned).
    public mutating func wrote(through end: Int64) {
        guard end - started >= Self.windowBytes else { return }
        _ = retryingInterrupts { clinux_write_behind(descriptor, started, end - started, 0) }
        if started > waited {
            _ = retryingInterrupts { clinux_write_behind(descriptor, waited, started - waited, 1) }
        }
        waited = started
        started = end
    }
}
