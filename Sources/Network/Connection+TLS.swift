import CLinux
import Glibc
import SystemCalls

/// A TLS connection's state next to its socket: the OpenSSL session, where the handshake stands, and which
/// readiness each direction waits for (a TLS read can need the socket writable and a write can need it readable).
final class TLSConnectionState {
    let session: TLSSession
    let listener: TLSListenerContext
    /// When the connection was accepted: the handshake must finish by `acceptedNs + tlsHandshakeTimeoutMs`.
    let acceptedNs: UInt64
    /// Made once the handshake completes, so a flood of failed handshakes never builds a handler.
    var makeHandler: ((Connection) -> ConnectionHandler)?
    var isEstablished = false
    var handshakeWantsWrite = false
    var checkedFirstByte = false
    var readWaitsForWritable = false
    var writeWaitsForReadable = false
    /// In the loop's `connectionsWithBufferedInput` list already.
    var queuedForBufferedRead = false

    init(
        session: TLSSession, listener: TLSListenerContext, acceptedNs: UInt64,
        makeHandler: @escaping (Connection) -> ConnectionHandler
    ) {
        self.session = session
        self.listener = listener
        self.acceptedNs = acceptedNs
        self.makeHandler = makeHandler
    }
}

/// The first byte of every TLS client's first record: a handshake record (ClientHello).
let tlsHandshakeRecordType: UInt8 = 0x16

extension Connection {
    /// Drives the handshake on readiness: at most `tlsHandshakesPerIterationMax` steps per loop iteration; a step
    /// put off stays ready in epoll (level-triggered) and runs in a later iteration.
    func handleHandshake(events: UInt32, state: TLSConnectionState) {
        if events & (CLINUX_EPOLLERR | CLINUX_EPOLLHUP) != 0 && events & CLINUX_EPOLLIN == 0 {
            refuseHandshake(.closedDuringHandshake, "connection error")
            return
        }
        if !state.checkedFirstByte && events & CLINUX_EPOLLIN != 0 {
            guard checkFirstByte(state) else { return }
        }
        guard loop.takeHandshakeStep() else {
            state.listener.statistics.countDeferred()
            return
        }
        switch state.session.handshake() {
        case .processed: handshakeCompleted(state)
        case .wantsRead: setHandshakeWantsWrite(false, state)
        case .wantsWrite: setHandshakeWantsWrite(true, state)
        case .endOfStream: refuseHandshake(.closedDuringHandshake, "peer closed")
        case .failed(let kind, let detail): refuseHandshake(kind, detail)
        }
    }

    /// A plaintext client (an ISO 8583 length header, an HTTP request) is told apart from a broken TLS one by
    /// the first byte, before OpenSSL reads anything. False when the connection was refused.
    func checkFirstByte(_ state: TLSConnectionState) -> Bool {
        var first: UInt8 = 0
        let count = retryingInterrupts { recv(descriptor, &first, 1, Int32(MSG_PEEK)) }
        if count < 0 && errno == EAGAIN { return true }
        state.checkedFirstByte = true
        if count <= 0 {
            refuseHandshake(.closedDuringHandshake, count == 0 ? "peer closed" : "read failed")
            return false
        }
        if first != tlsHandshakeRecordType {
            refuseHandshake(.notTLS, "first byte 0x\(String(first, radix: 16)) is not a TLS handshake record")
            return false
        }
        return true
    }

    func setHandshakeWantsWrite(_ wantsWrite: Bool, _ state: TLSConnectionState) {
        state.handshakeWantsWrite = wantsWrite
        updateInterest()
    }

    /// Logs the protocol, the cipher and, with mutual TLS, the client's verified subject; builds the handler and
    /// reads what the client may have sent with its last handshake message (already inside OpenSSL).
    func handshakeCompleted(_ state: TLSConnectionState) {
        precondition(!state.isEstablished, "a handshake completes once")
        state.isEstablished = true
        state.handshakeWantsWrite = false
        state.listener.statistics.countCompleted()
        var line = "connection \(id) from \(peer): TLS established, \(state.session.protocolAndCipher)"
        if state.listener.files.clientCertificateAuthorityPath != nil {
            line += ", client certificate subject \(state.session.peerSubject ?? "(none)")"
        }
        loop.log.info(line)
        lastActivityNs = monotonicNanoseconds()
        let makeHandler = state.makeHandler
        state.makeHandler = nil
        updateInterest()
        if let makeHandler { handler = makeHandler(self) }
        if !isClosed { readAvailable() }
    }

    /// Counts the refusal on the listener and closes; the close line in the log names the kind and OpenSSL's reason.
    func refuseHandshake(_ kind: TLSHandshakeFailure, _ detail: String) {
        guard let state = tls, !state.isEstablished, !isClosed else { return }
        state.listener.statistics.countRefused(kind)
        close(.tlsHandshakeRefused("\(kind): \(detail)"))
    }

    /// Bytes OpenSSL holds that epoll will not announce: read them in this loop's next iteration.
    func queueBufferedInputIfAny() {
        guard let state = tls, state.isEstablished, !state.queuedForBufferedRead, !isClosed,
            state.session.hasBufferedInput
        else { return }
        state.queuedForBufferedRead = true
        loop.connectionsWithBufferedInput.append(self)
    }

    /// One read through TLS: decrypted bytes, or what to wait for.
    func readTLS(_ state: TLSConnectionState, into buffer: UnsafeMutableRawBufferPointer) -> ReadOutcome {
        let result = state.session.read(into: buffer)
        let waitedForWritable = state.readWaitsForWritable
        state.readWaitsForWritable = false
        switch result {
        case .processed(let count): return .bytes(count)
        case .wantsRead: break
        case .wantsWrite: state.readWaitsForWritable = true
        case .endOfStream: return .endOfInput
        case .failed(_, let detail): return .failed(.peerReset("TLS: \(detail)"))
        }
        if waitedForWritable != state.readWaitsForWritable { updateInterest() }
        return .wouldBlock
    }

    /// One write through TLS: bytes taken, or what to wait for.
    func writeTLS(_ state: TLSConnectionState, _ pointer: UnsafeRawPointer, count: Int) -> WriteOutcome {
        let result = state.session.write(pointer, count: count)
        state.writeWaitsForReadable = false
        switch result {
        case .processed(let written): return .wrote(written)
        case .wantsWrite: return .wouldBlock
        case .wantsRead:
            // Only a renegotiation or key update needs this, and renegotiation is off; a peer that has stopped
            // sending could never satisfy it, so such a write waits for readability only while input is open.
            guard !inputEnded else { return .failed(.peerReset("TLS write needs input after end of input")) }
            state.writeWaitsForReadable = true
            return .wouldBlock
        case .endOfStream: return .failed(.peerClosed)
        case .failed(_, let detail): return .failed(.peerReset("TLS: \(detail)"))
        }
    }
}
