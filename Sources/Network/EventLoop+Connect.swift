import CLinux
import Glibc
import SystemCalls

extension Connection {
    /// Re-arms TCP_QUICKACK after a read on an outbound connection. A peer that writes an answer's head and body
    /// in two sends (Python's http.server does) holds the body back (Nagle) until the head is acknowledged, and
    /// Linux delays that acknowledgement up to 40 ms: measured, 89 events/s to such a receiver instead of hundreds.
    /// The kernel clears the flag by itself, hence once per read.
    func acknowledgeAtOnce() {
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_QUICKACK, &one, socklen_t(MemoryLayout<Int32>.size))
    }
}

/// A handler of a connection this process opened: told when the TCP handshake finished, so it knows the socket
/// is usable (bytes sent before are queued and go out then). A connect that fails closes the connection with
/// `.peerReset` naming the error, as any other failure.
public protocol OutboundConnectionHandler: ConnectionHandler {
    func connected(_ connection: Connection)
}

extension EventLoop {
    /// Loop thread only: opens a non-blocking TCP connection to `address` on this loop. The connection is not
    /// counted against any listener's or the group's `connectionsMax`: its owner (a webhook's delivery) bounds
    /// its own connections. Fails at once only when no socket can be made or registered.
    public func connect(
        to address: SocketAddress, handler: OutboundConnectionHandler
    ) throws(SystemCallError) -> Connection {
        preconditionInEventLoop()
        let descriptor = socket(
            AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemCallError(call: "socket", errorNumber: errno) }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var storage = address.socketAddress
        let started = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        let error = errno
        guard started == 0 || error == EINPROGRESS else {
            Glibc.close(descriptor)
            throw SystemCallError(call: "connect \(address)", errorNumber: error)
        }
        nextOutboundConnectionNumber += 1
        // Outbound ids have the top bit set, so they never meet an accepted connection's id in a log line.
        let connection = Connection(
            id: 1 << 63 | nextOutboundConnectionNumber, descriptor: descriptor, peer: address, loop: self
        ) { _, _ in }
        connection.isConnecting = true
        connection.acknowledgesAtOnce = true
        connection.interest = CLINUX_EPOLLOUT
        connection.handler = handler
        do {
            connection.token = try register(connection, descriptor: descriptor, events: connection.interest)
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        return connection
    }
}

extension Connection {
    /// The connect finished (EPOLLOUT) or failed (EPOLLERR/HUP): SO_ERROR says which.
    func finishConnect(events: UInt32) {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
        if error == 0 && events & (CLINUX_EPOLLERR | CLINUX_EPOLLHUP) != 0 { error = ECONNREFUSED }
        guard error == 0 else {
            close(.peerReset("connect to \(peer): \(String(cString: strerror(error))) (errno \(error))"))
            return
        }
        isConnecting = false
        lastActivityNs = monotonicNanoseconds()
        (handler as? OutboundConnectionHandler)?.connected(self)
        if isClosed { return }
        flush()
    }
}
