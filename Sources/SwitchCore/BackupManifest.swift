import AdminAccess
import HTTP
import Ledger

/// `backup-manifest.json`, the last file a backup writes: its presence says the backup is complete and verified;
/// it lists every other file with its digest, the sequence each shard's log was copied to, and when.
public struct BackupManifest: Sendable, Equatable {
    public static let fileName = "backup-manifest.json"
    public static let format: Int64 = 1
    /// A manifest larger than this is not one of ours.
    static let bytesMax = 64 << 20

    public struct Entry: Sendable, Equatable {
        /// Relative to the backup directory.
        public var path: String
        public var digest: FileDigest
    }

    public var createdAtMs: Int64
    public var lastSequences: [UInt64]
    /// Audit journal entries copied (each chained to the one before).
    public var auditEntries: UInt64
    public var files: [Entry]

    public var totalBytes: Int64 { files.reduce(0) { $0 + $1.digest.bytes } }

    func encoded() -> [UInt8] {
        assert(files.allSatisfy { Self.isSafe($0.path) }, "a manifest lists paths inside the backup")
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("format", Self.format)
        writer.member("createdAt", UTCTime.rfc3339(milliseconds: createdAtMs))
        writer.member("createdAtMs", createdAtMs)
        writer.member("auditEntries", Int64(auditEntries))
        writer.key("shards")
        writer.beginArray()
        for (shard, sequence) in lastSequences.enumerated() {
            writer.beginObject()
            writer.member("shard", Int64(shard))
            writer.member("lastSequence", Int64(sequence))
            writer.endObject()
        }
        writer.endArray()
        writer.key("files")
        writer.beginArray()
        for entry in files {
            writer.beginObject()
            writer.member("path", entry.path)
            writer.member("bytes", entry.digest.bytes)
            writer.member("sha256", AccessCrypto.hex(entry.digest.sha256))
            writer.member("crc32cPerMiB", entry.digest.pieceCRCs.map(Self.hex8).joined())
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        return writer.bytes + [UInt8(ascii: "\n")]
    }

    static func hex8(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        let text = String(repeating: "0", count: 8 - digits.count) + digits
        precondition(text.utf8.count == 8, "a CRC is eight hex digits")
        return text
    }

    /// Reads a manifest; the error names the file and what is wrong.
    static func read(directory: String) throws(BackupError) -> BackupManifest {
        let path = directory + "/" + fileName
        guard BackupFiles.exists(path) else {
            throw BackupError("\(path) is missing: \(directory) is not a complete backup (a backup writes it last)")
        }
        let bytes: [UInt8]
        bytes = try BackupFiles.readAll(path, bytesMax: bytesMax)
        var limits = JSONLimits()
        limits.valuesMax = 1 << 22
        guard let document = try? JSONDocument.parse(bytes, limits: limits) else {
            throw BackupError("\(path) is not valid JSON")
        }
        guard let manifest = parse(document.root) else { throw BackupError("\(path) is not a backup manifest") }
        return manifest
    }

    private static func parse(_ root: JSONValue) -> BackupManifest? {
        guard let members = root.members else { return nil }
        var values: [String: JSONValue] = [:]
        for (key, value) in members { values[key] = value }
        guard values["format"]?.integer == format, let created = values["createdAtMs"]?.integer,
            let audit = values["auditEntries"]?.integer, let shards = values["shards"]?.elements,
            let files = values["files"]?.elements
        else { return nil }
        var sequences: [UInt64] = []
        for shard in shards {
            guard let sequence = shard.members?.first(where: { $0.key == "lastSequence" })?.value.integer else {
                return nil
            }
            sequences.append(UInt64(sequence))
        }
        var entries: [Entry] = []
        for file in files {
            guard let entry = parseEntry(file) else { return nil }
            entries.append(entry)
        }
        precondition(sequences.count == shards.count && entries.count == files.count, "every shard and file read")
        return BackupManifest(createdAtMs: created, lastSequences: sequences, auditEntries: UInt64(audit), files: entries)
    }

    private static func parseEntry(_ file: JSONValue) -> Entry? {
        var values: [String: JSONValue] = [:]
        for (key, value) in file.members ?? [] { values[key] = value }
        guard let path = values["path"]?.string, BackupManifest.isSafe(path), let bytes = values["bytes"]?.integer,
            let sha = values["sha256"]?.string.flatMap(AccessCrypto.bytes(hex:)), sha.count == 32,
            let crcText = values["crc32cPerMiB"]?.string, crcText.utf8.count % 8 == 0
        else { return nil }
        var crcs: [UInt32] = []
        var rest = Substring(crcText)
        while !rest.isEmpty {
            guard let value = UInt32(rest.prefix(8), radix: 16) else { return nil }
            crcs.append(value)
            rest = rest.dropFirst(8)
        }
        precondition(crcs.count == crcText.utf8.count / 8 && sha.count == 32, "a CRC per eight digits, a SHA-256")
        return Entry(path: path, digest: FileDigest(bytes: bytes, sha256: sha, pieceCRCs: crcs))
    }

    /// A relative path inside the backup: no leading slash, no `..`, no empty component.
    static func isSafe(_ path: String) -> Bool {
        !path.isEmpty && !path.hasPrefix("/")
            && path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != ".." && $0 != "." }
    }
}
