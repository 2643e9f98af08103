import Foundation
import Glibc
import Synchronization
import Testing

@testable import Network

/// Records what an outbound connection went through, for the tests to read from their own thread.
final class OutboundProbe: OutboundConnectionHandler, @unchecked Sendable {
    let connectedCount = Atomic<Int>(0)
    let received = Mutex<[UInt8]>([])
    let closeReason = Mutex<CloseReason?>(nil)

    func connected(_ connection: Connection) { connectedCount.add(1, ordering: .relaxed) }
    func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection) {
        received.withLock { $0.append(contentsOf: bytes) }
    }
    func inputEnded(on connection: Connection) { connection.close(.peerClosed) }
    func closed(_ connection: Connection, reason: CloseReason) { closeReason.withLock { $0 = reason } }
}

/// `EventLoop.connect`: connections this process opens, on a loop.
struct OutboundConnectionTests {
    static func waitFor(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while !condition() && Date() < deadline { usleep(2000) }
        return condition()
    }

    @Test("bytes sent before the connect finished go out once it does; the answer comes back to the handler")
    func connectsAndExchanges() throws {
        let (group, port, _) = try EventLoopGroupTests.makeGroup(mode: .echo)
        defer { group.stop() }
        let probe = OutboundProbe()
        let loop = group.loops[0]
        loop.execute {
            guard let connection = try? loop.connect(to: SocketAddress("127.0.0.1:\(port)")!, handler: probe) else {
                return
            }
            connection.send(Array("ping".utf8))
        }
        #expect(Self.waitFor { probe.received.withLock { $0 } == Array("ping".utf8) })
        #expect(probe.connectedCount.load(ordering: .relaxed) == 1)
        #expect(probe.closeReason.withLock { $0 } == nil)
    }

    @Test("a refused connect closes the connection with the reason; connected is never called")
    func refused() throws {
        let (group, _, _) = try EventLoopGroupTests.makeGroup(mode: .echo)
        defer { group.stop() }
        // A port nothing listens on: bind one, note it, close it.
        let probe = OutboundProbe()
        let spare = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(spare, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let port = Listener.boundPort(of: spare)
        Glibc.close(spare)
        let loop = group.loops[0]
        loop.execute { _ = try? loop.connect(to: SocketAddress("127.0.0.1:\(port)")!, handler: probe) }
        #expect(Self.waitFor { probe.closeReason.withLock { $0 } != nil })
        guard case .peerReset(let detail) = probe.closeReason.withLock({ $0 }) else {
            Issue.record("closed with \(String(describing: probe.closeReason.withLock { $0 }))")
            return
        }
        #expect(detail.contains("refused"), "\(detail)")
        #expect(probe.connectedCount.load(ordering: .relaxed) == 0)
    }
}
