import COpenSSL
import Glibc

/// Why a TLS handshake was refused; each kind is counted per listener (`TLSStatistics`).
public enum TLSHandshakeFailure: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// The first byte was not a TLS handshake record: a plaintext client on a TLS port, or garbage.
    case notTLS
    /// The client offered only versions below TLS 1.2 (or none we share).
    case protocolVersion
    /// Mutual TLS: the client sent no certificate.
    case clientCertificateMissing
    /// Mutual TLS: the client's certificate does not chain to the configured authority (or is expired).
    case clientCertificateRefused
    /// The client closed or reset the connection before the handshake finished.
    case closedDuringHandshake
    /// The handshake did not finish within `tlsHandshakeTimeoutMs`.
    case timeout
    /// Anything else OpenSSL refused: malformed records, no shared cipher, …
    case malformed

    public var description: String {
        switch self {
        case .notTLS: return "not TLS"
        case .protocolVersion: return "protocol version"
        case .clientCertificateMissing: return "no client certificate"
        case .clientCertificateRefused: return "client certificate refused"
        case .closedDuringHandshake: return "closed during handshake"
        case .timeout: return "handshake timeout"
        case .malformed: return "malformed handshake"
        }
    }
}

/// The outcome of one non-blocking TLS call. `wantsRead`/`wantsWrite` are OpenSSL's WANT_READ/WANT_WRITE: call
/// again when the socket is readable/writable (whatever the call was: a write may need a read and vice versa).
public enum TLSIOResult: Equatable {
    case processed(Int)
    case wantsRead
    case wantsWrite
    /// The peer closed (close_notify, or end of stream).
    case endOfStream
    case failed(TLSHandshakeFailure, String)
}

/// One TLS connection's OpenSSL state (`SSL *`) on a non-blocking socket. OpenSSL reads and writes the socket
/// itself (a socket BIO); this type only turns its answers into `TLSIOResult`. Used by one thread at a time: the
/// connection's loop, or the load tester's thread.
public final class TLSSession {
    let session: OpaquePointer

    init?(context: OpaquePointer, descriptor: Int32, isServer: Bool) {
        guard let session = SSL_new(context) else {
            ERR_clear_error()
            return nil
        }
        guard SSL_set_fd(session, descriptor) == 1 else {
            SSL_free(session)
            ERR_clear_error()
            return nil
        }
        if isServer { SSL_set_accept_state(session) } else { SSL_set_connect_state(session) }
        self.session = session
    }

    deinit { SSL_free(session) }

    /// One step of the handshake; `.processed(0)` when it is complete.
    public func handshake() -> TLSIOResult {
        ERR_clear_error()
        let result = SSL_do_handshake(session)
        if result == 1 { return .processed(0) }
        return outcome(of: result)
    }

    /// Decrypted bytes into `buffer`; `.processed(n)` with n > 0, or why none.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSIOResult {
        precondition(buffer.count > 0, "a TLS read needs room")
        let count = SSL_read(session, buffer.baseAddress, Int32(clamping: buffer.count))
        if count > 0 { return .processed(Int(count)) }
        return outcome(of: count)
    }

    /// Encrypts and sends up to `count` bytes (partial writes are on); `.processed(n)` with n > 0, or why none.
    public func write(_ pointer: UnsafeRawPointer, count: Int) -> TLSIOResult {
        precondition(count > 0, "a TLS write needs bytes")
        let written = SSL_write(session, pointer, Int32(clamping: count))
        if written > 0 { return .processed(Int(written)) }
        return outcome(of: written)
    }

    /// Decrypted or undecrypted bytes OpenSSL holds that the socket will not announce again (read-ahead).
    public var hasBufferedInput: Bool { SSL_has_pending(session) == 1 }

    /// Sends close_notify once, without waiting for the peer's (best effort: the socket closes next).
    public func shutdown() {
        _ = SSL_shutdown(session)
        ERR_clear_error()
    }

    /// `TLSv1.3 TLS_AES_256_GCM_SHA384`, for the log.
    public var protocolAndCipher: String {
        let version = String(cString: SSL_get_version(session))
        let cipher = SSL_get_current_cipher(session).map { String(cString: SSL_CIPHER_get_name($0)) } ?? "?"
        return "\(version) \(cipher)"
    }

    /// The verified peer certificate's subject (mutual TLS), or nil when the peer sent none.
    public var peerSubject: String? {
        guard let certificate = SSL_get1_peer_certificate(session) else { return nil }
        defer { X509_free(certificate) }
        return TLSCertificateInfo.subject(of: certificate)
    }

    func outcome(of result: Int32) -> TLSIOResult {
        let code = SSL_get_error(session, result)
        switch code {
        case COPENSSL_ERROR_WANT_READ: return .wantsRead
        case COPENSSL_ERROR_WANT_WRITE: return .wantsWrite
        case COPENSSL_ERROR_ZERO_RETURN:
            ERR_clear_error()
            return .endOfStream
        case COPENSSL_ERROR_SYSCALL:
            let error = errno
            let detail = OpenSSLSupport.drainErrors()
            if error == 0 { return .endOfStream }
            if error == EAGAIN { return .wantsRead }
            return .failed(.closedDuringHandshake, "\(String(cString: strerror(error))); \(detail)")
        default:
            let failure = TLSSession.classify(reason: OpenSSLSupport.oldestReason())
            let detail = OpenSSLSupport.drainErrors()
            if failure == .closedDuringHandshake { return .endOfStream }
            return .failed(failure, detail)
        }
    }

    /// Maps OpenSSL's reason code to the kinds the statistics count.
    static func classify(reason: Int32) -> TLSHandshakeFailure {
        switch reason {
        case COPENSSL_R_UNSUPPORTED_PROTOCOL, COPENSSL_R_VERSION_TOO_LOW: return .protocolVersion
        case COPENSSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE: return .clientCertificateMissing
        case COPENSSL_R_CERTIFICATE_VERIFY_FAILED: return .clientCertificateRefused
        case COPENSSL_R_UNEXPECTED_EOF_WHILE_READING: return .closedDuringHandshake
        case COPENSSL_R_WRONG_VERSION_NUMBER: return .notTLS
        default: return .malformed
        }
    }
}
