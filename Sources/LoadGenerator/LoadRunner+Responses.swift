import CLinux
import Glibc
import ISO8583
import Network

extension LoadRunner {
    func handle(_ connection: ClientConnection, events: UInt32, now: UInt64) {
        guard !connection.isClosed else { return }
        if events & CLINUX_EPOLLOUT != 0 {
            guard connection.flush() else {
                closeUnexpectedly(connection)
                return
            }
            updateWriteInterest(connection)
        }
        if events & (CLINUX_EPOLLIN | CLINUX_EPOLLRDHUP | CLINUX_EPOLLHUP | CLINUX_EPOLLERR) != 0 {
            readAvailable(connection, now: now)
        }
    }

    /// TLS: answers OpenSSL already holds (read ahead) that epoll will not announce again.
    func readBufferedInput(now: UInt64) {
        for connection in connections where !connection.isClosed && connection.hasBufferedInput {
            readAvailable(connection, now: now)
        }
    }

    /// Reads until the socket is empty, checking every whole frame as it arrives.
    func readAvailable(_ connection: ClientConnection, now: UInt64) {
        for _ in 0..<64 {
            let count = retryingInterrupts { connection.readSome(into: readBuffer) }
            if count < 0 {
                if errno != EAGAIN { closeUnexpectedly(connection) }
                return
            }
            if count == 0 {
                closeUnexpectedly(connection)
                return
            }
            connection.decoder.append(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
            guard receiveFrames(connection, now: now) else {
                closeUnexpectedly(connection)
                return
            }
            if count < readBuffer.count && !connection.hasBufferedInput { return }
        }
    }

    /// Checks every whole frame in the connection's decoder; false when the stream is broken (bad length header).
    func receiveFrames(_ connection: ClientConnection, now: UInt64) -> Bool {
        defer {
            // Drop the decoded message's hold on the decoder's buffer before the buffer is changed again.
            response.releaseStorage()
            connection.decoder.compact()
        }
        while true {
            let frame: Frame?
            do {
                frame = try connection.decoder.next()
            } catch {
                statistics.errors[LoadErrorKind.undecodable.rawValue] += 1
                return false
            }
            guard let frame else { return true }
            do {
                try configuration.dialect.decode(connection.decoder.buffer, range: frame.message, into: &response)
            } catch {
                statistics.errors[LoadErrorKind.undecodable.rawValue] += 1
                continue
            }
            check(response: response, on: connection, now: now)
        }
    }

    /// Matches an answer to its request by STAN and terminal id, checks its MTI and field 39, and records it.
    func check(response: ISOMessage, on connection: ClientConnection, now: UInt64) {
        guard let stan = response.integer(11), let slot = connection.table.find(stan: UInt32(truncatingIfNeeded: stan))
        else {
            statistics.errors[LoadErrorKind.unmatched.rawValue] += 1
            return
        }
        let sameTerminal = response.withValue(41) { $0.elementsEqual(connection.terminalId) } ?? false
        guard sameTerminal else {
            // Not this request's answer after all: it keeps waiting (and times out if its answer never comes).
            statistics.errors[LoadErrorKind.wrongTerminal.rawValue] += 1
            return
        }
        let entry = connection.table.slots[slot]
        let echoMatches =
            (response.integer(2).map { $0 == entry.cardNumber } ?? true)
            && (response.integer(3).map { $0 == entry.processingCode } ?? true)
        guard echoMatches else {
            statistics.errors[LoadErrorKind.echoMismatch.rawValue] += 1
            return
        }
        connection.table.release(slot)
        inFlightTotal -= 1
        guard response.mti?.value == UInt16(entry.kind.responseMTI) else {
            statistics.errors[LoadErrorKind.wrongMTI.rawValue] += 1
            return
        }
        let code =
            response.withValue(39) { bytes -> Int? in
                bytes.count == 2 ? LoadStatistics.codeIndex(bytes[0], bytes[1]) : nil
            } ?? nil
        guard let code else {
            statistics.errors[LoadErrorKind.missingResponseCode.rawValue] += 1
            return
        }
        record(entry, code: code, now: now)
        if code == LoadStatistics.codeIndex(0x30, 0x30) {
            if entry.kind == .purchase { connection.purchases.push(entry) }
            if entry.kind == .redeem { connection.redeems.push(entry) }
        }
    }

    func record(_ entry: InFlightRequest, code: Int, now: UInt64) {
        let latencyNs = now - min(now, entry.intendedNs)
        second.record(latencyNs)
        secondAnswered += 1
        guard entry.measured else { return }
        statistics.answered += 1
        statistics.responseCodes[code] += 1
        statistics.latency.record(latencyNs)
        statistics.serviceTime.record(now - min(now, entry.sentNs))
        lastMeasuredAnswerNs = now
    }

    /// The peer closed or reset: an error while the run needs the connection; its requests in flight are lost.
    func closeUnexpectedly(_ connection: ClientConnection) {
        guard !connection.isClosed else { return }
        statistics.errors[LoadErrorKind.unexpectedClose.rawValue] += 1
        let lost = connection.table.count
        statistics.errors[LoadErrorKind.lostInFlight.rawValue] += UInt64(lost)
        inFlightTotal -= lost
        for slot in 0..<connection.table.slots.count where connection.table.slots[slot].stan != 0 {
            connection.table.release(slot)
        }
        connection.closeSocket()
    }

    /// Writes every connection's queued requests: one send per connection per loop iteration.
    func flushAll() {
        for connection in connections where !connection.isClosed && connection.pendingOutputByteCount > 0 {
            guard connection.flush() else {
                closeUnexpectedly(connection)
                continue
            }
            updateWriteInterest(connection)
        }
    }

    /// Asks epoll for writability only while output is waiting (the socket buffer was full).
    func updateWriteInterest(_ connection: ClientConnection) {
        let wants = connection.pendingOutputByteCount > 0
        guard wants != connection.waitsForWritable else { return }
        connection.waitsForWritable = wants
        let events = CLINUX_EPOLLIN | CLINUX_EPOLLRDHUP | (wants ? CLINUX_EPOLLOUT : 0)
        _ = clinux_epoll_ctl(
            epollDescriptor, CLINUX_EPOLL_CTL_MOD, connection.descriptor, events, UInt64(connection.index))
    }
}
