import Foundation
import Glibc
import Network
import Synchronization
import Testing

/// A handler whose behaviour each test sets: echo, pause after the first bytes, or count.
final class ProbeHandler: ConnectionHandler, @unchecked Sendable {
    enum Mode { case echo, pauseOnFirstBytes }
    let mode: Mode
    let received = Atomic<Int>(0)
    let inputEndedCount = Atomic<Int>(0)

    init(mode: Mode) { self.mode = mode }

    func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection) {
        received.add(bytes.count, ordering: .relaxed)
        switch mode {
        case .echo: connection.send(Array(bytes))
        case .pauseOnFirstBytes: connection.pauseReading()
        }
    }

    func inputEnded(on connection: Connection) {
        inputEndedCount.add(1, ordering: .relaxed)
        connection.closeWhenFlushed()
    }

    func closed(_ connection: Connection, reason: CloseReason) {}
}

/// Blocking loopback client for the tests (timeouts on every call).
struct BlockingClient {
    let descriptor: Int32

    init(port: UInt16) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    func write(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads up to `count` bytes; an empty array means the peer closed (or the timeout passed).
    func read(_ count: Int) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let got = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, count, 0) }
        return got > 0 ? Array(buffer[0..<got]) : []
    }

    func close() { Glibc.close(descriptor) }
}

@Suite("Event loop group")
struct EventLoopGroupTests {
    static func makeGroup(_ limits: NetworkLimits = NetworkLimits(), mode: ProbeHandler.Mode) throws -> (
        EventLoopGroup, UInt16, ProbeHandler
    ) {
        let group = try EventLoopGroup(
            loopCount: 1, limits: limits, log: LogSink(descriptor: open("/dev/null", O_WRONLY)))
        let handler = ProbeHandler(mode: mode)
        let port = try group.listen(on: SocketAddress("127.0.0.1:0")!) { _ in handler }
        group.start()
        return (group, port, handler)
    }

    @Test("bytes written by a client come back through an echo handler")
    func echo() throws {
        let (group, port, _) = try Self.makeGroup(mode: .echo)
        defer { group.stop() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.write(Array("hello".utf8))
        #expect(client.read(5) == Array("hello".utf8))
    }

    @Test("a half-closed peer on a paused connection does not make the loop spin")
    func pausedHalfClosedPeerDoesNotSpin() throws {
        let (group, port, handler) = try Self.makeGroup(mode: .pauseOnFirstBytes)
        defer { group.stop() }
        let iterations = Atomic<Int>(0)
        let loop = group.loops[0]
        loop.execute { loop.addIterationHook { iterations.add(1, ordering: .relaxed) } }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.write([1, 2, 3])
        usleep(100_000)
        shutdown(client.descriptor, Int32(SHUT_WR))
        let before = iterations.load(ordering: .relaxed)
        usleep(300_000)
        let spins = iterations.load(ordering: .relaxed) - before
        #expect(handler.received.load(ordering: .relaxed) == 3)
        // Level-triggered RDHUP on a paused connection woke the loop thousands of times in 300 ms before the fix.
        #expect(spins < 20, "loop iterations in 300 ms: \(spins)")
    }

    @Test("a connection over connectionsMax is accepted and closed at once")
    func connectionLimit() throws {
        var limits = NetworkLimits()
        limits.connectionsMax = 2
        let (group, port, _) = try Self.makeGroup(limits, mode: .echo)
        defer { group.stop() }
        let first = try BlockingClient(port: port)
        let second = try BlockingClient(port: port)
        defer {
            first.close()
            second.close()
        }
        first.write([7])
        #expect(first.read(1) == [7])
        second.write([8])
        #expect(second.read(1) == [8])
        let third = try BlockingClient(port: port)
        defer { third.close() }
        #expect(third.read(1).isEmpty, "the third connection is closed by the switch")
        #expect(group.connectionCount == 2)
    }

    @Test("a peer that ends its input gets its pending output and then a close")
    func endOfInputClosesAfterFlush() throws {
        let (group, port, handler) = try Self.makeGroup(mode: .echo)
        defer { group.stop() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.write([9, 9])
        shutdown(client.descriptor, Int32(SHUT_WR))
        var echoed: [UInt8] = []
        for _ in 0..<10 where echoed.count < 2 { echoed += client.read(2 - echoed.count) }
        #expect(echoed == [9, 9])
        #expect(client.read(1).isEmpty)
        #expect(handler.inputEndedCount.load(ordering: .relaxed) == 1)
    }
}

@Suite("Loop wake-up deadlines")
struct LoopWakeTests {
    @Test("an idle loop asked to wake by a deadline runs an iteration then, not at its 1 s idle timeout")
    func wakeNoLaterThanEndsTheWait() throws {
        var limits = NetworkLimits()
        limits.idleTimeoutMs = 0  // no sweep timer: without the request the idle wait is 1 s
        let group = try EventLoopGroup(loopCount: 1, limits: limits, log: LogSink(descriptor: open("/dev/null", O_WRONLY)))
        let loop = group.loops[0]
        let iterationTimes = Mutex<[UInt64]>([])
        let requested = Atomic<UInt64>(0)
        loop.execute {
            loop.addIterationHook {
                let now = monotonicNanoseconds()
                iterationTimes.withLock { $0.append(now) }
                // Ask once, 50 ms ahead: the answer to a missed latency budget must not wait for traffic.
                if requested.load(ordering: .relaxed) == 0 {
                    requested.store(now + 50_000_000, ordering: .relaxed)
                    loop.wakeNoLaterThan(now + 50_000_000)
                }
            }
        }
        group.start()
        defer { group.stop() }
        usleep(400_000)
        let deadline = requested.load(ordering: .relaxed)
        let times = iterationTimes.withLock { $0 }
        #expect(deadline != 0)
        #expect(times.contains { $0 >= deadline && $0 < deadline + 100_000_000 }, "no iteration within 100 ms of the deadline")
    }
}
