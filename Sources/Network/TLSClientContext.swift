import COpenSSL
import Glibc

/// A TLS client configuration (the load tester, tests): TLS 1.2 and 1.3, the server verified against an
/// authority when one is given (the chain only: targets are loopback addresses, not names), and a client
/// certificate for mutual TLS when one is given.
public final class TLSClientContext: @unchecked Sendable {
    let context: OpaquePointer
    public let files: TLSClientFiles

    public init(files: TLSClientFiles) throws(TLSConfigurationError) {
        OpenSSLSupport.ignoreBrokenPipeSignal()
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw TLSConfigurationError(path: "-", reason: OpenSSLSupport.drainErrors())
        }
        do {
            try TLSClientContext.configure(context, files)
        } catch {
            // Freed here: the instance (and its deinit) exists only once every property is set, below.
            SSL_CTX_free(context)
            throw error
        }
        self.context = context
        self.files = files
    }

    deinit { SSL_CTX_free(context) }

    static func configure(_ context: OpaquePointer, _ files: TLSClientFiles) throws(TLSConfigurationError) {
        _ = copenssl_ctx_set_min_proto_version(context, COPENSSL_TLS1_2_VERSION)
        _ = copenssl_ctx_set_max_proto_version(context, COPENSSL_TLS1_3_VERSION)
        _ = copenssl_ctx_set_mode(
            context, COPENSSL_MODE_ENABLE_PARTIAL_WRITE | COPENSSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)
        _ = copenssl_ctx_set_read_ahead(context, 1)
        copenssl_ctx_refuse_password_prompt(context)
        if let authority = files.certificateAuthorityPath {
            try OpenSSLSupport.checkReadable(authority)
            guard SSL_CTX_load_verify_locations(context, authority, nil) == 1 else {
                throw TLSConfigurationError(path: authority, reason: OpenSSLSupport.drainErrors())
            }
            SSL_CTX_set_verify(context, COPENSSL_VERIFY_PEER, nil)
        }
        guard let certificate = files.certificatePath else { return }
        guard let key = files.privateKeyPath else {
            throw TLSConfigurationError(path: certificate, reason: "a client certificate needs its private key")
        }
        try OpenSSLSupport.checkReadable(certificate)
        guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
            throw TLSConfigurationError(path: certificate, reason: OpenSSLSupport.drainErrors())
        }
        try OpenSSLSupport.checkReadable(key)
        guard SSL_CTX_use_PrivateKey_file(context, key, COPENSSL_FILETYPE_PEM) == 1,
            SSL_CTX_check_private_key(context) == 1
        else {
            throw TLSConfigurationError(path: key, reason: OpenSSLSupport.drainErrors())
        }
    }

    /// Runs the client handshake on a connected socket. The socket should be blocking with send and receive
    /// timeouts set (SO_SNDTIMEO/SO_RCVTIMEO bound the handshake); on a non-blocking one this returns the first
    /// WANT_READ/WANT_WRITE as an error. Returns the established session, or why the server refused.
    public func connect(descriptor: Int32) throws(TLSConfigurationError) -> TLSSession {
        guard let session = TLSSession(context: context, descriptor: descriptor, isServer: false) else {
            throw TLSConfigurationError(path: "-", reason: "OpenSSL could not allocate a TLS session")
        }
        switch session.handshake() {
        case .processed: return session
        case .wantsRead, .wantsWrite:
            throw TLSConfigurationError(path: "-", reason: "TLS handshake timed out")
        case .endOfStream:
            throw TLSConfigurationError(path: "-", reason: "the server closed the connection during the handshake")
        case .failed(_, let detail):
            throw TLSConfigurationError(path: "-", reason: "TLS handshake failed: \(detail)")
        }
    }
}
