#if canImport(Glibc)
    import Glibc
#endif

/// A fixed-capacity array of plain values in zeroed memory (calloc).
///
/// Why not `Array`: the capacity is a configured limit, never exceeded and never reallocated (no latency spike
/// from a doubling copy), and pages that were never touched cost no RAM, so a generous limit is cheap.
/// Zero must be a valid value of `Element`. Owned by one shard thread.
final class FixedStorage<Element: BitwiseCopyable>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
    let capacity: Int
    var count: Int = 0

    init(capacity: Int) {
        precondition(capacity > 0, "FixedStorage needs a positive capacity")
        guard let memory = calloc(capacity, MemoryLayout<Element>.stride) else {
            preconditionFailure("calloc of \(capacity) elements failed")
        }
        self.capacity = capacity
        base = memory.bindMemory(to: Element.self, capacity: capacity)
    }

    deinit { free(base) }

    var isFull: Bool { count == capacity }

    subscript(index: Int) -> Element {
        unsafeAddress {
            precondition(index >= 0 && index < count, "FixedStorage index out of range")
            return UnsafePointer(base + index)
        }
        unsafeMutableAddress {
            precondition(index >= 0 && index < count, "FixedStorage index out of range")
            return base + index
        }
    }

    /// Appends; the caller has checked `isFull` (a full table is an operating condition it must answer).
    @discardableResult
    func append(_ element: Element) -> Int {
        precondition(count < capacity, "FixedStorage is full")
        base[count] = element
        count += 1
        return count - 1
    }

    /// Sets `count` (used when a snapshot loads the elements directly into `base`).
    func setCount(_ newCount: Int) {
        precondition(newCount >= 0 && newCount <= capacity, "count beyond capacity")
        count = newCount
    }

    var rawBytesInUse: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count * MemoryLayout<Element>.stride)
    }
}
