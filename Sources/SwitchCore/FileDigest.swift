import CCRC32C
import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// What a backup's manifest says of one file: its size, its SHA-256 and the CRC32C of each 1 MiB piece.
///
/// Why both: the SHA-256 proves the file is the one written; the piece checksums let a restore name where a
/// damaged copy differs (a byte offset range), not only that it does.
public struct FileDigest: Sendable, Equatable {
    public static let pieceBytes = 1 << 20

    public var bytes: Int64
    public var sha256: [UInt8]
    public var pieceCRCs: [UInt32]

    public init(bytes: Int64, sha256: [UInt8], pieceCRCs: [UInt32]) {
        self.bytes = bytes
        self.sha256 = sha256
        self.pieceCRCs = pieceCRCs
    }

    /// Reads the whole file once (bounded by `bytesMax`), in pieces.
    public static func of(path: String, bytesMax: Int64 = 1 << 40) throws(BackupError) -> FileDigest {
        let descriptor = try BackupFiles.open(path, flags: O_RDONLY)
        defer { close(descriptor) }
        let size = try BackupFiles.size(descriptor, path: path)
        guard size <= bytesMax else { throw BackupError("\(path): \(size) bytes, more than \(bytesMax)") }
        guard let context = EVP_MD_CTX_new() else { throw BackupError("\(path): OpenSSL has no digest context") }
        defer { EVP_MD_CTX_free(context) }
        precondition(EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1, "SHA-256 init")
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: pieceBytes, alignment: 4096)
        defer { piece.deallocate() }
        var crcs: [UInt32] = []
        var offset: Int64 = 0
        while offset < size {
            let count = try BackupFiles.read(descriptor, into: piece, offset: offset, path: path)
            guard count > 0 else { throw BackupError("\(path): ends at byte \(offset), its size said \(size)") }
            precondition(EVP_DigestUpdate(context, piece.baseAddress, count) == 1, "SHA-256 update")
            crcs.append(ccrc32c_update(0, piece.baseAddress, count))
            offset += Int64(count)
        }
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        digest.withUnsafeMutableBufferPointer { output in
            precondition(EVP_DigestFinal_ex(context, output.baseAddress, &length) == 1, "SHA-256 final")
        }
        precondition(length == 32, "SHA-256 has 32 bytes")
        precondition(offset >= size && crcs.count <= Int(offset / Int64(pieceBytes)) + 1, "the whole file, in pieces")
        return FileDigest(bytes: offset, sha256: digest, pieceCRCs: crcs)
    }

    /// Why `found` is not this digest, naming the first differing byte range; nil when they agree.
    public func difference(from found: FileDigest) -> String? {
        if found.bytes != bytes { return "\(found.bytes) bytes where the manifest says \(bytes)" }
        for index in pieceCRCs.indices where index >= found.pieceCRCs.count || found.pieceCRCs[index] != pieceCRCs[index] {
            let start = Int64(index) * Int64(Self.pieceBytes)
            let end = min(bytes, start + Int64(Self.pieceBytes))
            return "bytes \(start)..<\(end) differ from the manifest (CRC32C of that piece)"
        }
        if found.sha256 != sha256 { return "its SHA-256 differs from the manifest" }
        return nil
    }
}

/// A backup or restore that could not be made or trusted: the message names the file (and offset where known).
public struct BackupError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
