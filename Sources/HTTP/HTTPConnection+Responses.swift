/// One request's answer on its way out: written straight to the connection when it is the oldest outstanding
/// answer, kept in `output` until then otherwise.
struct Exchange {
    enum State: Equatable {
        case free
        /// The handler has not started the answer.
        case waiting
        /// A streamed answer has started and not finished.
        case streaming(HTTPResponseWriter.Framing)
        case complete
    }

    var state = State.free
    var output: [UInt8] = []
    var route: Int?
    var isHeadMethod = false
    var version = HTTPVersion.http11
    /// False: the connection closes after this answer.
    var keepAlive = true
}

/// Outstanding answers, oldest first, in a fixed ring: `requestsInFlightPerConnectionMax` for requests, plus one
/// slot for the refusal (400, 408, 431…) that may follow them. Each exchange is named by its sequence number.
struct ExchangeRing {
    private var slots: [Exchange]
    private var front = 0
    private(set) var count = 0
    /// The sequence number of the oldest outstanding exchange.
    private(set) var frontSequence: UInt64 = 0

    init(capacity: Int) {
        precondition(capacity >= 1, "a connection answers at least one request at a time")
        slots = [Exchange](repeating: Exchange(), count: capacity + 1)
    }

    /// Opens the next exchange and returns its sequence number.
    mutating func open(route: Int?, isHeadMethod: Bool, version: HTTPVersion, keepAlive: Bool) -> UInt64 {
        precondition(count < slots.count, "more exchanges than the ring holds")
        let index = (front + count) % slots.count
        precondition(slots[index].state == .free, "the ring's next slot is taken")
        slots[index].state = .waiting
        slots[index].route = route
        slots[index].isHeadMethod = isHeadMethod
        slots[index].version = version
        slots[index].keepAlive = keepAlive
        count += 1
        return frontSequence + UInt64(count - 1)
    }

    /// The slot of an outstanding sequence number, or nil when it is not outstanding (answered, or closed).
    func index(of sequence: UInt64) -> Int? {
        guard sequence >= frontSequence && sequence < frontSequence + UInt64(count) else { return nil }
        return (front + Int(sequence - frontSequence)) % slots.count
    }

    subscript(index: Int) -> Exchange {
        get { slots[index] }
        _modify { yield &slots[index] }
    }

    var frontIndex: Int? { count > 0 ? front : nil }

    /// Frees the oldest exchange.
    mutating func popFront() {
        precondition(count > 0 && slots[front].state == .complete, "only a complete answer leaves the ring")
        slots[front].state = .free
        slots[front].output.removeAll(keepingCapacity: slots[front].output.capacity <= 64 << 10)
        front = (front + 1) % slots.count
        frontSequence += 1
        count -= 1
    }

    mutating func removeAll() {
        for index in slots.indices { slots[index] = Exchange() }
        frontSequence += UInt64(count)
        count = 0
    }
}

extension HTTPConnection {
    /// Appends to the answer of `sequence`: to the transport when it is the oldest outstanding one.
    func write(_ index: Int, _ body: (inout [UInt8]) -> Void) {
        if index == exchanges.frontIndex {
            transport.appendOutput(body)
        } else {
            body(&exchanges[index].output)
        }
    }

    func respond(
        _ sequence: UInt64, _ status: HTTPStatus, contentType: String?, body: UnsafeRawBufferPointer,
        headers: [(String, String)]
    ) {
        guard !isClosed, let index = exchanges.index(of: sequence) else { return }
        precondition(exchanges[index].state == .waiting, "a request is answered once")
        let exchange = exchanges[index]
        server.observer?.responded(route: exchange.route, status: status, loopIndex: loopState.loopIndex)
        let date = loopState.date.current()
        write(index) { output in
            HTTPResponseWriter.appendHead(
                status, contentType: contentType, framing: .length(body.count), keepAlive: exchange.keepAlive,
                version: exchange.version, date: date, headers: headers, to: &output)
            if !exchange.isHeadMethod { output.append(contentsOf: body) }
        }
        exchanges[index].state = .complete
        advanceFront()
    }

    func respondProblem(_ sequence: UInt64, _ problem: HTTPProblem, headers: [(String, String)] = []) {
        HTTPResponder(connection: self, sequence: sequence).respond(problem: problem, headers: headers)
    }

    func startStream(
        _ sequence: UInt64, _ status: HTTPStatus, contentType: String?, headers: [(String, String)] = []
    ) {
        guard !isClosed, let index = exchanges.index(of: sequence) else { return }
        precondition(exchanges[index].state == .waiting, "a request is answered once")
        let exchange = exchanges[index]
        let framing: HTTPResponseWriter.Framing = exchange.version == .http11 ? .chunked : .untilClose
        if framing == .untilClose { exchanges[index].keepAlive = false }
        server.observer?.responded(route: exchange.route, status: status, loopIndex: loopState.loopIndex)
        let date = loopState.date.current()
        let keepAlive = exchanges[index].keepAlive
        write(index) { output in
            HTTPResponseWriter.appendHead(
                status, contentType: contentType, framing: framing, keepAlive: keepAlive, version: exchange.version,
                date: date, headers: headers, to: &output)
        }
        exchanges[index].state = .streaming(framing)
    }

    func stream(_ sequence: UInt64, _ bytes: UnsafeRawBufferPointer) {
        guard !isClosed, let index = exchanges.index(of: sequence) else { return }
        guard case .streaming(let framing) = exchanges[index].state else {
            preconditionFailure("stream() before startStream() or after finishStream()")
        }
        guard !exchanges[index].isHeadMethod && !bytes.isEmpty else { return }
        write(index) { output in
            if framing == .chunked {
                HTTPResponseWriter.appendChunk(bytes, to: &output)
            } else {
                output.append(contentsOf: bytes)
            }
        }
    }

    func finishStream(_ sequence: UInt64) {
        guard !isClosed, let index = exchanges.index(of: sequence) else { return }
        guard case .streaming(let framing) = exchanges[index].state else {
            preconditionFailure("finishStream() without startStream()")
        }
        if framing == .chunked && !exchanges[index].isHeadMethod {
            write(index) { HTTPResponseWriter.appendLastChunk(to: &$0) }
        }
        exchanges[index].state = .complete
        advanceFront()
    }

    /// Lets complete answers leave, oldest first, moving the next one's kept bytes to the transport; closes
    /// after an answer that ends the connection; resumes reading when answers make room.
    func advanceFront() {
        while let front = exchanges.frontIndex, exchanges[front].state == .complete {
            let keepAlive = exchanges[front].keepAlive
            exchanges.popFront()
            if !keepAlive {
                closing = true
                exchanges.removeAll()
                transport.closeWhenFlushed()
                return
            }
            if let next = exchanges.frontIndex, !exchanges[next].output.isEmpty {
                transport.appendOutput { $0.append(contentsOf: exchanges[next].output) }
                exchanges[next].output.removeAll(keepingCapacity: true)
            }
        }
        if inputEnded && exchanges.count == 0 {
            transport.closeWhenFlushed()
            return
        }
        if pausedForInFlight && exchanges.count < limits.requestsInFlightPerConnectionMax && !isProcessing {
            pausedForInFlight = false
            if !isHeldBySink { transport.resumeReading() }
            let now = server.clock()
            restartDeadlines(nowNs: now)
            processBuffered(nowNs: now)
        }
    }

    /// After a pause the server caused, the client's deadline starts again.
    func restartDeadlines(nowNs: UInt64) {
        switch phase {
        case .idle: phase = .idle(since: nowNs)
        case .head: phase = .head(started: nowNs)
        case .body(let head, _): phase = .body(head, started: nowNs)
        case .streamHead(let head, let route, _): phase = .streamHead(head, route: route, started: nowNs)
        case .streaming: phase = .streaming(lastBytes: nowNs)
        }
    }
}
