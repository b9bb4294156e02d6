#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Tail probabilities for counts. A count is judged by how unlikely it is given an expected rate
/// that already accounts for current traffic — not by a fixed ratio.
enum Stats {
    /// The lower end of the Wilson score interval (one-sided 95%, z = 1.645) for a share `p`
    /// measured on `n` samples: how large the share surely is, so ten accounts are not taken for
    /// a hundred. 0 without samples.
    static func wilsonLower(_ p: Double, n: Double, z: Double = 1.645) -> Double {
        guard n > 0, p.isFinite else { return 0 }
        let z2 = z * z
        let centre = p + z2 / (2 * n)
        let spread = z * ((p * (1 - p) + z2 / (4 * n)) / n).squareRoot()
        return max(0, (centre - spread) / (1 + z2 / n))
    }

    /// z of a one-sided 99% interval: how sure "the redeemers are new" must be before a code is
    /// blocked for it (a launch blocked by mistake breaks a campaign for everyone).
    static let sure = 2.326

    /// The fewest samples that can show a share of at least `share` at the lower end of the
    /// interval when every sample has the property: n / (n + z²) ≥ share. At 99% and one half,
    /// six: five fresh accounts can be chance, six cannot.
    static func fewestSure(share: Double, z: Double = sure) -> Int {
        let s = min(max(share, 0), 0.99)
        return max(1, Int((z * z * s / (1 - s)).rounded(.up)))
    }

    /// The upper end of the same interval: how large the share may still be. A provider with no
    /// failure in 3 attempts may still fail half its payments; with none in 30, not a fifth.
    static func wilsonUpper(_ p: Double, n: Double, z: Double = 1.645) -> Double {
        guard n > 0, p.isFinite else { return 1 }
        let z2 = z * z
        let centre = p + z2 / (2 * n)
        let spread = z * ((p * (1 - p) + z2 / (4 * n)) / n).squareRoot()
        return min(1, (centre + spread) / (1 + z2 / n))
    }

    /// -log10 P(X >= k) for X ~ Poisson(lambda): 0 when k <= lambda, larger = stranger.
    /// Uses the regularized lower incomplete gamma function P(k, lambda) = P(X >= k), summed as
    /// the series x^a e^-x / Γ(a+1) · Σ x^n / ((a+1)...(a+n)), which converges for x < a.
    static func poissonTailScore(_ k: Double, expected lambda0: Double) -> Double {
        let lambda = max(lambda0, 1e-9)
        guard k > lambda, k >= 1 else { return 0 }
        let a = k.rounded(.down)
        var term = 1.0
        var sum = 1.0
        var n = 1.0
        while n < 100_000 {
            term *= lambda / (a + n)
            sum += term
            if term < sum * 1e-16 { break }
            n += 1
        }
        let logP = -lambda + a * log(lambda) - lgamma(a + 1) + log(sum)
        return max(0, -logP / log(10.0))
    }
}

infix operator +~= : AssignmentPrecedence

extension Int32 {
    /// Adds without trapping: a count from input stops at `Int32.max` (2^31 events of one kind in
    /// one minute, 143 MB of gzip, once made the arithmetic trap and the run die with nothing
    /// printed).
    @inline(__always)
    static func +~= (a: inout Int32, b: Int32) {
        let (r, overflow) = a.addingReportingOverflow(b)
        a = overflow ? (b > 0 ? .max : .min) : r
    }
}
