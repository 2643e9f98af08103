import COpenSSL

/// SHA-256 over bytes that arrive in pieces (an upload written to disk as it comes), from the system OpenSSL.
/// One owner at a time: not thread-safe.
public final class SHA256Stream {
    private let context: OpaquePointer

    public init() {
        guard let context = EVP_MD_CTX_new() else {
            preconditionFailure("OpenSSL has no digest context (out of memory)")
        }
        self.context = context
        precondition(EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1, "SHA-256 init")
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        precondition(EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1, "SHA-256 update")
    }

    /// The digest of everything given (32 bytes); the stream is spent after it.
    public func finish() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        digest.withUnsafeMutableBufferPointer { output in
            precondition(EVP_DigestFinal_ex(context, output.baseAddress, &length) == 1, "SHA-256 final")
        }
        precondition(length == 32, "SHA-256 has 32 bytes")
        return digest
    }
}

extension IdempotencyDigest {
    /// The digest of a request whose body arrives in pieces (a streamed upload): fed the whole body, it finishes
    /// to `digest(method:path:body: nil, rawBody:)` of it, so a repeat compares equal however either was sent.
    public static func stream(method: String, path: String) -> SHA256Stream {
        let stream = SHA256Stream()
        Array("\(method) \(path)\n".utf8).withUnsafeBytes { stream.update($0) }
        return stream
    }
}
