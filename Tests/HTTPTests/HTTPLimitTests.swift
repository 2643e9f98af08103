import HTTP
import Testing

/// Every limit of `HTTPLimits` at its value (served) and one over (refused as specified, then closed).
@Suite("HTTP limits")
struct HTTPLimitTests {
    /// A GET whose head is exactly `size` bytes, padded with an `X-Pad` field.
    static func head(size: Int, path: String = "/echo/1") -> String {
        let bare = "GET \(path) HTTP/1.1\r\nHost: t\r\nX-Pad: \r\n\r\n"
        precondition(size >= bare.utf8.count, "the head cannot be that small")
        return
            "GET \(path) HTTP/1.1\r\nHost: t\r\nX-Pad: \(String(repeating: "p", count: size - bare.utf8.count))\r\n\r\n"
    }

    static func limits(_ change: (inout HTTPLimits) -> Void) -> HTTPLimits {
        var limits = HTTPLimits()
        change(&limits)
        return limits
    }

    @Test("headerBytesMax: a head of exactly the limit is served; one byte more is 431 and a close")
    func headerBytes() {
        let limits = Self.limits { $0.headerBytesMax = 1024 }
        let atLimit = HTTPHarness(limits: limits)
        atLimit.send(Self.head(size: 1024))
        #expect(atLimit.responses.map(\.status) == [200] && !atLimit.transport.isClosed)
        let over = HTTPHarness(limits: limits)
        over.send(Self.head(size: 1025), pieces: [600, 600])
        #expect(over.responses.map(\.status) == [431] && over.transport.isClosed)
    }

    @Test("a request line that alone outgrows headerBytesMax is 414 before its end arrives")
    func requestLineOverHeaderBytes() {
        let harness = HTTPHarness(limits: Self.limits { $0.headerBytesMax = 1024 })
        harness.send("GET /" + String(repeating: "a", count: 1100))
        #expect(harness.responses.map(\.status) == [414] && harness.transport.isClosed)
    }

    @Test("targetBytesMax: a target of exactly the limit is routed (404 here); one byte more is 414")
    func targetBytes() {
        let limits = Self.limits { $0.targetBytesMax = 100 }
        let atLimit = HTTPHarness(limits: limits)
        atLimit.send("GET /\(String(repeating: "t", count: 99)) HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(atLimit.responses.map(\.status) == [404] && !atLimit.transport.isClosed)
        let over = HTTPHarness(limits: limits)
        over.send("GET /\(String(repeating: "t", count: 100)) HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(over.responses.map(\.status) == [414] && over.transport.isClosed)
    }

    @Test("headerCountMax: exactly the limit of header fields is served; one more is 431")
    func headerCount() {
        let limits = Self.limits { $0.headerCountMax = 8 }
        func request(fields: Int) -> String {
            "GET /echo/1 HTTP/1.1\r\nHost: t\r\n" + (1..<fields).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        }
        let atLimit = HTTPHarness(limits: limits)
        atLimit.send(request(fields: 8))
        #expect(atLimit.responses.map(\.status) == [200])
        let over = HTTPHarness(limits: limits)
        over.send(request(fields: 9))
        #expect(over.responses.map(\.status) == [431] && over.transport.isClosed)
    }

    @Test("bodyBytesMax: a body of exactly the limit is served; one byte more is 413 before any body byte is read")
    func bodyBytes() {
        let limits = Self.limits { $0.bodyBytesMax = 4096 }
        let atLimit = HTTPHarness(limits: limits)
        atLimit.send(
            "POST /echo/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 4096\r\n\r\n" + String(repeating: "b", count: 4096))
        #expect(atLimit.responses.first?.bodyText.contains("\"bodyBytes\":4096") == true)
        let over = HTTPHarness(limits: limits)
        over.send("POST /echo/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 4097\r\n\r\n")
        #expect(over.responses.map(\.status) == [413] && over.transport.isClosed)
        #expect(over.responses.first?.bodyText.contains("bodyBytesMax") == true)
    }

    @Test("the default body limit is 1 MiB: 1,048,576 bytes are served, 1,048,577 are 413")
    func defaultBodyLimit() {
        let body = String(repeating: "x", count: 1 << 20)
        let atLimit = HTTPHarness()
        atLimit.send("POST /echo/1 HTTP/1.1\r\nHost: t\r\nContent-Length: \(1 << 20)\r\n\r\n" + body)
        #expect(atLimit.responses.first?.bodyText.contains("\"bodyBytes\":1048576") == true)
        let over = HTTPHarness()
        over.send("POST /echo/1 HTTP/1.1\r\nHost: t\r\nContent-Length: \((1 << 20) + 1)\r\n\r\n")
        #expect(over.responses.map(\.status) == [413])
    }

    @Test("headerReadTimeoutMs: a head still unfinished at the limit waits; past it, 408 and a close (slowloris)")
    func headerTimeout() {
        let harness = HTTPHarness(limits: Self.limits { $0.headerReadTimeoutMs = 1000 })
        harness.send("GET /echo/1 HTTP/1.1\r\nHo")
        harness.advance(milliseconds: 600)
        harness.send("st: t\r\n")
        harness.advance(milliseconds: 400)
        #expect(harness.responses.isEmpty && !harness.transport.isClosed, "a trickle does not move the deadline")
        harness.advance(milliseconds: 1)
        #expect(harness.responses.map(\.status) == [408] && harness.transport.isClosed)
    }

    @Test("bodyReadTimeoutMs: a body unfinished at the limit waits; past it, 408 and a close")
    func bodyTimeout() {
        let harness = HTTPHarness(limits: Self.limits { $0.bodyReadTimeoutMs = 1000 })
        harness.send("POST /echo/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12345")
        harness.advance(milliseconds: 1000)
        #expect(harness.responses.isEmpty && !harness.transport.isClosed)
        harness.advance(milliseconds: 1)
        #expect(harness.responses.map(\.status) == [408] && harness.transport.isClosed)
    }

    @Test("idleTimeoutMs: a connection idle for the limit stays; past it, it closes without an answer")
    func idleTimeout() {
        let harness = HTTPHarness(limits: Self.limits { $0.idleTimeoutMs = 1000 })
        harness.send(HTTPConnectionTests.get("/echo/1"))
        harness.advance(milliseconds: 1000)
        #expect(!harness.transport.isClosed)
        harness.advance(milliseconds: 1)
        #expect(harness.transport.isClosed && harness.responses.count == 1)
    }

    @Test("requestsInFlightPerConnectionMax: at the limit reading pauses; an answer makes room for the next request")
    func requestsInFlight() {
        let deferred = DeferredHandler()
        let limits = Self.limits { $0.requestsInFlightPerConnectionMax = 3 }
        let harness = HTTPHarness(router: TestRoutes.router(deferred: deferred), limits: limits)
        harness.send((1...5).map { HTTPConnectionTests.get("/later/\($0)") }.joined())
        #expect(deferred.waiting.map(\.id) == ["1", "2", "3"] && harness.transport.paused)
        deferred.answer("1")
        #expect(deferred.waiting.map(\.id) == ["2", "3", "4"] && harness.transport.paused)
        for id in ["2", "3", "4", "5"] { deferred.answer(id) }
        harness.pump()
        #expect(harness.responses.map(\.bodyText) == (1...5).map { "answer \($0)" } && !harness.transport.paused)
    }

    @Test("a read deadline does not run while the server holds the client back at requestsInFlightPerConnectionMax")
    func noTimeoutWhilePaused() {
        let deferred = DeferredHandler()
        let limits = Self.limits {
            $0.requestsInFlightPerConnectionMax = 1
            $0.headerReadTimeoutMs = 100
        }
        let harness = HTTPHarness(router: TestRoutes.router(deferred: deferred), limits: limits)
        harness.send(HTTPConnectionTests.get("/later/1") + HTTPConnectionTests.get("/later/2"))
        harness.advance(milliseconds: 5000)
        #expect(harness.responses.isEmpty && !harness.transport.isClosed)
        deferred.answer("1")
        deferred.answer("2")
        harness.pump()
        #expect(harness.responses.map(\.status) == [200, 200])
    }
}
