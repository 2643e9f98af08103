import COpenSSL
import Glibc

/// Helpers over OpenSSL's thread-local error queue and memory BIOs.
enum OpenSSLSupport {
    /// The errors queued on this thread, oldest first, as OpenSSL words them ("PEM routines::no start line");
    /// the queue is left empty, so the next call on this thread starts clean.
    static func drainErrors() -> String {
        var reasons: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        for _ in 0..<16 {
            let code = ERR_get_error()
            if code == 0 { break }
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        ERR_clear_error()
        return reasons.isEmpty ? "no reason given by OpenSSL" : reasons.joined(separator: "; ")
    }

    /// The reason code of the oldest queued error (0 when none), without removing it.
    static func oldestReason() -> Int32 {
        copenssl_error_reason(ERR_peek_error())
    }

    /// Runs `body` with a memory BIO and returns what it wrote there (subject names, dates).
    static func printed(_ body: (OpaquePointer) -> Void) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { return "?" }
        defer { BIO_free(bio) }
        body(bio)
        var data: UnsafeMutablePointer<CChar>?
        let length = copenssl_bio_memory_data(bio, &data)
        guard let data, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }

    /// OpenSSL's socket BIO writes with write(2), which raises SIGPIPE on a peer that is gone; the process must
    /// ignore it (as nginx does) or a reset during a TLS write would kill the switch. Idempotent.
    static func ignoreBrokenPipeSignal() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Refuses a file that cannot be opened for reading, with the system's reason, before OpenSSL's vaguer one.
    static func checkReadable(_ path: String) throws(TLSConfigurationError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw TLSConfigurationError(path: path, reason: "cannot read: \(String(cString: strerror(errno)))")
        }
        Glibc.close(descriptor)
    }
}
