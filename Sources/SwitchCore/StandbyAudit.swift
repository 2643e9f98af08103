import AdminAccess
import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps a standby's audit trail beside its log (`ledger follow`, docs/replication.md). The primary's
/// `audit/journal.jsonl` and `audit/private.jsonl` are append-only, one whole line per entry, so each is tailed as
/// the log is: the whole lines appended since the last pass go to the same offset of the standby's file, then a
/// sync. The journal is read before the private file in every pass, as a backup does (`DataBackup.copyAudit`): a
/// private record is written before its journal entry, so every entry copied finds its private part (a user's
/// token, a member's name). Without this the promoted standby lacked every user and name created after its seed.
///
/// The standby's file must be a prefix of the primary's: a partial last line (a follower killed mid-append) is cut
/// at open; other differences refuse the follow, naming the file and the offset.
public final class StandbyAudit {
    /// The most bytes one pass reads of one file: a busy trail catches up over several passes.
    public static let passBytesMax = 4 << 20
    /// Bytes compared at open, before the standby's end, to recognise the primary's file.
    static let prefixCheckBytes = 4096

    private struct Tail {
        let source: String
        let target: String
        let descriptor: Int32
        var copied: Int64
    }

    private var tails: [Tail] = []
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: StandbyAudit.passBytesMax, alignment: 8)

    /// Opens (creates) the standby's audit files and checks each is a prefix of the primary's.
    public init(primary: String, standby: String) throws(BackupError) {
        let source = AuditJournalFile.directory(dataDirectory: primary)
        let target = AuditJournalFile.directory(dataDirectory: standby)
        try BackupFiles.makeDirectory(target)
        do throws(BackupError) {
            for name in [AuditJournalFile.journalName, AuditJournalFile.privateName] {
                tails.append(try Self.open(source: source + "/" + name, target: target + "/" + name))
            }
        } catch {
            close()  // and deinit frees the buffer: every stored property is set, so a throw here runs it
            throw error
        }
        precondition(tails.count == 2, "the journal and the private file are tailed")
        try BackupFiles.syncDirectory(target)
    }

    deinit {
        close()
        buffer.deallocate()
    }

    /// Bytes the standby holds of each file (journal, private), for a status line and the tests.
    public var copiedBytes: [Int64] { tails.map(\.copied) }

    /// Appends the whole lines the primary added to each file since the last pass (at most `passBytesMax` of
    /// each) and syncs them; returns the bytes copied.
    public func pass() throws(BackupError) -> Int64 {
        var total: Int64 = 0
        for index in tails.indices { total += try copy(&tails[index]) }
        precondition(total >= 0 && total <= Int64(tails.count * Self.passBytesMax), "a pass copies at most its window")
        return total
    }

    public func close() {
        for tail in tails where tail.descriptor >= 0 { Glibc.close(tail.descriptor) }
        tails = []
    }

    private func copy(_ tail: inout Tail) throws(BackupError) -> Int64 {
        guard let size = try Self.size(tail.source) else {
            if tail.copied > 0 { throw BackupError("\(tail.source) is gone, the standby holds \(tail.copied) bytes of it") }
            return 0
        }
        guard size >= tail.copied else {
            throw BackupError(
                "\(tail.source) has \(size) bytes, fewer than the \(tail.copied) the standby copied: not the trail the "
                    + "standby follows (or it was cut); seed the standby again")
        }
        guard size > tail.copied else { return 0 }
        let wanted = Int(min(size - tail.copied, Int64(Self.passBytesMax)))
        precondition(wanted >= 1 && wanted <= Self.passBytesMax, "a pass reads 1...passBytesMax bytes")
        let descriptor = try BackupFiles.open(tail.source, flags: O_RDONLY)
        defer { Glibc.close(descriptor) }
        let window = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted])
        let count = try BackupFiles.read(descriptor, into: window, offset: tail.copied, path: tail.source)
        // Whole lines only: a writer may be in the middle of the last one.
        guard let lastNewline = window[0..<count].lastIndex(of: UInt8(ascii: "\n")) else {
            if count == Self.passBytesMax {
                throw BackupError("\(tail.source): a line longer than \(Self.passBytesMax) bytes at \(tail.copied)")
            }
            return 0
        }
        let length = lastNewline + 1
        precondition(length >= 1 && length <= count && count <= wanted, "whole lines of what was read")
        do {
            try FileCalls.writeAll(
                tail.descriptor, UnsafeRawBufferPointer(rebasing: window[0..<length]), offset: tail.copied,
                path: tail.target)
            try FileCalls.dataSync(tail.descriptor, path: tail.target)
        } catch {
            throw BackupError(error.description)
        }
        tail.copied += Int64(length)
        precondition(tail.copied <= size, "the standby never holds more than the primary")
        return Int64(length)
    }

    /// The standby's file opened for appending, cut after its last whole line, and checked against the primary's.
    private static func open(source: String, target: String) throws(BackupError) -> Tail {
        let descriptor = try BackupFiles.open(target, flags: O_RDWR | O_CREAT)
        do throws(BackupError) {
            let end = try BackupFiles.completeLinesEnd(target)
            if try BackupFiles.size(descriptor, path: target) > end {
                guard ftruncate(descriptor, off_t(end)) == 0 else { throw BackupFiles.failure("ftruncate", target) }
                try BackupFiles.sync(descriptor, path: target)
            }
            try checkPrefix(source: source, target: target, targetDescriptor: descriptor, end: end)
            precondition(end >= 0 && descriptor >= 0, "a tail starts after the standby's whole lines")
            return Tail(source: source, target: target, descriptor: descriptor, copied: end)
        } catch {
            Glibc.close(descriptor)
            throw error
        }
    }

    /// The last `prefixCheckBytes` before `end` are the same in both files (and the primary's is that long).
    private static func checkPrefix(
        source: String, target: String, targetDescriptor: Int32, end: Int64
    ) throws(BackupError) {
        guard end > 0 else { return }
        let sourceSize = try size(source) ?? 0
        guard sourceSize >= end else {
            throw BackupError(
                "\(target) holds \(end) bytes, more than \(source) (\(sourceSize)): not a copy of the primary's trail; "
                    + "seed the standby again")
        }
        let start = max(0, end - Int64(prefixCheckBytes))
        let count = Int(end - start)
        precondition(count >= 1 && count <= prefixCheckBytes, "a prefix of 1...prefixCheckBytes bytes is compared")
        let theirs = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 8)
        let ours = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 8)
        defer {
            theirs.deallocate()
            ours.deallocate()
        }
        let sourceDescriptor = try BackupFiles.open(source, flags: O_RDONLY)
        defer { Glibc.close(sourceDescriptor) }
        let read = try BackupFiles.read(sourceDescriptor, into: theirs, offset: start, path: source)
        let kept = try BackupFiles.read(targetDescriptor, into: ours, offset: start, path: target)
        guard read == count, kept == count, memcmp(theirs.baseAddress!, ours.baseAddress!, count) == 0 else {
            throw BackupError(
                "\(target) differs from \(source) before offset \(end): not a copy of the primary's trail; seed the "
                    + "standby again")
        }
    }

    /// The file's size, nil when it does not exist.
    private static func size(_ path: String) throws(BackupError) -> Int64? {
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT { return nil }
            throw BackupFiles.failure("stat", path)
        }
        return Int64(status.st_size)
    }
}
