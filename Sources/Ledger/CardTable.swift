import CCRC32C

/// Open-addressing map from card hash to card index, linear probing, never deletes (cards are kept forever
/// with their status). Slots hold index + 1 so that zeroed memory means empty.
struct CardTable {
    let cards: FixedStorage<CardRecord>
    private let slots: FixedStorage<UInt32>
    private let mask: Int

    init(cardsMax: Int) {
        var slotCount = 1
        while slotCount < cardsMax * 2 { slotCount <<= 1 }
        cards = FixedStorage(capacity: cardsMax)
        slots = FixedStorage(capacity: slotCount)
        slots.setCount(slotCount)
        mask = slotCount - 1
    }

    var isFull: Bool { cards.isFull }
    var count: Int { cards.count }

    /// Starts loading the slot `find(hash)` will read first.
    func prefetch(_ hash: CardHash) {
        ccrc32c_prefetch(slots.base + (Int(truncatingIfNeeded: hash.low) & mask))
    }

    /// The card index, or nil. Probing is bounded: the table is at most half full.
    func find(_ hash: CardHash) -> Int? {
        var slot = Int(truncatingIfNeeded: hash.low) & mask
        for _ in 0...mask {
            let stored = slots[slot]
            if stored == 0 { return nil }
            let index = Int(stored) - 1
            if cards[index].hash == hash { return index }
            slot = (slot + 1) & mask
        }
        preconditionFailure("card table has no empty slot")
    }

    /// Adds a card that is not in the table; the caller checked `isFull` and `find`.
    mutating func insert(_ card: CardRecord) -> Int {
        let index = cards.append(card)
        insertSlot(hash: card.hash, index: index)
        return index
    }

    /// Rebuilds the slot index after a snapshot load filled `cards` directly.
    func rebuildIndex() {
        for index in 0..<cards.count { insertSlot(hash: cards[index].hash, index: index) }
    }

    private func insertSlot(hash: CardHash, index: Int) {
        var slot = Int(truncatingIfNeeded: hash.low) & mask
        for _ in 0...mask {
            if slots[slot] == 0 {
                slots[slot] = UInt32(index + 1)
                return
            }
            slot = (slot + 1) & mask
        }
        preconditionFailure("card table has no empty slot")
    }
}

/// Idempotency keys in arrival order (a ring) with an open-addressing index, so memory is fixed and the
/// oldest key is forgotten first. Positions are absolute (they only grow), so a stale reference is detectable.
struct IdempotencyTable {
    let entries: FixedStorage<IdempotencyEntry>
    /// Each slot: ring index + 1 in the low 32 bits (0 = empty), the key's mixed hash's low 32 bits above, so
    /// probing and deletion rarely need to touch the (large, cold) entries.
    private let slots: FixedStorage<UInt64>
    private let mask: Int
    let capacity: Int
    /// Absolute position of the next entry; the oldest live entry is `nextPosition - count`.
    private(set) var nextPosition: Int64 = 0
    private(set) var count: Int = 0

    init(keysMax: Int) {
        var slotCount = 1
        while slotCount < keysMax * 2 { slotCount <<= 1 }
        capacity = keysMax
        entries = FixedStorage(capacity: keysMax)
        entries.setCount(keysMax)
        slots = FixedStorage(capacity: slotCount)
        slots.setCount(slotCount)
        mask = slotCount - 1
    }

    var oldestPosition: Int64 { nextPosition - Int64(count) }

    /// Starts loading the slot `find(key)` will read first, and the slot of the key the next insert may evict.
    func prefetch(_ key: IdempotencyKey) {
        ccrc32c_prefetch(slots.base + (Int(truncatingIfNeeded: key.mixedHash) & mask))
        if isFull {
            ccrc32c_prefetch(slots.base + (Int(truncatingIfNeeded: entries[ringIndex(oldestPosition)].key.mixedHash) & mask))
        }
    }
    var isFull: Bool { count == capacity }

    func ringIndex(_ position: Int64) -> Int { Int(position % Int64(capacity)) }

    /// True when `position` still names a live entry.
    func isLive(_ position: Int64) -> Bool { position >= oldestPosition && position < nextPosition }

    subscript(position: Int64) -> IdempotencyEntry {
        get {
            precondition(isLive(position), "idempotency position is not live")
            return entries[ringIndex(position)]
        }
        nonmutating set {
            precondition(isLive(position), "idempotency position is not live")
            entries[ringIndex(position)] = newValue
        }
    }

    /// Absolute position of the entry for `key`, or nil.
    func find(_ key: IdempotencyKey) -> Int64? {
        let hash = key.mixedHash
        let fingerprint = hash & 0xFFFF_FFFF
        var slot = Int(truncatingIfNeeded: hash) & mask
        for _ in 0...mask {
            let stored = slots[slot]
            if stored == 0 { return nil }
            if stored >> 32 == fingerprint {
                let index = Int(stored & 0xFFFF_FFFF) - 1
                if entries[index].key == key { return positionOf(ringIndex: index) }
            }
            slot = (slot + 1) & mask
        }
        preconditionFailure("idempotency table has no empty slot")
    }

    private func positionOf(ringIndex index: Int) -> Int64 {
        let oldest = oldestPosition
        let oldestIndex = ringIndex(oldest)
        let distance = (index - oldestIndex + capacity) % capacity
        return oldest + Int64(distance)
    }

    /// Forgets entries older than `retentionMs` and, when full, the oldest one, then appends.
    mutating func insert(_ entry: IdempotencyEntry, nowMs: Int64, retentionMs: Int64) -> Int64 {
        while count > 0 && (isFull || self[oldestPosition].createdAtMs + retentionMs < nowMs) {
            removeOldest()
        }
        let position = nextPosition
        entries[ringIndex(position)] = entry
        nextPosition += 1
        count += 1
        insertSlot(key: entry.key, index: ringIndex(position))
        return position
    }

    private mutating func removeOldest() {
        let index = ringIndex(oldestPosition)
        removeSlot(key: entries[index].key, index: index)
        count -= 1
    }

    private func insertSlot(key: IdempotencyKey, index: Int) {
        let hash = key.mixedHash
        var slot = Int(truncatingIfNeeded: hash) & mask
        for _ in 0...mask {
            if slots[slot] == 0 {
                slots[slot] = (hash & 0xFFFF_FFFF) << 32 | UInt64(index + 1)
                return
            }
            slot = (slot + 1) & mask
        }
        preconditionFailure("idempotency table has no empty slot")
    }

    /// Backward-shift deletion keeps linear probing correct without tombstones.
    private func removeSlot(key: IdempotencyKey, index: Int) {
        let hash = key.mixedHash
        let expected = (hash & 0xFFFF_FFFF) << 32 | UInt64(index + 1)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != expected {
            precondition(slots[slot] != 0, "removing a key that is not indexed")
            slot = (slot + 1) & mask
        }
        var hole = slot
        var probe = (hole + 1) & mask
        while slots[probe] != 0 {
            let home = Int(truncatingIfNeeded: slots[probe] >> 32) & mask
            let distanceFromHome = (probe - home) & mask
            let distanceToHole = (probe - hole) & mask
            if distanceFromHome >= distanceToHole {
                slots[hole] = slots[probe]
                hole = probe
            }
            probe = (probe + 1) & mask
        }
        slots[hole] = 0
    }

    /// Restores the ring after a snapshot load (entries already copied into `entries`).
    mutating func restore(nextPosition: Int64, count: Int) {
        precondition(count >= 0 && count <= capacity && Int64(count) <= nextPosition, "bad idempotency counts")
        self.nextPosition = nextPosition
        self.count = count
        var position = oldestPosition
        while position < nextPosition {
            insertSlot(key: entries[ringIndex(position)].key, index: ringIndex(position))
            position += 1
        }
    }
}
