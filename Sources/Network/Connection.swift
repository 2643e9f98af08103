import CLinux
import Glibc
import SystemCalls

/// Why a connection closed; logged (`connection 7 from 10.0.0.5:40112 closed: by the peer`), and told to the handler.
public enum CloseReason: Sendable, Equatable, CustomStringConvertible {
    case peerClosed
    case peerReset(String)
    case idleTimeout
    case protocolError(String)
    case overLimit(String)
    case shutdown
    case byHandler
    /// A TLS handshake that failed or timed out (the kind, then OpenSSL's reason).
    case tlsHandshakeRefused(String)

    public var description: String {
        switch self {
        case .peerClosed: return "by the peer"
        case .peerReset(let detail): return "reset: \(detail)"
        case .idleTimeout: return "idle timeout"
        case .protocolError(let detail): return "protocol error: \(detail)"
        case .overLimit(let detail): return "limit: \(detail)"
        case .shutdown: return "shutdown"
        case .byHandler: return "by the switch"
        case .tlsHandshakeRefused(let detail): return "TLS handshake refused: \(detail)"
        }
    }

    /// A TLS close_notify is sent when the switch closes a healthy connection, not to a peer that is gone.
    var allowsCloseNotify: Bool {
        switch self {
        case .peerClosed, .peerReset, .tlsHandshakeRefused: return false
        case .idleTimeout, .protocolError, .overLimit, .shutdown, .byHandler: return true
        }
    }
}

/// What a connection's owner does with it. Called on the connection's loop thread only.
public protocol ConnectionHandler: AnyObject {
    /// Bytes arrived; they are valid only during the call.
    func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection)
    /// The peer will send nothing more (it may still read): finish what is in flight, then close.
    func inputEnded(on connection: Connection)
    /// The connection is closed; drop it.
    func closed(_ connection: Connection, reason: CloseReason)
}

/// A TCP connection on one loop: non-blocking reads into the loop's buffer, writes batched per loop iteration,
/// reading paused while too much output is waiting (backpressure) or while the handler asks. On a TLS listener
/// the same reads and writes go through OpenSSL (`tls`), and the handler exists only once the handshake is done.
public final class Connection: Pollable {
    public let id: UInt64
    public let peer: SocketAddress
    public unowned let loop: EventLoop
    public var handler: ConnectionHandler?
    let descriptor: Int32
    var token = -1
    var output: [UInt8] = []
    var outputStart = 0
    var interest: UInt32 = CLINUX_EPOLLIN | CLINUX_EPOLLRDHUP
    var pausedByHandler = false
    var pausedByBackpressure = false
    var isDirty = false
    var inputEnded = false
    public private(set) var isClosed = false
    public internal(set) var lastActivityNs: UInt64
    var closeAfterFlush = false
    /// An outbound connection whose TCP handshake has not finished: output waits, only EPOLLOUT is watched.
    var isConnecting = false
    /// Outbound connections acknowledge what they read at once (`acknowledgeAtOnce`).
    var acknowledgesAtOnce = false
    /// Set by `closeGracefully`: once the output is written, the connection half-closes and stays open until the
    /// peer has acknowledged every byte, instead of closing at once: a close with unread input sends a reset,
    /// and a reset drops answers the kernel has not delivered yet.
    var lingersAfterFlush = false
    /// Half-closed by `closeGracefully`, in the loop's list of connections that close once delivered.
    var isLingering = false
    /// TLS state on a TLS listener; nil for plain TCP.
    var tls: TLSConnectionState?
    let onClose: (Connection, CloseReason) -> Void

    init(
        id: UInt64, descriptor: Int32, peer: SocketAddress, loop: EventLoop,
        onClose: @escaping (Connection, CloseReason) -> Void
    ) {
        self.id = id
        self.descriptor = descriptor
        self.peer = peer
        self.loop = loop
        self.onClose = onClose
        lastActivityNs = monotonicNanoseconds()
    }

    /// Bytes queued and not yet written.
    public var pendingOutputByteCount: Int { output.count - outputStart }

    /// Queues bytes; they go out at the end of this loop iteration with everything else queued in it.
    public func send(_ bytes: [UInt8]) {
        appendOutput { $0.append(contentsOf: bytes) }
    }

    /// Lets the caller write straight into the output buffer (no intermediate array).
    public func appendOutput(_ body: (inout [UInt8]) -> Void) {
        loop.preconditionInEventLoop()
        guard !isClosed else { return }
        body(&output)
        if !isDirty {
            isDirty = true
            loop.markDirty(self)
        }
        if pendingOutputByteCount > loop.limits.outputBytesMax && !pausedByBackpressure {
            pausedByBackpressure = true
            updateInterest()
        }
    }

    /// Stops reading until `resumeReading` (e.g. too many requests in flight on this connection).
    public func pauseReading() {
        guard !pausedByHandler else { return }
        pausedByHandler = true
        updateInterest()
    }

    public func resumeReading() {
        guard pausedByHandler else { return }
        pausedByHandler = false
        updateInterest()
        queueBufferedInputIfAny()
    }

    /// Closes once queued output is written (or at once when there is none).
    public func closeWhenFlushed() {
        closeAfterFlush = true
        if pendingOutputByteCount == 0 { finishAfterFlush() }
    }

    /// Everything queued is written: close, or half-close and linger (`closeGracefully`).
    func finishAfterFlush() {
        guard !isLingering else { return }
        guard lingersAfterFlush, Glibc.shutdown(descriptor, Int32(SHUT_WR)) == 0 else {
            close(closeAfterFlushReason)
            return
        }
        isLingering = true
        loop.lingeringConnections.append(self)
    }

    /// Closes once queued output is written and delivered: a plain TCP connection sends its FIN and closes when
    /// the peer's kernel has acknowledged every byte (or the peer closed), so no answer is lost to the reset that
    /// closing with unread input sends. The caller bounds how long that may take (a shutdown's grace). Reading
    /// must have been paused by the handler; TLS connections close as `closeWhenFlushed` does.
    public func closeGracefully() {
        lingersAfterFlush = tls == nil
        closeWhenFlushed()
    }

    /// Lingering: closes when nothing written is unacknowledged any more. True when it closed.
    func closeIfDelivered() -> Bool {
        precondition(isLingering, "only a lingering connection closes when delivered")
        guard !isClosed else { return true }
        guard clinux_unacknowledged_bytes(descriptor) <= 0 else { return false }
        close(closeAfterFlushReason)
        return true
    }

    /// A handler that closes after the peer ended its input is only finishing what the peer began: the peer
    /// closed the connection, and the log must say so rather than blame the switch.
    var closeAfterFlushReason: CloseReason { inputEnded ? .peerClosed : .byHandler }

    public func close(_ reason: CloseReason) {
        loop.preconditionInEventLoop()
        guard !isClosed else { return }
        isClosed = true
        loop.unregister(descriptor: descriptor, token: token)
        if let tls, tls.isEstablished, reason.allowsCloseNotify { tls.session.shutdown() }
        tls = nil
        Glibc.close(descriptor)
        output = []
        handler?.closed(self, reason: reason)
        handler = nil
        onClose(self, reason)
    }

    func updateInterest() {
        guard !isClosed else { return }
        // Read interest (EPOLLIN and EPOLLRDHUP) only while reading: epoll is level-triggered, so a half-closed
        // peer would otherwise report RDHUP on every wait while reading is paused or the input has ended.
        var wanted: UInt32 = 0
        if isConnecting {
            wanted = CLINUX_EPOLLOUT
        } else if let tls, !tls.isEstablished {
            wanted = tls.handshakeWantsWrite ? CLINUX_EPOLLOUT : CLINUX_EPOLLIN | CLINUX_EPOLLRDHUP
        } else {
            let readWanted = !pausedByHandler && !pausedByBackpressure && !inputEnded
            let writeWaitsForReadable = tls?.writeWaitsForReadable ?? false
            if readWanted || writeWaitsForReadable { wanted |= CLINUX_EPOLLIN | CLINUX_EPOLLRDHUP }
            if pendingOutputByteCount > 0 && !writeWaitsForReadable { wanted |= CLINUX_EPOLLOUT }
            if tls?.readWaitsForWritable ?? false { wanted |= CLINUX_EPOLLOUT }
        }
        if wanted != interest {
            interest = wanted
            loop.modify(descriptor: descriptor, token: token, events: wanted)
        }
    }
}
