/// A small, fast, seedable random generator (SplitMix64) for backoff jitter and tests.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator from a seed (the seed is advanced so consecutive generators differ).
    public init(seed: inout UInt64) {
        state = seed
        seed &+= 0x9E37_79B9_7F4A_7C15
    }

    /// Creates a generator from a fixed seed.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// SplitMix64's output function: a bijection that scrambles a counter value.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform fraction in `0..<1`.
    public mutating func nextFraction() -> Double {
        Double(next() >> 11) / Double(1 << 53)
    }
}
