import CCRC32C

/// A key `KeyMap` can hold: a uniform 64-bit hash of its own, and a zero value that marks an empty slot (never a
/// key: "no name" for request keys; a card hash is a keyed hash's output, zero with odds of 2^-128).
protocol TableKey: Equatable, BitwiseCopyable {
    static var zero: Self { get }
    var tableHash: UInt64 { get }
}

extension IdempotencyKey: TableKey {
    var tableHash: UInt64 { mixedHash }
}

extension CardHash: TableKey {
    static let zero = CardHash(high: 0, low: 0)
    /// Already a keyed hash's output: its low word is uniform as it is.
    var tableHash: UInt64 { low }
}

/// Keys to values in one open-addressed table (linear probing on the key's `tableHash`), for the views' maps that
/// take a lookup per record: a Swift dictionary seeds and finalizes SipHash for every lookup, and that was a third
/// of the sales view's time (`Hasher._seed` alone 2.6 % of the switch's samples at saturation) and most of what the
/// history and the member search spent per record outside their files. No removal: an owner forgets by
/// generations (`clear`). The zero key marks an empty slot and is never stored.
///
/// Noncopyable, its slots in memory of its own: a map of arrays kept in a class was copied out for every lookup
/// (a retain and a release of each array: the sales view's prefetch spent more on them than on the prefetch); a
/// noncopyable value is borrowed where it lies.
struct KeyMap<Key: TableKey, Value>: ~Copyable {
    private var keys: UnsafeMutablePointer<Key>
    /// A value per slot whose key is not zero; the other slots' values are not initialized (no optional's tag: the
    /// history's heads take 48 bytes a slot, not 56).
    private var values: UnsafeMutablePointer<Value>
    /// The slots: a power of two.
    private var capacity: Int
    /// The most keys held; the table grows (doubling, at most three quarters full) up to `capacity(for:)` this.
    let countMax: Int
    private(set) var count = 0

    static var initialCapacity: Int { 1024 }

    init(countMax: Int) {
        precondition(countMax >= 1, "a map holds at least one key")
        self.countMax = countMax
        capacity = min(Self.initialCapacity, Self.capacity(for: countMax))
        (keys, values) = Self.slots(capacity)
    }

    deinit {
        forgetValues()
        values.deallocate()
        keys.deinitialize(count: capacity)
        keys.deallocate()
    }

    /// `capacity` empty slots.
    private static func slots(_ capacity: Int) -> (UnsafeMutablePointer<Key>, UnsafeMutablePointer<Value>) {
        precondition(capacity >= 2 && capacity & (capacity - 1) == 0, "a power of two")
        let keys = UnsafeMutablePointer<Key>.allocate(capacity: capacity)
        keys.initialize(repeating: .zero, count: capacity)
        return (keys, UnsafeMutablePointer<Value>.allocate(capacity: capacity))
    }

    /// The table size for `count` keys: a power of two it fills three quarters of at most. (Linear probing on a
    /// uniform hash: ~2.5 probes to find a key at that load, ~8.5 to miss one; half full took a third more memory
    /// than the Swift dictionaries it replaced.)
    static func capacity(for count: Int) -> Int {
        precondition(count >= 1 && count <= Int.max / 8, "a count a table can hold")
        var capacity = 2
        while 3 * capacity < 4 * count { capacity <<= 1 }
        return capacity
    }

    var isFull: Bool { count >= countMax }

    /// The slot holding `key`, or the empty slot where it would go.
    private func slot(of key: Key) -> Int {
        precondition(key != .zero, "the zero key is no name")
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: key.tableHash) & mask
        while keys[slot] != .zero && keys[slot] != key { slot = (slot + 1) & mask }
        return slot
    }

    /// Starts loading the slot where `key` would be found first (its key and its value) into the cache, so a lookup
    /// or `set` of it a little later does not wait for memory: the sales view's table is tens of MB, and its slot
    /// probes were the view's largest cost (13 % of its samples at 100k/s).
    func prefetch(_ key: Key) {
        guard key != .zero else { return }
        let slot = Int(truncatingIfNeeded: key.tableHash) & (capacity - 1)
        precondition(slot >= 0 && slot < capacity, "a slot of the table")
        ccrc32c_prefetch(keys + slot)
        ccrc32c_prefetch(values + slot)
    }

    subscript(key: Key) -> Value? {
        guard key != .zero else { return nil }
        let at = slot(of: key)
        return keys[at] == .zero ? nil : values[at]
    }

    /// Stores `value` under `key` (replacing what it held); a new key needs room (`isFull` false).
    mutating func set(_ key: Key, _ value: Value) {
        var at = slot(of: key)
        guard keys[at] == .zero else {
            values[at] = value
            return
        }
        precondition(count < countMax, "a new key needs room: the owner starts a generation first")
        if 4 * (count + 1) > 3 * capacity {
            grow()
            at = slot(of: key)
        }
        keys[at] = key
        (values + at).initialize(to: value)
        count += 1
        precondition(count <= countMax && 4 * count <= 3 * capacity, "the table is at most three quarters full")
    }

    /// Forgets every key, keeping the table's size.
    mutating func clear() {
        forgetValues()
        keys.update(repeating: .zero, count: capacity)
        count = 0
        // A second pass over the whole table: debug builds only (the sales view clears 1M slots every generation).
        assert(
            UnsafeBufferPointer(start: keys, count: capacity).allSatisfy { $0 == .zero }, "a cleared map holds no key")
    }

    /// Ends the held values' lifetimes (nothing to do for plain values: the map's uses in the views).
    private func forgetValues() {
        guard !_isPOD(Value.self) else { return }
        for index in 0..<capacity where keys[index] != .zero { (values + index).deinitialize(count: 1) }
    }

    private mutating func grow() {
        let (oldKeys, oldValues, oldCapacity) = (keys, values, capacity)
        capacity = oldCapacity * 2
        precondition(capacity <= Self.capacity(for: countMax), "the table grows up to capacity(for: countMax)")
        (keys, values) = Self.slots(capacity)
        for index in 0..<oldCapacity where oldKeys[index] != .zero {
            let at = slot(of: oldKeys[index])
            keys[at] = oldKeys[index]
            (values + at).moveInitialize(from: oldValues + index, count: 1)
        }
        oldValues.deallocate()
        oldKeys.deinitialize(count: oldCapacity)
        oldKeys.deallocate()
    }
}
