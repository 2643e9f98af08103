#if canImport(Glibc)
import Glibc
#endif

/// Layout of a ledger data directory:
///
///     ledger.meta          "format=1 shards=N": a directory is only ever opened with its own shard count
///     card-hash.key        16 random bytes: the key of the card-number hash, created on first open
///     shard-000/           wal-<sequence>.log segments and snapshot-<sequence>.snap, per shard
enum DataDirectory {
    static let metaName = "ledger.meta"
    static let cardKeyName = "card-hash.key"

    static func shardDirectory(_ root: String, shard: Int) -> String {
        let digits = String(shard)
        return root + "/shard-" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }

    /// Creates the directory on first use; checks the shard count on later ones.
    static func prepare(_ root: String, shardCount: Int, create: Bool) throws(LedgerError) {
        let metaPath = root + "/" + metaName
        let expected = "format=1 shards=\(shardCount)\n"
        if FileIO.exists(metaPath) {
            let stored = String(decoding: try FileIO.readWholeFile(metaPath, bytesMax: 4096), as: UTF8.self)
            guard stored == expected else {
                throw .incompatibleDirectory(
                    reason: "\(metaPath) says \(stored.trimmingSuffixNewline()), configuration says shards=\(shardCount)")
            }
            return
        }
        guard create else { throw .incompatibleDirectory(reason: "\(root) is not a ledger data directory") }
        try FileIO.makeDirectory(root)
        for shard in 0..<shardCount { try FileIO.makeDirectory(shardDirectory(root, shard: shard)) }
        try Array(expected.utf8).withBytes { bytes throws(LedgerError) in
            try FileIO.writeFileAtomically(directory: root, name: metaName, bytes)
        }
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
            (buffer.loadUnaligned(fromByteOffset: 0, as: UInt64.self), buffer.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }
    }
}

extension String {
    func trimmingSuffixNewline() -> String { hasSuffix("\n") ? String(dropLast()) : self }
}
