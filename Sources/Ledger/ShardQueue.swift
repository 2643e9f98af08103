import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// The bounded multi-producer, single-consumer queue in front of a shard.
///
/// Client commands beyond `capacity` are refused at once (the caller answers "overloaded"), never queued.
/// Internal commands (the halves of cross-shard transfers) use a separate reserve of `internalReserve` slots,
/// which cannot run out: each shard has at most `transfersInFlightMax` transfers outstanding.
///
/// A command's sale (`SaleDetail`: terminal, merchant, basket) travels beside it in a slot of the same ring
/// position, so the command itself stays bitwise-copyable and small; `ShardCommand.saleIndex` names it in the
/// array handed in with `push` and in the one `takeAll` fills.
final class ShardQueue: @unchecked Sendable {
    let capacity: Int
    let internalReserve: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let ring: UnsafeMutablePointer<ShardCommand>
    /// The sale of the command at the same position (nil: none).
    private let saleRing: UnsafeMutablePointer<SaleDetail?>
    private let ringCapacity: Int
    private var head = 0
    private var count = 0
    private var clientCount = 0
    private var isConsumerWaiting = false
    /// When the oldest command now queued was queued (monotonic ns; 0: none queued), and the same for the batch
    /// the consumer took last (`takeAll`; read by the consumer only): how long its first command waited.
    private var oldestQueuedNs: UInt64 = 0
    private(set) var lastBatchQueuedSinceNs: UInt64 = 0
    private var isStopRequested = false
    /// Set by `wake`: the consumer returns from `takeAll` once, with or without commands.
    private var isWakeRequested = false

    init(capacity: Int, internalReserve: Int) {
        precondition(capacity >= 1 && internalReserve >= 0, "a queue holds at least one client command")
        self.capacity = capacity
        self.internalReserve = internalReserve
        ringCapacity = capacity + internalReserve
        ring = UnsafeMutablePointer<ShardCommand>.allocate(capacity: ringCapacity)
        saleRing = UnsafeMutablePointer<SaleDetail?>.allocate(capacity: ringCapacity)
        saleRing.initialize(repeating: nil, count: ringCapacity)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        while count > 0 {
            (ring + head).deinitialize(count: 1)
            head = (head + 1) % ringCapacity
            count -= 1
        }
        ring.deallocate()
        saleRing.deinitialize(count: ringCapacity)
        saleRing.deallocate()
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Enqueues a client command; false (nothing queued) when `capacity` commands are waiting or the shard
    /// is stopping. `sale` travels with it (the command's `saleIndex` is ignored).
    func push(_ command: ShardCommand, sale: SaleDetail? = nil) -> Bool {
        pthread_mutex_lock(mutex)
        guard clientCount < capacity, !isStopRequested else {
            pthread_mutex_unlock(mutex)
            return false
        }
        clientCount += 1
        enqueueLocked(command, sale: sale)
        return true
    }

    /// Enqueues client commands in order under one lock, as many as fit; returns how many were queued (the rest
    /// were refused, nothing of them queued). Wakes the consumer once. A command whose `saleIndex` is not zero
    /// carries `sales[saleIndex - 1]`.
    func push(contentsOf commands: [ShardCommand], sales: [SaleDetail] = []) -> Int {
        pthread_mutex_lock(mutex)
        guard !isStopRequested else {
            pthread_mutex_unlock(mutex)
            return 0
        }
        let accepted = max(0, min(capacity - clientCount, commands.count))
        precondition(count + accepted <= ringCapacity, "the ring holds every client command and the reserve")
        if count == 0 && accepted > 0 { oldestQueuedNs = monotonicNanoseconds() }
        // Commands are bitwise copyable: copied into the ring's one or two free spans whole (a copy of each through
        // a local first was most of the loops' memmove in `Ledger.submit`), then the few with a sale get theirs.
        let tail = (head + count) % ringCapacity
        let firstSpan = min(accepted, ringCapacity - tail)
        commands.withUnsafeBufferPointer { source in
            guard let base = source.baseAddress, accepted > 0 else { return }
            (ring + tail).initialize(from: base, count: firstSpan)
            if accepted > firstSpan { ring.initialize(from: base + firstSpan, count: accepted - firstSpan) }
        }
        for index in 0..<accepted {
            let position = (tail + index) % ringCapacity
            let saleIndex = ring[position].saleIndex
            precondition(ring[position].kind != .none, "an empty command queued")
            precondition(Int(saleIndex) <= sales.count, "a command names a sale it was not given")
            precondition(saleRing[position] == nil, "a free ring slot holds no sale")
            if saleIndex != 0 {
                saleRing[position] = sales[Int(saleIndex) - 1]
                ring[position].saleIndex = 0
            }
        }
        count += accepted
        clientCount += accepted
        precondition(clientCount <= capacity && clientCount <= count, "client commands within capacity")
        let wake = isConsumerWaiting && accepted > 0
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_signal(condition) }
        return accepted
    }

    /// Enqueues an internal command; the reserve guarantees room.
    func pushInternal(_ command: ShardCommand) {
        pthread_mutex_lock(mutex)
        precondition(count - clientCount < internalReserve, "internal queue reserve exhausted")
        enqueueLocked(command, sale: nil)
    }

    /// Appends and unlocks; wakes the consumer only when it sleeps.
    private func enqueueLocked(_ command: ShardCommand, sale: SaleDetail?) {
        precondition(count < ringCapacity, "the ring holds every client command and the reserve")
        precondition(command.kind != .none, "an empty command queued")
        let position = (head + count) % ringCapacity
        precondition(saleRing[position] == nil, "a free ring slot holds no sale")
        var command = command
        command.saleIndex = 0
        if count == 0 { oldestQueuedNs = monotonicNanoseconds() }
        saleRing[position] = sale
        (ring + position).initialize(to: command)
        count += 1
        let wake = isConsumerWaiting
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_signal(condition) }
    }

    /// Moves everything queued into `batch`, waiting while the queue is empty (at most `waitAtMostMs` when it is
    /// positive, so periodic work such as the lot sweep runs on an idle shard). Returns true when a stop was
    /// requested (the consumer drains what is left, then ends). A command with a sale gets it appended to `sales`
    /// and its `saleIndex` set to that position + 1.
    func takeAll(into batch: inout [ShardCommand], sales: inout [SaleDetail], waitAtMostMs: Int = 0) -> Bool {
        pthread_mutex_lock(mutex)
        var deadline = timespec()
        if waitAtMostMs > 0 {
            clock_gettime(CLOCK_REALTIME, &deadline)
            let nanoseconds = Int(deadline.tv_nsec) + (waitAtMostMs % 1000) * 1_000_000
            deadline.tv_sec += waitAtMostMs / 1000 + nanoseconds / 1_000_000_000
            deadline.tv_nsec = nanoseconds % 1_000_000_000
        }
        while count == 0 && !isStopRequested && !isWakeRequested {
            isConsumerWaiting = true
            let timedOut = waitAtMostMs > 0 && pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT
            if waitAtMostMs <= 0 { pthread_cond_wait(condition, mutex) }
            isConsumerWaiting = false
            if timedOut { break }
        }
        precondition(count <= ringCapacity && clientCount <= count, "queue counts in range")
        let before = batch.count
        // Commands are bitwise copyable: the ring's one or two spans are copied whole (one memcpy each, under the
        // lock the loops wait on), then the few with a sale get theirs.
        let firstSpan = min(count, ringCapacity - head)
        batch.append(contentsOf: UnsafeBufferPointer(start: ring + head, count: firstSpan))
        if count > firstSpan { batch.append(contentsOf: UnsafeBufferPointer(start: ring, count: count - firstSpan)) }
        for offset in 0..<count {
            let slot = (head + offset) % ringCapacity
            guard saleRing[slot] != nil else { continue }
            sales.append(saleRing[slot]!)
            batch[before + offset].saleIndex = UInt32(sales.count)
            saleRing[slot] = nil
        }
        head = (head + count) % ringCapacity
        precondition(batch.count == before + count, "every queued command taken once")
        precondition(count == 0 || oldestQueuedNs > 0, "a queued command has its time")
        lastBatchQueuedSinceNs = count > 0 ? oldestQueuedNs : 0
        oldestQueuedNs = 0
        count = 0
        clientCount = 0
        isWakeRequested = false
        let stop = isStopRequested
        pthread_mutex_unlock(mutex)
        return stop
    }

    /// Makes the consumer look at its shard once more without a command (a report waits for a checkpoint).
    func wake() {
        pthread_mutex_lock(mutex)
        isWakeRequested = true
        let wake = isConsumerWaiting
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_signal(condition) }
    }

    func requestStop() {
        pthread_mutex_lock(mutex)
        isStopRequested = true
        pthread_mutex_unlock(mutex)
        pthread_cond_signal(condition)
    }
}
