import Glibc
import Network

/// Told of every answer the server starts: for metrics (requests by route and status), kept outside this module.
/// Called on the answering connection's loop thread.
public protocol HTTPServerObserver: AnyObject, Sendable {
    /// `route` is the router's index, or nil for an answer no route gave (404, 405, a refused request).
    func responded(route: Int?, status: HTTPStatus, loopIndex: Int)
}

/// An HTTP/1.1 server on the network layer's event loops: a router, its limits, and per-loop state. It knows
/// nothing of what its routes do. `listen` adds it to a group as one more listener, beside any others.
public final class HTTPServer: @unchecked Sendable {
    public let router: HTTPRouter
    public let limits: HTTPLimits
    public let observer: (any HTTPServerObserver)?
    /// Monotonic nanoseconds; tests hand in a clock they move.
    let clock: @Sendable () -> UInt64
    /// One per loop, each touched only by its loop's thread.
    let loopStates: [HTTPLoopState]

    public init(
        router: HTTPRouter, limits: HTTPLimits, loopCount: Int, observer: (any HTTPServerObserver)? = nil,
        clock: @escaping @Sendable () -> UInt64 = monotonicNanoseconds
    ) {
        limits.validate()
        precondition(loopCount >= 1 && loopCount <= 64, "loopCount must be 1...64")
        self.router = router
        self.limits = limits
        self.observer = observer
        self.clock = clock
        loopStates = (0..<loopCount).map { HTTPLoopState(loopIndex: $0, sweepPeriodMs: Self.sweepPeriodMs(limits)) }
    }

    /// A quarter of the shortest deadline, 10...250 ms: a deadline is noticed at most a quarter late.
    static func sweepPeriodMs(_ limits: HTTPLimits) -> Int {
        let shortest = min(limits.headerReadTimeoutMs, limits.bodyReadTimeoutMs, limits.idleTimeoutMs)
        return max(10, min(shortest / 4, 250))
    }

    /// Listens on `address` in `group` (before the group starts), with TLS when `tls` is given. Its connections
    /// are bounded by `limits.connectionsMax`, apart from the group's own limit. Returns the bound port.
    @discardableResult
    public func listen(
        on group: EventLoopGroup, address: SocketAddress, tls: TLSListenerContext? = nil
    ) throws(SystemCallError) -> UInt16 {
        precondition(group.loops.count == loopStates.count, "the server was made for another number of loops")
        return try group.listen(on: address, tls: tls, connectionsMax: limits.connectionsMax) { [self] connection in
            let state = loopStates[connection.loop.index]
            state.loop = connection.loop
            return makeConnection(transport: connection, loopIndex: connection.loop.index)
        }
    }

    /// A connection over any transport, on loop `loopIndex`'s state (the listener's path, and tests').
    public func makeConnection(transport: any HTTPTransport, loopIndex: Int) -> HTTPConnection {
        let state = loopStates[loopIndex]
        let connection = HTTPConnection(transport: transport, server: self, loopState: state, nowNs: clock())
        state.add(connection)
        return connection
    }

    /// Runs loop `loopIndex`'s deadline checks now (the loop does this by itself every sweep period; tests with
    /// a hand-moved clock call it).
    public func sweep(loopIndex: Int) {
        loopStates[loopIndex].sweep(nowNs: clock())
    }
}

/// What one loop's HTTP connections share: the `Date` value, a scratch buffer for bodies, and the list of
/// connections its sweep checks for deadlines. Loop thread only.
final class HTTPLoopState {
    let loopIndex: Int
    let sweepPeriodMs: Int
    /// Set by the first connection accepted on the loop; nil in tests, which sweep by hand.
    var loop: EventLoop?
    var date = HTTPDate()
    private var scratch: [UInt8] = []
    private(set) var connections: [HTTPConnection] = []
    private var sweepScheduled = false
    /// The thread that uses this state: the first one to (the loop's, or a test's), checked by every later use.
    private var ownerThread: pthread_t?

    init(loopIndex: Int, sweepPeriodMs: Int) {
        self.loopIndex = loopIndex
        self.sweepPeriodMs = sweepPeriodMs
    }

    /// The scratch buffer (empty, with its capacity); give it back after use.
    func takeScratch() -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &scratch)
        return taken
    }

    /// Keeps a buffer for the next body, unless it grew past 1 MiB (a rare large answer does not stay resident).
    func giveBackScratch(_ buffer: [UInt8]) {
        if buffer.capacity <= 1 << 20 { scratch = buffer }
    }

    /// Loop thread ownership is asserted, not assumed: nothing here is locked, so a second thread would corrupt it.
    func assertOwnedByCurrentThread() {
        let current = pthread_self()
        guard let ownerThread else {
            ownerThread = current
            return
        }
        precondition(pthread_equal(ownerThread, current) != 0, "HTTP loop state used off its loop's thread")
    }

    func add(_ connection: HTTPConnection) {
        assertOwnedByCurrentThread()
        precondition(connection.sweepIndex == -1, "a connection is added once")
        connection.sweepIndex = connections.count
        connections.append(connection)
        scheduleSweepIfNeeded()
    }

    func remove(_ connection: HTTPConnection) {
        assertOwnedByCurrentThread()
        let index = connection.sweepIndex
        guard index >= 0 else { return }
        precondition(connections[index] === connection, "the sweep list lost track of a connection")
        connections[index] = connections[connections.count - 1]
        connections[index].sweepIndex = index
        connections.removeLast()
        connection.sweepIndex = -1
    }

    func sweep(nowNs: UInt64) {
        assertOwnedByCurrentThread()
        for connection in connections { connection.checkDeadlines(nowNs: nowNs) }
    }

    /// The sweep runs only while the loop has HTTP connections, so an idle admin listener costs no timers.
    private func scheduleSweepIfNeeded() {
        guard let loop, !sweepScheduled else { return }
        sweepScheduled = true
        loop.schedule(afterMs: sweepPeriodMs) { [self] in
            sweepScheduled = false
            sweep(nowNs: monotonicNanoseconds())
            if !connections.isEmpty { scheduleSweepIfNeeded() }
        }
    }
}

extension HTTPConnection: ConnectionHandler {
    public func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection) {
        receive(bytes, nowNs: server.clock())
    }

    public func inputEnded(on connection: Connection) {
        endOfInput()
    }

    public func closed(_ connection: Connection, reason: CloseReason) {
        transportClosed()
    }
}
