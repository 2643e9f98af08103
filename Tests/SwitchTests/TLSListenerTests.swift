import Foundation
import Glibc
import ISO8583
import Network
import Testing

/// TLS on ISO 8583 listeners, end to end: the real switch as a child process, independent clients (Python's ssl
/// module, `openssl s_client`, pyiso8583 over TLS), certificates made in the test with `openssl req`.
@Suite struct TLSListenerTests {
    /// A plain listener and a TLS listener (and a mutual-TLS one when `mutual`), certificates in `directory`.
    static func settings(_ certificates: TestCertificates, mutual: Bool = false) -> SwitchSettings {
        var settings = SwitchSettings()
        settings.listeners = [
            ["address": "127.0.0.1:0"],
            ["address": "127.0.0.1:0", "tls": certificates.listenerTLS()],
        ]
        if mutual {
            settings.listeners.append([
                "address": "127.0.0.1:0", "role": "host", "tls": certificates.listenerTLS(mutual: true),
            ])
        }
        return settings
    }

    /// Runs `body` with a switch serving `settings(certificates)` and the certificates made for it.
    static func withTLSSwitch(
        mutual: Bool = false, name: String = #function, _ body: (SwitchProcess, TestCertificates) throws -> Void
    ) throws {
        let scratch = ScratchDirectory(name + "-certs")
        defer { scratch.remove() }
        let certificates = try TestCertificates(in: scratch.path)
        try withSwitch(settings(certificates, mutual: mutual), name: name) { server in
            try body(server, certificates)
        }
    }

    @Test(
        "Python's ssl: TLS 1.2 and 1.3 clients get their 0800 answered; a TLS 1.1 client and a plaintext client are refused; the plain listener is unaffected"
    )
    func pythonClientVersions() throws {
        try Self.withTLSSwitch { server, certificates in
            let port = server.ports[1]
            let frame = try EchoRequest.frame()
            for version in ["1.2", "1.3"] {
                let result = try PythonTLSClient.run(
                    port: port, frame: frame, version: version, authority: certificates.path("ca.pem"))
                #expect(result.ok, "TLS \(version): \(result.error ?? "")")
                #expect(result.version == "TLSv\(version)")
                #expect(EchoRequest.isApproved(result.response), "TLS \(version): the answer is 0810 00")
            }
            let old = try PythonTLSClient.run(
                port: port, frame: frame, version: "1.1", authority: certificates.path("ca.pem"))
            #expect(!old.ok && old.answered == 0)
            #expect(old.error?.contains("VERSION") == true, "TLS 1.1: \(old.error ?? "")")
            let plaintext = try SwitchClient(port: port)
            try plaintext.write(frame)
            #expect(plaintext.closedByPeer(within: 10), "a plaintext client on a TLS port is closed")
            var terminal = Terminal()
            var echo = terminal.message(800)
            try echo.set(70, "301")
            let plain = try SwitchClient(port: server.ports[0])
            #expect(try plain.exchange(echo).code == "00")
            #expect(server.waitForLog("TLS handshake refused: protocol version"))
            #expect(server.waitForLog("TLS handshake refused: not TLS"))
        }
    }

    @Test(
        "openssl s_client: -tls1_2 and -tls1_3 connect and verify the switch's certificate; -tls1_1 is refused with a protocol version alert"
    )
    func opensslClientVersions() throws {
        try Self.withTLSSwitch { server, certificates in
            let port = server.ports[1]
            for (flag, name) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
                let output = try openSSLClient(port: port, [flag, "-CAfile", certificates.path("ca.pem")])
                #expect(output.contains("New, \(name), Cipher is"), "\(flag): \(output)")
                #expect(output.contains("Verify return code: 0 (ok)"), "\(flag): \(output)")
            }
            let old = try openSSLClient(port: port, ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"])
            #expect(old.contains("alert protocol version"), "-tls1_1: \(old)")
            #expect(!old.contains("Cipher is TLS") && !old.contains("Cipher is ECDHE"))
        }
    }

    @Test(
        "mutual TLS: a client certificate from the authority is served and its subject logged; none, or one from another authority, is refused (Python and openssl s_client)"
    )
    func mutualTLS() throws {
        try Self.withTLSSwitch(mutual: true) { server, certificates in
            let port = server.ports[2]
            let frame = try EchoRequest.frame()
            let authority = certificates.path("ca.pem")
            let accepted = try PythonTLSClient.run(
                port: port, frame: frame, authority: authority, certificate: certificates.path("client.pem"),
                key: certificates.path("client.key"))
            #expect(accepted.ok && EchoRequest.isApproved(accepted.response), "\(accepted.error ?? "")")
            #expect(server.waitForLog("client certificate subject CN=acquirer-1,O=Test Acquirer"))
            let anonymous = try PythonTLSClient.run(port: port, frame: frame, authority: authority)
            #expect(!anonymous.ok && anonymous.answered == 0)
            let rogue = try PythonTLSClient.run(
                port: port, frame: frame, authority: authority, certificate: certificates.path("rogue.pem"),
                key: certificates.path("rogue.key"))
            #expect(!rogue.ok && rogue.answered == 0)
            let withCertificate = try openSSLClient(
                port: port,
                [
                    "-tls1_2", "-CAfile", authority, "-cert", certificates.path("client.pem"), "-key",
                    certificates.path("client.key"),
                ])
            #expect(withCertificate.contains("New, TLSv1.2, Cipher is"), "\(withCertificate)")
            let without = try openSSLClient(port: port, ["-tls1_2", "-CAfile", authority])
            #expect(without.contains("alert handshake failure"), "\(without)")
            #expect(server.waitForLog("TLS handshake refused: no client certificate"))
            #expect(server.waitForLog("TLS handshake refused: client certificate refused"))
        }
    }

    @Test("pyiso8583 over TLS: every scripted contract answer is right on a TLS listener")
    func pyiso8583OverTLS() throws {
        try #require(IndependentClient.available, "python3 cannot import iso8583: pip install pyiso8583==4.0.1")
        try Self.withTLSSwitch { server, certificates in
            let result = try #require(
                runPython([IndependentClient.script, String(server.ports[1]), "--tls", certificates.path("ca.pem")]),
                "python3 did not finish")
            try #require(result.status == 0, "contract_client.py exited \(result.status)")
            let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
            let checks = try #require(object?["checks"] as? [[String: Any]])
            #expect(checks.count >= 20, "the script ran \(checks.count) checks")
            for check in checks {
                #expect(
                    check["ok"] as? Bool == true,
                    "\(check["name"] as? String ?? "?"): \(check["detail"] as? String ?? "")")
            }
        }
    }

    @Test(
        "SIGHUP reloads the certificate: an open TLS connection keeps working, new ones see the new certificate; a mismatched key is refused with its path and changes nothing"
    )
    func certificateReloadBySIGHUP() throws {
        try Self.withTLSSwitch { server, certificates in
            let port = server.ports[1]
            let open = try LongLivedTLSClient(port: port, authority: certificates.path("ca.pem"))
            #expect(try open.echo(stan: 1))
            let renewed = try TestCertificates(in: certificates.directory + "-renewed", serverName: "renewed-switch")
            for name in ["server.pem", "server.key"] {
                try FileManager.default.removeItem(atPath: certificates.path(name))
                try FileManager.default.copyItem(atPath: renewed.path(name), toPath: certificates.path(name))
            }
            kill(server.process.pid, SIGHUP)
            #expect(server.waitForLog("certificate reloaded, CN=renewed-switch"))
            #expect(try open.echo(stan: 2), "the connection opened before the reload still answers")
            let after = try openSSLClient(port: port, ["-CAfile", renewed.path("ca.pem")])
            #expect(after.contains("CN = renewed-switch") && after.contains("Verify return code: 0 (ok)"), "\(after)")
            // A key that does not match: the reload is refused, naming the file, and the renewed one stays.
            try FileManager.default.removeItem(atPath: certificates.path("server.key"))
            try FileManager.default.copyItem(
                atPath: certificates.path("other.key"), toPath: certificates.path("server.key"))
            kill(server.process.pid, SIGHUP)
            #expect(server.waitForLog("certificates not reloaded"))
            #expect(server.log.contains("\(certificates.path("server.key")): error:"), "the refusal names the key file")
            let still = try openSSLClient(port: port, ["-CAfile", renewed.path("ca.pem")])
            #expect(still.contains("CN = renewed-switch") && still.contains("Verify return code: 0 (ok)"), "\(still)")
            #expect(try open.echo(stan: 3))
            #expect(server.isRunning)
        }
    }

    @Test(
        "loadgen --tls: every answer right on a TLS and a mutual-TLS listener; without a client certificate the mutual-TLS run fails; --ca without --tls is a usage error"
    )
    func loadgenOverTLS() throws {
        try Self.withTLSSwitch(mutual: true) { server, certificates in
            let executable = try SwitchExecutable.path()
            let authority = certificates.path("ca.pem")
            let common = ["--duration", "1s", "--connections", "2", "--in-flight", "4", "--quiet"]
            let tls = try runTool(
                executable, ["loadgen", "127.0.0.1:\(server.ports[1])", "--tls", "--ca", authority] + common)
            #expect(tls.status == 0 && tls.output.contains("errors 0"), "\(tls.output)")
            let clientFiles = [
                "--certificate", certificates.path("client.pem"), "--private-key", certificates.path("client.key"),
            ]
            let mutual = try runTool(
                executable,
                ["loadgen", "127.0.0.1:\(server.ports[2])", "--tls", "--ca", authority] + clientFiles + common)
            #expect(mutual.status == 0 && mutual.output.contains("errors 0"), "\(mutual.output)")
            let anonymous = try runTool(
                executable, ["loadgen", "127.0.0.1:\(server.ports[2])", "--tls", "--ca", authority] + common)
            #expect(anonymous.status == 1, "\(anonymous.output)")
            let usage = try runTool(executable, ["loadgen", "127.0.0.1:\(server.ports[1])", "--ca", authority])
            #expect(usage.status == 2 && usage.output.contains("need --tls"), "\(usage.output)")
        }
    }

    @Test(
        "an unreadable, expired or mismatched certificate or key refuses the start with the path and OpenSSL's reason")
    func startRefused() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let certificates = try TestCertificates(in: scratch.path)
        let cases: [(tls: [String: Any], expected: [String])] = [
            (
                ["certificate": certificates.path("absent.pem"), "privateKey": certificates.path("server.key")],
                [certificates.path("absent.pem"), "No such file"]
            ),
            (
                ["certificate": certificates.path("expired.pem"), "privateKey": certificates.path("expired.key")],
                [certificates.path("expired.pem"), "certificate expired"]
            ),
            (
                ["certificate": certificates.path("server.pem"), "privateKey": certificates.path("other.key")],
                [certificates.path("other.key"), "key values mismatch"]
            ),
            (
                [
                    "certificate": certificates.path("server.pem"), "privateKey": certificates.path("server.key"),
                    "clientCertificateAuthority": certificates.path("ca.srl"),
                ],
                [certificates.path("ca.srl"), "error:"]
            ),
        ]
        for (index, testCase) in cases.enumerated() {
            var settings = SwitchSettings()
            settings.listeners = [["address": "127.0.0.1:0", "tls": testCase.tls]]
            let directory = ScratchDirectory("startRefused\(index)")
            defer { directory.remove() }
            do {
                let server = try SwitchProcess(directory: directory, settings: settings)
                server.stop()
                Issue.record("case \(index): the switch started")
            } catch {
                let text = "\(error)"
                #expect(text.contains("cannot start"), "case \(index): \(text)")
                for expected in testCase.expected { #expect(text.contains(expected), "case \(index): \(text)") }
            }
        }
    }
}

/// One TLS connection kept open across a reload: our own client (Network's TLSClientContext) on a blocking socket.
final class LongLivedTLSClient {
    let descriptor: Int32
    let session: TLSSession

    init(port: UInt16, authority: String) throws {
        let context = try TLSClientContext(files: TLSClientFiles(certificateAuthorityPath: authority))
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw SwitchTestError("connect: errno \(errno)") }
        session = try context.connect(descriptor: descriptor)
    }

    deinit { close(descriptor) }

    /// Sends an 0800 echo and reads its answer; true when it is 0810 00.
    func echo(stan: Int) throws -> Bool {
        let frame = try EchoRequest.frame(stan: stan)
        guard case .processed(frame.count) = frame.withUnsafeBytes({ session.write($0.baseAddress!, count: $0.count) })
        else { return false }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < 2 || received.count < 2 + (Int(received[0]) << 8 | Int(received[1])) {
            guard case .processed(let count) = buffer.withUnsafeMutableBytes({ session.read(into: $0) }) else {
                return false
            }
            received += buffer[0..<count]
        }
        return EchoRequest.isApproved(Array(received[2...]))
    }
}
