/// What payments and captures under rules took, lot by lot, so that a reversal gives each part back with the
/// origin and expiry day it had (a coalition partner's points come back as that partner's, a kiosk's as the
/// kiosk's). A ring in idempotency-position order, bounded by `spentLotPartsPerShardMax`: when full, the oldest
/// parts go, and reversing a payment whose parts are gone gives its value back with the reversal's own terms.
/// Touched only by the shard thread; rebuilt by replay, kept in snapshots.
final class SpentLotTable: @unchecked Sendable {
    struct Part: BitwiseCopyable, Equatable {
        /// Idempotency position of the payment or capture that took it.
        var position: Int64
        var amount: Int64
        var expiresOnDay: Int32
        var origin: UInt32
        var asset: Asset
    }

    let capacity: Int
    /// The ring's slots (all of them in use as far as `FixedStorage` is concerned), so checkpoints copy on write.
    let storage: FixedStorage<Part>
    private(set) var start = 0
    private(set) var count = 0

    init(capacity: Int) {
        precondition(capacity >= 1, "SpentLotTable needs a positive capacity")
        self.capacity = capacity
        storage = FixedStorage(capacity: capacity)
        storage.setCount(capacity)
    }

    subscript(offset: Int) -> Part {
        precondition(offset >= 0 && offset < count, "a part of the ring")
        return storage[(start + offset) % capacity]
    }

    /// Appends (positions never decrease); the oldest part goes when the ring is full.
    func append(_ part: Part) {
        precondition(count == 0 || self[count - 1].position <= part.position, "spent parts out of order")
        if count == capacity {
            start = (start + 1) % capacity
            count -= 1
        }
        storage[(start + count) % capacity] = part
        count += 1
        precondition(count >= 1 && count <= capacity && start >= 0 && start < capacity, "ring bounds")
    }

    /// The offsets of the parts taken by the operation at `position` (binary search, then a scan).
    func offsets(of position: Int64) -> Range<Int> {
        precondition(position >= 0, "an idempotency position")
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if self[middle].position < position { low = middle + 1 } else { high = middle }
        }
        var end = low
        while end < count && self[end].position == position { end += 1 }
        precondition(low >= 0 && low <= end && end <= count, "the parts found are inside the ring")
        assert(low == 0 || self[low - 1].position < position, "the parts found are all the operation's")
        return low..<end
    }

    /// Replaces the contents (a snapshot load); nil, or why the parts cannot be this table's (then it is left
    /// empty): positions that go back or are negative, or a negative amount. A snapshot's checksum
    /// does not prove its writer right, and `append` traps on what it would take from a running shard.
    func restore(_ parts: UnsafeBufferPointer<Part>) -> String? {
        precondition(parts.count <= capacity, "more spent parts than the table holds")
        start = 0
        count = 0
        var previous: Int64 = 0
        for (index, part) in parts.enumerated() {
            guard part.position >= previous else {
                count = 0
                return "spent-lot part \(index) has position \(part.position), before the \(previous) of the part before it"
            }
            guard part.amount >= 0 else {
                count = 0
                return "spent-lot part \(index) has amount \(part.amount)"
            }
            previous = part.position
            append(part)
        }
        precondition(count == parts.count && start == 0, "the ring holds the parts restored")
        return nil
    }
}
