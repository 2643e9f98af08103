/// Where a TLS server finds its certificate and key (PEM files), and, for mutual TLS, the authority whose
/// signature every client certificate must carry. Read at start and again on every reload.
public struct TLSServerFiles: Sendable, Equatable {
    /// The server's certificate, followed by any intermediate certificates (a PEM chain).
    public var certificatePath: String
    public var privateKeyPath: String
    /// With it, a client must present a certificate signed by this authority (mutual TLS, for acquirer hosts).
    public var clientCertificateAuthorityPath: String?

    public init(certificatePath: String, privateKeyPath: String, clientCertificateAuthorityPath: String? = nil) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.clientCertificateAuthorityPath = clientCertificateAuthorityPath
    }
}

/// What a TLS client (loadgen, tests) trusts and presents. Without an authority the server is not verified:
/// the load tester talks to a switch on loopback whose certificate is often self-signed.
public struct TLSClientFiles: Sendable, Equatable {
    public var certificateAuthorityPath: String?
    public var certificatePath: String?
    public var privateKeyPath: String?

    public init(certificateAuthorityPath: String? = nil, certificatePath: String? = nil, privateKeyPath: String? = nil)
    {
        self.certificateAuthorityPath = certificateAuthorityPath
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}

/// A certificate, key or authority file that cannot serve: names the file and gives OpenSSL's reason, so an
/// operator can fix the right file. Refuses a start, or a reload (which then changes nothing).
public struct TLSConfigurationError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// `PATH: reason`, or the reason alone when no file is concerned (a handshake the client saw refused).
    public var description: String { path == "-" ? reason : "\(path): \(reason)" }
}
