import CLinux
import Foundation
import Glibc
import SystemCalls

extension EventLoop {
    /// Starts the loop's thread.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = threadName
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    /// Asks the loop to stop after its current iteration.
    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        wake()
    }

    func run() {
        owningThread.store(UInt(pthread_self()), ordering: .relaxed)
        // Nice first, then the name: whoever finds the thread by its name (top -H, a test) sees its priority.
        if threadNice > 0 && !setThreadNice(Int32(threadNice)) {
            log.warning("\(threadName): cannot set nice \(threadNice) (errno \(errno)); it runs at the process's priority")
        }
        clinux_set_thread_name(threadName)
        var events = [UInt32](repeating: 0, count: limits.eventsPerWaitMax)
        var tokens = [UInt64](repeating: 0, count: limits.eventsPerWaitMax)
        while !stopRequested.load(ordering: .acquiring) {
            let timeoutMs = nextTimeoutMs()
            let count = retryingInterrupts {
                clinux_epoll_wait(epollDescriptor, &events, &tokens, Int32(events.count), timeoutMs)
            }
            if count < 0 { preconditionFailure("epoll_wait failed with errno \(errno)") }
            handshakeStepsThisIteration = 0
            for position in 0..<Int(count) {
                dispatch(token: Int(tokens[position]), events: events[position])
            }
            readBufferedInput()
            runDueTimers()
            for hook in iterationHooks { hook() }
            flushDirtyConnections()
            closeDeliveredConnections()
        }
        closeEverything()
        threadFinished.store(true, ordering: .releasing)
    }

    func dispatch(token: Int, events: UInt32) {
        if token == EventLoop.wakeToken {
            drainWake()
            return
        }
        guard token < registrations.count, let object = registrations[token] else { return }
        object.handle(events: events, loop: self)
    }

    /// Reads the eventfd, clears the pending flag, then runs tasks and drains inboxes — in that order. Work added
    /// before the flag is cleared is seen by this drain; work added after it finds the flag clear and writes the
    /// eventfd again. (Clearing before the read lost wake-ups: a write consumed by this read left the flag set,
    /// and the next producer then skipped its write while the loop slept.)
    func drainWake() {
        var counter: UInt64 = 0
        _ = Glibc.read(wakeDescriptor, &counter, 8)
        wakePending.store(false, ordering: .sequentiallyConsistent)
        precondition(taskBatch.isEmpty, "tasks are run once")
        tasks.withLock { queued in swap(&queued, &taskBatch) }
        for task in taskBatch { task() }
        taskBatch.removeAll(keepingCapacity: true)
        for drainer in drainers { drainer() }
    }

    /// Reads what OpenSSL holds for the TLS connections queued in the last iteration (each at most one read budget
    /// per iteration, as if epoll had reported it).
    func readBufferedInput() {
        guard !connectionsWithBufferedInput.isEmpty else { return }
        precondition(bufferedInputBatch.isEmpty, "buffered input is read once per iteration")
        swap(&connectionsWithBufferedInput, &bufferedInputBatch)
        for connection in bufferedInputBatch {
            connection.tls?.queuedForBufferedRead = false
            guard !connection.isClosed, !connection.pausedByHandler, !connection.pausedByBackpressure else { continue }
            connection.readAvailable()
        }
        bufferedInputBatch.removeAll(keepingCapacity: true)
    }

    func nextTimeoutMs() -> Int32 {
        if !connectionsWithBufferedInput.isEmpty { return 0 }
        var earliest = requestedWakeNs ?? UInt64.max
        requestedWakeNs = nil
        for timer in timers { earliest = min(earliest, timer.deadlineNs) }
        guard earliest != UInt64.max else { return 1000 }
        let now = monotonicNanoseconds()
        if earliest <= now { return 0 }
        return Int32(min((earliest - now + 999_999) / 1_000_000, 1000))
    }

    func runDueTimers() {
        guard !timers.isEmpty else { return }
        let now = monotonicNanoseconds()
        // Most iterations find none due: they allocate nothing (the list of due actions is made only when needed).
        guard timers.contains(where: { $0.deadlineNs <= now }) else { return }
        var due: [() -> Void] = []
        timers.removeAll { timer in
            if timer.deadlineNs <= now {
                due.append(timer.action)
                return true
            }
            return false
        }
        for action in due { action() }
    }

    /// One write per connection per iteration: every response produced in this batch goes out together.
    func flushDirtyConnections() {
        guard !dirtyConnections.isEmpty else { return }
        precondition(flushBatch.isEmpty, "connections are flushed once per iteration")
        swap(&dirtyConnections, &flushBatch)
        for connection in flushBatch { connection.flush() }
        flushBatch.removeAll(keepingCapacity: true)
    }

    /// Closes the lingering connections whose bytes the peer has acknowledged; wakes again soon for the rest.
    func closeDeliveredConnections() {
        guard !lingeringConnections.isEmpty else { return }
        lingeringConnections.removeAll { $0.closeIfDelivered() }
        if !lingeringConnections.isEmpty {
            wakeNoLaterThan(monotonicNanoseconds() + UInt64(EventLoop.lingerCheckMs) * 1_000_000)
        }
    }

    func closeEverything() {
        for case let connection as Connection in registrations { connection.close(.shutdown) }
        for case let listener as Listener in registrations { listener.close() }
    }
}
