import Network

/// One HTTP/1.1 connection: reads requests by offsets into its buffer, hands each to its route's handler, and
/// writes the answers in request order (pipelining-safe), keeping the connection alive between requests.
///
/// Everything here runs on the connection's loop thread. Bounds: the buffer holds at most one request's head and
/// body plus one read (`headerBytesMax`, `bodyBytesMax`), at most `requestsInFlightPerConnectionMax` requests
/// wait for answers (reading pauses at the limit), and a request must arrive within `headerReadTimeoutMs` and
/// `bodyReadTimeoutMs` (408 after). Any request the server cannot frame exactly gets its error and a close: after
/// a malformed request nothing later on the connection can be trusted to start where it seems to. A streamed
/// route's body goes to its sink as it arrives instead (HTTPConnection+Streaming.swift).
public final class HTTPConnection {
    /// Where the current request stands. Times are monotonic nanoseconds.
    enum Phase {
        /// Between requests (no byte of the next one yet), since `since`.
        case idle(since: UInt64)
        /// The head is arriving; its first byte came at `started`.
        case head(started: UInt64)
        /// The head is parsed (it starts at `consumed`); the body is arriving since `started`.
        case body(HTTPRequestHead, started: UInt64)
        /// The head of a streamed route's request is parsed (it starts at `consumed`); its handler begins once an
        /// answer may be opened (`requestsInFlightPerConnectionMax`).
        case streamHead(HTTPRequestHead, route: Int, started: UInt64)
        /// The body goes to `streamed` as it arrives; its last bytes came at `lastBytes`.
        case streaming(lastBytes: UInt64)
    }

    let transport: any HTTPTransport
    let server: HTTPServer
    let loopState: HTTPLoopState
    var phase: Phase
    /// Received bytes; the current request starts at `consumed`.
    var buffer: [UInt8] = []
    var consumed = 0
    var scanner: HTTPHeadScanner
    var fields: [HTTPHeaderField] = []
    var parameters: [Range<Int>] = []
    /// Answers in request order; see HTTPConnection+Responses.swift.
    var exchanges: ExchangeRing
    /// No more requests are read: one was refused, asked to close, or the peer ended its input.
    var closing = false
    var inputEnded = false
    public private(set) var isClosed = false
    /// Reading is paused because `requestsInFlightPerConnectionMax` answers are outstanding.
    var pausedForInFlight = false
    /// Inside `processBuffered` (a handler answering at once must not parse again underneath it).
    var isProcessing = false
    /// This connection's index in its loop's list (for the sweep), or -1 once removed.
    var sweepIndex = -1
    /// The body being streamed to a sink (phase `.streaming`).
    var streamed: StreamedBody?

    init(transport: any HTTPTransport, server: HTTPServer, loopState: HTTPLoopState, nowNs: UInt64) {
        self.transport = transport
        self.server = server
        self.loopState = loopState
        phase = .idle(since: nowNs)
        scanner = HTTPHeadScanner(headerBytesMax: server.limits.headerBytesMax)
        exchanges = ExchangeRing(capacity: server.limits.requestsInFlightPerConnectionMax)
        fields.reserveCapacity(server.limits.headerCountMax)
        parameters.reserveCapacity(HTTPRouter.parametersMax)
    }

    var limits: HTTPLimits { server.limits }
    var unconsumedCount: Int { buffer.count - consumed }

    /// Bytes arrived (valid only during the call).
    public func receive(_ bytes: UnsafeRawBufferPointer, nowNs: UInt64) {
        loopState.assertOwnedByCurrentThread()
        guard !closing && !isClosed else { return }
        precondition(unconsumedCount <= limits.headerBytesMax + limits.bodyBytesMax, "a request outgrew its limits")
        if case .idle = phase, !bytes.isEmpty { phase = .head(started: nowNs) }
        buffer.append(contentsOf: bytes)
        processBuffered(nowNs: nowNs)
    }

    /// The peer sends no more: answer what is in flight, then close. A request cut short is dropped.
    public func endOfInput() {
        inputEnded = true
        closing = true
        if streamed != nil {
            abortStreamedBody(.disconnected, close: .peerClosed)
            return
        }
        if exchanges.count == 0 && !isClosed { transport.closeWhenFlushed() }
    }

    /// The transport closed: forget everything (late answers are dropped).
    public func transportClosed() {
        isClosed = true
        closing = true
        if let sink = streamed?.sink {
            streamed = nil
            sink.abort(.disconnected)
        }
        streamed = nil
        buffer = []
        exchanges.removeAll()
        loopState.remove(self)
    }

    /// Parses and dispatches every complete request in the buffer, until it needs more bytes, a request is
    /// refused, or `requestsInFlightPerConnectionMax` answers are outstanding.
    func processBuffered(nowNs: UInt64) {
        guard !isProcessing else { return }
        isProcessing = true
        defer {
            isProcessing = false
            compact()
        }
        while !closing && !isClosed {
            switch phase {
            case .idle, .head:
                guard unconsumedCount > 0, let head = scanHead(nowNs: nowNs) else { return }
                startBody(head, nowNs: nowNs)
            case .body(let head, _):
                guard unconsumedCount >= head.length + head.contentLength else { return }
                guard exchanges.count < limits.requestsInFlightPerConnectionMax else {
                    pausedForInFlight = true
                    transport.pauseReading()
                    return
                }
                dispatch(head, nowNs: nowNs)
            case .streamHead(let head, let route, _):
                guard exchanges.count < limits.requestsInFlightPerConnectionMax else {
                    pausedForInFlight = true
                    transport.pauseReading()
                    return
                }
                beginStreamedBody(head, route: route, nowNs: nowNs)
            case .streaming:
                guard feedStreamedBody(nowNs: nowNs) else { return }
            }
        }
    }

    /// The next head when it is complete and valid; nil when more bytes are needed or it was refused.
    func scanHead(nowNs: UInt64) -> HTTPRequestHead? {
        if case .idle = phase { phase = .head(started: nowNs) }
        let outcome = buffer.withUnsafeBytes { scanner.scan(UnsafeRawBufferPointer(rebasing: $0[consumed...])) }
        switch outcome {
        case .incomplete: return nil
        case .failed(let error):
            refuse(error)
            return nil
        case .complete(let start, let end):
            consumed += start
            let headEnd = consumed + end - start
            let result: Result<HTTPRequestHead, HTTPRequestError> = buffer.withUnsafeBytes { raw in
                do throws(HTTPRequestError) {
                    let head = UnsafeRawBufferPointer(rebasing: raw[consumed..<headEnd])
                    return .success(try HTTPHeadParser.parse(head, limits: limits, fields: &fields))
                } catch {
                    return .failure(error)
                }
            }
            switch result {
            case .success(let head): return head
            case .failure(let error):
                refuse(error)
                return nil
            }
        }
    }

    /// The head is good: wait for its body, telling a client that expects it to go on (only when no earlier
    /// answer is outstanding, since an interim answer must not overtake them; the client then sends anyway).
    func startBody(_ head: HTTPRequestHead, nowNs: UInt64) {
        if server.router.hasStreamedRoutes, let route = streamedRoute(head) {
            startStreamedBody(head, route: route, nowNs: nowNs)
            return
        }
        guard head.contentLength <= limits.bodyBytesMax else {
            refuse(
                HTTPRequestError(
                    .contentTooLarge,
                    "the body of \(head.contentLength) bytes is larger than \(limits.bodyBytesMax) (bodyBytesMax)"))
            return
        }
        phase = .body(head, started: nowNs)
        let bodyArrived = unconsumedCount - head.length
        if head.expectsContinue && head.contentLength > bodyArrived && exchanges.count == 0 {
            transport.appendOutput { $0.append(contentsOf: "HTTP/1.1 100 Continue\r\n\r\n".utf8) }
        }
    }

    /// Routes a complete request and calls its handler (or answers 404/405), then moves past it.
    func dispatch(_ head: HTTPRequestHead, nowNs: UInt64) {
        let requestEnd = consumed + head.length + head.contentLength
        precondition(requestEnd <= buffer.count, "a request is dispatched once complete")
        if !head.keepAlive { stopReading() }
        let match = matchRoute(head)
        let route: Int?
        if case .found(let index) = match { route = index } else { route = nil }
        let sequence = exchanges.open(
            route: route, isHeadMethod: head.method == .head, version: head.version, keepAlive: head.keepAlive)
        switch match {
        case .found(let index): callHandler(index, head, sequence: sequence)
        case .notFound:
            respondProblem(sequence, HTTPProblem(.notFound, detail: "no resource at this path"))
        case .methodNotAllowed(let allowed):
            let allow = allowed.map(\.description).joined(separator: ", ")
            respondProblem(
                sequence, HTTPProblem(.methodNotAllowed, detail: "this resource allows \(allow)"),
                headers: [("Allow", allow)])
        }
        consumed = requestEnd
        scanner = HTTPHeadScanner(headerBytesMax: limits.headerBytesMax)
        phase = .idle(since: nowNs)
    }

    /// The route of the request whose head starts at `consumed`; its parameters go into `parameters`.
    func matchRoute(_ head: HTTPRequestHead) -> HTTPRouter.Match {
        buffer.withUnsafeBytes { raw in
            server.router.match(
                head.method,
                path: UnsafeRawBufferPointer(
                    rebasing: raw[(consumed + head.path.lowerBound)..<(consumed + head.path.upperBound)]),
                parameters: &parameters)
        }
    }

    func callHandler(_ route: Int, _ head: HTTPRequestHead, sequence: UInt64) {
        guard case .whole(let handler) = server.router.routes[route].handling else {
            preconditionFailure("a streamed route's request is not buffered")
        }
        withRequest(head, route: route, bodyCount: head.contentLength) { request in
            handler.handle(request, HTTPResponder(connection: self, sequence: sequence))
        }
    }

    /// The request whose head starts at `consumed`, with the first `bodyCount` bytes after its head as its body.
    func withRequest<Result>(
        _ head: HTTPRequestHead, route: Int, bodyCount: Int, _ body: (HTTPRequest) -> Result
    ) -> Result {
        let headStart = consumed
        let bodyStart = headStart + head.length
        precondition(bodyStart + bodyCount <= buffer.count, "the body handed over has arrived")
        return buffer.withUnsafeBytes { raw in
            fields.withUnsafeBufferPointer { fieldList in
                parameters.withUnsafeBufferPointer { parameterList in
                    body(
                        HTTPRequest(
                            method: head.method, version: head.version, route: route,
                            head: UnsafeRawBufferPointer(rebasing: raw[headStart..<bodyStart]), parsed: head,
                            fields: fieldList, parameterRanges: parameterList,
                            body: UnsafeRawBufferPointer(rebasing: raw[bodyStart..<(bodyStart + bodyCount)])))
                }
            }
        }
    }

    /// Answers `error` and closes after it (and after the answers before it).
    func refuse(_ error: HTTPRequestError) {
        stopReading()
        let sequence = exchanges.open(route: nil, isHeadMethod: false, version: .http11, keepAlive: false)
        respondProblem(sequence, HTTPProblem(error.status, detail: error.detail))
    }

    /// No request after this one is read.
    func stopReading() {
        closing = true
        transport.pauseReading()
    }

    /// Drops consumed bytes: all of them when the buffer is used up, else once they pass 16 KiB.
    func compact() {
        guard !isClosed else { return }
        if consumed == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 << 10)
            consumed = 0
        } else if consumed >= 16 << 10 {
            buffer.removeSubrange(0..<consumed)
            consumed = 0
        }
    }

    /// Closes a connection over a read deadline (408) or idle too long (closed without an answer). Called by the
    /// loop's sweep with the current time; paused connections are waiting for the server, not the client.
    func checkDeadlines(nowNs: UInt64) {
        guard !closing && !isClosed && !pausedForInFlight else { return }
        switch phase {
        case .idle(let since):
            if exchanges.count == 0 && nowNs &- since > UInt64(limits.idleTimeoutMs) * 1_000_000 {
                closing = true
                transport.close(.idleTimeout)
            }
        case .head(let started):
            if nowNs &- started > UInt64(limits.headerReadTimeoutMs) * 1_000_000 {
                refuse(
                    HTTPRequestError(
                        .requestTimeout,
                        "the request head did not arrive within \(limits.headerReadTimeoutMs) ms (headerReadTimeoutMs)")
                )
            }
        case .body(_, let started), .streamHead(_, _, let started):
            if nowNs &- started > UInt64(limits.bodyReadTimeoutMs) * 1_000_000 {
                refuse(
                    HTTPRequestError(
                        .requestTimeout,
                        "the request body did not arrive within \(limits.bodyReadTimeoutMs) ms (bodyReadTimeoutMs)"))
            }
        case .streaming(let lastBytes):
            checkStreamedBodyDeadline(lastBytes: lastBytes, nowNs: nowNs)
        }
    }
}
