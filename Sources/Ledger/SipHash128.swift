/// SipHash-2-4 with the 128-bit output variant (Aumasson and Bernstein's reference `siphash.c`).
///
/// Used as the keyed card-number hash and the content digest; it is fast on short inputs and keyed, which a
/// plain checksum is not.
enum SipHash128 {
    private struct State {
        var v0: UInt64
        var v1: UInt64
        var v2: UInt64
        var v3: UInt64

        @inline(__always)
        mutating func round() {
            v0 = v0 &+ v1
            v1 = v1.rotatedLeft(13) ^ v0
            v0 = v0.rotatedLeft(32)
            v2 = v2 &+ v3
            v3 = v3.rotatedLeft(16) ^ v2
            v0 = v0 &+ v3
            v3 = v3.rotatedLeft(21) ^ v0
            v2 = v2 &+ v1
            v1 = v1.rotatedLeft(17) ^ v2
            v2 = v2.rotatedLeft(32)
        }

        @inline(__always)
        mutating func absorb(_ word: UInt64) {
            v3 ^= word
            round()
            round()
            v0 ^= word
        }
    }

    static func hash(key0: UInt64, key1: UInt64, bytes: UnsafeRawBufferPointer) -> (high: UInt64, low: UInt64) {
        var state = State(
            v0: 0x736F_6D65_7073_6575 ^ key0, v1: 0x646F_7261_6E64_6F6D ^ key1 ^ 0xEE,
            v2: 0x6C79_6765_6E65_7261 ^ key0, v3: 0x7465_6462_7974_6573 ^ key1)
        let count = bytes.count
        let wholeWords = count / 8
        precondition(count >= 0 && count - wholeWords * 8 < 8, "at most seven bytes after the whole words")
        for index in 0..<wholeWords {
            state.absorb(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)))
        }
        var last = UInt64(truncatingIfNeeded: count) << 56
        for index in (wholeWords * 8)..<count { last |= UInt64(bytes[index]) << UInt64(8 * (index - wholeWords * 8)) }
        state.absorb(last)
        state.v2 ^= 0xEE
        for _ in 0..<4 { state.round() }
        let low = state.v0 ^ state.v1 ^ state.v2 ^ state.v3
        state.v1 ^= 0xDD
        for _ in 0..<4 { state.round() }
        let high = state.v0 ^ state.v1 ^ state.v2 ^ state.v3
        precondition(count < 1 << 56 || last >> 56 == UInt64(truncatingIfNeeded: count), "the length byte")
        return (high, low)
    }
}

extension UInt64 {
    @inline(__always)
    func rotatedLeft(_ count: UInt64) -> UInt64 { (self << count) | (self >> (64 - count)) }
}
