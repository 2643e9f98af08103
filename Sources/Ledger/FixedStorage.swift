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
    /// While a checkpoint writes this table: its bytes `[0, frozenBytes)` are copied on first write (0: none).
    private(set) var frozenBytes = 0
    private(set) var checkpoint: CheckpointRegion?

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
        unsafeAddress { address(index) }
        unsafeMutableAddress { mutableAddress(index) }
    }

    /// The element's address for reading (checked against `count`): what a table built on this one forwards its
    /// own subscript to.
    @inline(__always)
    func address(_ index: Int) -> UnsafePointer<Element> {
        precondition(index >= 0 && index < count, "FixedStorage index out of range")
        return UnsafePointer(base + index)
    }

    /// The element's address for writing (checked against `count`; a checkpoint covering it keeps its copy first).
    @inline(__always)
    func mutableAddress(_ index: Int) -> UnsafeMutablePointer<Element> {
        precondition(index >= 0 && index < count, "FixedStorage index out of range")
        willWrite(index)
        return base + index
    }

    /// Appends; the caller has checked `isFull` (a full table is an operating condition it must answer).
    @discardableResult
    func append(_ element: Element) -> Int {
        precondition(count < capacity, "FixedStorage is full")
        willWrite(count)
        base[count] = element
        count += 1
        return count - 1
    }

    /// Writes zero bytes over the elements in use, in one `memset` (a checkpoint covering them keeps its copy
    /// first). Why: emptying a hash index slot by slot costs a random access per entry; this costs a pass.
    func zeroAll() {
        precondition(frozenBytes == 0 || checkpoint != nil, "a frozen table has its region")
        let bytes = count &* MemoryLayout<Element>.stride
        guard bytes > 0 else { return }
        if frozenBytes > 0 { checkpoint!.willWrite(offset: 0, count: min(bytes, frozenBytes)) }
        memset(UnsafeMutableRawPointer(base), 0, bytes)
    }

    /// Sets `count` (used when a snapshot loads the elements directly into `base`).
    func setCount(_ newCount: Int) {
        precondition(newCount >= 0 && newCount <= capacity, "count beyond capacity")
        count = newCount
    }

    /// One compare when no checkpoint covers the element; the region saves its chunk otherwise.
    @inline(__always)
    private func willWrite(_ index: Int) {
        let offset = index &* MemoryLayout<Element>.stride
        if offset < frozenBytes { checkpoint!.willWrite(offset: offset, count: MemoryLayout<Element>.stride) }
    }

    /// A checkpoint begins (shard thread): the bytes of the first `elements` elements are kept as they are now.
    func beginCheckpoint(elements: Int, budget: CheckpointCopyBudget) -> CheckpointRegion {
        precondition(checkpoint == nil, "one checkpoint at a time")
        precondition(elements >= 0 && elements <= capacity, "checkpoint beyond capacity")
        let region = CheckpointRegion(
            base: UnsafeMutableRawPointer(base), frozenBytes: elements * MemoryLayout<Element>.stride, budget: budget)
        checkpoint = region
        frozenBytes = region.frozenBytes
        precondition(frozenBytes == elements * MemoryLayout<Element>.stride, "the region covers the elements")
        return region
    }

    /// The checkpoint is written (shard thread): writes no longer look at it.
    func endCheckpoint() {
        precondition(checkpoint != nil, "a checkpoint ends once, after it began")
        checkpoint = nil
        frozenBytes = 0
    }

    var rawBytesInUse: UnsafeRawBufferPointer {
        precondition(count >= 0 && count <= capacity, "count within capacity")
        return UnsafeRawBufferPointer(start: base, count: count * MemoryLayout<Element>.stride)
    }
}
