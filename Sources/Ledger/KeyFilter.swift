import CCRC32C

/// A blocked Bloom filter over 64-bit name fingerprints: the in-memory part of a key run (`KeyRun`), so that a
/// lookup of a new key (the common case: every new request) touches no disk for that run.
///
/// One 64-byte block (a cache line) per fingerprint, six bits set in it; at `bitsPerName` 10 about 1–2 % of
/// absent names pass (measured in benchmarks/request-keys.sh). 10 bits is 1.25 bytes of RAM per name.
struct KeyFilter {
    static let bitsPerName = 10
    static let blockWords = 8
    static let bitsPerLookup = 6

    /// The words, in memory of the filter's own (freed with the last copy of the filter), so that the key store can
    /// probe every run through a `Probe` without retaining each run and each filter's storage on every lookup
    /// (`swift_retain`/`release` took 18 % of the shard's samples at 100k/s with ~15 runs).
    private final class Storage {
        let words: UnsafeMutableBufferPointer<UInt64>
        init(copying source: [UInt64]) {
            words = .allocate(capacity: source.count)
            _ = words.initialize(from: source)
        }
        deinit { words.deallocate() }
    }

    /// A filter's words as plain values: valid while the filter (its run) is kept.
    struct Probe {
        let words: UnsafePointer<UInt64>
        let blockCount: Int

        /// The block `fingerprint` picks.
        @inline(__always)
        func block(of fingerprint: UInt64) -> Int {
            let block = Int((UInt128(fingerprint >> 32) * UInt128(blockCount)) >> 32)
            precondition(block >= 0 && block < blockCount, "a fingerprint picks a block of the filter")
            return block
        }

        /// Starts loading the block `mayContain(fingerprint)` reads: a lookup of a new name probes every run's
        /// filter, each block a cache miss, so the lookup asks for all of them first and the misses overlap.
        func prefetch(_ fingerprint: UInt64) {
            ccrc32c_prefetch(words + block(of: fingerprint) * KeyFilter.blockWords)
        }

        /// False when `fingerprint` was certainly not inserted.
        func mayContain(_ fingerprint: UInt64) -> Bool {
            let base = words + block(of: fingerprint) * KeyFilter.blockWords
            var bits = fingerprint
            for _ in 0..<KeyFilter.bitsPerLookup {
                let bit = Int(bits & 511)
                if base[bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return false }
                bits = (bits >> 9) | (bits << 55)
            }
            return true
        }
    }

    private let storage: Storage
    /// Its probe (valid while this filter, or a copy of it, is kept).
    let probe: Probe
    /// Blocks of eight 64-bit words.
    var words: UnsafeBufferPointer<UInt64> { UnsafeBufferPointer(storage.words) }

    /// An empty filter sized for `nameCount` names (at least one block).
    static func blockCount(forNames nameCount: Int) -> Int {
        precondition(nameCount >= 0, "a name count")
        let blocks = max(1, (nameCount * bitsPerName + 511) / 512)
        precondition(blocks >= 1 && blocks * 512 >= nameCount * bitsPerName, "bitsPerName bits per name")
        return blocks
    }

    init(words: [UInt64]) {
        precondition(words.count >= Self.blockWords && words.count % Self.blockWords == 0, "filter size")
        storage = Storage(copying: words)
        probe = Probe(words: UnsafePointer(storage.words.baseAddress!), blockCount: words.count / Self.blockWords)
    }

    static func insert(_ fingerprint: UInt64, into words: UnsafeMutableBufferPointer<UInt64>) {
        precondition(words.count >= blockWords && words.count % blockWords == 0, "filter size")
        let block = Probe(words: UnsafePointer(words.baseAddress!), blockCount: words.count / blockWords)
            .block(of: fingerprint)
        var bits = fingerprint
        for _ in 0..<bitsPerLookup {
            let bit = Int(bits & 511)
            words[block * blockWords + bit >> 6] |= 1 << UInt64(bit & 63)
            bits = (bits >> 9) | (bits << 55)
        }
    }

    /// False when `fingerprint` was certainly not inserted.
    func mayContain(_ fingerprint: UInt64) -> Bool { probe.mayContain(fingerprint) }
}

/// Which of its names a remembered request is found by; part of the fingerprint, so that a key never matches a
/// reference or a terminal reference with the same 32 bytes.
enum KeyNameKind: UInt8 {
    case key = 0
    case reference = 1
    case terminalReference = 2

    /// A well-mixed 64-bit fingerprint of (kind, name).
    func fingerprint(_ name: IdempotencyKey) -> UInt64 {
        var value = name.mixedHash ^ (UInt64(rawValue) &+ 1) &* 0xD6E8_FEB8_6659_FD93
        value ^= value >> 32
        value &*= 0xD6E8_FEB8_6659_FD93
        value ^= value >> 32
        return value
    }
}
