import CLinux
import Glibc
import Synchronization
import SystemCalls

/// The switch's loops: one per core by default. Owns the listeners and the global connection count.
public final class EventLoopGroup: @unchecked Sendable {
    public let loops: [EventLoop]
    public let limits: NetworkLimits
    public let log: LogSink
    let openConnections = Atomic<Int>(0)
    let nextConnectionID = Atomic<UInt64>(1)
    var listeners: [Listener] = []

    /// `threadNice` above 0 makes the loops' threads yield the CPU to the process's other threads when the cores
    /// are busy (a side door such as the admin API on loops of its own, `admin.loop` `"own"`); `namePrefix` names
    /// their threads (`loop-0`, `admin-loop-0`).
    public init(
        loopCount: Int, limits: NetworkLimits, log: LogSink, namePrefix: String = "loop", threadNice: Int = 0
    ) throws(SystemCallError) {
        precondition(loopCount >= 1 && loopCount <= 64, "loopCount must be 1...64")
        var loops: [EventLoop] = []
        for index in 0..<loopCount {
            loops.append(
                try EventLoop(index: index, limits: limits, log: log, namePrefix: namePrefix, threadNice: threadNice))
        }
        self.loops = loops
        self.limits = limits
        self.log = log
    }

    /// Open connections across all loops.
    public var connectionCount: Int { openConnections.load(ordering: .relaxed) }

    /// Binds a listener (before `start`) and returns the bound port. `makeHandler` runs on the loop that
    /// receives each connection.
    /// With `tls`, every connection first completes a TLS handshake (bounded by `tlsHandshakeTimeoutMs` and
    /// `tlsHandshakesPerIterationMax`); `makeHandler` runs only then, and the handler sees decrypted bytes.
    /// With `connectionsMax`, the listener's connections are bounded by it and not counted in the group's
    /// `connectionsMax`: a side door (an admin API) neither takes terminals' connections nor is shut by them.
    @discardableResult
    public func listen(
        on address: SocketAddress, tls: TLSListenerContext? = nil, connectionsMax: Int? = nil,
        makeHandler: @escaping @Sendable (Connection) -> ConnectionHandler
    ) throws(SystemCallError) -> UInt16 {
        let listener = try Listener(
            address: address, group: self, tls: tls, connectionsMax: connectionsMax, makeHandler: makeHandler)
        let loop = loops[listeners.count % loops.count]
        listener.token = try loop.register(listener, descriptor: listener.descriptor, events: CLINUX_EPOLLIN)
        listeners.append(listener)
        return listener.boundPort
    }

    /// Starts the loop threads and the idle sweep.
    public func start() {
        for loop in loops {
            if limits.idleTimeoutMs > 0 { scheduleIdleSweep(on: loop) }
            if listeners.contains(where: { $0.tls != nil }) { scheduleHandshakeSweep(on: loop) }
            loop.start()
        }
    }

    /// Stops accepting (closes listeners), closes every connection, and waits for the loop threads.
    public func stop(timeoutMs: Int = 5000) {
        for loop in loops { loop.requestStop() }
        let deadline = monotonicNanoseconds() + UInt64(timeoutMs) * 1_000_000
        while loops.contains(where: { !$0.threadFinished.load(ordering: .acquiring) })
            && monotonicNanoseconds() < deadline
        {
            usleep(1000)
        }
    }

    func reserveConnectionSlot() -> Bool {
        let after = openConnections.add(1, ordering: .relaxed).newValue
        if after > limits.connectionsMax {
            openConnections.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Loop thread: registers an accepted socket and hands it to a new handler.
    func adopt(descriptor: Int32, peer: SocketAddress, on loop: EventLoop, listener: Listener) {
        let id = nextConnectionID.add(1, ordering: .relaxed).newValue
        let connection = Connection(id: id, descriptor: descriptor, peer: peer, loop: loop) {
            [self] connection, reason in
            listener.releaseConnectionSlot()
            log.info("connection \(connection.id) from \(connection.peer) closed: \(reason)")
        }
        do {
            connection.token = try loop.register(connection, descriptor: descriptor, events: connection.interest)
        } catch {
            Glibc.close(descriptor)
            listener.releaseConnectionSlot()
            log.error("cannot register connection from \(peer): \(error)")
            return
        }
        let tls = listener.tls
        let makeHandler = listener.makeHandler
        log.info(
            "connection \(id) from \(peer) opened on \(listener.address) (loop \(loop.index))\(tls == nil ? "" : ", TLS")"
        )
        guard let tls else {
            connection.handler = makeHandler(connection)
            return
        }
        guard let session = tls.context.makeSession(descriptor: descriptor) else {
            connection.close(.overLimit("OpenSSL could not allocate a TLS session"))
            return
        }
        connection.tls = TLSConnectionState(
            session: session, listener: tls, acceptedNs: monotonicNanoseconds(), makeHandler: makeHandler)
    }

    /// Closes TLS connections whose handshake outlived `tlsHandshakeTimeoutMs` (counted as `timeout`). Runs a few
    /// times per timeout period, so a connection lives at most about 1.25 timeouts without a finished handshake.
    func scheduleHandshakeSweep(on loop: EventLoop) {
        let timeoutNs = UInt64(limits.tlsHandshakeTimeoutMs) * 1_000_000
        let period = max(min(limits.tlsHandshakeTimeoutMs / 4, 250), 10)
        loop.schedule(afterMs: period) { [self] in
            let now = monotonicNanoseconds()
            for case let connection as Connection in loop.registrations {
                guard let state = connection.tls, !state.isEstablished, now - state.acceptedNs > timeoutNs else {
                    continue
                }
                connection.refuseHandshake(.timeout, "no finished handshake after \(limits.tlsHandshakeTimeoutMs) ms")
            }
            scheduleHandshakeSweep(on: loop)
        }
    }

    func scheduleIdleSweep(on loop: EventLoop) {
        let idleNs = UInt64(limits.idleTimeoutMs) * 1_000_000
        let period = max(min(limits.idleTimeoutMs / 4, 1000), 10)
        loop.schedule(afterMs: period) { [self] in
            let now = monotonicNanoseconds()
            for case let connection as Connection in loop.registrations where now - connection.lastActivityNs > idleNs {
                connection.close(.idleTimeout)
            }
            scheduleIdleSweep(on: loop)
        }
    }
}

/// One listener as metrics show it: where it listens, its open connections, and its TLS handshake counts.
public struct ListenerStatus: Sendable {
    /// `127.0.0.1:8583`, with the port actually bound.
    public let address: String
    public let openConnections: Int
    /// Handshake counts on a TLS listener; nil for plain TCP.
    public let tlsStatistics: TLSStatistics?
}

extension EventLoopGroup {
    /// Every listener, in the order they were bound; from any thread once `start` has run.
    public var listenerStatuses: [ListenerStatus] {
        listeners.map { listener in
            ListenerStatus(
                address: "\(listener.address.host):\(listener.boundPort)",
                openConnections: listener.openConnections.load(ordering: .relaxed),
                tlsStatistics: listener.tls?.statistics)
        }
    }
}

extension Connection: @unchecked Sendable {}
extension Listener: @unchecked Sendable {}

extension EventLoopGroup {
    /// Stops accepting: each listener is closed on its loop's thread.
    public func closeListeners() {
        for (index, listener) in listeners.enumerated() {
            let loop = loops[index % loops.count]
            loop.execute { [listener] in
                loop.unregister(descriptor: listener.descriptor, token: listener.token)
                listener.close()
            }
        }
    }
}
