import ISO8583
import Ledger
import Network

/// One terminal or host connection: splits the stream into frames, decodes each into a reused message,
/// answers at once what needs no ledger, and hands the rest to the loop's context.
final class SwitchConnection: ConnectionHandler {
    let context: LoopContext
    let listener: ListenerRuntime
    /// Strong: requests waiting for the ledger keep this handler, and with it the connection, alive until their
    /// replies are handled, even after the peer is gone (the cycle ends when the connection closes).
    let connection: Connection
    var decoder: FrameDecoder
    var request: ISOMessage
    var response: ISOMessage
    var inFlight = 0
    /// The last pass over the buffer stopped at `inFlightPerConnectionMax` (reads are paused): an answer must
    /// handle the frames held back, then resume reading. False in the common case, so answers skip the look.
    var holdsFrames = false
    var inputEnded = false
    /// Set when a message arrived that cannot be answered: nothing more is read or handled, the requests already
    /// in flight are answered, then the connection closes.
    var closing = false
    /// Set by a graceful stop (`drain`): the connection closes without a reset once its answers are out.
    var isDraining = false
    /// Response messages to reuse: a sent response comes back here, so steady traffic allocates no messages.
    var spareResponses: [ISOMessage] = []
    static let spareResponsesMax = 64
    /// When the frame being handled was decoded: an answer given at once is timed from here (metrics).
    var requestArrivalNs: UInt64 = 0

    init(connection: Connection, context: LoopContext, listener: ListenerRuntime) {
        self.connection = connection
        self.context = context
        self.listener = listener
        decoder = FrameDecoder(framing: listener.configuration.framing)
        request = ISOMessage(dialect: listener.dialect, mti: nil)
        response = ISOMessage(dialect: listener.dialect, mti: nil)
        precondition(connection.loop === context.loop, "a connection is served by its own loop's context")
        precondition(request.dialect === response.dialect, "requests and responses speak the listener's dialect")
        precondition(decoder.pendingByteCount == 0, "a new connection has read nothing")
    }

    func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection) {
        context.loop.preconditionInEventLoop()
        precondition(connection === self.connection, "bytes arrive on this handler's own connection")
        decoder.append(bytes)
        handleBufferedFrames()
    }

    /// Handles the whole frames in the buffer, in order, until none is left or `inFlightPerConnectionMax` requests
    /// are in flight. Pausing reads stops new bytes, not the frames one read already delivered (a pipelining
    /// client sends hundreds in one write), so without the check here the cap would not hold. Frames held back
    /// are handled by `requestFinished` as answers come back: no new bytes will arrive to start them.
    func handleBufferedFrames() {
        let inFlightMax = context.runtime.configuration.inFlightPerConnectionMax
        precondition(inFlightMax >= 1, "a connection may have at least one request in flight")
        precondition(inFlight >= 0 && inFlight <= inFlightMax, "no more requests in flight than the connection's cap")
        do {
            while inFlight < inFlightMax, let frame = try decoder.next() {
                handle(frame)
                if connection.isClosed || closing { return }
            }
        } catch {
            context.runtime.log.warning("connection \(connection.id) from \(connection.peer): \(error); closing")
            connection.close(.protocolError(error.description))
            return
        }
        precondition(inFlight <= inFlightMax, "no more requests in flight than the connection's cap")
        // Stopped by the cap: frames may wait in the buffer. Otherwise none does, and an answer need not look.
        holdsFrames = inFlight >= inFlightMax
        precondition(!holdsFrames || inFlight == inFlightMax, "frames are held back only at the cap")
        decoder.compact()
        precondition(decoder.pendingByteCount == decoder.buffer.count, "compacted: only unread bytes are kept")
    }

    func inputEnded(on connection: Connection) {
        context.loop.preconditionInEventLoop()
        precondition(connection === self.connection, "end of input on this handler's own connection")
        precondition(inFlight >= 0, "requests in flight are never negative")
        inputEnded = true
        if inFlight == 0 { connection.closeWhenFlushed() }
    }

    func closed(_ connection: Connection, reason: CloseReason) {
        precondition(connection === self.connection, "a handler is told of its own connection's close")
    }

    /// Called by the context when a request is finished (answered and its ledger reply back).
    func requestFinished() {
        context.loop.preconditionInEventLoop()
        precondition(inFlight >= 1, "a request finishes only after it started")
        inFlight -= 1
        precondition(inFlight >= 0, "more requests finished than started")
        precondition(inFlight <= context.pending.count, "every request in flight is pending on this loop")
        if holdsFrames && !closing && !connection.isClosed {
            // Frames held back at the cap first, then new bytes once none is left under it.
            handleBufferedFrames()
            if !closing && !holdsFrames { connection.resumeReading() }
        }
        precondition(
            inFlight <= context.runtime.configuration.inFlightPerConnectionMax, "requests in flight within the cap")
        guard (inputEnded || closing) && inFlight == 0 else { return }
        precondition(!isDraining || closing, "a draining connection is closing")
        if isDraining { connection.closeGracefully() } else { connection.closeWhenFlushed() }
    }

    /// Graceful stop: read nothing more, answer every request already read, then close without losing an
    /// answer to a reset (`closeGracefully`). Returns the requests in flight.
    func drain() -> Int {
        context.loop.preconditionInEventLoop()
        isDraining = true
        closing = true
        connection.pauseReading()
        if inFlight == 0 { connection.closeGracefully() }
        precondition(
            inFlight >= 0 && inFlight <= context.runtime.configuration.inFlightPerConnectionMax,
            "requests in flight within the connection's cap")
        return inFlight
    }

    /// Keeps a sent response's buffers for the next request (bounded by `spareResponsesMax`).
    func recycle(_ message: consuming ISOMessage) {
        precondition(message.dialect === listener.dialect, "a recycled response speaks this listener's dialect")
        precondition(spareResponses.count <= SwitchConnection.spareResponsesMax, "spare responses within their cap")
        guard spareResponses.count < SwitchConnection.spareResponsesMax else { return }
        spareResponses.append(message)
    }

    /// A message for the next response skeleton: a recycled one when there is one.
    func nextResponse() -> ISOMessage {
        let message = spareResponses.popLast() ?? ISOMessage(dialect: listener.dialect, mti: nil)
        precondition(message.dialect === listener.dialect, "a response skeleton speaks this listener's dialect")
        return message
    }

    /// Queues an answer and counts it (by MTI and code, with its latency from `arrivalNs`, or from the frame
    /// being handled when nil: an answer given at once).
    func send(_ message: ISOMessage, tpdu: UInt64?, arrivalNs: UInt64? = nil) {
        // Only responses go out: the function digit of a request (0) or advice (2) moved to response (1, 3).
        precondition(message.mti.map { $0.function == 1 || $0.function == 3 } == true, "a response is sent")
        assert(message.has(11), "every response carries the STAN it answers")
        context.loop.preconditionInEventLoop()
        precondition(message.dialect === listener.dialect, "a response speaks its listener's dialect")
        assert(message.has(39), "every response carries field 39 (the listener's dialect can hold it)")
        guard !connection.isClosed else { return }
        context.metrics.recordAnswer(message, arrivalNs: arrivalNs ?? requestArrivalNs)
        context.responsesSent += 1
        precondition(context.responsesSent <= context.requestsRead, "no more responses than requests read")
        let framing = listener.configuration.framing
        connection.appendOutput { out in
            do {
                try framing.appendFrame(encoding: message, requestTPDU: tpdu, to: &out)
            } catch {
                context.runtime.log.error("cannot encode a response: \(error)")
            }
        }
    }

    func handle(_ frame: Frame) {
        precondition(
            frame.message.lowerBound >= 0 && frame.message.upperBound <= decoder.buffer.count,
            "a frame lies inside the read buffer")
        precondition(
            frame.tpdu.map { $0.upperBound == frame.message.lowerBound } ?? true, "the TPDU precedes its message")
        requestArrivalNs = monotonicNanoseconds()
        context.requestsRead += 1
        let tpdu = frame.tpdu.map { Framing.packTPDU(decoder.buffer[$0]) }
        do {
            try listener.dialect.decode(decoder.buffer, range: frame.message, into: &request)
        } catch {
            request.releaseStorage()
            answerMalformed(frame, error, tpdu: tpdu)
            return
        }
        precondition(request.mti != nil, "a decoded message has its MTI")
        let digest = decoder.buffer.withUnsafeBytes { raw in
            RequestKeys.digest(
                of: UnsafeRawBufferPointer(rebasing: raw[frame.message]), mti: request.mti!, dialect: listener.dialect)
        }
        authorize(digest: digest, tpdu: tpdu)
        // Drop the reference to the read buffer so the next append does not copy it.
        request.releaseStorage()
    }

    /// 30 when the MTI and field 11 can be read (41 echoed when present); otherwise the connection closes.
    func answerMalformed(_ frame: Frame, _ error: ISOError, tpdu: UInt64?) {
        precondition(frame.message.upperBound <= decoder.buffer.count, "a frame lies inside the read buffer")
        let (mti, fields) = listener.dialect.salvage(decoder.buffer, range: frame.message, fields: [11, 41])
        let log = context.runtime.log
        guard let mti, let stan = fields[11] else {
            log.warning("connection \(connection.id) from \(connection.peer): unreadable message (\(error)); closing")
            connection.close(.protocolError(error.description))
            return
        }
        guard let responseMTI = mti.response else {
            closeUnanswerable(mti, detail: "format error: \(error)")
            return
        }
        log.warning(
            "connection \(connection.id) from \(connection.peer): format error in \(mti): \(error); answered 30")
        response.removeAll(mti: responseMTI)
        assert(response.mti == responseMTI && !response.has(38), "a fresh response to the salvaged MTI")
        try? response.set(11, bytes: stan)
        if let terminal = fields[41] { try? response.set(41, bytes: terminal) }
        ResponseBuilder.setCode(&response, .formatError)
        if !response.has(11) {
            connection.close(.protocolError(error.description))
            return
        }
        send(response, tpdu: tpdu)
    }

    /// A message no response can be formed for: a response, acknowledgement or notification, or an MTI whose
    /// function digit is neither request (0) nor advice (2), such as 9999. Answering could set two systems
    /// answering each other, and dropping it would leave its sender waiting on an open connection; so the
    /// connection closes, after the requests already in flight are answered, and the log says why.
    func closeUnanswerable(_ mti: MTI, detail: String? = nil) {
        let suffix = detail.map { " (\($0))" } ?? ""
        context.runtime.log.warning(
            "connection \(connection.id) from \(connection.peer): \(mti) cannot be answered: function digit "
                + "\(mti.function) is not a request or an advice\(suffix); closing after \(inFlight) in flight")
        precondition(!mti.expectsResponse && mti.response == nil, "only a message no response fits is unanswerable")
        closing = true
        connection.pauseReading()
        if inFlight == 0 { connection.closeWhenFlushed() }
    }
}
