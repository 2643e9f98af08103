import AdminAccess

/// The lottery draw, deterministic and versioned so that `loyalty-switch lottery verify` re-runs any recorded draw
/// from the audit trail (docs/lotteries.md). Algorithm `weighted-splitmix64-v1`:
///
/// 1. Entrants sorted by member id (`mbr_…`, byte order), each weighted by its entries.
/// 2. A SplitMix64 stream started at the seed.
/// 3. For each winner: `r` = the high 64 bits of `next() × remaining total` (uniform on 0..<total up to a bias below
///    total / 2⁶⁴, at most 2⁻¹⁴ with the entry bound), and the winner is the entrant whose cumulative range holds
///    `r`; its weight is then removed, so a member wins at most once (sampling without replacement).
///
/// A Fenwick tree keeps the cumulative weights: each pick and removal is O(log entrants), no loop depends on the
/// entry counts. A change to any step is a new algorithm name; this one is never changed.
enum LotteryDraw {
    static let algorithm = "weighted-splitmix64-v1"

    struct Entrant: Equatable, Sendable {
        var memberId: String
        var entries: Int64
    }

    /// Entrants in the draw's order: by member id.
    static func sorted(_ entrants: [Entrant]) -> [Entrant] {
        let sorted = entrants.sorted { $0.memberId.utf8.lexicographicallyPrecedes($1.memberId.utf8) }
        precondition(sorted.count == entrants.count, "sorting keeps every entrant")
        return sorted
    }

    /// SHA-256 (hex) of the sorted `memberId:entries` lines, each ending in a newline: what the draw was run over.
    static func digest(_ sortedEntrants: [Entrant]) -> String {
        var bytes: [UInt8] = []
        for entrant in sortedEntrants {
            bytes += Array(entrant.memberId.utf8)
            bytes.append(UInt8(ascii: ":"))
            bytes += Array(String(entrant.entries).utf8)
            bytes.append(UInt8(ascii: "\n"))
        }
        let digest = AccessCrypto.hex(AccessCrypto.sha256(bytes))
        precondition(digest.utf8.count == 64, "a SHA-256 digest is 64 hex digits")
        return digest
    }

    /// The winners' indices into `sortedEntrants`, in the order drawn. `winners` ≤ the entrants; every entrant has
    /// at least one entry and their sum fits the weights' bound (the caller's limits).
    static func draw(_ sortedEntrants: [Entrant], winners: Int, seed: UInt64) -> [Int] {
        precondition(winners >= 0 && winners <= sortedEntrants.count, "no more winners than entrants")
        var tree = FenwickTree(sortedEntrants.map { UInt64($0.entries) })
        var stream = SplitMix64(seed: seed)
        var drawn: [Int] = []
        drawn.reserveCapacity(winners)
        for _ in 0..<winners {
            let total = tree.total
            precondition(total > 0, "a remaining entrant has entries")
            let r = stream.next().multipliedFullWidth(by: total).high
            precondition(r < total, "the high word of a product by total is below total")
            let index = tree.index(holding: r)
            drawn.append(index)
            tree.remove(index)
        }
        precondition(drawn.count == winners, "one index per winner")
        assert(Set(drawn).count == drawn.count, "a member wins at most once")
        return drawn
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014; the constants of Vigna's reference `splitmix64.c`).
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Cumulative weights with O(log n) lookup and removal (a binary indexed tree, 1-based inside).
struct FenwickTree {
    private var sums: [UInt64]
    private var weights: [UInt64]
    private(set) var total: UInt64 = 0

    init(_ weights: [UInt64]) {
        self.weights = weights
        sums = [UInt64](repeating: 0, count: weights.count + 1)
        for (index, weight) in weights.enumerated() {
            total += weight
            add(index, weight)
        }
        precondition(sums.count == weights.count + 1, "one sum per weight, 1-based")
    }

    private mutating func add(_ index: Int, _ delta: UInt64) {
        precondition(index >= 0 && index < weights.count, "a weight of the tree")
        var position = index + 1
        while position < sums.count {
            sums[position] &+= delta
            position += position & -position
        }
    }

    /// Sets the weight at `index` to zero.
    mutating func remove(_ index: Int) {
        precondition(index >= 0 && index < weights.count, "a weight of the tree")
        let weight = weights[index]
        precondition(weight > 0, "an entrant is removed once")
        weights[index] = 0
        total -= weight
        add(index, 0 &- weight)
    }

    /// The index whose cumulative range `[before, before + weight)` holds `value` (`value` < `total`).
    func index(holding value: UInt64) -> Int {
        precondition(value < total, "a value inside the weights")
        var position = 0
        var remaining = value
        var step = 1
        while step * 2 < sums.count { step *= 2 }
        while step > 0 {
            let next = position + step
            if next < sums.count && sums[next] <= remaining {
                position = next
                remaining -= sums[next]
            }
            step /= 2
        }
        precondition(position < weights.count && weights[position] > 0, "the range's owner has weight")
        return position
    }
}
