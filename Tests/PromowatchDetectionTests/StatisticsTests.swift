import XCTest
import PromowatchCore
import PromowatchTestSupport
@testable import PromowatchDetection

final class StatisticsTests: XCTestCase {
    func testPoissonTailAgainstDirectSums() {
        // P(X >= k) summed directly from the pmf for small cases
        func direct(_ k: Int, _ l: Double) -> Double {
            var p = exp(-l)
            var cdf = 0.0
            for i in 0..<k {
                cdf += p
                p *= l / Double(i + 1)
            }
            return -log10(max(1 - cdf, 1e-300))
        }
        for (k, l) in [(5, 1.0), (10, 2.5), (3, 0.5), (20, 10.0), (8, 3.0)] {
            XCTAssertEqual(
                Stats.poissonTailScore(Double(k), expected: l), direct(k, l), accuracy: 1e-6, "k=\(k) l=\(l)")
        }
        XCTAssertEqual(Stats.poissonTailScore(2, expected: 5), 0, "below expectation: not anomalous")
        XCTAssertGreaterThan(Stats.poissonTailScore(200, expected: 3), 200)
        XCTAssertTrue(Stats.poissonTailScore(100_000, expected: 90_000).isFinite)
    }

    func testVolumeAwareness() {
        // the same ratio is far stranger at high volume: 3x of 100 vs 3x of 1
        XCTAssertGreaterThan(Stats.poissonTailScore(300, expected: 100), 40)
        XCTAssertLessThan(Stats.poissonTailScore(3, expected: 1), 2)
    }
}

final class SketchTests: XCTestCase {
    func testBottomKIsOrderIndependentAndEstimates() {
        var rng = SeededRandom.forTest("sketch accuracy")
        let values = (0..<5000).map { _ in UInt64.random(in: 1...UInt64.max, using: &rng) }
        var a = BottomK(k: 32)
        var b = BottomK(k: 32)
        for v in values { a.insert(v) }
        for v in values.reversed() { b.insert(v) }
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.estimate, 5000, accuracy: 5000 * 0.5)
        var small = BottomK(k: 32)
        for v in values.prefix(10) {
            small.insert(v)
            small.insert(v)
        }
        XCTAssertEqual(small.estimate, 10, "exact below k, duplicates ignored")
        var merged = BottomK(k: 32)
        merged.merge(small)
        merged.merge(a)
        XCTAssertEqual(merged.values.count, 32)
    }

    func testARecurringKeySurvivesAFloodOfOneOffKeysAndNothingIsOvercounted() {
        var t = TopK<Int>(capacity: 32)
        // 7,000 distinct one-off keys (an attack with a new ip per attempt) and, among them,
        // one key every 350 keys (an ip trying code after code): 20 occurrences in all
        var real = 0
        for k in 0..<7000 {
            t.add(UInt64(1_000 + k)) { 0 }
            if k % 350 == 0 {
                t.add(1) { 0 }
                real += 1
            }
        }
        let i = t.keys.firstIndex(of: 1)
        XCTAssertNotNil(i, "the recurring key is in the table")
        if let i {
            XCTAssertLessThanOrEqual(Int(t.lowerBound(i)), real, "never more than its true count")
            XCTAssertGreaterThanOrEqual(Int(t.lowerBound(i)), real - 4, "counted from a few occurrences in")
        }
        for j in 0..<t.count where t.keys[j] != 1 {
            XCTAssertLessThanOrEqual(t.lowerBound(j), 1, "one-off keys: at most their true count")
        }
        XCTAssertEqual(t.count, 32, "bounded")
    }

    /// The admission sketch's counters stop at 65,535 (two bytes each: a batch keeps every
    /// minute's table): a key flooding one minute past that still reads as a flood, never as the
    /// small count a wrapped counter would give.
    func testAFloodPastTheSketchCountersLimitIsStillAdmitted() {
        var t = TopK<Int>(capacity: 2)
        t.add(1, by: 40_000) { 0 }
        t.add(2, by: 40_000) { 0 }
        t.add(3) { 0 }  // full: the sketch starts
        for _ in 0..<3 { t.add(3, by: 30_000) { 0 } }
        let i = t.keys.firstIndex(of: 3)
        XCTAssertNotNil(i, "90,000 beats 40,000 (a wrapped counter read 24,465)")
        if let i { XCTAssertGreaterThan(t.counts[i], 40_000) }
    }

    func testHeavyKeysAboveNOverKSurviveWithoutASketch() {
        var t = TopK<Int>(capacity: 8)
        for k in 0..<100 { t.add(UInt64(k % 4)) { 0 } }
        XCTAssertEqual(t.count, 4)
        for i in 0..<4 { XCTAssertEqual(t.lowerBound(i), 25) }
    }

    func testFirstSeenKeepsTheEarliestMinute() {
        let s = FirstSeenSketch(log2Cells: 12)
        s.note(42, minute: 100)
        s.note(42, minute: 50)
        s.note(42, minute: 70)
        XCTAssertEqual(s.firstSeen(42), 50)
        XCTAssertEqual(s.firstSeen(43), FirstSeenSketch.never)
    }

    func testLatencyQuantiles() {
        var h = LatencyHistogram()
        for _ in 0..<990 { h.add(80) }
        for _ in 0..<10 { h.add(3000) }
        XCTAssertLessThan(h.quantile(0.5), 100)
        XCTAssertGreaterThan(h.quantile(0.5), 60)
        XCTAssertLessThan(h.quantile(0.99), 100, "exactly 1% slow: p99 is still fast")
        h.add(3000)
        XCTAssertGreaterThan(h.quantile(0.99), 2500)
        XCTAssertEqual(h.above(1000), 11)
    }

    func testWilsonLowerBoundIsCautiousOnSmallSamples() {
        XCTAssertEqual(Stats.wilsonLower(0.7, n: 10), 0.44, accuracy: 0.01, "seven of ten: surely more than 44%")
        XCTAssertGreaterThan(Stats.wilsonLower(1, n: 10), 0.75, "ten of ten")
        XCTAssertEqual(Stats.wilsonLower(0.7, n: 1000), 0.676, accuracy: 0.005)
        XCTAssertEqual(Stats.wilsonLower(0.5, n: 0), 0)
    }
}

extension StatisticsTests {
    /// 2^31 compensation failures in one minute (143 MB of gzip) made the Int32 counter trap and
    /// the run die with nothing printed: counts from input saturate instead.
    func testCountsSaturateInsteadOfTrapping() {
        var x = Int32.max - 1
        x +~= 1
        XCTAssertEqual(x, .max)
        x +~= 1
        XCTAssertEqual(x, .max)
        var y: Int32 = 5
        y +~= 7
        XCTAssertEqual(y, 12)
        let b = MinuteBucket()
        b.compensation = .max
        b.applied = .max
        var s = CouponStat()
        s.applied = .max
        var e = Event()
        e.kinds = .promotionApplied
        s.add(e, account: 1)
        XCTAssertEqual(s.applied, .max)
        let other = MinuteBucket()
        other.compensation = 3
        b.merge(other)
        XCTAssertEqual(b.compensation, .max)
    }
}
