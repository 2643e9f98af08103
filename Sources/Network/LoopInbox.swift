import Synchronization

/// A batch mailbox from other threads to one loop: producers append under a lock, the loop takes the whole batch
/// at once. The loop is woken only when the inbox goes from empty to non-empty, so a burst of N items costs one
/// eventfd write, not N.
public final class LoopInbox<Element: Sendable>: Sendable {
    let items = Mutex<[Element]>([])
    public let loop: EventLoop

    /// Creates the inbox and registers `consume` to receive batches on `loop`'s thread. Call on that thread.
    public init(loop: EventLoop, consume: @escaping ([Element]) -> Void) {
        self.loop = loop
        let spare = Box<[Element]>([])
        loop.drainers.append { [weak self] in
            guard let self else { return }
            items.withLock { swap(&$0, &spare.value) }
            guard !spare.value.isEmpty else { return }
            consume(spare.value)
            spare.value.removeAll(keepingCapacity: true)
        }
    }

    /// From any thread.
    public func push(_ element: Element) {
        let wasEmpty = items.withLock { items -> Bool in
            let empty = items.isEmpty
            items.append(element)
            return empty
        }
        if wasEmpty { loop.wake() }
    }

    /// From any thread: one lock and at most one wake for the whole batch.
    public func push(contentsOf elements: some Collection<Element>) {
        guard !elements.isEmpty else { return }
        let wasEmpty = items.withLock { items -> Bool in
            let empty = items.isEmpty
            items.append(contentsOf: elements)
            return empty
        }
        if wasEmpty { loop.wake() }
    }
}

/// A mutable box owned by one loop thread (the drain closure), so two arrays can be swapped without copying.
final class Box<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
