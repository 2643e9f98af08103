#if canImport(Glibc)
    import Glibc
#endif

/// A consistent copy of a ledger's files, taken while the ledger may be writing (docs/backup.md).
///
/// Why descriptors and not hard links or a request to the switch: a file the switch deletes after `pin` opened
/// it (old segments and the old snapshot after a checkpoint, key runs after a compaction) stays readable through
/// the open descriptor, on any filesystem, without the switch knowing a backup runs. Only the moment between
/// listing a shard's directory and opening its files can race with a deletion; an open that finds a file gone
/// lists the shard again (at most `pinAttemptsMax` times). Segments are pinned under a lease
/// (`FileIO.openSegmentLeased`): a checkpoint deletes a leased segment instead of recycling it, so a held
/// descriptor never reads another segment's records.
///
/// Each shard's copy is its newest snapshot, the request-key runs beside it and every segment, the last one cut
/// after its last whole, checksum-valid record (the rest zeroed) and its header saying those records were
/// acknowledged: the copy opens as a ledger stopped at that sequence.
public final class LedgerCopy {
    struct PinnedFile {
        var name: String
        var descriptor: Int32
    }

    struct PinnedShard {
        var directory: String
        /// Snapshot and request-key runs, copied whole.
        var files: [PinnedFile] = []
        /// Log segments by first sequence.
        var segments: [(firstSequence: UInt64, file: PinnedFile)] = []
    }

    /// Listings of one shard tried before giving up (each retry follows a deletion between listing and open).
    public static let pinAttemptsMax = 16

    public let root: String
    /// The bytes-per-second cap of the backup this copy is part of (nil: as fast as the disk goes).
    public var pace: CopyPace?
    var shards: [PinnedShard] = []
    /// `ledger.meta` and `card-hash.key`, read when pinned (small, never rewritten while serving).
    var rootFiles: [(name: String, bytes: [UInt8])] = []

    /// Opens every file the copy needs; files deleted afterwards stay readable until `close`.
    public init(root: String) throws(LedgerError) {
        self.root = root
        let metaPath = root + "/" + DataDirectory.metaName
        guard FileIO.exists(metaPath) else { throw .incompatibleDirectory(reason: "\(root) is not a ledger data directory") }
        let meta = try FileIO.readWholeFile(metaPath, bytesMax: 4096)
        guard let limits = RecordedLimits(text: String(decoding: meta, as: UTF8.self)) else {
            throw .incompatibleDirectory(reason: "\(metaPath) is not understood")
        }
        rootFiles = [
            (DataDirectory.metaName, meta),
            (DataDirectory.cardKeyName, try FileIO.readWholeFile(root + "/" + DataDirectory.cardKeyName, bytesMax: 64)),
        ]
        do throws(LedgerError) {
            for shard in 0..<limits.shardCount {
                shards.append(try Self.pin(DataDirectory.shardDirectory(root, shard: shard)))
            }
        } catch {
            close()
            throw error
        }
        precondition(shards.count == limits.shardCount && rootFiles.count == 2, "every shard and root file pinned")
    }

    deinit { close() }

    /// Closes every held descriptor (the copy is done or abandoned).
    public func close() {
        for shard in shards {
            for file in shard.files { FileIO.closeFile(file.descriptor) }
            for segment in shard.segments { FileIO.closeFile(segment.file.descriptor) }
        }
        shards.removeAll()
        precondition(shards.isEmpty, "a closed copy holds no descriptor")
    }

    /// How `pin` lists a directory (a test replaces it to play readdir's non-atomic view).
    nonisolated(unsafe) static var listDirectory: (String) throws(LedgerError) -> [String] = {
        (path: String) throws(LedgerError) -> [String] in try FileIO.listDirectory(path)
    }

    /// Lists a shard and opens its newest snapshot, key runs and segments; lists again when one vanished, or when
    /// a second listing after the opens names other snapshot or run files. Why twice: readdir is not atomic, and
    /// a key-run merge renames its run in and unlinks its inputs while the shard serves; one listing can miss
    /// both the new run and an input without any open failing, and the copy then lacks keys its snapshot
    /// relies on (its verification refuses it).
    static func pin(_ directory: String) throws(LedgerError) -> PinnedShard {
        for _ in 0..<pinAttemptsMax {
            var shard = PinnedShard(directory: directory)
            let names = try listDirectory(directory)
            let snapshot = names.last { $0.hasPrefix("snapshot-") && $0.hasSuffix(".snap") }
            let runs = names.filter { KeyRunHeader.range(ofFileName: $0) != nil }
            var vanished = false
            for name in (snapshot.map { [$0] } ?? []) + runs {
                guard let file = try open(directory, name) else {
                    vanished = true
                    break
                }
                shard.files.append(file)
            }
            if !vanished { vanished = try !pinSegments(of: &shard, after: 0) }
            if !vanished {
                let again = try listDirectory(directory)
                let snapshotAgain = again.last { $0.hasPrefix("snapshot-") && $0.hasSuffix(".snap") }
                let runsAgain = again.filter { KeyRunHeader.range(ofFileName: $0) != nil }
                vanished = snapshotAgain != snapshot || Set(runsAgain) != Set(runs)
            }
            if !vanished {
                precondition(shard.directory == directory, "a pinned shard names its directory")
                precondition(shard.files.count == runs.count + (snapshot == nil ? 0 : 1), "every listed file pinned")
                return shard
            }
            for file in shard.files { FileIO.closeFile(file.descriptor) }
            for segment in shard.segments { FileIO.closeFile(segment.file.descriptor) }
        }
        throw .io(
            operation: "pin (files kept vanishing between listing and opening; the ledger is checkpointing "
                + "faster than the backup can list it)", path: directory, errno: ENOENT)
    }

    /// Opens the segments starting after `after`; false when one vanished before it was opened.
    static func pinSegments(of shard: inout PinnedShard, after: UInt64) throws(LedgerError) -> Bool {
        for segment in try WALReader.segments(in: shard.directory) where segment.firstSequence > after {
            let name = String(segment.path.split(separator: "/").last!)
            guard let file = try open(shard.directory, name, leased: true) else { return false }
            precondition(segment.firstSequence > after, "only segments after the newest pinned")
            shard.segments.append((segment.firstSequence, file))
        }
        assert(
            zip(shard.segments, shard.segments.dropFirst()).allSatisfy { $0.firstSequence < $1.firstSequence },
            "pinned segments in order")
        return true
    }

    /// Opens a file read-only (a segment under a lease, so a checkpoint deletes it rather than recycling it); nil
    /// when it no longer exists.
    static func open(_ directory: String, _ name: String, leased: Bool = false) throws(LedgerError) -> PinnedFile? {
        precondition(!name.isEmpty && !name.contains("/"), "a file name, not a path")
        let path = directory + "/" + name
        do throws(LedgerError) {
            let descriptor = leased ? try FileIO.openSegmentLeased(path) : try FileIO.openFile(path, flags: O_RDONLY)
            return PinnedFile(name: name, descriptor: descriptor)
        } catch {
            if case .io(_, _, let number) = error, number == ENOENT { return nil }
            throw error
        }
    }

    /// Pins segments created since `init` (the writer moved on to a new one): the copy then reaches as far as the
    /// log did at this call. Call it after copying anything that must not be ahead of the ledger (audit entries).
    public func catchUp() throws(LedgerError) {
        precondition(!shards.isEmpty, "catch up before close")
        for index in shards.indices {
            let newest = shards[index].segments.last?.firstSequence ?? 0
            guard try Self.pinSegments(of: &shards[index], after: newest) else {
                throw .io(operation: "pin a new segment", path: shards[index].directory, errno: ENOENT)
            }
        }
    }
}
