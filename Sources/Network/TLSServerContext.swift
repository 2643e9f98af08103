import COpenSSL
import Glibc

/// One loaded server configuration: an OpenSSL `SSL_CTX` with the certificate, key and (for mutual TLS) the
/// client authority, checked before it may serve. Immutable once built; a reload builds a new one. Connections
/// take their own reference (`SSL_new`), so an old context lives on, refcounted by OpenSSL, under the
/// connections that started with it.
public final class TLSServerContext: @unchecked Sendable {
    /// TLS 1.2 suites: forward secrecy and authenticated encryption only (ECDHE with AES-GCM or ChaCha20).
    /// TLS 1.3 keeps OpenSSL's default suites, all of which are modern.
    public static let cipherListTLS12 =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
    public static let groupList = "X25519:P-256:P-384"
    /// Client certificate chains deeper than this are refused (leaf, intermediates, authority).
    public static let verifyDepthMax: Int32 = 4

    let context: OpaquePointer
    public let files: TLSServerFiles
    /// The certificate's subject, for the start and reload log lines.
    public let subject: String
    public let notAfter: String

    public var requiresClientCertificate: Bool { files.clientCertificateAuthorityPath != nil }

    /// Loads and checks everything; an unreadable, unparseable, expired or mismatched file is refused with its
    /// path and OpenSSL's reason.
    public init(files: TLSServerFiles) throws(TLSConfigurationError) {
        (context, subject, notAfter) = try TLSServerContext.makeContext(files)
        self.files = files
    }

    /// Builds and checks the `SSL_CTX`, freeing it on any error (the instance, and its deinit, exist only after).
    static func makeContext(_ files: TLSServerFiles) throws(TLSConfigurationError) -> (OpaquePointer, String, String) {
        OpenSSLSupport.ignoreBrokenPipeSignal()
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw TLSConfigurationError(path: files.certificatePath, reason: OpenSSLSupport.drainErrors())
        }
        do {
            try applyProtocolSettings(context)
            let (subject, notAfter) = try loadCertificateAndKey(context, files)
            if let authority = files.clientCertificateAuthorityPath {
                try requireClientCertificates(context, authorityPath: authority)
            }
            return (context, subject, notAfter)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
    }

    deinit { SSL_CTX_free(context) }

    /// TLS 1.2 and 1.3 only, modern suites, no renegotiation, partial writes from a buffer that may move.
    static func applyProtocolSettings(_ context: OpaquePointer) throws(TLSConfigurationError) {
        var ok = copenssl_ctx_set_min_proto_version(context, COPENSSL_TLS1_2_VERSION) == 1
        ok = ok && copenssl_ctx_set_max_proto_version(context, COPENSSL_TLS1_3_VERSION) == 1
        ok = ok && SSL_CTX_set_cipher_list(context, cipherListTLS12) == 1
        ok = ok && copenssl_ctx_set1_groups_list(context, groupList) == 1
        guard ok else { throw TLSConfigurationError(path: "-", reason: OpenSSLSupport.drainErrors()) }
        SSL_CTX_set_options(
            context,
            COPENSSL_OP_NO_RENEGOTIATION | COPENSSL_OP_CIPHER_SERVER_PREFERENCE | COPENSSL_OP_NO_COMPRESSION)
        _ = copenssl_ctx_set_mode(
            context, COPENSSL_MODE_ENABLE_PARTIAL_WRITE | COPENSSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)
        // Read whole socket chunks, not one record header then one body per read(2): fewer system calls.
        // Bytes OpenSSL buffered this way are tracked by the connection (`hasBufferedInput`).
        _ = copenssl_ctx_set_read_ahead(context, 1)
        _ = copenssl_ctx_set_session_cache_mode(context, COPENSSL_SESS_CACHE_SERVER)
        let sessionContext: [UInt8] = Array("loyalty-switch".utf8)
        _ = SSL_CTX_set_session_id_context(context, sessionContext, UInt32(sessionContext.count))
        copenssl_ctx_refuse_password_prompt(context)
    }

    /// Returns the certificate's subject and end of validity.
    static func loadCertificateAndKey(
        _ context: OpaquePointer, _ files: TLSServerFiles
    ) throws(TLSConfigurationError) -> (String, String) {
        try OpenSSLSupport.checkReadable(files.certificatePath)
        guard SSL_CTX_use_certificate_chain_file(context, files.certificatePath) == 1 else {
            throw TLSConfigurationError(path: files.certificatePath, reason: OpenSSLSupport.drainErrors())
        }
        guard let certificate = SSL_CTX_get0_certificate(context) else {
            throw TLSConfigurationError(path: files.certificatePath, reason: "no certificate in the file")
        }
        let validity = try TLSCertificateInfo.checkValidity(certificate, path: files.certificatePath)
        try OpenSSLSupport.checkReadable(files.privateKeyPath)
        guard SSL_CTX_use_PrivateKey_file(context, files.privateKeyPath, COPENSSL_FILETYPE_PEM) == 1 else {
            throw TLSConfigurationError(path: files.privateKeyPath, reason: OpenSSLSupport.drainErrors())
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSConfigurationError(
                path: files.privateKeyPath,
                reason: "does not match the certificate \(files.certificatePath): \(OpenSSLSupport.drainErrors())")
        }
        return (TLSCertificateInfo.subject(of: certificate), validity)
    }

    /// Mutual TLS: a client must present a certificate that chains to the authority, or the handshake fails.
    static func requireClientCertificates(
        _ context: OpaquePointer, authorityPath: String
    ) throws(TLSConfigurationError) {
        try OpenSSLSupport.checkReadable(authorityPath)
        guard SSL_CTX_load_verify_locations(context, authorityPath, nil) == 1 else {
            throw TLSConfigurationError(path: authorityPath, reason: OpenSSLSupport.drainErrors())
        }
        // The names the server sends in its CertificateRequest, so a client with several certificates picks ours.
        guard let names = SSL_load_client_CA_file(authorityPath) else {
            throw TLSConfigurationError(path: authorityPath, reason: "no certificate: \(OpenSSLSupport.drainErrors())")
        }
        SSL_CTX_set_client_CA_list(context, names)
        SSL_CTX_set_verify(context, COPENSSL_VERIFY_PEER | COPENSSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        SSL_CTX_set_verify_depth(context, verifyDepthMax)
    }

    /// A server-side session on an accepted socket (not yet handshaken); nil when OpenSSL cannot allocate one.
    func makeSession(descriptor: Int32) -> TLSSession? {
        TLSSession(context: context, descriptor: descriptor, isServer: true)
    }
}

/// Reading certificate fields for checks and logs.
enum TLSCertificateInfo {
    /// The subject in RFC 2253 form (`CN=acquirer-1,O=Bank`).
    static func subject(of certificate: OpaquePointer) -> String {
        OpenSSLSupport.printed { bio in
            _ = X509_NAME_print_ex(bio, X509_get_subject_name(certificate), 0, COPENSSL_XN_FLAG_RFC2253)
        }
    }

    /// Refuses a certificate outside its validity period; returns its end of validity as text.
    static func checkValidity(_ certificate: OpaquePointer, path: String) throws(TLSConfigurationError) -> String {
        let notAfter = X509_get0_notAfter(certificate)
        let notBefore = X509_get0_notBefore(certificate)
        let notAfterText = OpenSSLSupport.printed { bio in _ = ASN1_TIME_print(bio, notAfter) }
        if X509_cmp_current_time(notAfter) <= 0 {
            throw TLSConfigurationError(path: path, reason: "certificate expired (not after \(notAfterText))")
        }
        if X509_cmp_current_time(notBefore) >= 0 {
            let notBeforeText = OpenSSLSupport.printed { bio in _ = ASN1_TIME_print(bio, notBefore) }
            throw TLSConfigurationError(path: path, reason: "certificate not valid yet (not before \(notBeforeText))")
        }
        return notAfterText
    }
}
