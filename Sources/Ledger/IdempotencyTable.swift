import CCRC32C

/// Open-addressing index from a 32-byte key to a ring index, linear probing with backward-shift deletion.
///
/// Each slot holds ring index + 1 in the low 32 bits (0 = empty) and the key's mixed hash's low 32 bits above,
/// so probing and deletion rarely touch the (large, cold) entries. The caller verifies a candidate against
/// the entry itself.
struct SlotIndex {
    let slots: FixedStorage<UInt64>
    let mask: Int

    init(capacity: Int) {
        precondition(capacity >= 1, "an index of at least one entry")
        var slotCount = 1
        while slotCount < capacity * 2 { slotCount <<= 1 }
        precondition(slotCount >= capacity * 2 && slotCount & (slotCount - 1) == 0, "a power of two, half full")
        slots = FixedStorage(capacity: slotCount)
        slots.setCount(slotCount)
        mask = slotCount - 1
    }

    func prefetch(_ hash: UInt64) { ccrc32c_prefetch(slots.base + (Int(truncatingIfNeeded: hash) & mask)) }

    /// The first ring index whose fingerprint matches and which `matches` confirms.
    func find(_ hash: UInt64, matches: (Int) -> Bool) -> Int? {
        let fingerprint = hash & 0xFFFF_FFFF
        var slot = Int(truncatingIfNeeded: hash) & mask
        for _ in 0...mask {
            let stored = slots[slot]
            if stored == 0 { return nil }
            if stored >> 32 == fingerprint, matches(Int(stored & 0xFFFF_FFFF) - 1) {
                return Int(stored & 0xFFFF_FFFF) - 1
            }
            slot = (slot + 1) & mask
        }
        preconditionFailure("slot index has no empty slot")
    }

    func insert(_ hash: UInt64, index: Int) {
        precondition(index >= 0 && index < Int(UInt32.max), "a slot holds a ring index + 1 in 32 bits")
        var slot = Int(truncatingIfNeeded: hash) & mask
        for _ in 0...mask {
            if slots[slot] == 0 {
                slots[slot] = (hash & 0xFFFF_FFFF) << 32 | UInt64(index + 1)
                return
            }
            slot = (slot + 1) & mask
        }
        preconditionFailure("slot index has no empty slot")
    }

    /// Empties the index (every slot zero: no entry).
    func removeAll() { slots.zeroAll() }

    /// Removes the slot for (`hash`, `index`); false when there is none.
    @discardableResult
    func remove(_ hash: UInt64, index: Int) -> Bool {
        precondition(index >= 0 && index < Int(UInt32.max), "a slot holds a ring index + 1 in 32 bits")
        let expected = (hash & 0xFFFF_FFFF) << 32 | UInt64(index + 1)
        var slot = Int(truncatingIfNeeded: hash) & mask
        for _ in 0...mask {
            if slots[slot] == 0 { return false }
            if slots[slot] == expected { break }
            slot = (slot + 1) & mask
        }
        var hole = slot
        var probe = (hole + 1) & mask
        while slots[probe] != 0 {
            let home = Int(truncatingIfNeeded: slots[probe] >> 32) & mask
            if (probe - home) & mask >= (probe - hole) & mask {
                slots[hole] = slots[probe]
                hole = probe
            }
            probe = (probe + 1) & mask
        }
        slots[hole] = 0
        return true
    }
}

/// Idempotency keys in arrival order (a ring) with an index by key, one by reference (what a refund may
/// name its original by, e.g. built from field 37) and one by terminal reference (what a reversal without
/// field 90 names its original by: terminal + STAN), so memory is fixed.
/// Positions are absolute (they only grow), so a stale position is detectable.
///
/// With a `KeyStore` (every ledger with a data directory) the ring is only the recent window: the oldest entry
/// moves to the store when the ring is full, and lookups that miss the ring continue there, so nothing is
/// forgotten before `retentionMs`. Without one (tests of the state alone) the oldest entry is forgotten.
///
/// A class, not a struct: as a struct kept in `ShardState` (a class), every lookup through it copied the whole
/// table (its eleven fields retained and released: 1,060 instructions per request; benchmarks/RESULTS.md), since
/// a class's stored struct is copied out for a call that does not mutate it. One shard thread owns it.
final class IdempotencyTable {
    let entries: FixedStorage<IdempotencyEntry>
    private let byKey: SlotIndex
    private let byReference: SlotIndex
    private let byTerminalReference: SlotIndex
    let capacity: Int
    /// Absolute position of the next entry; the oldest live entry is `nextPosition - count`.
    private(set) var nextPosition: Int64 = 0
    private(set) var count: Int = 0
    /// Where entries older than the ring live; nil: they are forgotten.
    var store: KeyStore?
    /// How long an entry is remembered, and the time of the record being applied (`beginRecord`): an entry of the
    /// store older than that is not found (the ring drops them as it inserts).
    let retentionMs: Int64
    private(set) var nowMs: Int64 = 0

    init(keysMax: Int, retentionMs: Int64 = Int64.max / 4) {
        precondition(keysMax >= 1, "the ring holds at least one key")
        precondition(retentionMs >= 0, "a retention is not negative")
        capacity = keysMax
        self.retentionMs = retentionMs
        entries = FixedStorage(capacity: keysMax)
        entries.setCount(keysMax)
        byKey = SlotIndex(capacity: keysMax)
        byReference = SlotIndex(capacity: keysMax)
        byTerminalReference = SlotIndex(capacity: keysMax)
    }

    var oldestPosition: Int64 { nextPosition - Int64(count) }
    var isFull: Bool { count == capacity }

    /// True when the next insert will forget a key before its retention ends: the table is full and its oldest
    /// entry is still young. Derived from the table alone, so replay and snapshot loads agree on it.
    func isForgettingEarly(nowMs: Int64, retentionMs: Int64) -> Bool {
        store == nil && isFull && self[oldestPosition].createdAtMs + retentionMs >= nowMs
    }

    /// Called before each command is applied with the sequence its record would get and its time.
    func beginRecord(sequence: UInt64, nowMs: Int64) {
        self.nowMs = nowMs
        store?.beginRecord(sequence: sequence)
        store?.clearDamage()
    }

    /// True while recovery replays a record read from the log (`ShardRecovery.replay`): `findOwn` then skips the
    /// store, which was most of replay's cost (a filter probe per run per record). Why the answer is the same: a
    /// command is logged only when its own key found nothing and its terminal reference found no tombstone (a
    /// known key and a tombstone are answered without a record, and so is a damaged run's miss), and replay
    /// rebuilds exactly the state the writer saw, so the store can only repeat that answer. Lookups of other
    /// names (a reversal's or a refund's original, by key, reference or terminal reference) still probe it.
    var isReplayingLoggedRecord = false

    /// True when a lookup in the store met a damaged run since `beginRecord`: a miss cannot be trusted.
    var sawDamage: Bool { store?.sawDamage ?? false }

    /// Whether an entry is still inside retention at the current record's time (always, before the first
    /// `beginRecord`: the ring without a store forgets by time as it inserts).
    private func isRetained(_ entry: IdempotencyEntry) -> Bool { entry.createdAtMs + retentionMs >= nowMs }

    func ringIndex(_ position: Int64) -> Int {
        precondition(position >= 0, "a ring position is not negative")
        return Int(position % Int64(capacity))
    }

    /// True when `position` still names a live entry (in the ring, or in the store and inside retention).
    func isLive(_ position: Int64) -> Bool {
        if position >= oldestPosition && position < nextPosition { return isRetained(entries[ringIndex(position)]) }
        guard let store, position >= 0, position < oldestPosition, let entry = store.entry(at: position) else {
            return false
        }
        return isRetained(entry)
    }

    /// Starts loading what the next command touches at random in tables of megabytes: the slot `find(key)` reads
    /// first (in the ring, and in the store's buffers when it misses), its terminal reference's slot (the
    /// tombstone check, then the insert), and the slots of the entry the insert will evict (its three names in
    /// the ring, where it moves in the store's buffer). Why: the ring's and buffer's upkeep was ~9 % of the
    /// switch's CPU at saturation, nearly all of it cache misses.
    func prefetch(_ key: IdempotencyKey, terminalReference: IdempotencyKey) {
        byKey.prefetch(key.mixedHash)
        if terminalReference != .zero { byTerminalReference.prefetch(terminalReference.mixedHash) }
        store?.prefetch(key)
        guard isFull else { return }
        // The names only (each read in place: the entry is 320 bytes).
        let index = ringIndex(oldestPosition)
        let (oldKey, reference) = (entries[index].key, entries[index].reference)
        let terminal = entries[index].terminalReference
        byKey.prefetch(oldKey.mixedHash)
        if reference != .zero { byReference.prefetch(reference.mixedHash) }
        if terminal != .zero { byTerminalReference.prefetch(terminal.mixedHash) }
        store?.prefetchMove(key: oldKey, reference: reference, terminalReference: terminal, position: oldestPosition)
    }

    /// The entry at a live position; one that left the ring is read from the store (and a new version of it is
    /// written there).
    subscript(position: Int64) -> IdempotencyEntry {
        get {
            if position >= oldestPosition && position < nextPosition { return entries[ringIndex(position)] }
            guard let store, position >= 0, position < oldestPosition, let entry = store.entry(at: position) else {
                preconditionFailure("idempotency position is not live")
            }
            return entry
        }
        set {
            if position >= oldestPosition && position < nextPosition {
                entries[ringIndex(position)] = newValue
                return
            }
            guard let store, position >= 0, position < oldestPosition else {
                preconditionFailure("idempotency position is not live")
            }
            store.store(newValue, position: position)
        }
    }

    /// Absolute position of the entry for `key`, or nil.
    func find(_ key: IdempotencyKey) -> Int64? {
        findInRing(key) ?? findStored(key, kind: .key)
    }

    /// `find` for the applied command's own key, or its terminal reference as a key (where an early reversal's
    /// tombstone is kept), before anything of it is applied: in the ring only while recovery replays a logged
    /// record (`isReplayingLoggedRecord` says why that is the same answer).
    func findOwn(_ key: IdempotencyKey) -> Int64? {
        findInRing(key) ?? (isReplayingLoggedRecord ? nil : findStored(key, kind: .key))
    }

    /// `findOwn` for a name whose entry matters only if it is a tombstone (a new request's terminal reference):
    /// the store searches only the runs that may hold one.
    func findOwnTombstone(_ key: IdempotencyKey) -> Int64? {
        findInRing(key) ?? (isReplayingLoggedRecord ? nil : findStored(key, kind: .key, tombstonesOnly: true))
    }

    private func findInRing(_ key: IdempotencyKey) -> Int64? {
        guard let index = byKey.find(key.mixedHash, matches: { entries[$0].key == key && isRetained(entries[$0]) })
        else { return nil }
        return positionOf(ringIndex: index)
    }

    /// Absolute position of the newest live entry made with `reference`, or nil. Zero is no reference.
    func find(reference: IdempotencyKey) -> Int64? {
        guard reference != .zero else { return nil }
        if let index = byReference.find(
            reference.mixedHash, matches: { entries[$0].reference == reference && isRetained(entries[$0]) })
        {
            return positionOf(ringIndex: index)
        }
        return findStored(reference, kind: .reference)
    }

    /// Absolute position of the newest live entry made with `terminalReference`, or nil. Zero is none.
    func find(terminalReference: IdempotencyKey) -> Int64? {
        guard terminalReference != .zero else { return nil }
        if let index = byTerminalReference.find(
            terminalReference.mixedHash,
            matches: { entries[$0].terminalReference == terminalReference && isRetained(entries[$0]) })
        {
            return positionOf(ringIndex: index)
        }
        return findStored(terminalReference, kind: .terminalReference)
    }

    /// A name that missed the ring, in the store: found only inside retention.
    private func findStored(_ name: IdempotencyKey, kind: KeyNameKind, tombstonesOnly: Bool = false) -> Int64? {
        guard let store, let position = store.find(name, kind: kind, tombstonesOnly: tombstonesOnly),
            let entry = store.entry(at: position),
            isRetained(entry)
        else { return nil }
        return position
    }

    private func positionOf(ringIndex index: Int) -> Int64 {
        precondition(index >= 0 && index < capacity, "a ring index")
        let oldest = oldestPosition
        let distance = (index - ringIndex(oldest) + capacity) % capacity
        precondition(distance < count, "an indexed entry is live in the ring")
        return oldest + Int64(distance)
    }

    /// When full, moves the oldest entry to the store, or forgets it without one; without a store it also
    /// forgets entries older than `retentionMs`. With one they stay until pushed out (lookups skip them), so the
    /// store receives one entry per insert and its first versions stay contiguous.
    func insert(_ entry: IdempotencyEntry, nowMs: Int64, retentionMs: Int64) -> Int64 {
        while count > 0 && (isFull || (store == nil && self[oldestPosition].createdAtMs + retentionMs < nowMs)) {
            store?.addFirst(entries[ringIndex(oldestPosition)], position: oldestPosition)
            removeOldest()
        }
        precondition(count < capacity, "the ring has room after it made some")
        let position = nextPosition
        entries[ringIndex(position)] = entry
        nextPosition += 1
        count += 1
        index(ringIndex(position))
        precondition(position == nextPosition - 1 && oldestPosition >= 0, "the new entry is the newest")
        return position
    }

    /// Indexes the entry at a ring index by key and by each second name it has (the newest entry with a name
    /// wins: an older one with the same name is unindexed, so a reused RRN or STAN names the latest operation).
    private func index(_ ringIndex: Int) {
        let entry = entries[ringIndex]
        byKey.insert(entry.key.mixedHash, index: ringIndex)
        if entry.reference != .zero {
            let reference = entry.reference
            if let older = byReference.find(reference.mixedHash, matches: { entries[$0].reference == reference }) {
                byReference.remove(reference.mixedHash, index: older)
            }
            byReference.insert(reference.mixedHash, index: ringIndex)
        }
        if entry.terminalReference != .zero {
            let name = entry.terminalReference
            if let older = byTerminalReference.find(
                name.mixedHash, matches: { entries[$0].terminalReference == name })
            {
                byTerminalReference.remove(name.mixedHash, index: older)
            }
            byTerminalReference.insert(name.mixedHash, index: ringIndex)
        }
    }

    /// Forgets the oldest entry. A second name may already have been unindexed by a newer entry, so its removal
    /// may find nothing.
    private func removeOldest() {
        precondition(count > 0, "the oldest of a ring that holds one")
        let index = ringIndex(oldestPosition)
        let entry = entries[index]
        let removed = byKey.remove(entry.key.mixedHash, index: index)
        precondition(removed, "removing a key that is not indexed")
        if entry.reference != .zero { byReference.remove(entry.reference.mixedHash, index: index) }
        if entry.terminalReference != .zero {
            byTerminalReference.remove(entry.terminalReference.mixedHash, index: index)
        }
        count -= 1
    }

    /// Restores the ring after a snapshot load (entries already copied into `entries`).
    func restore(nextPosition: Int64, count: Int) {
        precondition(count >= 0 && count <= capacity && Int64(count) <= nextPosition, "bad idempotency counts")
        self.nextPosition = nextPosition
        self.count = count
        var position = oldestPosition
        while position < nextPosition {
            index(ringIndex(position))
            position += 1
        }
        precondition(oldestPosition >= 0 && oldestPosition + Int64(count) == nextPosition, "restored ring bounds")
    }
}
