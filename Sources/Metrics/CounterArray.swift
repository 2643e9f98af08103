import Synchronization

/// A fixed number of 64-bit counters with one writer thread and any number of readers.
///
/// The writer (an event loop, a ledger shard) adds with a relaxed load and store, which compiles to plain moves:
/// no lock and no locked instruction on the request path. A reader on another thread (a metrics scrape) loads
/// with relaxed ordering: it may see a value a few increments old, never a torn one, and never a data race.
/// Writing from two threads would lose increments, so each array has exactly one writer by construction (one
/// per loop or per shard, summed at scrape time).
public final class CounterArray: @unchecked Sendable {
    /// More counters than any label set here needs; a bound so a mistake cannot allocate without end.
    public static let countMax = 1 << 16

    public let count: Int
    private let base: UnsafeMutablePointer<Atomic<UInt64>>

    public init(count: Int) {
        precondition(count >= 1 && count <= CounterArray.countMax, "a CounterArray holds 1...65536 counters")
        self.count = count
        base = .allocate(capacity: count)
        for index in 0..<count { (base + index).initialize(to: Atomic<UInt64>(0)) }
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    /// Writer thread only: adds `amount` to counter `index`.
    @inline(__always)
    public func add(_ amount: UInt64, at index: Int) {
        precondition(index >= 0 && index < count, "counter index out of range")
        let slot = base + index
        slot.pointee.store(slot.pointee.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    /// Writer thread only: sets counter `index` (a gauge kept by its one writer).
    @inline(__always)
    public func set(_ value: UInt64, at index: Int) {
        precondition(index >= 0 && index < count, "counter index out of range")
        base[index].store(value, ordering: .relaxed)
    }

    /// Any thread: the counter's value as last stored (possibly a few increments behind the writer).
    public func load(at index: Int) -> UInt64 {
        precondition(index >= 0 && index < count, "counter index out of range")
        return base[index].load(ordering: .relaxed)
    }
}
