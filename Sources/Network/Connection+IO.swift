import CLinux
import Glibc

extension Connection {
    func handle(events: UInt32, loop: EventLoop) {
        if events & (CLINUX_EPOLLERR | CLINUX_EPOLLHUP) != 0 && events & CLINUX_EPOLLIN == 0 {
            close(.peerReset("connection error"))
            return
        }
        if events & CLINUX_EPOLLOUT != 0 { flush() }
        if isClosed { return }
        if events & (CLINUX_EPOLLIN | CLINUX_EPOLLRDHUP) != 0 && !pausedByHandler && !pausedByBackpressure {
            readAvailable()
        }
    }

    /// Reads until the socket is empty or this event's byte budget is spent (fairness between peers).
    func readAvailable() {
        var budget = loop.limits.readBytesPerEventMax
        while budget > 0 && !isClosed && !pausedByHandler && !pausedByBackpressure {
            let buffer = loop.readBuffer
            let result: IOResult<Int>
            do {
                result = try systemCall("read") { Glibc.read(descriptor, buffer.baseAddress, buffer.count) }
            } catch {
                close(.peerReset(error.description))
                return
            }
            guard case .processed(let count) = result else { return }
            if count == 0 {
                endOfInput()
                return
            }
            lastActivityNs = monotonicNanoseconds()
            budget -= count
            handler?.received(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), on: self)
            if count < buffer.count { return }
        }
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
        guard !isClosed else { return }
        while pendingOutputByteCount > 0 {
            let result: IOResult<Int>
            do {
                let (pointer, count) = output.withUnsafeBytes { raw in
                    (raw.baseAddress! + outputStart, raw.count - outputStart)
                }
                // The array is not mutated during the call, so its storage stays where `pointer` points.
                result = try systemCall("send") { Glibc.send(descriptor, pointer, count, Int32(MSG_NOSIGNAL)) }
            } catch {
                close(.peerReset(error.description))
                return
            }
            guard case .processed(let count) = result else { break }
            outputStart += count
            lastActivityNs = monotonicNanoseconds()
        }
        if pendingOutputByteCount == 0 {
            output.removeAll(keepingCapacity: output.capacity <= 1 << 20)
            outputStart = 0
            if closeAfterFlush {
                close(closeAfterFlushReason)
                return
            }
        } else if outputStart > 1 << 16 {
            output.removeSubrange(0..<outputStart)
            outputStart = 0
        }
        if pausedByBackpressure && pendingOutputByteCount <= loop.limits.outputBytesMax / 2 {
            pausedByBackpressure = false
        }
        updateInterest()
    }
}
