import ISO8583
import Ledger

/// A request waiting for the ledger: what is needed to answer it when the reply arrives.
struct PendingRequest {
    var generation: UInt32 = 1
    var inUse = false
    /// Answered already (91 when the budget ran out); a late reply is then only checked for an effect to undo.
    var answered = false
    var connection: SwitchConnection?
    var response: ISOMessage?
    var kind: TransactionKind = .unsupported
    var key = IdempotencyKey.zero
    var card: CardNumber?
    var deadlineNs: UInt64 = 0
    /// When the loop handed the request to the ledger (0: not yet): a 91 says how long it waited before and after.
    var submittedNs: UInt64 = 0
    var tpdu: UInt64?
    /// The switch's own reversal of a late approval: its reply settles the key in doubt, nobody is answered.
    var isUndo = false
}

/// A slab of pending requests with a free list. A tag (slot index and generation) travels through the ledger
/// and comes back with the reply; the generation check makes a stale tag harmless. Bounded by `capacity`.
struct PendingTable {
    let capacity: Int
    var slots: [PendingRequest] = []
    var free: [Int] = []
    var count = 0

    init(capacity: Int) {
        precondition(capacity >= 1 && capacity <= 1 << 22, "pendingPerLoopMax is 1...2^22 (the parser's range)")
        self.capacity = capacity
    }

    /// A free slot's tag, or nil when the table is full.
    mutating func allocate() -> UInt64? {
        let index: Int
        if let reused = free.popLast() {
            index = reused
        } else if slots.count < capacity {
            index = slots.count
            slots.append(PendingRequest())
        } else {
            return nil
        }
        precondition(!slots[index].inUse, "a free slot is not in use")
        slots[index].inUse = true
        slots[index].answered = false
        count += 1
        precondition(count <= capacity && count + free.count == slots.count, "every slot is either in use or free")
        return PendingTable.tag(index: index, generation: slots[index].generation)
    }

    /// The slot a tag names, when it is still the same request.
    func index(of tag: UInt64) -> Int? {
        let index = Int(tag & 0xFFFF_FFFF)
        guard tag != 0, index < slots.count, slots[index].inUse, slots[index].generation == UInt32(tag >> 32) else {
            return nil
        }
        precondition(index >= 0 && index < capacity, "a tag names a slot of the table")
        return index
    }

    mutating func release(_ index: Int) {
        precondition(index >= 0 && index < slots.count, "a slot of the table is released")
        precondition(slots[index].inUse, "releasing a free pending slot")
        slots[index].inUse = false
        slots[index].connection = nil
        slots[index].response = nil
        slots[index].isUndo = false
        slots[index].generation &+= 1
        if slots[index].generation == 0 { slots[index].generation = 1 }
        precondition(free.count < capacity, "the free list never outgrows the table")
        free.append(index)
        count -= 1
        precondition(count >= 0 && count + free.count == slots.count, "every slot is either in use or free")
    }

    /// Releases the slot and hands its request out whole: moved, not copied, so the response's buffers keep one
    /// owner and nothing is retained and released twice (issue 17).
    mutating func take(_ index: Int) -> PendingRequest {
        precondition(index >= 0 && index < slots.count && slots[index].inUse, "a slot in use is taken")
        var taken = PendingRequest(generation: slots[index].generation, inUse: true)
        swap(&taken, &slots[index])
        release(index)
        precondition(taken.inUse && slots[index].response == nil, "the request left its slot whole")
        return taken
    }

    /// Puts `request` into the slot `index` (allocated, empty) by moving it; `request` is left empty.
    mutating func place(_ request: inout PendingRequest, at index: Int) {
        precondition(index >= 0 && index < slots.count && slots[index].inUse, "an allocated slot is filled")
        precondition(slots[index].response == nil && slots[index].connection == nil, "an allocated slot is empty")
        let generation = slots[index].generation
        swap(&slots[index], &request)
        slots[index].generation = generation
        slots[index].inUse = true
    }

    /// Tags are never 0 (0 marks the switch's own internal requests).
    static func tag(index: Int, generation: UInt32) -> UInt64 {
        precondition(generation != 0 && index >= 0 && index <= Int(UInt32.max), "a tag is never 0 and names a slot")
        let tag = UInt64(generation) << 32 | UInt64(index)
        precondition(tag != 0 && Int(tag & 0xFFFF_FFFF) == index, "a tag's low word is its slot")
        return tag
    }
}

/// Deadlines in arrival order. Every request has the same budget, so deadlines are already sorted: a ring
/// buffer is enough, no heap. Bounded like the pending table.
struct DeadlineQueue {
    var entries: [(deadlineNs: UInt64, tag: UInt64)]
    var head = 0
    var count = 0

    init(capacity: Int) {
        precondition(capacity >= 1, "a deadline queue holds at least one request")
        entries = Array(repeating: (0, 0), count: capacity)
        precondition(entries.count == capacity && head == 0 && count == 0, "a new deadline queue is empty")
    }

    mutating func push(deadlineNs: UInt64, tag: UInt64) {
        precondition(count < entries.count, "deadline queue larger than the pending table")
        precondition(tag != 0, "only tracked requests have deadlines")
        // One budget for every request on one loop's monotonic clock: deadlines arrive sorted, so the front is the
        // oldest and `popExpired` need look nowhere else.
        precondition(
            count == 0 || entries[(head + count - 1) % entries.count].deadlineNs <= deadlineNs,
            "deadlines are pushed in order")
        entries[(head + count) % entries.count] = (deadlineNs, tag)
        count += 1
        precondition(count <= entries.count && head < entries.count, "the ring holds its entries")
    }

    /// The deadline at the front of the queue, if any.
    var oldestDeadlineNs: UInt64? {
        precondition(count >= 0 && count <= entries.count, "the ring holds its entries")
        return count > 0 ? entries[head].deadlineNs : nil
    }

    /// The oldest entry when its deadline has passed.
    mutating func popExpired(now: UInt64) -> UInt64? {
        guard count > 0, entries[head].deadlineNs <= now else { return nil }
        let tag = entries[head].tag
        precondition(tag != 0, "only tracked requests have deadlines")
        head = (head + 1) % entries.count
        count -= 1
        precondition(count >= 0 && head < entries.count, "the ring holds its entries")
        return tag
    }

    /// Drops answered entries from the front so the queue never fills with finished requests.
    mutating func dropFront(while isFinished: (UInt64) -> Bool) {
        let before = count
        while count > 0 && isFinished(entries[head].tag) {
            head = (head + 1) % entries.count
            count -= 1
        }
        precondition(count >= 0 && count <= before && head < entries.count, "dropping only shrinks the ring")
    }
}
