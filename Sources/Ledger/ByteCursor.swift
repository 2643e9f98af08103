/// Little-endian writer over memory the caller sized; overrunning it is a programmer error.
struct ByteWriter {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    private(set) var offset: Int

    init(base: UnsafeMutableRawPointer, capacity: Int, offset: Int = 0) {
        precondition(capacity >= 0 && offset >= 0 && offset <= capacity, "a writer starts inside its memory")
        self.base = base
        self.capacity = capacity
        self.offset = offset
    }

    @inline(__always)
    mutating func put<Value: FixedWidthInteger>(_ value: Value) {
        precondition(offset + MemoryLayout<Value>.size <= capacity, "ByteWriter overrun")
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: Value.self)
        offset += MemoryLayout<Value>.size
    }

    mutating func put(_ key: IdempotencyKey) {
        put(key.word0)
        put(key.word1)
        put(key.word2)
        put(key.word3)
    }

    mutating func put(_ amounts: AssetAmounts) {
        put(amounts.points)
        put(amounts.credit)
    }

    mutating func put(_ hash: CardHash) {
        put(hash.high)
        put(hash.low)
    }

    mutating func put(_ digest: ContentDigest) {
        put(digest.high)
        put(digest.low)
    }

    /// The decider's bytes, copied as they are.
    mutating func put<Bytes: DecisionBytes>(_ bytes: Bytes) {
        precondition(offset + Bytes.byteCount <= capacity, "ByteWriter overrun")
        bytes.withUnsafeBytes { (base + offset).copyMemory(from: $0.baseAddress!, byteCount: Bytes.byteCount) }
        offset += Bytes.byteCount
    }

    mutating func putZeros(until alignment: Int) {
        precondition(alignment >= 1 && alignment <= 4096, "an alignment is a small positive count")
        while offset % alignment != 0 { put(UInt8(0)) }
        precondition(offset % alignment == 0 && offset <= capacity, "the writer ends aligned, inside its memory")
    }
}

/// Little-endian reader that reports running past the end as nil: read-back data is untrusted.
struct ByteReader {
    let base: UnsafeRawPointer
    let count: Int
    private(set) var offset: Int

    init(base: UnsafeRawPointer, count: Int, offset: Int = 0) {
        precondition(count >= 0 && offset >= 0 && offset <= count, "a reader starts inside its bytes")
        self.base = base
        self.count = count
        self.offset = offset
    }

    @inline(__always)
    mutating func get<Value: FixedWidthInteger>(_: Value.Type = Value.self) -> Value? {
        guard offset + MemoryLayout<Value>.size <= count else { return nil }
        let value = base.loadUnaligned(fromByteOffset: offset, as: Value.self)
        offset += MemoryLayout<Value>.size
        return Value(littleEndian: value)
    }

    /// The decider's bytes, copied as they are (the decider judges them when the record is applied).
    mutating func get<Bytes: DecisionBytes>(_: Bytes.Type) -> Bytes? {
        guard offset + Bytes.byteCount <= count else { return nil }
        let bytes = Bytes(copying: UnsafeRawBufferPointer(start: base + offset, count: Bytes.byteCount))
        offset += Bytes.byteCount
        return bytes
    }

    mutating func key() -> IdempotencyKey? {
        guard let word0 = get(UInt64.self), let word1 = get(UInt64.self), let word2 = get(UInt64.self),
            let word3 = get(UInt64.self)
        else { return nil }
        return IdempotencyKey(word0: word0, word1: word1, word2: word2, word3: word3)
    }

    mutating func amounts() -> AssetAmounts? {
        guard let points = get(Int64.self), let credit = get(Int64.self) else { return nil }
        return AssetAmounts(points: points, credit: credit)
    }

    mutating func cardHash() -> CardHash? {
        guard let high = get(UInt64.self), let low = get(UInt64.self) else { return nil }
        return CardHash(high: high, low: low)
    }

    mutating func digest() -> ContentDigest? {
        guard let high = get(UInt64.self), let low = get(UInt64.self) else { return nil }
        return ContentDigest(high: high, low: low)
    }
}
