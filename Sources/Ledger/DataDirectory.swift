import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// Layout of a ledger data directory:
///
///     ledger.meta          "format=1 shards=N membersPerShardMax=... ... segmentHeaders=1": the shard count and
///                          every limit that decides an outcome (a full table declines), so replay re-decides as
///                          the writer did; `segmentHeaders=1` says every shard has a log of headed segments
///     card-hash.key        16 random bytes: the key of the card-number hash, created on first open
///     shard-000/           wal-<sequence>.log segments (WALSegment) and snapshot-<sequence>.snap, per shard;
///                          wal-spare.tmp is the next segment, made ahead, and wal-recycled-<slot>.tmp are
///                          covered segments kept to be the next ones (SegmentReserve)
enum DataDirectory {
    static let metaName = "ledger.meta"
    static let cardKeyName = "card-hash.key"

    static func shardDirectory(_ root: String, shard: Int) -> String {
        precondition(shard >= 0, "a shard index is never negative")
        let digits = String(shard)
        return root + "/shard-" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }

    /// Creates the directory on first use, recording the configuration's limits; returns the recorded limits.
    static func prepare(
        _ root: String, configuration: LedgerConfiguration, create: Bool
    ) throws(LedgerError) -> RecordedLimits {
        precondition(configuration.shardCount >= 1 && !root.isEmpty, "a directory for a ledger's shards")
        let metaPath = root + "/" + metaName
        if FileIO.exists(metaPath) {
            let stored = String(decoding: try FileIO.readWholeFile(metaPath, bytesMax: 4096), as: UTF8.self)
            guard let recorded = RecordedLimits(text: stored) else {
                throw .incompatibleDirectory(reason: "\(metaPath) is not understood: \(stored.trimmingSuffixNewline())")
            }
            guard recorded.shardCount == configuration.shardCount else {
                throw .incompatibleDirectory(
                    reason:
                        "\(metaPath) says shards=\(recorded.shardCount), "
                        + "configuration says shards=\(configuration.shardCount)"
                )
            }
            return recorded
        }
        guard create else { throw .incompatibleDirectory(reason: "\(root) is not a ledger data directory") }
        try FileIO.makeDirectory(root)
        for shard in 0..<configuration.shardCount {
            let directory = shardDirectory(root, shard: shard)
            try FileIO.makeDirectory(directory)
            try createFirstSegment(directory, segmentBytes: configuration.segmentBytes)
        }
        let limits = RecordedLimits(configuration)
        try writeMeta(root, limits)
        precondition(limits.shardCount == configuration.shardCount, "the recorded shard count is the configured one")
        return limits
    }

    /// Every shard starts with a segment, made before ledger.meta says the directory exists: a shard of an
    /// existing directory without any segment therefore lost its log (the reader refuses it), rather than
    /// being taken for a new, empty one.
    static func createFirstSegment(_ directory: String, segmentBytes: Int) throws(LedgerError) {
        precondition(segmentBytes >= WALSegment.recordsStart, "a segment holds at least its header")
        let temporaryPath = directory + "/" + WALWriter.fallbackName
        do throws(LedgerError) {
            let descriptor = try SegmentReserve.makeFile(path: temporaryPath, bytes: segmentBytes, zeroFill: false)
            defer { FileIO.closeFile(descriptor) }
            _ = try WALWriter.publish(
                descriptor, temporaryPath: temporaryPath, directory: directory, firstSequence: 1,
                segmentBytes: segmentBytes)
            try FileIO.syncDirectory(directory)
        } catch {
            guard error.isShortage else { throw error }
            throw .noRoomForLog(directory: directory, segmentBytes: segmentBytes, reason: error.description)
        }
    }

    static func writeMeta(_ root: String, _ limits: RecordedLimits) throws(LedgerError) {
        assert(RecordedLimits(text: limits.text) == limits, "ledger.meta reads back as written")
        try Array(limits.text.utf8).withBytes { bytes throws(LedgerError) in
            try FileIO.writeFileAtomically(directory: root, name: metaName, bytes)
        }
    }

    /// Takes the directory's writer lock (`ledger.lock`, flock): held until the returned descriptor is closed,
    /// released by the kernel if the process dies.
    static func lock(_ root: String) throws(LedgerError) -> Int32 {
        let path = root + "/ledger.lock"
        let descriptor = try FileIO.openFile(path, flags: O_RDWR | O_CREAT)
        // A child this process spawns holds a copy of a just-released lock from its fork until its exec: wait that
        // out (bounded) before calling the directory another writer's.
        let taken: Bool
        do { taken = try FileCalls.lock(descriptor, path: path, waitMsMax: lockWaitMsMax) } catch {
            FileIO.closeFile(descriptor)
            throw LedgerError(error)
        }
        if taken { return descriptor }
        FileIO.closeFile(descriptor)
        throw .directoryInUse(path: root)
    }

    /// Whether a writer holds the directory's lock now (a switch serves it, or a ledger of this process has it
    /// open): a read-only reader then reads a log that grows and snapshots and merges that delete files as it
    /// reads (`WALReader.live`). Probes with a lock of its own, released at once; false when there is no lock file.
    static func isServed(_ root: String) -> Bool {
        let path = root + "/ledger.lock"
        guard let descriptor = try? FileIO.openFile(path, flags: O_RDONLY) else { return false }
        defer { FileIO.closeFile(descriptor) }
        return (try? FileCalls.tryLock(descriptor, path: path)) == false
    }

    /// How long `lock` retries a lock held elsewhere before refusing: covers a child forked in the instant after
    /// another ledger of this process let go; a real second writer is refused after it.
    static let lockWaitMsMax = 2_000

    /// How long `unlock` waits for copies of the lock that children hold (a spawned child holds the parent's
    /// descriptors from its fork until its exec closes them: milliseconds, more on a loaded machine).
    static let unlockWaitMsMax = 10_000

    /// Closes the writer lock and returns once it is free: the lock belongs to the open file, so a child that
    /// another thread of this process is spawning holds a copy until its exec, and a reopen in that moment would
    /// find the directory "in use". Waits (probing with a second descriptor, at most `unlockWaitMsMax`) until
    /// no copy is left. False: still held after the wait (another process took it: nothing more to wait for).
    static func unlock(_ root: String, descriptor: Int32) -> Bool {
        precondition(descriptor >= 0, "unlock takes the descriptor lock returned")
        FileIO.closeFile(descriptor)
        let path = root + "/ledger.lock"
        for _ in 0..<unlockWaitMsMax {
            // The directory gone (a test removed it) means nothing is left to hold.
            guard let probe = try? FileIO.openFile(path, flags: O_RDWR) else { return true }
            // Taken (free) or an error other than "held elsewhere": nothing left to wait for.
            let held = (try? FileCalls.tryLock(probe, path: path)) == false
            FileIO.closeFile(probe)
            if !held { return true }
            usleep(1_000)
        }
        return false
    }

    /// Reads the card-hash key, creating it (from the system's random source) on first open.
    static func cardHashKey(_ root: String, create: Bool) throws(LedgerError) -> (UInt64, UInt64) {
        let path = root + "/" + cardKeyName
        if !FileIO.exists(path) {
            guard create else { throw .incompatibleDirectory(reason: "\(path) is missing") }
            var generator = SystemRandomNumberGenerator()
            var key = (generator.next() as UInt64, generator.next() as UInt64)
            try withUnsafeBytes(of: &key) { bytes throws(LedgerError) in
                try FileIO.writeFileAtomically(directory: root, name: cardKeyName, bytes)
            }
        }
        let bytes = try FileIO.readWholeFile(path, bytesMax: 64)
        guard bytes.count == 16 else { throw .incompatibleDirectory(reason: "\(path) is not 16 bytes") }
        return bytes.withUnsafeBytes { buffer in
            (
                buffer.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                buffer.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            )
        }
    }
}

extension String {
    func trimmingSuffixNewline() -> String { hasSuffix("\n") ? String(dropLast()) : self }
}

/// The limits that decide outcomes (a full table declines, an old key is forgotten). Replay must use the limits
/// the records were written under, so they are recorded in `ledger.meta`; changing them goes through a snapshot.
struct RecordedLimits: Equatable {
    var values: [(name: String, value: Int64)]
    /// The directory's log is made of segments with headers (`segmentHeaders=1`; WALSegment). Not a limit: it
    /// takes no part in `==`. False for a directory written by a build before them.
    var hasSegmentHeaders = true

    init(_ configuration: LedgerConfiguration) {
        values = [
            ("shards", Int64(configuration.shardCount)),
            ("membersPerShardMax", Int64(configuration.membersPerShardMax)),
            ("cardsPerShardMax", Int64(configuration.cardsPerShardMax)),
            ("holdsPerShardMax", Int64(configuration.holdsPerShardMax)),
            ("holdsPerMemberMax", Int64(configuration.holdsPerMemberMax)),
            ("idempotencyKeysPerShardMax", Int64(configuration.idempotencyKeysPerShardMax)),
            ("idempotencyRetentionMs", configuration.idempotencyRetentionMs),
            ("transfersInFlightMax", Int64(configuration.transfersInFlightMax)),
            // Lots (added later): a meta file without them reads as the defaults.
            ("lotsPerMemberMax", Int64(configuration.lotsPerMemberMax)),
            ("lotsPerShardMax", Int64(configuration.lotsPerShardMax)),
            ("settlementPairsPerShardMax", Int64(configuration.settlementPairsPerShardMax)),
            ("spentLotPartsPerShardMax", Int64(configuration.spentLotPartsPerShardMax)),
        ]
        precondition(values.count == 12 && values[0].name == "shards", "twelve recorded limits, the shards first")
    }

    /// Parses "format=1 name=value ..."; nil when a name is missing or unknown.
    init?(text: String) {
        var parsed: [String: Int64] = [:]
        for field in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = field.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let value = Int64(parts[1]) else { return nil }
            parsed[String(parts[0])] = value
        }
        guard parsed["format"] == 1 else { return nil }
        self.init(LedgerConfiguration())
        hasSegmentHeaders = parsed["segmentHeaders"] == 1
        for index in values.indices {
            guard let value = parsed[values[index].name] else {
                if Self.optionalNames.contains(values[index].name) { continue }
                return nil
            }
            values[index].value = value
        }
        precondition(values.count == 12, "twelve recorded limits")
    }

    /// Limits added after format 1 was first written; absent ones keep their default.
    static let optionalNames: Set<String> = [
        "lotsPerMemberMax", "lotsPerShardMax", "settlementPairsPerShardMax", "spentLotPartsPerShardMax",
    ]

    var text: String {
        let marker = hasSegmentHeaders ? " segmentHeaders=1" : ""
        return "format=1 " + values.map { "\($0.name)=\($0.value)" }.joined(separator: " ") + marker + "\n"
    }

    var shardCount: Int { Int(values[0].value) }

    /// The configuration with these limits in place of its own.
    func applied(to configuration: LedgerConfiguration) -> LedgerConfiguration {
        var result = configuration
        result.shardCount = Int(values[0].value)
        result.membersPerShardMax = Int(values[1].value)
        result.cardsPerShardMax = Int(values[2].value)
        result.holdsPerShardMax = Int(values[3].value)
        result.holdsPerMemberMax = Int(values[4].value)
        result.idempotencyKeysPerShardMax = Int(values[5].value)
        result.idempotencyRetentionMs = values[6].value
        result.transfersInFlightMax = Int(values[7].value)
        result.lotsPerMemberMax = Int(values[8].value)
        result.lotsPerShardMax = Int(values[9].value)
        result.settlementPairsPerShardMax = Int(values[10].value)
        result.spentLotPartsPerShardMax = Int(values[11].value)
        precondition(result.shardCount == shardCount, "the configuration takes the recorded shard count")
        return result
    }

    static func == (left: RecordedLimits, right: RecordedLimits) -> Bool {
        left.values.map(\.value) == right.values.map(\.value)
    }
}
