import Foundation
import Glibc
import Network
import Testing

/// A listener with its own `connectionsMax` (the admin API's) is bounded by it, apart from the group's limit.
@Suite("Listener limits")
struct ListenerLimitTests {
    /// Waits (bounded) until `condition` holds: the counts are updated on the loop thread after accept/close.
    static func eventually(_ condition: () -> Bool) -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            usleep(2_000)
        }
        return condition()
    }

    @Test("own connectionsMax: two served, the third closed at once; the group's limit of one is untouched")
    func ownLimit() throws {
        var limits = NetworkLimits()
        limits.connectionsMax = 1
        let group = try EventLoopGroup(
            loopCount: 1, limits: limits, log: LogSink(descriptor: open("/dev/null", O_WRONLY)))
        let handler = ProbeHandler(mode: .echo)
        let shared = try group.listen(on: SocketAddress("127.0.0.1:0")!) { _ in handler }
        let own = try group.listen(on: SocketAddress("127.0.0.1:0")!, connectionsMax: 2) { _ in handler }
        group.start()
        defer { group.stop() }
        let first = try BlockingClient(port: own)
        let second = try BlockingClient(port: own)
        let terminal = try BlockingClient(port: shared)
        defer { [first, second, terminal].forEach { $0.close() } }
        for (client, byte) in [(first, UInt8(1)), (second, 2), (terminal, 3)] {
            client.write([byte])
            #expect(client.read(1) == [byte])
        }
        let third = try BlockingClient(port: own)
        defer { third.close() }
        #expect(third.read(1).isEmpty, "the third connection on the listener with connectionsMax 2 is closed")
        #expect(Self.eventually { group.listenerStatuses.map(\.openConnections) == [1, 2] })
        #expect(group.connectionCount == 1, "the own listener's connections are not in the group's count")
        #expect(group.listenerStatuses.map(\.address) == ["127.0.0.1:\(shared)", "127.0.0.1:\(own)"])
        first.close()
        #expect(Self.eventually { group.listenerStatuses.map(\.openConnections) == [1, 1] })
    }
}
