/// One request as a handler sees it: views into the received bytes, valid only during `HTTPHandler.handle`.
/// A handler that answers later copies what it needs (a parsed JSON body, an id) before it returns.
public struct HTTPRequest {
    public let method: HTTPMethod
    public let version: HTTPVersion
    /// The route's index in the router (its name in metrics).
    public let route: Int
    /// The head, from the request line through its empty line.
    let head: UnsafeRawBufferPointer
    let parsed: HTTPRequestHead
    let fields: UnsafeBufferPointer<HTTPHeaderField>
    let parameterRanges: UnsafeBufferPointer<Range<Int>>
    /// The body (`Content-Length` bytes; empty without one).
    public let body: UnsafeRawBufferPointer

    /// The path, starting with `/`, still percent-encoded.
    public var path: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: head[parsed.path]) }

    /// The query after `?` (possibly empty), or nil.
    public var query: UnsafeRawBufferPointer? { parsed.query.map { UnsafeRawBufferPointer(rebasing: head[$0]) } }

    /// The `{name}` segments of the route's pattern, in order, as sent (percent-encoded).
    public var parameterCount: Int { parameterRanges.count }

    public func parameter(_ index: Int) -> UnsafeRawBufferPointer {
        precondition(index >= 0 && index < parameterRanges.count, "the route has no parameter \(index)")
        return UnsafeRawBufferPointer(rebasing: path[parameterRanges[index]])
    }

    /// The first header field named `name` (give it in lowercase; names compare without case).
    public func header(_ name: String) -> UnsafeRawBufferPointer? {
        precondition(!name.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }, "lowercase name")
        for field in fields where HTTPBytes.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: head[field.name]), name)
        {
            return UnsafeRawBufferPointer(rebasing: head[field.value])
        }
        return nil
    }

    /// True when `Content-Type` is `application/json`, with or without parameters (`; charset=utf-8`).
    public var hasJSONBody: Bool {
        guard let type = header("content-type") else { return false }
        let end = HTTPBytes.firstIndex(of: UInt8(ascii: ";"), in: type, from: 0, to: type.count) ?? type.count
        var upper = end
        while upper > 0 && HTTPBytes.isWhitespace(type[upper - 1]) { upper -= 1 }
        return HTTPBytes.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: type[0..<upper]), "application/json")
    }
}

/// How a handler answers one request, now or later on the same loop. Answers leave in request order whatever
/// order handlers finish in. Each request gets exactly one answer: a whole one (`respond`), or a stream
/// (`startStream`, `stream`…, `finishStream`). An answer after the connection closed is dropped.
public struct HTTPResponder {
    let connection: HTTPConnection
    let sequence: UInt64

    /// The whole answer at once.
    public func respond(
        _ status: HTTPStatus, contentType: String?, body: UnsafeRawBufferPointer, headers: [(String, String)] = []
    ) {
        connection.respond(sequence, status, contentType: contentType, body: body, headers: headers)
    }

    public func respond(
        _ status: HTTPStatus, contentType: String?, body: [UInt8], headers: [(String, String)] = []
    ) {
        body.withUnsafeBytes { respond(status, contentType: contentType, body: $0, headers: headers) }
    }

    /// A JSON answer written by `build` into the loop's scratch buffer (no allocation once it has grown).
    public func respondJSON(_ status: HTTPStatus, headers: [(String, String)] = [], _ build: (inout JSONWriter) -> Void)
    {
        var writer = JSONWriter(reusing: connection.loopState.takeScratch())
        build(&writer)
        precondition(writer.isComplete, "the handler wrote an incomplete JSON value")
        writer.bytes.withUnsafeBytes { respond(status, contentType: "application/json", body: $0, headers: headers) }
        connection.loopState.giveBackScratch(writer.bytes)
    }

    /// An RFC 9457 problem document.
    public func respond(problem: HTTPProblem, headers: [(String, String)] = []) {
        var writer = JSONWriter(reusing: connection.loopState.takeScratch())
        problem.write(to: &writer)
        writer.bytes.withUnsafeBytes {
            respond(problem.status, contentType: HTTPProblem.contentType, body: $0, headers: headers)
        }
        connection.loopState.giveBackScratch(writer.bytes)
    }

    /// Starts an answer whose length is not known yet: chunked for HTTP/1.1, delimited by the close for 1.0.
    public func startStream(_ status: HTTPStatus, contentType: String?, headers: [(String, String)] = []) {
        connection.startStream(sequence, status, contentType: contentType, headers: headers)
    }

    /// The next piece of a streamed answer (an empty piece writes nothing).
    public func stream(_ bytes: UnsafeRawBufferPointer) {
        connection.stream(sequence, bytes)
    }

    public func finishStream() {
        connection.finishStream(sequence)
    }
}
