import HTTP
import Testing

/// One connection end to end in process: keep-alive, pipelining in order, HEAD, streaming, 404/405, `Expect`,
/// HTTP/1.0, and closes when and only when asked.
@Suite("HTTP connection")
struct HTTPConnectionTests {
    static func get(_ path: String, _ extra: String = "") -> String {
        "GET \(path) HTTP/1.1\r\nHost: test\r\n\(extra)\r\n"
    }

    @Test("keep-alive: three requests one after another on one connection, each answered, the connection open")
    func keepAlive() {
        let harness = HTTPHarness()
        for id in 1...3 { harness.send(Self.get("/echo/\(id)")) }
        let responses = harness.responses
        #expect(responses.map(\.status) == [200, 200, 200])
        for (index, response) in responses.enumerated() {
            #expect(response.bodyText.contains("\"id\":\"\(index + 1)\""))
        }
        #expect(responses.allSatisfy { $0.header("connection") == nil && $0.header("date")?.hasSuffix(" GMT") == true })
        #expect(!harness.transport.isClosed)
    }

    @Test("pipelining: answers leave in request order although the handler answers them in reverse")
    func pipelinedOutOfOrder() {
        let deferred = DeferredHandler()
        let harness = HTTPHarness(router: TestRoutes.router(deferred: deferred))
        harness.send(Self.get("/later/a") + Self.get("/echo/b") + Self.get("/later/c"))
        #expect(harness.responses.isEmpty, "the first answer is not ready, so nothing may leave")
        deferred.answer("c")
        #expect(harness.responses.isEmpty)
        deferred.answer("a")
        harness.pump()
        #expect(harness.responses.map(\.bodyText) == ["answer a", harness.responses[1].bodyText, "answer c"])
        #expect(harness.responses[1].bodyText.contains("\"id\":\"b\""))
    }

    @Test("HEAD: the GET route's head with its Content-Length and no body")
    func head() {
        let harness = HTTPHarness()
        harness.send("HEAD /echo/7 HTTP/1.1\r\nHost: t\r\n\r\n" + Self.get("/echo/8"))
        let output = harness.outputText
        #expect(output.hasPrefix("HTTP/1.1 200 OK\r\n"))
        let firstBody = output.components(separatedBy: "\r\n\r\n")[1]
        #expect(firstBody.hasPrefix("HTTP/1.1 200 OK"), "no body between the HEAD answer and the next")
    }

    @Test("streamed answers are chunked for HTTP/1.1 and delimited by the close for HTTP/1.0")
    func streaming() {
        let harness = HTTPHarness()
        harness.send(Self.get("/stream"))
        #expect(harness.responses.first?.chunked == true && harness.responses.first?.bodyText == "one two three")
        #expect(!harness.transport.isClosed)
        let old = HTTPHarness()
        old.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(old.transport.isClosed)
        #expect(
            old.responses.first?.bodyText == "one two three" && old.responses.first?.header("connection") == "close")
    }

    @Test("404 and 405 (with Allow) keep the connection; their bodies are problem documents")
    func notFoundAndMethodNotAllowed() {
        let harness = HTTPHarness()
        harness.send(Self.get("/nowhere") + "DELETE /echo/1 HTTP/1.1\r\nHost: t\r\n\r\n" + Self.get("/echo/2/"))
        let responses = harness.responses
        #expect(responses.map(\.status) == [404, 405, 404])
        #expect(responses[1].header("allow") == "GET, POST, HEAD")
        #expect(responses[0].bodyText.contains("\"title\":\"Not Found\""))
        #expect(!harness.transport.isClosed)
    }

    @Test("route parameters and queries reach the handler; the query never decides the route")
    func parametersAndQuery() {
        let harness = HTTPHarness()
        harness.send(Self.get("/items/g1/i2?a=b"))
        #expect(
            harness.responses.first?.bodyText.contains("\"id\":\"g1/i2\",\"bodyBytes\":0,\"query\":\"a=b\"") == true)
    }

    @Test("a body arriving in pieces is handed over whole; Expect: 100-continue gets 100 first")
    func bodyAndContinue() {
        let harness = HTTPHarness()
        harness.send("POST /echo/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
        #expect(harness.outputText == "HTTP/1.1 100 Continue\r\n\r\n")
        harness.send("01234", pieces: [2, 3])
        harness.send("56789")
        #expect(harness.responses.first?.bodyText.contains("\"bodyBytes\":10") == true)
    }

    @Test("Connection: close is answered with Connection: close, then the connection closes; later bytes are not read")
    func clientClose() {
        let harness = HTTPHarness()
        harness.send(Self.get("/echo/1", "Connection: close\r\n") + Self.get("/echo/2"))
        #expect(harness.responses.count == 1 && harness.responses[0].header("connection") == "close")
        #expect(harness.transport.isClosed)
    }

    @Test("HTTP/1.0 with keep-alive stays open and says so; without it, it closes after the answer")
    func http10() {
        let alive = HTTPHarness()
        alive.send("GET /echo/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(alive.responses.first?.header("connection") == "keep-alive" && !alive.transport.isClosed)
        let closing = HTTPHarness()
        closing.send("GET /echo/1 HTTP/1.0\r\n\r\n")
        #expect(closing.responses.first?.status == 200 && closing.transport.isClosed)
    }

    @Test("the peer's end of input: the answers in flight go out, then the connection closes")
    func endOfInputAfterPipelinedRequests() {
        let deferred = DeferredHandler()
        let harness = HTTPHarness(router: TestRoutes.router(deferred: deferred))
        harness.send(Self.get("/later/a") + Self.get("/echo/b"))
        harness.endInput()
        #expect(!harness.transport.isClosed)
        deferred.answer("a")
        harness.pump()
        #expect(harness.responses.count == 2 && harness.transport.isClosed)
    }

    @Test("an answer after the connection closed is dropped without harm")
    func lateAnswer() {
        let deferred = DeferredHandler()
        let harness = HTTPHarness(router: TestRoutes.router(deferred: deferred))
        harness.send(Self.get("/later/a"))
        harness.transport.close(.peerClosed)
        deferred.answer("a")
        #expect(harness.transport.output.isEmpty)
    }
}
