import CLinux
import Glibc
import SystemCalls

/// What one read from the connection gave.
enum ReadOutcome {
    case bytes(Int)
    case wouldBlock
    case endOfInput
    case failed(CloseReason)
}

/// What one write to the connection took.
enum WriteOutcome {
    case wrote(Int)
    case wouldBlock
    case failed(CloseReason)
}

extension Connection {
    func handle(events: UInt32, loop: EventLoop) {
        if isConnecting {
            finishConnect(events: events)
            return
        }
        if let tls, !tls.isEstablished {
            handleHandshake(events: events, state: tls)
            return
        }
        if events & (CLINUX_EPOLLERR | CLINUX_EPOLLHUP) != 0 && events & CLINUX_EPOLLIN == 0 {
            close(.peerReset("connection error"))
            return
        }
        let readable = events & (CLINUX_EPOLLIN | CLINUX_EPOLLRDHUP) != 0
        if events & CLINUX_EPOLLOUT != 0 || (readable && tls?.writeWaitsForReadable == true) { flush() }
        if isClosed { return }
        let writableForRead = events & CLINUX_EPOLLOUT != 0 && tls?.readWaitsForWritable == true
        if (readable || writableForRead) && !pausedByHandler && !pausedByBackpressure {
            readAvailable()
        }
    }

    /// Reads until the socket is empty or this event's byte budget is spent (fairness between peers). Under TLS,
    /// bytes OpenSSL still holds when the budget runs out are read in the loop's next iteration.
    func readAvailable() {
        var budget = loop.limits.readBytesPerEventMax
        while budget > 0 && !isClosed && !pausedByHandler && !pausedByBackpressure {
            let buffer = loop.readBuffer
            switch readSome(into: buffer) {
            case .wouldBlock: return
            case .failed(let reason):
                close(reason)
                return
            case .endOfInput:
                endOfInput()
                return
            case .bytes(let count):
                lastActivityNs = monotonicNanoseconds()
                if acknowledgesAtOnce { acknowledgeAtOnce() }
                budget -= count
                handler?.received(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), on: self)
                if let tls {
                    if !tls.session.hasBufferedInput { return }
                } else if count < buffer.count {
                    return
                }
            }
        }
        queueBufferedInputIfAny()
    }

    /// One read from the socket, or from OpenSSL on a TLS connection.
    func readSome(into buffer: UnsafeMutableRawBufferPointer) -> ReadOutcome {
        if let tls { return readTLS(tls, into: buffer) }
        let result: IOResult<Int>
        do {
            result = try systemCall("read") { Glibc.read(descriptor, buffer.baseAddress, buffer.count) }
        } catch {
            return .failed(.peerReset(error.description))
        }
        guard case .processed(let count) = result else { return .wouldBlock }
        return count == 0 ? .endOfInput : .bytes(count)
    }

    func endOfInput() {
        inputEnded = true
        updateInterest()
        if let handler {
            handler.inputEnded(on: self)
        } else {
            close(.peerClosed)
        }
    }

    /// Writes queued output; what the socket does not take waits for EPOLLOUT.
    func flush() {
        isDirty = false
        guard !isClosed, !isConnecting else { return }
        while pendingOutputByteCount > 0 {
            let (pointer, count) = output.withUnsafeBytes { raw in
                (raw.baseAddress! + outputStart, raw.count - outputStart)
            }
            // The array is not mutated during the call, so its storage stays where `pointer` points.
            switch writeSome(pointer, count: count) {
            case .wrote(let written):
                outputStart += written
                lastActivityNs = monotonicNanoseconds()
                continue
            case .wouldBlock: break
            case .failed(let reason):
                close(reason)
                return
            }
            break
        }
        releaseWrittenOutput()
        if closeAfterFlush && pendingOutputByteCount == 0 {
            finishAfterFlush()
            return
        }
        if pausedByBackpressure && pendingOutputByteCount <= loop.limits.outputBytesMax / 2 {
            pausedByBackpressure = false
            queueBufferedInputIfAny()
        }
        updateInterest()
    }

    /// One write to the socket, or through OpenSSL on a TLS connection.
    func writeSome(_ pointer: UnsafeRawPointer, count: Int) -> WriteOutcome {
        if let tls { return writeTLS(tls, pointer, count: count) }
        let result: IOResult<Int>
        do {
            result = try systemCall("send") { Glibc.send(descriptor, pointer, count, Int32(MSG_NOSIGNAL)) }
        } catch {
            return .failed(.peerReset(error.description))
        }
        guard case .processed(let written) = result else { return .wouldBlock }
        return .wrote(written)
    }

    /// Drops written bytes from the front of the output buffer (all of it once everything is out).
    func releaseWrittenOutput() {
        if pendingOutputByteCount == 0 {
            output.removeAll(keepingCapacity: output.capacity <= 1 << 20)
            outputStart = 0
        } else if outputStart > 1 << 16 {
            output.removeSubrange(0..<outputStart)
            outputStart = 0
        }
    }
}
