import CLinux
import Foundation
import Glibc
import Synchronization
import SystemCalls

/// A listening socket on one loop. Accepted connections are spread over the group's loops round robin; one
/// over its limit (the group's `connectionsMax`, or the listener's own) is closed at once (and logged), which
/// keeps the accept queue moving under a burst.
///
/// Out of descriptors, accept fails while the connection waits in the backlog, and the level-triggered listener
/// would wake the loop for it again at once, forever (a core spinning, as with 1,100 connections under
/// `ulimit -n 1024`). So the listener keeps a spare descriptor: it gives it back, accepts and closes what waits
/// (each peer sees its connection closed rather than hanging), takes it again, and is not watched for
/// `acceptBackoffMs` (as libuv and nginx do; NIO backs off the same way).
final class Listener: Pollable {
    let descriptor: Int32
    let address: SocketAddress
    unowned let group: EventLoopGroup
    let makeHandler: @Sendable (Connection) -> ConnectionHandler
    /// TLS settings in force on this listener; nil for plain TCP.
    let tls: TLSListenerContext?
    /// This listener's own limit on open connections, counted apart from the group's `connectionsMax`; nil:
    /// its connections count against the group's limit.
    let connectionsMax: Int?
    /// Connections accepted here and not closed yet (for metrics, and for `connectionsMax`).
    let openConnections = Atomic<Int>(0)
    var token = -1
    var nextLoop = 0
    /// Held for the moment descriptors run out (`/dev/null`, read-only); -1 while given back.
    var spareDescriptor: Int32 = -1
    var isClosed = false
    /// Connections refused for want of descriptors since accepting last worked, and since when (monotonic ns).
    var refusedInShortage = 0
    var shortageStartNs: UInt64 = 0

    init(
        address: SocketAddress, group: EventLoopGroup, tls: TLSListenerContext?, connectionsMax: Int?,
        makeHandler: @escaping @Sendable (Connection) -> ConnectionHandler
    ) throws(SystemCallError) {
        precondition(connectionsMax.map { $0 >= 1 } ?? true, "a listener's connectionsMax must be positive")
        self.address = address
        self.group = group
        self.tls = tls
        self.connectionsMax = connectionsMax
        self.makeHandler = makeHandler
        descriptor = socket(
            AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemCallError(call: "socket", errorNumber: errno) }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var storage = address.socketAddress
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let error = errno
            Glibc.close(descriptor)
            throw SystemCallError(call: "bind \(address)", errorNumber: error)
        }
        guard listen(descriptor, group.limits.listenBacklog) == 0 else {
            let error = errno
            Glibc.close(descriptor)
            throw SystemCallError(call: "listen", errorNumber: error)
        }
        boundPort = Self.boundPort(of: descriptor)
        spareDescriptor = Self.openSpare()
        guard spareDescriptor >= 0 else {
            let error = errno
            Glibc.close(descriptor)
            throw SystemCallError(call: "open /dev/null (the listener's spare descriptor)", errorNumber: error)
        }
    }

    static func openSpare() -> Int32 { open("/dev/null", O_RDONLY | O_CLOEXEC) }

    /// The port actually bound (for `:0` in tests), asked once after `listen`.
    private(set) var boundPort: UInt16 = 0

    static func boundPort(of descriptor: Int32) -> UInt16 {
        var storage = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return UInt16(bigEndian: storage.sin_port)
    }

    func handle(events: UInt32, loop: EventLoop) {
        for _ in 0..<1024 {
            var storage = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let accepted = retryingInterrupts {
                withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { clinux_accept4(descriptor, $0, &length) }
                }
            }
            if accepted < 0 {
                let error = errno
                if error == EAGAIN || error == ECONNABORTED { return }
                backOff(after: error, loop: loop)
                return
            }
            if refusedInShortage > 0 { reportShortageOver() }
            distribute(accepted, peer: SocketAddress(storage))
        }
    }

    /// Accept failed for another reason than an empty queue: refuse what waits (with the spare descriptor when
    /// descriptors ran out) and stop watching the listener for `acceptBackoffMs`. One warning per shortage.
    func backOff(after error: Int32, loop: EventLoop) {
        var refused = 0
        if (error == EMFILE || error == ENFILE) && spareDescriptor >= 0 {
            Glibc.close(spareDescriptor)
            refused = acceptAndCloseWaiting()
            spareDescriptor = Self.openSpare()
        }
        if refusedInShortage == 0 {
            shortageStartNs = monotonicNanoseconds()
            group.log.warning(
                "accept on \(address) failed: \(String(cString: strerror(error))) (errno \(error)): connections are "
                    + "closed at once until it works again; retrying every \(group.limits.acceptBackoffMs) ms",
                priority: .essential)
        }
        refusedInShortage += max(refused, 1)
        loop.modify(descriptor: descriptor, token: token, events: 0)
        loop.schedule(afterMs: group.limits.acceptBackoffMs) { [self] in
            guard !isClosed else { return }
            if spareDescriptor < 0 { spareDescriptor = Self.openSpare() }
            loop.modify(descriptor: descriptor, token: token, events: CLINUX_EPOLLIN)
        }
    }

    /// With the spare descriptor given back: accepts and closes every connection waiting, at most the backlog.
    func acceptAndCloseWaiting() -> Int {
        var closed = 0
        for _ in 0..<Int(group.limits.listenBacklog) {
            let accepted = clinux_accept4(descriptor, nil, nil)
            guard accepted >= 0 else { break }
            Glibc.close(accepted)
            closed += 1
        }
        return closed
    }

    /// Accepting works again: says how long it did not and how many connections were closed meanwhile.
    func reportShortageOver() {
        let seconds = Double(monotonicNanoseconds() - shortageStartNs) / 1e9
        group.log.warning(
            "accept on \(address) works again after \(String(format: "%.1f", seconds)) s; about "
                + "\(refusedInShortage) connections were closed at once meanwhile", priority: .essential)
        refusedInShortage = 0
    }

    func distribute(_ descriptor: Int32, peer: SocketAddress) {
        guard reserveConnectionSlot() else {
            Glibc.close(descriptor)
            let limit = connectionsMax.map {
                "\($0) connections open on \(address.host):\(boundPort) (its connectionsMax)"
            }
            group.log.warning(
                "refused connection from \(peer): "
                    + (limit ?? "\(group.limits.connectionsMax) connections open (connectionsMax)"))
            return
        }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let target = group.loops[nextLoop % group.loops.count]
        nextLoop &+= 1
        let group = self.group
        target.execute { [self] in
            group.adopt(descriptor: descriptor, peer: peer, on: target, listener: self)
        }
    }

    /// Counts one more open connection against this listener's own limit, or else the group's; false (and
    /// nothing counted) at the limit.
    func reserveConnectionSlot() -> Bool {
        guard let connectionsMax else {
            guard group.reserveConnectionSlot() else { return false }
            openConnections.add(1, ordering: .relaxed)
            return true
        }
        let after = openConnections.add(1, ordering: .relaxed).newValue
        if after > connectionsMax {
            openConnections.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Gives back the slot `reserveConnectionSlot` took, when its connection closes (or never opens).
    func releaseConnectionSlot() {
        let after = openConnections.subtract(1, ordering: .relaxed).newValue
        precondition(after >= 0, "more connections closed than opened on a listener")
        if connectionsMax == nil { group.openConnections.subtract(1, ordering: .relaxed) }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(descriptor)
        if spareDescriptor >= 0 { Glibc.close(spareDescriptor) }
        spareDescriptor = -1
    }
}
