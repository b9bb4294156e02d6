import XCTest
import PromowatchCore
@testable import PromowatchDetection

/// A batch over its entry bound whose input is not in time order is read again one span of event
/// time at a time (`Detector+TimeSlices`). These pin how the spans are drawn and what a detector
/// does at a span's edges; `BatchMemoryTests` and the CLI's `TimeSliceCLITests` run it whole.
final class TimeSliceTests: XCTestCase {
    func testSpansCoverAllOfTimeOnceAndStayWithinTheBudget() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            var minute = Int.random(in: -100_000...100_000, using: &rng)
            var weights: [(minute: Int, weight: Int)] = []
            for _ in 0..<Int.random(in: 1...400, using: &rng) {
                minute += Int.random(in: 1...90, using: &rng)
                weights.append((minute, Int.random(in: 1...5000, using: &rng)))
            }
            let budget = Int.random(in: 1000...20000, using: &rng)
            let spans = Detector.slices(weights, budget: budget)
            XCTAssertEqual(spans.first?.lowerBound, Int64.min)
            XCTAssertEqual(spans.last?.upperBound, Int64.max)
            for (a, b) in zip(spans, spans.dropFirst()) {
                XCTAssertEqual(a.upperBound, b.lowerBound, "no gap, no overlap")
            }
            for s in spans {
                let inside = weights.filter { s.contains(Int64($0.minute) * 60_000_000_000) }
                XCTAssertFalse(inside.isEmpty, "no empty span: each is a reading of the input")
                let held = inside.reduce(0) { $0 + $1.weight }
                XCTAssertTrue(held <= budget || inside.count == 1, "\(held) > \(budget) in \(inside.count) minutes")
            }
            // as few spans as the budget allows: two neighbours together would not fit
            for (a, b) in zip(spans, spans.dropFirst()) {
                let both = weights.filter {
                    a.contains(Int64($0.minute) * 60_000_000_000) || b.contains(Int64($0.minute) * 60_000_000_000)
                }
                XCTAssertGreaterThan(both.reduce(0) { $0 + $1.weight }, budget)
            }
        }
        XCTAssertEqual(Detector.slices([], budget: 10), [Int64.min..<Int64.max])
    }

    /// What a span ignores and what its end folds: events outside the span do not count (not even
    /// towards the newest time), and at its end only minutes that hold events are evaluated, as in
    /// one reading of the whole input.
    func testASpanIgnoresOtherTimesAndItsEndFoldsOnlyWhatItHeld() {
        let coupons = SymbolTable(maxEntries: 16, maxBytes: 1024)
        let providers = SymbolTable(maxEntries: 4, maxBytes: 64)
        let d = Detector(coupons: coupons, providers: providers)
        let t0: Int64 = 1_795_132_800 * 1_000_000_000  // 2026-11-20T00:00:00Z
        let minute: Int64 = 60_000_000_000
        d.timeSlice = (t0 + 10 * minute)..<(t0 + 40 * minute)
        for k in 0..<60 {
            var e = Event()
            e.kinds = [.request]
            e.time = t0 + Int64(k) * minute + 1
            d.add(e, text: DetectorTests.Names())
        }
        XCTAssertEqual(d.firstMinute, Detector.minute(t0 + 10 * minute))
        XCTAssertEqual(d.lastMinute, Detector.minute(t0 + 39 * minute))
        XCTAssertEqual(d.watermark, t0 + 39 * minute + 1, "a later event outside the span moves nothing")
        XCTAssertEqual(d.buckets.count, 30)
        d.settle(before: t0 + 40 * minute)
        XCTAssertEqual(d.evaluatedThrough, d.lastMinute)
        XCTAssertEqual(d.lateEvents, 0)
        // the minutes its windows still need stay; the older ones went to the baseline
        XCTAssertEqual(d.buckets.keys.min(), d.lastMinute - d.longest + 1)
        d.settle(before: Int64.max)  // the last span ends with `finish`
        XCTAssertEqual(d.evaluatedThrough, d.lastMinute)
    }
}
