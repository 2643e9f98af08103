import Network

/// A request body on its way to a streamed route's sink: which answer it belongs to, how much is still to come,
/// and whether the sink holds reading back. A class, so a sink calling back into the connection during `append`
/// changes the one copy.
final class StreamedBody {
    /// Nil once the sink wants no more bytes: the rest is read and dropped.
    var sink: (any HTTPBodySink)?
    let sequence: UInt64
    var remaining: Int
    var pausedBySink = false
    let keepAlive: Bool

    init(sink: (any HTTPBodySink)?, sequence: UInt64, remaining: Int, keepAlive: Bool) {
        precondition(remaining >= 0, "a body length is not negative")
        self.sink = sink
        self.sequence = sequence
        self.remaining = remaining
        self.keepAlive = keepAlive
    }
}

/// Streamed bodies (HTTPBodySink.swift): the route is found as soon as the head is parsed, its handler begins
/// before the body, and each read's body bytes go to the sink at once, so the connection's buffer never holds
/// more than one read of them. A sink that falls behind pauses reading (the kernel's socket buffers then push
/// back on the client); nothing is queued without bound.
extension HTTPConnection {
    /// True while a sink holds reading back.
    var isHeldBySink: Bool { streamed?.pausedBySink == true }

    /// The streamed route of `head`, or nil (another route, or none: those are answered as usual).
    func streamedRoute(_ head: HTTPRequestHead) -> Int? {
        guard case .found(let route) = matchRoute(head), case .streamed = server.router.routes[route].handling else {
            return nil
        }
        return route
    }

    /// Checks the body's length against the route's limit (411 without one, 413 over it, before any body byte).
    func startStreamedBody(_ head: HTTPRequestHead, route: Int, nowNs: UInt64) {
        guard case .streamed(let handler) = server.router.routes[route].handling else {
            preconditionFailure("startStreamedBody is for streamed routes")
        }
        guard head.hasContentLength else {
            refuse(HTTPRequestError(.lengthRequired, "this resource takes its body with Content-Length"))
            return
        }
        guard head.contentLength <= handler.bodyBytesMax else {
            refuse(
                HTTPRequestError(
                    .contentTooLarge,
                    "the body of \(head.contentLength) bytes is larger than \(handler.bodyBytesMax) "
                        + "(\(handler.bodyBytesMaxName))"))
            return
        }
        phase = .streamHead(head, route: route, started: nowNs)
    }

    /// Opens the request's answer and asks its handler for a sink. A client waiting for `100 Continue` gets it
    /// only once the handler took the body; refused before it, it gets the answer and the connection closes (the
    /// client may or may not send the body then, so nothing after it could be framed).
    func beginStreamedBody(_ head: HTTPRequestHead, route: Int, nowNs: UInt64) {
        guard case .streamed(let handler) = server.router.routes[route].handling else {
            preconditionFailure("beginStreamedBody is for streamed routes")
        }
        let keepAlive = head.keepAlive && !head.expectsContinue  // restored below once the body is taken
        let sequence = exchanges.open(route: route, isHeadMethod: false, version: head.version, keepAlive: keepAlive)
        _ = streamedRoute(head)  // the route's parameters, for the handler
        let sink = withRequest(head, route: route, bodyCount: 0) { request in
            handler.begin(request, HTTPResponder(connection: self, sequence: sequence))
        }
        consumed += head.length
        scanner = HTTPHeadScanner(headerBytesMax: limits.headerBytesMax)
        if head.expectsContinue {
            guard sink != nil else {
                phase = .idle(since: nowNs)
                stopReading()
                return
            }
            if let index = exchanges.index(of: sequence), exchanges[index].state == .waiting {
                exchanges[index].keepAlive = head.keepAlive
            }
            if exchanges.count == 1 && head.contentLength > unconsumedCount {
                transport.appendOutput { $0.append(contentsOf: "HTTP/1.1 100 Continue\r\n\r\n".utf8) }
            }
        }
        streamed = StreamedBody(
            sink: sink, sequence: sequence, remaining: head.contentLength, keepAlive: head.keepAlive)
        phase = .streaming(lastBytes: nowNs)
    }

    /// Hands the body bytes that have arrived to the sink (or drops them once it wants no more); true when the
    /// body is complete and the next request may be read.
    func feedStreamedBody(nowNs: UInt64) -> Bool {
        guard let body = streamed else { preconditionFailure("a streaming phase has its body") }
        let count = min(unconsumedCount, body.remaining)
        if count > 0 && !body.pausedBySink {
            phase = .streaming(lastBytes: nowNs)
            let demand =
                body.sink.map { sink in
                    buffer.withUnsafeBytes {
                        sink.append(UnsafeRawBufferPointer(rebasing: $0[consumed..<(consumed + count)]))
                    }
                } ?? .discard
            consumed += count
            body.remaining -= count
            switch demand {
            case .more: break
            case .pause:
                body.pausedBySink = true
                transport.pauseReading()
            case .discard: body.sink = nil
            }
        }
        guard body.remaining == 0, !isClosed else { return false }
        streamed = nil
        phase = .idle(since: nowNs)
        if body.pausedBySink && !pausedForInFlight { transport.resumeReading() }
        if !body.keepAlive { stopReading() }
        body.sink?.end()
        return true
    }

    /// The sink of `sequence`'s body made room: reading goes on (unless the connection is held for another reason).
    func resumeBody(_ sequence: UInt64) {
        guard !isClosed, let body = streamed, body.sequence == sequence, body.pausedBySink else { return }
        body.pausedBySink = false
        let now = server.clock()
        phase = .streaming(lastBytes: now)
        if !pausedForInFlight && !closing { transport.resumeReading() }
        processBuffered(nowNs: now)
    }

    /// A body with no bytes for `bodyReadTimeoutMs` is given up: its sink is aborted and the connection closed (its
    /// answer belongs to the sink, which may be answering from another thread). Not while the sink holds reading
    /// back: the server is the slow side then.
    func checkStreamedBodyDeadline(lastBytes: UInt64, nowNs: UInt64) {
        guard !isHeldBySink, nowNs &- lastBytes > UInt64(limits.bodyReadTimeoutMs) * 1_000_000 else { return }
        let reason = HTTPBodyAbort.timedOut(milliseconds: limits.bodyReadTimeoutMs)
        abortStreamedBody(reason, close: .protocolError(reason.description))
    }

    /// The body will not be complete: the sink learns why, then the connection closes.
    func abortStreamedBody(_ reason: HTTPBodyAbort, close: CloseReason) {
        closing = true
        let sink = streamed?.sink
        streamed = nil
        sink?.abort(reason)
        transport.close(close)
    }
}
