import CLinux
import Foundation
import Glibc
import Synchronization
import SystemCalls

/// Something registered in a loop's epoll set. Called on the loop thread only.
protocol Pollable: AnyObject {
    func handle(events: UInt32, loop: EventLoop)
}

/// One thread, one epoll set. Connections live on exactly one loop; everything about a connection happens on its
/// loop's thread, so connection state needs no locks. Other threads talk to a loop only through `execute` and
/// `LoopInbox`, both of which wake the loop with one eventfd write per batch.
public final class EventLoop: @unchecked Sendable {
    public let index: Int
    let epollDescriptor: Int32
    let wakeDescriptor: Int32
    let limits: NetworkLimits
    let log: LogSink

    // Loop-thread state.
    var registrations: [Pollable?] = [nil]
    var freeTokens: [Int] = []
    var dirtyConnections: [Connection] = []
    var drainers: [() -> Void] = []
    var iterationHooks: [() -> Void] = []
    var timers: [(deadlineNs: UInt64, action: () -> Void)] = []
    /// The latest time the next wait may last until, as asked by `wakeNoLaterThan` during this iteration.
    var requestedWakeNs: UInt64?
    /// Outbound connections opened by this loop so far (their ids).
    var nextOutboundConnectionNumber: UInt64 = 0
    /// TLS connections whose decrypted (or read-ahead) bytes wait inside OpenSSL: epoll will not announce them,
    /// so the loop reads them in its next iteration.
    var connectionsWithBufferedInput: [Connection] = []
    /// Half-closed connections waiting for the peer to acknowledge their last bytes (`closeGracefully`); checked
    /// every iteration, with the wait cut to `lingerCheckMs` while any is here.
    var lingeringConnections: [Connection] = []
    /// Spare arrays the per-iteration lists are swapped with while they are worked through, so an iteration
    /// allocates nothing for them (copying the list and emptying it in place allocated a new buffer each time).
    var taskBatch: [@Sendable () -> Void] = []
    var flushBatch: [Connection] = []
    var bufferedInputBatch: [Connection] = []
    static let lingerCheckMs = 2
    /// TLS handshake steps run in this iteration (bounded by `limits.tlsHandshakesPerIterationMax`).
    var handshakeStepsThisIteration = 0
    /// Scratch buffer for reads: a read's bytes are handed to the handler before the next read.
    let readBuffer: UnsafeMutableRawBufferPointer

    // Cross-thread state.
    let tasks = Mutex<[@Sendable () -> Void]>([])
    let wakePending = Atomic<Bool>(false)
    let stopRequested = Atomic<Bool>(false)
    let threadFinished = Atomic<Bool>(false)
    nonisolated(unsafe) var thread: Thread?
    /// The loop thread's id once it runs (0 before): loop-bound entry points check it.
    let owningThread = Atomic<UInt>(0)

    /// The wake eventfd's token in `registrations`.
    static let wakeToken = 0
    /// The most timers a loop holds; they serve sweeps and deadlines, not per-request work.
    static let timersMax = 1024
    /// The thread's name (`loop-0`, `admin-loop-0`), as `top -H` and /proc/PID/task/TID/comm show it.
    let threadName: String
    /// The thread's nice value, set when it starts (0 = the process's own; see `EventLoopGroup.init`).
    let threadNice: Int

    init(
        index: Int, limits: NetworkLimits, log: LogSink, namePrefix: String = "loop", threadNice: Int = 0
    ) throws(SystemCallError) {
        precondition((0...19).contains(threadNice), "a nice value an unprivileged thread may take: 0...19")
        precondition(!namePrefix.isEmpty && namePrefix.utf8.count <= 12, "a thread name fits 15 bytes")
        self.index = index
        threadName = "\(namePrefix)-\(index)"
        self.threadNice = threadNice
        self.limits = limits
        self.log = log
        epollDescriptor = clinux_epoll_create()
        guard epollDescriptor >= 0 else { throw SystemCallError(call: "epoll_create1", errorNumber: errno) }
        wakeDescriptor = clinux_eventfd()
        guard wakeDescriptor >= 0 else { throw SystemCallError(call: "eventfd", errorNumber: errno) }
        readBuffer = .allocate(byteCount: 64 << 10, alignment: 16)
        _ = clinux_epoll_ctl(
            epollDescriptor, CLINUX_EPOLL_CTL_ADD, wakeDescriptor, CLINUX_EPOLLIN, UInt64(EventLoop.wakeToken))
    }

    deinit {
        readBuffer.deallocate()
        Glibc.close(epollDescriptor)
        Glibc.close(wakeDescriptor)
    }

    /// Crashes when called off the loop's thread once the loop runs (set-up before it starts is allowed). What a
    /// loop owns has no locks, so a call from another thread is a programmer error, caught here rather than as a
    /// corrupted buffer later (SwiftNIO's `preconditionInEventLoop`). One load and one compare.
    @inline(__always)
    public func preconditionInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        let owner = owningThread.load(ordering: .relaxed)
        precondition(owner == 0 || owner == UInt(pthread_self()), "called off the loop thread", file: file, line: line)
    }

    /// Runs `task` on the loop thread soon. For rare work (new connections, shutdown); replies use `LoopInbox`.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        tasks.withLock { $0.append(task) }
        wake()
    }

    /// Wakes the loop unless a wake is already pending: one eventfd write per batch of cross-thread work.
    public func wake() {
        if !wakePending.exchange(true, ordering: .sequentiallyConsistent) {
            var one: UInt64 = 1
            _ = Glibc.write(wakeDescriptor, &one, 8)
        }
    }

    /// Loop thread only: `hook` runs after every batch of events (deadline checks, statistics).
    public func addIterationHook(_ hook: @escaping () -> Void) {
        iterationHooks.append(hook)
    }

    /// Loop thread only: the next wait for events ends by `deadlineNs` even if nothing happens (e.g. the oldest
    /// request's latency budget). Applies to the next wait only; ask again each iteration while it matters.
    public func wakeNoLaterThan(_ deadlineNs: UInt64) {
        requestedWakeNs = min(requestedWakeNs ?? deadlineNs, deadlineNs)
    }

    /// Loop thread only: runs `action` once, at or after `delayMs`. Bounded by `timersMax`.
    public func schedule(afterMs delayMs: Int, _ action: @escaping () -> Void) {
        precondition(timers.count < EventLoop.timersMax, "timer limit reached")
        timers.append((monotonicNanoseconds() + UInt64(max(delayMs, 0)) * 1_000_000, action))
    }

    func register(_ object: Pollable, descriptor: Int32, events: UInt32) throws(SystemCallError) -> Int {
        let token: Int
        if let reused = freeTokens.popLast() {
            token = reused
            registrations[token] = object
        } else {
            token = registrations.count
            registrations.append(object)
        }
        if clinux_epoll_ctl(epollDescriptor, CLINUX_EPOLL_CTL_ADD, descriptor, events, UInt64(token)) != 0 {
            registrations[token] = nil
            freeTokens.append(token)
            throw SystemCallError(call: "epoll_ctl(ADD)", errorNumber: errno)
        }
        return token
    }

    func modify(descriptor: Int32, token: Int, events: UInt32) {
        _ = clinux_epoll_ctl(epollDescriptor, CLINUX_EPOLL_CTL_MOD, descriptor, events, UInt64(token))
    }

    func unregister(descriptor: Int32, token: Int) {
        _ = clinux_epoll_ctl(epollDescriptor, CLINUX_EPOLL_CTL_DEL, descriptor, 0, 0)
        registrations[token] = nil
        freeTokens.append(token)
    }

    /// Loop thread only: true when one more TLS handshake step may run in this iteration, and counts it.
    func takeHandshakeStep() -> Bool {
        guard handshakeStepsThisIteration < limits.tlsHandshakesPerIterationMax else { return false }
        handshakeStepsThisIteration += 1
        return true
    }

    /// Loop thread only: calls `body` with each open connection of this loop (bounded by the registrations).
    public func forEachConnection(_ body: (Connection) -> Void) {
        for case let connection as Connection in registrations where !connection.isClosed { body(connection) }
    }

    func markDirty(_ connection: Connection) {
        dirtyConnections.append(connection)
    }
}
