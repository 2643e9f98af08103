import CCRC32C
import Glibc

/// A verified summary of the journal's first `entryCount` entries, so that opening a big trail does not parse and
/// re-hash every entry again (a 1,000,000-row import writes 3,000,000 of them): what the open needs from those
/// entries — the chain's last hash, where they end, the users created and still there, the admin operation ids —
/// with a CRC32C of the journal's bytes up to `end`.
///
/// Trust: the checkpoint is written only from a state whose every entry was verified (a full read at open) or
/// written by this process and durable (at close). At open its bytes are checked (own CRC), the journal's first
/// `end` bytes must give the same CRC32C and `entryCount` lines, and entry `entryCount` must parse with `lastHash`:
/// any damage before the checkpoint refuses the start (the full read then names the entry). Entries after it are
/// read and re-hashed as without a checkpoint. `audit verify` always recomputes the whole chain and also checks
/// the checkpoint against it.
///
/// The file (`audit/journal.checkpoint`, little-endian): magic, entryCount, end, journal CRC32C, lastHash (64
/// ASCII hex), the count and seqs of the live `users.create` entries, the count and the sorted operation ids, and
/// a CRC32C of everything before it. Replaced atomically (temporary file, fsync, rename, fsync of the directory).
struct AuditJournalCheckpoint: Equatable {
    static let fileName = "journal.checkpoint"
    static let magic: UInt64 = 0x3150_4354_4955_4441  // "AUDITCP1"

    var entryCount: UInt64
    var end: Int64
    var journalCRC: UInt32
    var lastHash: String
    /// Sequence numbers of the `users.create` entries whose user was not deleted, ascending.
    var userSeqs: [UInt64]
    /// Admin operation ids in the entries, ascending.
    var operations: [UInt64]

    func encoded() -> [UInt8] {
        precondition(lastHash.utf8.count == 64, "a SHA-256 hash in hex")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(112 + 8 * (userSeqs.count + operations.count))
        func put(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        put(Self.magic)
        put(entryCount)
        put(UInt64(bitPattern: end))
        put(UInt64(journalCRC))
        bytes += lastHash.utf8
        put(UInt64(userSeqs.count))
        for seq in userSeqs { put(seq) }
        put(UInt64(operations.count))
        for operation in operations { put(operation) }
        put(UInt64(AuditChecksum.crc32c(bytes)))
        return bytes
    }

    /// The checkpoint `bytes` hold, or nil when they are not one (wrong magic, size or checksum).
    static func decode(_ bytes: [UInt8]) -> AuditJournalCheckpoint? {
        guard bytes.count >= 112, bytes.count % 8 == 0 else { return nil }
        func word(_ index: Int) -> UInt64 {
            bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: index, as: UInt64.self)) }
        }
        let body = bytes.count - 8
        guard word(0) == magic, word(body) == UInt64(AuditChecksum.crc32c(bytes[..<body])) else { return nil }
        let userCount = Int(clamping: word(96))
        guard userCount <= (body - 112) / 8 else { return nil }
        let operationsAt = 104 + 8 * userCount
        let operationCount = Int(clamping: word(operationsAt))
        guard operationsAt + 8 + 8 * operationCount == body else { return nil }
        let hash = String(decoding: bytes[32..<96], as: UTF8.self)
        guard word(24) <= UInt64(UInt32.max), hash.utf8.allSatisfy({ AuditChecksum.isLowerHex($0) }) else {
            return nil
        }
        return AuditJournalCheckpoint(
            entryCount: word(8), end: Int64(bitPattern: word(16)), journalCRC: UInt32(word(24)), lastHash: hash,
            userSeqs: (0..<userCount).map { word(104 + 8 * $0) },
            operations: (0..<operationCount).map { word(operationsAt + 8 + 8 * $0) })
    }

    /// The checkpoint in `directory`, nil when there is none or its file is not one (then the open reads the
    /// whole journal and writes a new one: a damaged checkpoint costs time, never the trail).
    static func read(directory: String) throws(AccessError) -> AuditJournalCheckpoint? {
        let path = directory + "/" + fileName
        guard AccessFile.exists(path) else { return nil }
        let descriptor = try AccessFile.open(path, flags: O_RDONLY)
        defer { close(descriptor) }
        let size = try AccessFile.size(descriptor, path: path)
        guard size <= 1 << 32 else { return nil }
        return decode(try AccessFile.read(descriptor, offset: 0, count: Int(size), path: path))
    }

    func write(directory: String) throws(AccessError) {
        try AccessFile.writeAtomically(directory: directory, name: Self.fileName, encoded())
    }
}

/// CRC32C (the CPU's instruction when it has one) and hex checks for the checkpoint.
enum AuditChecksum {
    static func crc32c(_ bytes: some Collection<UInt8>, seed: UInt32 = 0) -> UInt32 {
        bytes.withContiguousStorageIfAvailable { update(seed, UnsafeRawBufferPointer($0)) }
            ?? Array(bytes).withUnsafeBytes { update(seed, $0) }
    }

    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        bytes.isEmpty ? crc : ccrc32c_update(crc, bytes.baseAddress, bytes.count)
    }

    static func updateNewline(_ crc: UInt32) -> UInt32 {
        withUnsafeBytes(of: UInt8(ascii: "\n")) { update(crc, $0) }
    }

    static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
