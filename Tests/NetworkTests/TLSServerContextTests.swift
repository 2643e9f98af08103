import Foundation
import Glibc
import Testing

@testable import Network

/// Loading and reloading server certificates: what refuses a start or a reload, and what a reload changes.
@Suite("TLS server context")
struct TLSServerContextTests {
    static func files(_ certificates: TestCertificates, certificate: String = "server", key: String = "server")
        -> TLSServerFiles
    {
        TLSServerFiles(
            certificatePath: certificates.path(certificate + ".pem"), privateKeyPath: certificates.path(key + ".key"))
    }

    /// The error loading `files` gives, or nil when it loads.
    static func refusal(_ files: TLSServerFiles) -> TLSConfigurationError? {
        do {
            _ = try TLSServerContext(files: files)
            return nil
        } catch {
            return error
        }
    }

    @Test("a good certificate and key load; the subject is read from the certificate")
    func loads() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let context = try TLSServerContext(files: Self.files(certificates))
        #expect(context.subject == "CN=loyalty-switch-test")
    }

    @Test("an unreadable, expired, mismatched or non-PEM file is refused with its path and the reason")
    func refusals() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        var missing = Self.files(certificates)
        missing.certificatePath = certificates.path("absent.pem")
        let absent = try #require(Self.refusal(missing))
        #expect(absent.path == certificates.path("absent.pem"))
        #expect(absent.reason.contains("No such file"))

        let expired = try #require(Self.refusal(Self.files(certificates, certificate: "expired", key: "expired")))
        #expect(expired.path == certificates.path("expired.pem"))
        #expect(expired.reason.contains("expired"))

        let mismatched = try #require(Self.refusal(Self.files(certificates, key: "other")))
        #expect(mismatched.path == certificates.path("other.key"))
        #expect(mismatched.reason.contains("key values mismatch"))

        var garbage = Self.files(certificates)
        garbage.certificatePath = certificates.path("ca.srl")
        let notPEM = try #require(Self.refusal(garbage))
        #expect(notPEM.path == certificates.path("ca.srl"))
        #expect(notPEM.reason.contains("no start line"))

        var authority = Self.files(certificates)
        authority.clientCertificateAuthorityPath = certificates.path("server.key")
        let badAuthority = try #require(Self.refusal(authority))
        #expect(badAuthority.path == certificates.path("server.key"))
    }

    @Test(
        "a reload puts new files in force for new connections, keeps open ones working, and a failed reload changes nothing"
    )
    func reload() throws {
        let server = try TLSEchoServer()
        defer { server.stop() }
        let context = try server.clientContext()
        let before = try BlockingTLSClient(port: server.port, context: context)
        try before.write([1])
        #expect(before.read(1) == [1])
        // New certificate and key at the same paths, another subject, signed by a new authority.
        let renewed = try TestCertificates(serverName: "renewed-switch")
        defer { renewed.remove() }
        for name in ["server.pem", "server.key"] {
            _ = unlink(server.certificates.path(name))
            try FileManager.default.copyItem(atPath: renewed.path(name), toPath: server.certificates.path(name))
        }
        #expect(try server.listener.reload().subject == "CN=renewed-switch")
        try before.write([2])
        #expect(before.read(1) == [2], "an open connection keeps its session across a reload")
        let renewedContext = try TLSClientContext(
            files: TLSClientFiles(certificateAuthorityPath: renewed.path("ca.pem")))
        let after = try BlockingTLSClient(port: server.port, context: renewedContext)
        try after.write([3])
        #expect(after.read(1) == [3])
        #expect(throws: TLSConfigurationError.self) { try BlockingTLSClient(port: server.port, context: context) }
        // A broken key: the reload is refused and the renewed certificate stays in force.
        try FileManager.default.removeItem(atPath: server.certificates.path("server.key"))
        try FileManager.default.copyItem(
            atPath: server.certificates.path("other.key"), toPath: server.certificates.path("server.key"))
        #expect(throws: TLSConfigurationError.self) { try server.listener.reload() }
        #expect(server.listener.context.subject == "CN=renewed-switch")
        let still = try BlockingTLSClient(port: server.port, context: renewedContext)
        try still.write([4])
        #expect(still.read(1) == [4])
    }
}
