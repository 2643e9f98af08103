/// SplitMix64 (Steele, Lea and Flood): a tiny seeded generator, so every randomized test can be replayed exactly
/// from the seed it names. One copy for every test module (they each had their own).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// A value in `0..<bound`, uniformly (the standard library's rejection sampling, not a biased modulo).
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "a positive bound")
        return Int.random(in: 0..<bound, using: &self)
    }

    /// True `percent` times in a hundred.
    public mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}
