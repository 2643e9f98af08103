/// Remembered requests on their way to disk: the entries the in-memory ring (`IdempotencyTable`) let go of, in
/// position order, and new versions of older ones (a reversal marks its original reversed), until the buffer is
/// frozen and written as one immutable `KeyRun`. Fixed capacity, indexed by name (first versions only: a newer
/// version never changes a name) and by position. Owned by the shard thread; a frozen buffer is only read, by the
/// shard and by the thread writing its run.
final class KeyBuffer: @unchecked Sendable {
    let capacity: Int
    let entries: FixedStorage<IdempotencyEntry>
    let positions: FixedStorage<Int64>
    /// Whether the entry at a slot is a later version of an entry already in an older buffer or run.
    let isAmendment: FixedStorage<Bool>
    private let byName: SlotIndex
    private let byPosition: SlotIndex
    /// The positions of the first versions: contiguous, `firstBegin ..< firstBegin + firstCount`.
    private(set) var firstBegin: Int64 = -1
    private(set) var firstCount = 0
    /// The log sequence the buffer's versions follow: every version here was made by a record after it.
    var afterSequence: UInt64 = 0
    /// Whether a first version here is a tombstone (a reversal that came before its original). Tombstones are
    /// only ever made as new entries, never by a later version, so a run written from a buffer without one holds
    /// none: `KeyRun.mayHoldTombstones`.
    private(set) var holdsTombstone = false

    init(capacity: Int) {
        precondition(capacity >= 16, "a key buffer holds at least 16 entries")
        self.capacity = capacity
        entries = FixedStorage(capacity: capacity)
        positions = FixedStorage(capacity: capacity)
        isAmendment = FixedStorage(capacity: capacity)
        byName = SlotIndex(capacity: capacity * 3)
        byPosition = SlotIndex(capacity: capacity)
    }

    var count: Int { entries.count }
    var freeSlots: Int { capacity - entries.count }
    var isEmpty: Bool { entries.count == 0 }

    static func positionHash(_ position: Int64) -> UInt64 {
        var value = UInt64(bitPattern: position) &* 0x9E37_79B9_7F4A_7C15
        value ^= value >> 29
        return value
    }

    /// Adds the first version of the entry at `position` (the ring's oldest, leaving it).
    func addFirst(_ entry: IdempotencyEntry, position: Int64) {
        precondition(freeSlots > 0, "key buffer full: freeze it first")
        precondition(firstCount == 0 || position == firstBegin + Int64(firstCount), "first versions out of order")
        precondition(position >= 0, "a position of the ring")
        if firstCount == 0 { firstBegin = position }
        firstCount += 1
        if entry.effect.isTombstone { holdsTombstone = true }
        let slot = append(entry, position: position, amendment: false)
        index(names: slot)
        precondition(firstBegin + Int64(firstCount) == position + 1, "first versions are contiguous")
    }

    /// Stores a newer version of the entry at `position`: in place when this buffer already holds one.
    func store(_ entry: IdempotencyEntry, position: Int64) {
        precondition(position >= 0, "a position of the ring")
        if let slot = slot(of: position) {
            entries[slot] = entry
            return
        }
        precondition(freeSlots > 0, "key buffer full: freeze it first")
        _ = append(entry, position: position, amendment: true)
        assert(slot(of: position) != nil, "a stored version is found by its position")
    }

    private func append(_ entry: IdempotencyEntry, position: Int64, amendment: Bool) -> Int {
        let slot = entries.append(entry)
        positions.append(position)
        isAmendment.append(amendment)
        byPosition.insert(Self.positionHash(position), index: slot)
        precondition(
            positions.count == entries.count && isAmendment.count == entries.count && slot == entries.count - 1,
            "the buffer's columns stay in step")
        return slot
    }

    /// The newest entry with each name wins (a reused RRN or STAN names the latest operation), as in the ring.
    private func index(names slot: Int) {
        precondition(slot >= 0 && slot < entries.count && !isAmendment[slot], "a first version's slot")
        let entry = entries[slot]
        for kind in [KeyNameKind.key, .reference, .terminalReference] {
            let name = Self.name(entry, kind)
            guard name != .zero else { continue }
            let fingerprint = kind.fingerprint(name)
            if kind != .key, let older = findSlot(fingerprint, name: name, kind: kind) {
                byName.remove(fingerprint, index: older)
            }
            byName.insert(fingerprint, index: slot)
        }
    }

    static func name(_ entry: IdempotencyEntry, _ kind: KeyNameKind) -> IdempotencyKey {
        switch kind {
        case .key: entry.key
        case .reference: entry.reference
        case .terminalReference: entry.terminalReference
        }
    }

    private func findSlot(_ fingerprint: UInt64, name: IdempotencyKey, kind: KeyNameKind) -> Int? {
        byName.find(fingerprint) { slot in !isAmendment[slot] && Self.name(entries[slot], kind) == name }
    }

    /// Starts loading the slot `find(name, kind:)` reads first.
    func prefetch(_ name: IdempotencyKey, kind: KeyNameKind) {
        byName.prefetch(kind.fingerprint(name))
    }

    /// Starts loading the slots `addFirst` writes for an entry with these names at `position`.
    func prefetchAdd(
        key: IdempotencyKey, reference: IdempotencyKey, terminalReference: IdempotencyKey, position: Int64
    ) {
        byPosition.prefetch(Self.positionHash(position))
        byName.prefetch(KeyNameKind.key.fingerprint(key))
        if reference != .zero { byName.prefetch(KeyNameKind.reference.fingerprint(reference)) }
        if terminalReference != .zero {
            byName.prefetch(KeyNameKind.terminalReference.fingerprint(terminalReference))
        }
    }

    /// The position of the newest first version named `name`, or nil.
    func find(_ name: IdempotencyKey, kind: KeyNameKind) -> Int64? {
        findSlot(kind.fingerprint(name), name: name, kind: kind).map { positions[$0] }
    }

    func slot(of position: Int64) -> Int? {
        let slot = byPosition.find(Self.positionHash(position)) { positions[$0] == position }
        precondition(slot.map { $0 >= 0 && $0 < entries.count } ?? true, "a slot of the buffer")
        return slot
    }

    /// Empties the buffer for reuse (after its run is durable and adopted). On the shard thread: the indexes are
    /// zeroed in one pass each (~5 MB at the default 65,536 entries), not entry by entry, which was a random
    /// access and a backward shift per name, ~1.4 % of the switch's CPU at saturation and a stall of the shard
    /// each time a run was adopted.
    func clear() {
        byPosition.removeAll()
        byName.removeAll()
        entries.setCount(0)
        positions.setCount(0)
        isAmendment.setCount(0)
        holdsTombstone = false
        firstBegin = -1
        firstCount = 0
        precondition(isEmpty && freeSlots == capacity && positions.count == 0, "a cleared buffer is empty")
    }
}
