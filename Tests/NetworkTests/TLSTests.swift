import Foundation
import Glibc
import Synchronization
import Testing

@testable import Network

/// A blocking TLS client for the tests: our own client context on a blocking socket with 5 s timeouts.
final class BlockingTLSClient {
    let descriptor: Int32
    let session: TLSSession

    init(port: UInt16, context: TLSClientContext) throws {
        let client = try BlockingClient(port: port)
        descriptor = client.descriptor
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        do {
            session = try context.connect(descriptor: descriptor)
        } catch {
            Glibc.close(descriptor)
            throw error
        }
    }

    deinit { Glibc.close(descriptor) }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let result = bytes.withUnsafeBytes { session.write($0.baseAddress! + offset, count: $0.count - offset) }
            guard case .processed(let count) = result else { throw POSIXError(.EPIPE) }
            offset += count
        }
    }

    /// Reads until `count` bytes came (or the stream ends or times out: fewer bytes then).
    func read(_ count: Int) -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while received.count < count {
            let result = buffer.withUnsafeMutableBytes { session.read(into: $0) }
            guard case .processed(let got) = result else { break }
            received += buffer[0..<got]
        }
        return received
    }
}

/// A group with one TLS listener and an echo handler, and the certificates it serves.
struct TLSEchoServer {
    let group: EventLoopGroup
    let port: UInt16
    let handler: ProbeHandler
    let listener: TLSListenerContext
    let certificates: TestCertificates

    init(limits: NetworkLimits = NetworkLimits(), mutual: Bool = false, loops: Int = 1) throws {
        certificates = try TestCertificates()
        let files = TLSServerFiles(
            certificatePath: certificates.path("server.pem"), privateKeyPath: certificates.path("server.key"),
            clientCertificateAuthorityPath: mutual ? certificates.path("ca.pem") : nil)
        listener = try TLSListenerContext(files: files)
        group = try EventLoopGroup(
            loopCount: loops, limits: limits, log: LogSink(descriptor: open("/dev/null", O_WRONLY)))
        let handler = ProbeHandler(mode: .echo)
        self.handler = handler
        port = try group.listen(on: SocketAddress("127.0.0.1:0")!, tls: listener) { _ in handler }
        group.start()
    }

    func clientContext(certificate: String? = nil) throws -> TLSClientContext {
        try TLSClientContext(
            files: TLSClientFiles(
                certificateAuthorityPath: certificates.path("ca.pem"),
                certificatePath: certificate.map { certificates.path($0 + ".pem") },
                privateKeyPath: certificate.map { certificates.path($0 + ".key") }))
    }

    func stop() {
        group.stop()
        certificates.remove()
    }

    /// Waits at most 5 s for `condition` (statistics are counted on the loop thread).
    func eventually(_ condition: () -> Bool) -> Bool {
        let deadline = monotonicNanoseconds() + 5_000_000_000
        while !condition() && monotonicNanoseconds() < deadline { usleep(2000) }
        return condition()
    }
}

@Suite("TLS layer")
struct TLSTests {
    @Test("bytes written over TLS come back through an echo handler; the handshake is counted as completed")
    func echoOverTLS() throws {
        let server = try TLSEchoServer()
        defer { server.stop() }
        let client = try BlockingTLSClient(port: server.port, context: try server.clientContext())
        try client.write(Array("hello over tls".utf8))
        #expect(client.read(14) == Array("hello over tls".utf8))
        #expect(server.listener.statistics.completed == 1)
        #expect(client.session.protocolAndCipher.hasPrefix("TLSv1.3"))
    }

    @Test(
        "2000 small TLS records with readBytesPerEventMax 1000 all come back: records OpenSSL read ahead are read without a new epoll event"
    )
    func bufferedInputUnderSmallReadBudget() throws {
        var limits = NetworkLimits()
        limits.readBytesPerEventMax = 1000
        let server = try TLSEchoServer(limits: limits)
        defer { server.stop() }
        let client = try BlockingTLSClient(port: server.port, context: try server.clientContext())
        let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        // One record per 100-byte write: the server's read-ahead takes many records per read(2), more than one
        // event's budget lets it hand over, and the socket has nothing left to announce.
        for start in stride(from: 0, to: payload.count, by: 100) {
            try client.write(Array(payload[start..<start + 100]))
        }
        let echoed = client.read(payload.count)
        let identical = echoed == payload
        #expect(echoed.count == payload.count)
        #expect(identical, "the echoed bytes differ from the ones sent")
    }

    @Test("a plaintext client on a TLS listener is closed, counted as not TLS, and never reaches the handler")
    func plaintextRefused() throws {
        let server = try TLSEchoServer()
        defer { server.stop() }
        let client = try BlockingClient(port: server.port)
        defer { client.close() }
        client.write([0x00, 0x04, 0x30, 0x38, 0x30, 0x30])
        #expect(client.read(100).isEmpty)
        #expect(server.eventually { server.listener.statistics.refused(.notTLS) == 1 })
        #expect(server.handler.received.load(ordering: .relaxed) == 0)
    }

    @Test(
        "a client that stops mid-handshake is closed at tlsHandshakeTimeoutMs and counted as timeout; a silent one too")
    func handshakeTimeout() throws {
        var limits = NetworkLimits()
        limits.tlsHandshakeTimeoutMs = 200
        let server = try TLSEchoServer(limits: limits)
        defer { server.stop() }
        let partial = try BlockingClient(port: server.port)
        defer { partial.close() }
        // A handshake record header announcing 512 bytes, then only the first few of them.
        partial.write([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03])
        let silent = try BlockingClient(port: server.port)
        defer { silent.close() }
        let started = monotonicNanoseconds()
        #expect(partial.read(100).isEmpty)
        #expect(silent.read(100).isEmpty)
        #expect(monotonicNanoseconds() - started < 2_000_000_000, "BlockingClient reads time out after 2 s")
        #expect(server.eventually { server.listener.statistics.refused(.timeout) == 2 })
        // The listener still serves a good client afterwards.
        let client = try BlockingTLSClient(port: server.port, context: try server.clientContext())
        try client.write([1, 2, 3])
        #expect(client.read(3) == [1, 2, 3])
    }

    @Test(
        "tlsHandshakesPerIterationMax: the loop runs that many handshake steps per iteration, then refuses more until the next iteration"
    )
    func handshakeStepBudget() throws {
        var limits = NetworkLimits()
        limits.tlsHandshakesPerIterationMax = 3
        let loop = try EventLoop(index: 0, limits: limits, log: LogSink(descriptor: open("/dev/null", O_WRONLY)))
        #expect((0..<5).map { _ in loop.takeHandshakeStep() } == [true, true, true, false, false])
        loop.handshakeStepsThisIteration = 0  // what `run` does at the top of every iteration
        #expect(loop.takeHandshakeStep())
    }

    @Test(
        "with tlsHandshakesPerIterationMax 1, 24 concurrent handshakes are put off, not dropped: every one completes and echoes"
    )
    func handshakesAtStepLimitAllComplete() throws {
        var limits = NetworkLimits()
        limits.tlsHandshakesPerIterationMax = 1
        let server = try TLSEchoServer(limits: limits)
        defer { server.stop() }
        let context = try server.clientContext()
        let succeeded = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 24) { index in
            guard let client = try? BlockingTLSClient(port: server.port, context: context) else { return }
            try? client.write([UInt8(index)])
            if client.read(1) == [UInt8(index)] { succeeded.add(1, ordering: .relaxed) }
        }
        #expect(succeeded.load(ordering: .relaxed) == 24)
        #expect(server.listener.statistics.completed == 24)
        #expect(server.listener.statistics.refusedTotal == 0)
    }

    @Test(
        "mutual TLS: a client certificate from the authority is accepted; none, or one from another authority, is refused and counted"
    )
    func mutualTLS() throws {
        let server = try TLSEchoServer(mutual: true)
        defer { server.stop() }
        let accepted = try BlockingTLSClient(
            port: server.port, context: try server.clientContext(certificate: "client"))
        try accepted.write([7])
        #expect(accepted.read(1) == [7])
        #expect(server.listener.statistics.completed == 1)
        // TLS 1.3 clients finish their side before the server checks the certificate: the refusal shows as a
        // closed stream on the first read.
        for name in [nil, "rogue"] as [String?] {
            if let client = try? BlockingTLSClient(
                port: server.port, context: try server.clientContext(certificate: name))
            {
                try? client.write([8])
                #expect(client.read(1).isEmpty)
            }
        }
        #expect(server.eventually { server.listener.statistics.refused(.clientCertificateMissing) == 1 })
        #expect(server.eventually { server.listener.statistics.refused(.clientCertificateRefused) == 1 })
        #expect(server.handler.received.load(ordering: .relaxed) == 1)
    }

    @Test(
        "verifyDepthMax (4): a client certificate 4 intermediates below the authority is accepted, one 5 below is refused and counted"
    )
    func clientChainDepthLimit() throws {
        #expect(TLSServerContext.verifyDepthMax == 4)
        let server = try TLSEchoServer(mutual: true)
        defer { server.stop() }
        let accepted = try BlockingTLSClient(
            port: server.port, context: try server.clientContext(certificate: "chain4"))
        try accepted.write([4])
        #expect(accepted.read(1) == [4])
        if let deep = try? BlockingTLSClient(
            port: server.port, context: try server.clientContext(certificate: "chain5"))
        {
            try? deep.write([5])
            #expect(deep.read(1).isEmpty)
        }
        #expect(server.eventually { server.listener.statistics.refused(.clientCertificateRefused) == 1 })
        #expect(server.listener.statistics.completed == 1)
    }
}
