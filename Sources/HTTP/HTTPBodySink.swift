/// A route whose request body goes to a sink as it arrives instead of whole into the connection's buffer, so an
/// upload bigger than memory should hold (a member file of a million rows) costs one read's worth of memory per
/// connection, whatever its size.
///
/// Its requests need `Content-Length` (411 without it; chunked request bodies are refused for every route) of at
/// most `bodyBytesMax` bytes (413 before any body byte is read, naming `bodyBytesMaxName`); the listener's
/// `HTTPLimits.bodyBytesMax` does not apply to them. While the body arrives, `HTTPLimits.bodyReadTimeoutMs` runs
/// from the last bytes received rather than from the head (a long upload that keeps coming is not cut), except
/// while the sink holds reading back (`HTTPBodyDemand.pause`: the server is the slow side then).
public protocol HTTPStreamingHandler: AnyObject, Sendable {
    /// The largest body of this route, and the setting that says so (for the 413's detail).
    var bodyBytesMax: Int { get }
    var bodyBytesMaxName: String { get }

    /// The head has arrived, no byte of the body yet (`request.body` is empty; the request's views are valid
    /// during the call only). Either returns the sink for the body, which then answers through `responder` (at
    /// once or later, before or after the body's end) exactly once unless it is aborted; or answers (now or
    /// later) and returns nil: the body is then read and dropped so the connection can go on, or, when the client
    /// waits for `100 Continue` before sending it, the connection closes after the answer.
    func begin(_ request: HTTPRequest, _ responder: HTTPResponder) -> (any HTTPBodySink)?
}

/// Where a streamed body's bytes go, on the connection's loop thread, in order. After `end`, `abort` or a
/// `.discard` the connection calls it no more.
public protocol HTTPBodySink: AnyObject {
    /// The next bytes of the body, valid during the call only: the sink copies what it keeps.
    func append(_ bytes: UnsafeRawBufferPointer) -> HTTPBodyDemand
    /// Every byte of the body has been appended.
    func end()
    /// The body will not be complete. The connection is closed: an answer given now or later is dropped.
    func abort(_ reason: HTTPBodyAbort)
}

/// What a sink wants after taking some bytes.
public enum HTTPBodyDemand: Sendable, Equatable {
    case more
    /// Stop reading from the connection (the sink's buffer is full: its writer is slower than the client) until
    /// the sink calls `resumeBody()` on its responder; the socket's buffers then push back on the client.
    case pause
    /// The sink wants no more bytes (it answered, or will, with a refusal): the rest of the body is read and
    /// dropped, and the connection goes on with the next request.
    case discard
}

/// Why a streamed body stopped short.
public enum HTTPBodyAbort: Sendable, Equatable, CustomStringConvertible {
    /// The client closed or reset the connection, or half-closed it, before the last byte.
    case disconnected
    /// No byte arrived for `bodyReadTimeoutMs` (a stalled or slowloris client).
    case timedOut(milliseconds: Int)

    public var description: String {
        switch self {
        case .disconnected: return "the client went away before the end of the body"
        case .timedOut(let milliseconds):
            return "no byte of the body arrived for \(milliseconds) ms (bodyReadTimeoutMs)"
        }
    }
}

extension HTTPResponder {
    /// Reading goes on after the sink of this request's body answered `.pause`. Loop thread only; a request that
    /// is no longer streaming (ended, closed) is left alone.
    public func resumeBody() {
        connection.loopState.assertOwnedByCurrentThread()
        connection.resumeBody(sequence)
    }
}

extension HTTPDeferredResponder {
    /// `resumeBody()` from any thread (a sink's writer thread that has made room): hops to the connection's loop.
    public func resumeBody() {
        loop.execute { [self] in responder.resumeBody() }
    }
}
