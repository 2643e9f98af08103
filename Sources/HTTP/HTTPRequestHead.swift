/// The protocol versions the server speaks. A well-formed other version (`HTTP/2.0`) is answered 505.
public enum HTTPVersion: Sendable, Equatable {
    case http10, http11
}

/// One header field of a request: where its name and its value (without surrounding whitespace) are, as
/// offsets from the start of the request's head. Nothing is copied out of the received bytes.
public struct HTTPHeaderField: Sendable, Equatable {
    public var nameStart: Int32
    public var nameEnd: Int32
    public var valueStart: Int32
    public var valueEnd: Int32

    public var name: Range<Int> { Int(nameStart)..<Int(nameEnd) }
    public var value: Range<Int> { Int(valueStart)..<Int(valueEnd) }
}

/// A parsed request head: its method and version, where its target, path and query are (offsets from the
/// start of the head), and what its header fields mean for the connection: body length, keep-alive, `Expect`.
public struct HTTPRequestHead: Sendable, Equatable {
    public var method: HTTPMethod
    public var version: HTTPVersion
    /// The request target as sent (origin-form `/v1/health?x=1`, absolute-form or `*`).
    public var target: Range<Int>
    /// The path of the target: starts with `/`, or is `*` (OPTIONS only).
    public var path: Range<Int>
    /// After `?`, possibly empty; nil without `?`.
    public var query: Range<Int>?
    /// The body's length: `Content-Length`, or 0 without it (requests with `Transfer-Encoding` are refused).
    public var contentLength: Int
    /// A `Content-Length` field was sent (a streamed route needs one: 411 without).
    public var hasContentLength: Bool
    /// False when the client asked to close (`Connection: close`, or HTTP/1.0 without `keep-alive`).
    public var keepAlive: Bool
    /// `Expect: 100-continue`: the client waits for an interim 100 before it sends the body.
    public var expectsContinue: Bool
    public var headerCount: Int
    /// Bytes of the head, from the request line through the empty line.
    public var length: Int
}

/// Why a request cannot be served: the status to answer and a detail for the problem document. Every such
/// answer closes the connection, since the server cannot know where the next request would start.
public struct HTTPRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: HTTPStatus
    public let detail: String

    public init(_ status: HTTPStatus, _ detail: String) {
        self.status = status
        self.detail = detail
    }

    public var description: String { "\(status): \(detail)" }
}
