import HTTP
import Network
import Synchronization
import TestSupport
import Testing

/// A transport in memory, behaving as `Network.Connection` does: output is kept, reading can be paused, a close
/// after flushing happens when the harness flushes (the loop's end of iteration), a close tells the connection.
final class MemoryTransport: HTTPTransport {
    var output: [UInt8] = []
    var paused = false
    var closeRequested = false
    var closeReason: CloseReason?
    weak var connection: HTTPConnection?

    var isClosed: Bool { closeReason != nil }
    var pendingOutputByteCount: Int { output.count }

    func appendOutput(_ body: (inout [UInt8]) -> Void) {
        guard closeReason == nil else { return }
        body(&output)
    }

    func pauseReading() { paused = true }
    func resumeReading() { paused = false }
    func closeWhenFlushed() { closeRequested = true }

    func close(_ reason: CloseReason) {
        guard closeReason == nil else { return }
        closeReason = reason
        connection?.transportClosed()
    }

    /// The end of a loop iteration: output is written, and a close waiting for it happens.
    func flush() {
        if closeRequested { close(.byHandler) }
    }
}

/// One server with one connection over a memory transport. Bytes are delivered as a socket would: in the
/// pieces given, only while reading is not paused, none after the close.
final class HTTPHarness {
    let clock: VirtualClock
    let server: HTTPServer
    let transport = MemoryTransport()
    let connection: HTTPConnection
    private var pending: [[UInt8]] = []
    private var inputEndPending = false

    init(router: HTTPRouter = TestRoutes.router(), limits: HTTPLimits = HTTPLimits()) {
        let clock = VirtualClock()
        self.clock = clock
        server = HTTPServer(router: router, limits: limits, loopCount: 1, clock: { clock.monotonicNs })
        connection = server.makeConnection(transport: transport, loopIndex: 0)
        transport.connection = connection
    }

    /// Another connection on a server made for `HTTPHarness.server(limits:clock:)` (the fuzz tests make one
    /// server for 100,000 connections).
    init(server: HTTPServer, clock: VirtualClock) {
        self.server = server
        self.clock = clock
        connection = server.makeConnection(transport: transport, loopIndex: 0)
        transport.connection = connection
    }

    static func server(limits: HTTPLimits, clock: VirtualClock) -> HTTPServer {
        HTTPServer(router: TestRoutes.router(), limits: limits, loopCount: 1, clock: { clock.monotonicNs })
    }

    /// Queues `bytes` in pieces of the given sizes (one piece by default) and delivers what may be delivered.
    func send(_ bytes: [UInt8], pieces: [Int]? = nil) {
        var offset = 0
        for size in pieces ?? [bytes.count] where size > 0 {
            pending.append(Array(bytes[offset..<min(offset + size, bytes.count)]))
            offset += size
        }
        if offset < bytes.count { pending.append(Array(bytes[offset...])) }
        pump()
    }

    func send(_ text: String, pieces: [Int]? = nil) { send(Array(text.utf8), pieces: pieces) }

    /// The peer half-closes after what it sent.
    func endInput() {
        inputEndPending = true
        pump()
    }

    func pump() {
        while !transport.paused && !transport.isClosed && !pending.isEmpty {
            let piece = pending.removeFirst()
            piece.withUnsafeBytes { connection.receive($0, nowNs: clock.monotonicNs) }
            transport.flush()
        }
        if inputEndPending && pending.isEmpty && !transport.isClosed {
            inputEndPending = false
            connection.endOfInput()
        }
        transport.flush()
    }

    /// Moves time and runs the loop's deadline sweep.
    func advance(milliseconds: Int) {
        clock.advance(milliseconds: milliseconds)
        server.sweep(loopIndex: 0)
        pump()
    }

    var responses: [ParsedResponse] { ParsedResponse.parseAll(transport.output, closed: transport.isClosed).responses }
    var outputText: String { String(decoding: transport.output, as: UTF8.self) }
}

/// A response read back from the output bytes by a small independent reader (Content-Length, chunked, or to
/// the close), for tests to check.
struct ParsedResponse: Equatable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    var chunked = false

    static func == (left: ParsedResponse, right: ParsedResponse) -> Bool {
        left.status == right.status && left.body == right.body
            && left.headers.map { "\($0):\($1)" } == right.headers.map { "\($0):\($1)" }
    }

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Every complete response in `bytes`; `leftover` is true when bytes remain that do not form one.
    static func parseAll(_ bytes: [UInt8], closed: Bool) -> (responses: [ParsedResponse], leftover: Bool) {
        var responses: [ParsedResponse] = []
        var offset = 0
        while offset < bytes.count {
            guard let (response, end) = parseOne(bytes, from: offset, closed: closed) else { return (responses, true) }
            if response.status != 100 { responses.append(response) }
            offset = end
        }
        return (responses, false)
    }

    static func parseOne(_ bytes: [UInt8], from start: Int, closed: Bool) -> (ParsedResponse, Int)? {
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = start
        var index = start
        while true {
            guard index + 1 < bytes.count else { return nil }
            if bytes[index] == 13 && bytes[index + 1] == 10 {
                if index == lineStart { break }
                lines.append(bytes[lineStart..<index])
                lineStart = index + 2
                index += 2
            } else {
                index += 1
            }
        }
        let headEnd = index
        guard let statusLine = lines.first, statusLine.starts(with: "HTTP/1.1 ".utf8), statusLine.count >= 12,
            let status = Int(String(decoding: statusLine.dropFirst(9).prefix(3), as: UTF8.self))
        else { return nil }
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            var value = line[(colon + 1)...]
            while value.first == 0x20 { value = value.dropFirst() }
            headers.append((String(decoding: line[..<colon], as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        var response = ParsedResponse(status: status, headers: headers, body: [])
        var position = headEnd + 2
        if status == 100 || status == 204 || status == 304 { return (response, position) }
        if let length = response.header("content-length").flatMap(Int.init) {
            // An answer to HEAD has the length but no body: the next answer (or the end) follows the head at once.
            // No body in these tests starts with a status line.
            let rest = bytes[position...]
            if length > 0 && (rest.isEmpty || rest.starts(with: "HTTP/1.1 ".utf8)) { return (response, position) }
            guard position + length <= bytes.count else { return nil }
            response.body = Array(bytes[position..<(position + length)])
            return (response, position + length)
        }
        if response.header("transfer-encoding") == "chunked" {
            response.chunked = true
            let rest = bytes[position...]
            if rest.isEmpty || rest.starts(with: "HTTP/1.1 ".utf8) { return (response, position) }
            while true {
                var lineEnd = position
                while lineEnd + 2 <= bytes.count && !(bytes[lineEnd] == 13 && bytes[lineEnd + 1] == 10) { lineEnd += 1 }
                guard lineEnd + 2 <= bytes.count,
                    let size = Int(String(decoding: bytes[position..<lineEnd], as: UTF8.self), radix: 16)
                else { return nil }
                position = lineEnd + 2
                guard position + size + 2 <= bytes.count else { return nil }
                response.body += bytes[position..<(position + size)]
                position += size + 2
                if size == 0 { return (response, position) }
            }
        }
        guard closed else { return nil }
        response.body = Array(bytes[position...])
        return (response, bytes.count)
    }
}

extension Array where Element == UInt8 {
    /// The ASCII case-insensitive text, for `contains` checks.
    var text: String { String(decoding: self, as: UTF8.self) }
}

/// Handlers for tests: an echo of what the request looked like, one that answers later, one that streams.
enum TestRoutes {
    static func router(deferred: DeferredHandler? = nil) -> HTTPRouter {
        let router = HTTPRouter()
        router.add(.get, "/echo/{id}", EchoHandler())
        router.add(.post, "/echo/{id}", EchoHandler())
        router.add(.get, "/stream", StreamHandler())
        router.add(.get, "/items/{group}/{item}", EchoHandler())
        if let deferred { router.add(.get, "/later/{id}", deferred) }
        return router
    }
}

/// `{"method", "id", "bodyBytes", "query"}` with the first path parameter as `id`.
final class EchoHandler: HTTPHandler {
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let parameters = (0..<request.parameterCount).map { String(decoding: request.parameter($0), as: UTF8.self) }
        let query = request.query.map { String(decoding: $0, as: UTF8.self) }
        let bodyCount = request.body.count
        let method = "\(request.method)"
        responder.respondJSON(.ok) { json in
            json.beginObject()
            json.member("method", method)
            json.member("id", parameters.joined(separator: "/"))
            json.member("bodyBytes", Int64(bodyCount))
            json.key("query")
            if let query { json.string(query) } else { json.null() }
            json.endObject()
        }
    }
}

/// Keeps each responder; the test answers them later, in any order.
final class DeferredHandler: HTTPHandler, @unchecked Sendable {
    var waiting: [(id: String, responder: HTTPResponder)] = []

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        waiting.append((String(decoding: request.parameter(0), as: UTF8.self), responder))
    }

    func answer(_ id: String) {
        let index = waiting.firstIndex { $0.id == id }!
        let responder = waiting.remove(at: index).responder
        responder.respond(.ok, contentType: "text/plain", body: Array("answer \(id)".utf8))
    }
}

/// Three chunks: `one`, `two`, `three`.
final class StreamHandler: HTTPHandler {
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        responder.startStream(.ok, contentType: "text/plain")
        for piece in ["one ", "two ", "three"] { Array(piece.utf8).withUnsafeBytes { responder.stream($0) } }
        responder.finishStream()
    }
}

/// Sizes that cut `total` bytes into random pieces of 1...`pieceMax`.
func randomPieces(_ total: Int, pieceMax: Int, using random: inout SplitMix64) -> [Int] {
    var pieces: [Int] = []
    var covered = 0
    while covered < total {
        let size = min(1 + random.below(pieceMax), total - covered)
        pieces.append(size)
        covered += size
    }
    return pieces
}
