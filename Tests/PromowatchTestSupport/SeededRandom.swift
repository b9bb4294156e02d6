import Foundation
import LogGenerator

/// A seeded generator for randomised tests (the generator's SplitMix64): the seed is drawn per run
/// and printed, and `PROMOWATCH_TEST_SEED` replays a run exactly.
public struct SeededRandom: RandomNumberGenerator {
    private var inner: SplitMix64
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        inner = SplitMix64(seed: seed)
    }

    /// For the test `name`: the seed from `PROMOWATCH_TEST_SEED`, else a fresh one; printed.
    public static func forTest(_ name: String) -> SeededRandom {
        let seed =
            ProcessInfo.processInfo.environment["PROMOWATCH_TEST_SEED"].flatMap(UInt64.init)
            ?? UInt64.random(in: 1...UInt64.max)
        // on stderr, unbuffered: a test that crashes must still have said its seed
        FileHandle.standardError.write(Data("\(name) seed: \(seed) (PROMOWATCH_TEST_SEED=\(seed) replays it)\n".utf8))
        return SeededRandom(seed: seed)
    }

    public mutating func next() -> UInt64 { inner.next() }

    /// A whole number in 0..<n (n > 0).
    public mutating func int(_ n: Int) -> Int { inner.int(n) }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { inner.chance(p) }
}
