import HTTP
import Network
import TestSupport
import Testing

/// Streamed request bodies (HTTPBodySink.swift) over the memory transport: bytes reach the sink in order however
/// the client cuts them, the route's own limit replaces `bodyBytesMax`, a sink that falls behind stops the reads,
/// and a body that stops short (disconnect, half-close, stall) aborts the sink and closes the connection.
@Suite("HTTP streamed bodies")
struct HTTPBodySinkTests {
    /// Takes `/upload/{id}` bodies into a `RecordingSink`; `refuse` answers 403 at the head instead.
    final class UploadHandler: HTTPStreamingHandler, @unchecked Sendable {
        let bodyBytesMax: Int
        var bodyBytesMaxName: String { "test.uploadBytesMax" }
        var sinks: [RecordingSink] = []
        var begun = 0
        var refuse = false
        var pauseAtBytes = Int.max
        var discardAtBytes = Int.max

        init(bodyBytesMax: Int) { self.bodyBytesMax = bodyBytesMax }

        func begin(_ request: HTTPRequest, _ responder: HTTPResponder) -> (any HTTPBodySink)? {
            begun += 1
            #expect(request.body.isEmpty && request.parameterCount == 1)
            if refuse {
                responder.respond(problem: HTTPProblem(.forbidden, detail: "not you"))
                return nil
            }
            let sink = RecordingSink(responder: responder, pauseAtBytes: pauseAtBytes, discardAtBytes: discardAtBytes)
            sinks.append(sink)
            return sink
        }
    }

    /// Keeps every byte; pauses each time it holds `pauseAtBytes` more; answers 422 and discards past
    /// `discardAtBytes`; answers 201 with the byte count at the end.
    final class RecordingSink: HTTPBodySink {
        let responder: HTTPResponder
        let pauseAtBytes: Int
        let discardAtBytes: Int
        var bytes: [UInt8] = []
        var appends = 0
        var ended = 0
        var aborted: HTTPBodyAbort?
        private var sincePause = 0

        init(responder: HTTPResponder, pauseAtBytes: Int, discardAtBytes: Int) {
            self.responder = responder
            self.pauseAtBytes = pauseAtBytes
            self.discardAtBytes = discardAtBytes
        }

        func append(_ piece: UnsafeRawBufferPointer) -> HTTPBodyDemand {
            appends += 1
            bytes += piece
            sincePause += piece.count
            if bytes.count > discardAtBytes {
                responder.respond(problem: HTTPProblem(.unprocessableContent, detail: "enough"))
                return .discard
            }
            guard sincePause >= pauseAtBytes else { return .more }
            sincePause = 0
            return .pause
        }

        func end() {
            ended += 1
            responder.respond(.created, contentType: "text/plain", body: Array("got \(bytes.count)".utf8))
        }

        func abort(_ reason: HTTPBodyAbort) { aborted = reason }
    }

    static func harness(bodyBytesMax: Int = 1 << 20, limits: HTTPLimits = HTTPLimits()) -> (HTTPHarness, UploadHandler)
    {
        let handler = UploadHandler(bodyBytesMax: bodyBytesMax)
        let router = TestRoutes.router()
        router.add(.post, "/upload/{id}", streaming: handler)
        return (HTTPHarness(router: router, limits: limits), handler)
    }

    static func upload(_ body: [UInt8], extra: String = "") -> [UInt8] {
        Array("POST /upload/1 HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.count)\r\n\(extra)\r\n".utf8) + body
    }

    static func body(_ count: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    @Test(
        "a Content-Length body in random pieces (1 byte up to 3 KiB) reaches the sink whole, in order, then a pipelined request is served"
    )
    func piecesInOrder() {
        var random = SplitMix64(seed: 16)
        for round in 0..<50 {
            let (harness, handler) = Self.harness()
            let body = Self.body(1 + random.below(40_000), seed: UInt64(round))
            let bytes = Self.upload(body) + Array("GET /echo/after HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
            let pieceMax = 1 + random.below(3000)
            harness.send(bytes, pieces: randomPieces(bytes.count, pieceMax: pieceMax, using: &random))
            let sink = handler.sinks[0]
            #expect(sink.bytes == body && sink.ended == 1 && sink.aborted == nil)
            #expect(harness.responses.map(\.status) == [201, 200])
            #expect(harness.responses.first?.bodyText == "got \(body.count)")
        }
    }

    @Test(
        "a streamed route's limit replaces bodyBytesMax: 4 MiB pass a listener limited to 1 KiB; one byte over the route's limit is 413 before the handler begins"
    )
    func routeLimit() {
        var limits = HTTPLimits()
        limits.bodyBytesMax = 1024
        let (harness, handler) = Self.harness(bodyBytesMax: 4 << 20, limits: limits)
        let body = Self.body(4 << 20, seed: 1)
        let bytes = Self.upload(body)
        harness.send(bytes, pieces: Array(repeating: 64 << 10, count: bytes.count / (64 << 10)))
        #expect(harness.responses.map(\.status) == [201] && handler.sinks[0].bytes.count == body.count)
        let (over, overHandler) = Self.harness(bodyBytesMax: 4 << 20, limits: limits)
        over.send("POST /upload/1 HTTP/1.1\r\nHost: a\r\nContent-Length: \((4 << 20) + 1)\r\n\r\n")
        #expect(over.responses.map(\.status) == [413] && over.transport.isClosed && overHandler.begun == 0)
        #expect(over.responses[0].bodyText.contains("test.uploadBytesMax"))
        let (buffered, _) = Self.harness(limits: limits)
        buffered.send("POST /echo/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 1025\r\n\r\n")
        #expect(buffered.responses.map(\.status) == [413], "other routes keep bodyBytesMax")
    }

    @Test("411 without Content-Length, and for a chunked body, before the handler begins")
    func lengthRequired() {
        for head in [
            "POST /upload/1 HTTP/1.1\r\nHost: a\r\n\r\n",
            "POST /upload/1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        ] {
            let (harness, handler) = Self.harness()
            harness.send(head)
            #expect(harness.responses.map(\.status) == [411] && handler.begun == 0, "\(head)")
        }
    }

    @Test("a sink that falls behind stops the reads: nothing more is delivered until it resumes, then the rest flows")
    func pauseAndResume() {
        let (harness, handler) = Self.harness()
        handler.pauseAtBytes = 10_000
        let body = Self.body(50_000, seed: 2)
        let bytes = Self.upload(body)
        harness.send(bytes, pieces: [bytes.count - body.count] + Array(repeating: 1000, count: 50))
        let sink = handler.sinks[0]
        var pauses = 0
        while sink.ended == 0 && pauses < 100 {
            #expect(harness.transport.paused && sink.bytes.count % 10_000 == 0, "paused at \(sink.bytes.count)")
            let held = sink.bytes.count
            harness.advance(milliseconds: 60_000)  // a paused body has no deadline: the server is the slow side
            #expect(sink.bytes.count == held && sink.aborted == nil && !harness.transport.isClosed)
            sink.responder.resumeBody()
            harness.pump()
            pauses += 1
        }
        #expect(sink.bytes == body && sink.ended == 1 && pauses == 4)
        #expect(harness.responses.map(\.status) == [201] && !harness.transport.paused)
    }

    @Test(
        "the client goes away mid-body (close, or half-close): the sink is aborted, never ended, the connection closed")
    func disconnect() {
        let (closed, closedHandler) = Self.harness()
        closed.send(Array(Self.upload(Self.body(10_000, seed: 3)).prefix(5000)))
        closed.transport.close(.peerReset("test"))
        #expect(closedHandler.sinks[0].aborted == .disconnected && closedHandler.sinks[0].ended == 0)
        let (halfClosed, halfHandler) = Self.harness()
        halfClosed.send(Array(Self.upload(Self.body(10_000, seed: 3)).prefix(5000)))
        halfClosed.endInput()
        #expect(halfHandler.sinks[0].aborted == .disconnected && halfHandler.sinks[0].ended == 0)
        #expect(halfClosed.transport.isClosed && halfClosed.responses.isEmpty)
    }

    @Test(
        "no body byte for bodyReadTimeoutMs (counted from the last one) aborts the sink and closes; steady bytes are never cut"
    )
    func stalledBody() {
        var limits = HTTPLimits()
        limits.bodyReadTimeoutMs = 1000
        let (harness, handler) = Self.harness(limits: limits)
        let bytes = Self.upload(Self.body(20_000, seed: 4))
        harness.send(Array(bytes.prefix(1000)))
        for offset in stride(from: 1000, to: 15_000, by: 1000) {
            harness.advance(milliseconds: 900)  // 14 × 900 ms: far past 1000 ms in all, never 1000 ms without a byte
            harness.send(Array(bytes[offset..<(offset + 1000)]))
        }
        #expect(handler.sinks[0].aborted == nil && !harness.transport.isClosed)
        harness.advance(milliseconds: 1001 + 250)
        #expect(handler.sinks[0].aborted == .timedOut(milliseconds: 1000) && harness.transport.isClosed)
        #expect(handler.sinks[0].ended == 0)
    }

    @Test(
        "a sink that refuses midway (.discard) answers at once; the rest of the body is dropped and the next request served"
    )
    func discardRest() {
        let (harness, handler) = Self.harness()
        handler.discardAtBytes = 3000
        let body = Self.body(30_000, seed: 5)
        let bytes = Self.upload(body) + Array("GET /echo/next HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        harness.send(bytes, pieces: Array(repeating: 2000, count: bytes.count / 2000))
        let sink = handler.sinks[0]
        #expect(sink.bytes.count <= 4000 + 2000 && sink.ended == 0 && sink.aborted == nil)
        #expect(harness.responses.map(\.status) == [422, 200] && !harness.transport.isClosed)
    }

    @Test(
        "refused at the head: the body is read and dropped and the connection goes on; with Expect: 100-continue no 100 is sent and it closes"
    )
    func refusedAtHead() {
        let (harness, handler) = Self.harness()
        handler.refuse = true
        harness.send(Self.upload(Self.body(5000, seed: 6)) + Array("GET /echo/next HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        #expect(harness.responses.map(\.status) == [403, 200] && !harness.transport.isClosed)
        let (expecting, expectingHandler) = Self.harness()
        expectingHandler.refuse = true
        expecting.send("POST /upload/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        #expect(!expecting.outputText.contains("100 Continue") && expecting.responses.map(\.status) == [403])
        #expect(expecting.transport.isClosed)
    }

    @Test("taken with Expect: 100-continue: 100 Continue goes out before the body, and the answer after it")
    func continueWhenTaken() {
        let (harness, handler) = Self.harness()
        harness.send("POST /upload/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        #expect(harness.outputText.hasPrefix("HTTP/1.1 100 Continue\r\n\r\n") && handler.begun == 1)
        harness.send("hello")
        #expect(harness.responses.map(\.status) == [201] && handler.sinks[0].bytes == Array("hello".utf8))
    }

    @Test("an empty body (Content-Length: 0) is begun and ended with no append")
    func emptyBody() {
        let (harness, handler) = Self.harness()
        harness.send(Self.upload([]))
        #expect(handler.sinks[0].appends == 0 && handler.sinks[0].ended == 1)
        #expect(harness.responses.first?.bodyText == "got 0")
    }
}
