import Foundation
import Glibc
import Synchronization
import Testing

/// Bad input on a TLS listener: each bad handshake is closed and counted, never a crash or a stall of others.
@Suite struct TLSHandshakeFloodTests {
    /// The kinds of bad handshake the flood cycles through.
    enum BadHandshake: Int, CaseIterable {
        case plaintextFrame, randomBytes, partialHelloThenClose, connectThenClose, partialHelloThenSilence,
            recordOfGarbage
    }

    /// A TLS handshake record header announcing 512 bytes, and the start of a ClientHello.
    static let helloStart: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]

    /// Opens one connection to `port` and misbehaves as `kind` says; a connection left silent is returned so that
    /// the caller keeps it open (the switch must close it at the handshake timeout).
    static func misbehave(_ kind: BadHandshake, port: UInt16, frame: [UInt8]) -> SwitchClient? {
        guard let client = try? SwitchClient(port: port) else { return nil }
        switch kind {
        case .plaintextFrame: try? client.write(frame)
        case .randomBytes: try? client.write((0..<200).map { _ in UInt8.random(in: 0...255) })
        case .partialHelloThenClose: try? client.write(helloStart)
        case .connectThenClose: break
        case .partialHelloThenSilence:
            try? client.write(helloStart)
            return client
        case .recordOfGarbage: try? client.write(helloStart + (0..<509).map { _ in UInt8.random(in: 0...255) })
        }
        client.close()
        return nil
    }

    @Test(
        "1000 garbage and aborted handshakes on a TLS listener are all closed and counted, while a plain client on another listener and a TLS client get every answer"
    )
    func floodDoesNotStallOthers() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let certificates = try TestCertificates(in: scratch.path)
        var settings = TLSListenerTests.settings(certificates)
        settings.limits = ["tlsHandshakeTimeoutMs": 1000, "connectionsMax": 2000]
        try withSwitch(settings) { server in
            let tlsPort = server.ports[1]
            let plainPort = server.ports[0]
            let frame = try EchoRequest.frame()
            let flooders = 8
            let badPerFlooder = 125
            let silent = SilentConnections()
            let plainAnswered = Atomic<Int>(0)
            let tlsResult = Mutex<PythonTLSClient.Result?>(nil)
            DispatchQueue.concurrentPerform(iterations: flooders + 2) { worker in
                if worker == flooders {
                    tlsResult.withLock {
                        $0 = try? PythonTLSClient.run(
                            port: tlsPort, frame: frame, authority: certificates.path("ca.pem"), connections: 10,
                            requests: 30)
                    }
                } else if worker == flooders + 1 {
                    plainAnswered.store(Self.plainPurchases(port: plainPort, count: 300), ordering: .relaxed)
                } else {
                    for index in 0..<badPerFlooder {
                        let kind = BadHandshake.allCases[(worker + index) % BadHandshake.allCases.count]
                        if let open = Self.misbehave(kind, port: tlsPort, frame: frame) {
                            silent.append(open)
                        }
                    }
                }
            }
            let tls = try #require(tlsResult.withLock { $0 }, "the Python TLS client did not run")
            #expect(tls.ok && tls.answered == 300, "TLS client: \(tls.answered) of 300 answered, \(tls.error ?? "")")
            #expect(plainAnswered.load(ordering: .relaxed) == 300, "plain client: every purchase approved")
            let left = silent.all
            #expect(left.allSatisfy { $0.closedByPeer(within: 10) }, "silent handshakes are closed at the timeout")
            #expect(server.isRunning)
            let stopped = server.signalAndWait(SIGTERM)
            #expect(stopped?.status == 0)
            let summary = try #require(tlsSummary(in: server.log, port: tlsPort), "no TLS summary line in the log")
            #expect(summary.refused == flooders * badPerFlooder, "\(summary.line)")
            #expect(summary.completed == 10, "\(summary.line)")
            #expect(summary.line.contains("handshake timeout"), "\(summary.line)")
            #expect(summary.line.contains("not TLS"), "\(summary.line)")
        }
    }

    /// Purchases on a plain listener, one at a time; returns how many were approved.
    static func plainPurchases(port: UInt16, count: Int) -> Int {
        guard let client = try? SwitchClient(port: port) else { return 0 }
        var terminal = Terminal(id: "PLAIN001")
        var approved = 0
        for index in 0..<count {
            let reply = try? client.exchange(terminal.purchase(Wire.card(index, test: 14), 10_000))
            if reply?.code == "00" { approved += 1 }
        }
        return approved
    }
}

/// Connections the flood leaves open mid-handshake, kept until the test checks that the switch closed them.
final class SilentConnections: @unchecked Sendable {
    private let lock = NSLock()
    private var clients: [SwitchClient] = []

    func append(_ client: SwitchClient) { lock.withLock { clients.append(client) } }
    var all: [SwitchClient] { lock.withLock { clients } }
}
