import Foundation

/// A seeded generator for randomised tests: the seed is drawn per run and printed, and
/// `PROMOWATCH_TEST_SEED` replays a run exactly.
public struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        state = seed
    }

    /// For the test `name`: the seed from `PROMOWATCH_TEST_SEED`, else a fresh one; printed.
    public static func forTest(_ name: String) -> SeededRandom {
        let seed =
            ProcessInfo.processInfo.environment["PROMOWATCH_TEST_SEED"].flatMap(UInt64.init)
            ?? UInt64.random(in: 1...UInt64.max)
        print("\(name) seed: \(seed) (PROMOWATCH_TEST_SEED=\(seed) replays it)")
        return SeededRandom(seed: seed)
    }

    /// SplitMix64.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A whole number in 0..<n (n > 0).
    public mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
}
