import CCRC32C

/// Open-addressing map from card hash to card index, linear probing, never deletes (cards are kept forever
/// with their status). Slots hold index + 1 so that zeroed memory means empty.
struct CardTable {
    let cards: FixedStorage<CardRecord>
    private let slots: FixedStorage<UInt32>
    private let mask: Int

    init(cardsMax: Int) {
        precondition(cardsMax >= 1, "a shard holds at least one card")
        var slotCount = 1
        while slotCount < cardsMax * 2 { slotCount <<= 1 }
        precondition(slotCount >= cardsMax * 2 && slotCount & (slotCount - 1) == 0, "a power of two, half full")
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
        precondition(!cards.isFull, "callers check isFull before adding a card")
        assert(find(card.hash) == nil, "a card is added once")
        let index = cards.append(card)
        insertSlot(hash: card.hash, index: index)
        precondition(index == cards.count - 1, "a new card is the last")
        assert(find(card.hash) == index, "a card added is found")
        return index
    }

    /// Rebuilds the slot index after a snapshot load filled `cards` directly.
    func rebuildIndex() {
        precondition(cards.count * 2 <= mask + 1, "the slots are at most half full")
        for index in 0..<cards.count { insertSlot(hash: cards[index].hash, index: index) }
    }

    private func insertSlot(hash: CardHash, index: Int) {
        precondition(index >= 0 && index < cards.count, "a slot names a card of the table")
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
