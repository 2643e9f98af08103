import Foundation
import Glibc
import HTTP
import Network
import Synchronization
import Testing

/// Answers given from another thread after the handler returned (as after a durable write), over a real
/// listener on an event loop: request order kept, limits still enforced meanwhile, a closed connection's late
/// answer dropped without harm.
@Suite("HTTP deferred answers")
struct HTTPDeferredResponderTests {
    /// Keeps each `/slow/{id}` request's deferred responder for a worker thread to answer.
    final class SlowHandler: HTTPHandler {
        let waiting = Mutex<[HTTPDeferredResponder]>([])
        let arrived = DispatchSemaphore(value: 0)

        func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
            let deferred = responder.deferred()
            waiting.withLock { $0.append(deferred) }
            arrived.signal()
        }

        /// From a thread that is not the loop's: answers the oldest waiting request with `text`.
        func answerFromWorker(_ text: String) {
            let worker = Thread { [self] in
                let deferred = waiting.withLock { $0.removeFirst() }
                let onWorker = !Thread.isMainThread
                deferred.answer { responder in
                    responder.respond(.ok, contentType: "text/plain", body: Array("\(text) \(onWorker)".utf8))
                }
            }
            worker.start()
        }
    }

    static func start(limits: HTTPLimits = HTTPLimits()) throws -> (EventLoopGroup, UInt16, SlowHandler) {
        let group = try EventLoopGroup(
            loopCount: 1, limits: NetworkLimits(), log: LogSink(descriptor: open("/dev/null", O_WRONLY)))
        let handler = SlowHandler()
        let router = TestRoutes.router()
        router.add(.get, "/slow/{id}", handler)
        let server = HTTPServer(router: router, limits: limits, loopCount: 1)
        let port = try server.listen(on: group, address: SocketAddress("127.0.0.1:0")!)
        group.start()
        return (group, port, handler)
    }

    /// Polls `condition` every millisecond for at most 10 s (a bound, not a timing assertion).
    static func waitUntil(_ what: String, _ condition: () -> Bool) throws {
        for _ in 0..<10_000 where !condition() { usleep(1000) }
        guard condition() else { throw SocketClientError(errno: 0, waitingFor: what) }
    }

    @Test("a worker thread's answer leaves first and the pipelined answer behind it waits for it")
    func answeredFromAnotherThread() throws {
        let (group, port, handler) = try Self.start()
        defer { group.stop() }
        let client = try SocketClient(port: port)
        client.write(
            "GET /slow/a HTTP/1.1\r\nHost: t\r\n\r\nGET /echo/b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        handler.arrived.wait()
        handler.answerFromWorker("answer a")
        let text = client.readUntilClosed()
        let first = try #require(text.range(of: "answer a true"))
        let second = try #require(text.range(of: "\"id\":\"b\""))
        #expect(first.upperBound < second.lowerBound, "answers in request order: \(text)")
    }

    @Test("while an answer is deferred, a pipelined request's head deadline still runs: 408 after the answer")
    func limitsHoldMeanwhile() throws {
        var limits = HTTPLimits()
        limits.headerReadTimeoutMs = 100
        let (group, port, handler) = try Self.start(limits: limits)
        defer { group.stop() }
        let client = try SocketClient(port: port)
        client.write("GET /slow/a HTTP/1.1\r\nHost: t\r\n\r\nGET /echo/b HTTP/1.1\r\nHo")
        handler.arrived.wait()
        handler.answerFromWorker("answer a")
        let text = client.readUntilClosed()
        #expect(text.hasPrefix("HTTP/1.1 200 OK"))
        let answer = try #require(text.range(of: "answer a true"))
        let timeout = try #require(text.range(of: "HTTP/1.1 408 Request Timeout"))
        #expect(answer.upperBound <= timeout.lowerBound)
    }

    @Test("a connection closed before its deferred answer: the answer is dropped and the server serves on")
    func closedMeanwhile() throws {
        let (group, port, handler) = try Self.start()
        defer { group.stop() }
        let client = try SocketClient(port: port)
        client.write("GET /slow/gone HTTP/1.1\r\nHost: t\r\n\r\n")
        handler.arrived.wait()
        client.close()
        try Self.waitUntil("the server saw the close") { group.connectionCount == 0 }
        handler.answerFromWorker("too late")
        try Self.waitUntil("the worker answered") { handler.waiting.withLock { $0.isEmpty } }
        let next = try SocketClient(port: port)
        next.write("GET /echo/after HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        let text = next.readUntilClosed()
        #expect(text.hasPrefix("HTTP/1.1 200 OK") && text.contains("\"id\":\"after\""))
    }
}

/// A blocking client socket with a 20 s receive timeout.
final class SocketClient {
    let descriptor: Int32
    private var closed = false

    init(port: UInt16) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw SocketClientError(errno: errno) }
    }

    deinit { close() }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(descriptor)
    }

    func write(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func readUntilClosed() -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }
}

struct SocketClientError: Error {
    let errno: Int32
    var waitingFor = ""
}
