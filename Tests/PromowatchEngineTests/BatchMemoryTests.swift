import XCTest
import PromowatchCore
import PromowatchReport
import PromowatchDecision
import LogGenerator
@testable import PromowatchDetection
@testable import PromowatchEngine

/// Issue 12: a batch kept one record per code per minute of its whole input (100,000 codes a
/// minute took 952 MB after 40 minutes). Over `input.batch_minute_entries` it evaluates its oldest
/// minutes and folds them into the baseline, as `watch` does.
final class BatchMemoryTests: XCTestCase {
    static let day: [Record] = {
        var config = ScenarioConfig()
        config.seed = 4242
        var sg = ScenarioGenerator(config: config)
        var records: [Record] = []
        sg.generate { records.append($0) }
        return records
    }()

    func render(podOrder: Bool) -> [UInt8] {
        let r = Renderer(format: .json, framing: .prefixTimestamps)
        var rng = SplitMix64(seed: 3)
        var pods = [[UInt8]](repeating: [], count: podOrder ? 3 : 1)
        for rec in BatchMemoryTests.day { r.render(rec, rng: &rng, into: &pods[podOrder ? rec.pod % 3 : 0]) }
        return pods.flatMap { $0 }
    }

    func run(_ bytes: [UInt8], entries: Int? = nil) -> (findings: [String], analyzer: Analyzer, entries: Int) {
        var config = DetectionConfig()
        if let entries { config.input.batchMinuteEntries = entries }
        let a = Analyzer()
        a.enableDetection(config)
        var most = 0
        a.feed(bytes, blockSize: 1 << 16) { most = max(most, a.detector!.retainedEntries) }
        a.finish()
        let found = a.detector!.decided().map { FindingReport.json($0) }
        return (found, a, most)
    }

    func testABoundedBatchFindsWhatAnUnboundedOneFindsOnInputInTimeOrder() {
        let bytes = render(podOrder: false)
        let unbounded = run(bytes)
        let bounded = run(bytes, entries: 1000)
        XCTAssertGreaterThan(unbounded.findings.count, 3, "the day has incidents")
        XCTAssertEqual(bounded.findings, unbounded.findings)
        // the unbounded run holds every minute; the bounded one the bound plus, at worst, the
        // minutes its windows still need
        let d = unbounded.analyzer.detector!
        XCTAssertEqual(unbounded.entries, d.buckets.values.reduce(0) { $0 + $1.retainedEntries })
        let busiest = d.buckets.values.map(\.retainedEntries).max()!
        XCTAssertGreaterThan(unbounded.entries, 3000)
        XCTAssertLessThanOrEqual(bounded.entries, 1000 + (DetectionConfig().longestWindowMinutes + 3) * busiest)
        XCTAssertLessThan(bounded.entries, unbounded.entries / 3)
        XCTAssertEqual(bounded.analyzer.summary().lateEvents, 0)
        XCTAssertEqual(unbounded.analyzer.summary().lateEvents, 0)
    }

    /// Pods concatenated (time going back at each pod) past the bound: what arrives after its
    /// minute was folded is counted and said, not silently lost.
    func testEventsBehindWhatABoundedBatchFoldedAreCountedAndSaid() {
        let bytes = render(podOrder: true)
        let unbounded = run(bytes)
        XCTAssertEqual(unbounded.analyzer.summary().lateEvents, 0, "within the bound the order does not matter")
        let bounded = run(bytes, entries: 1000)
        let s = bounded.analyzer.summary()
        XCTAssertGreaterThan(s.lateEvents, 1000)
        XCTAssertTrue(SummaryReport.json(s).contains(#""late_events": \#(s.lateEvents)"#))
        XCTAssertTrue(SummaryReport.text(s).contains("\(s.lateEvents) events arrived after their minute"))
        XCTAssertEqual(s.events, unbounded.analyzer.summary().events, "every event still counted")
    }
}

extension BatchMemoryTests {
    /// Findings without their explanations: the example lines of a minute are its first, which
    /// depend on the order the lines came in.
    func withoutExamples(_ findings: [String]) -> [String] {
        findings.map { f in
            var o = try! JSONSerialization.jsonObject(with: Data(f.utf8)) as! [String: Any]
            o["explanation"] = nil
            return String(
                decoding: try! JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
        }
    }

    /// The pods of the day above concatenated, over the bound, read again one span of event time
    /// at a time as `analyze` does (`SlicedReading`): the findings of the day in time order, no
    /// event late, and no span holding more than its budget.
    func testAScrambledBatchReadAgainInTimeSpansFindsWhatOneInTimeOrderFinds() {
        // a bound a third of what the day holds (each minute counts 256 entries and more)
        let bound = 150_000
        let ordered = run(render(podOrder: false), entries: bound)
        let bytes = render(podOrder: true)
        var config = DetectionConfig()
        config.input.batchMinuteEntries = bound
        let first = Analyzer()
        first.enableDetection(config)
        first.feed(bytes, blockSize: 1 << 16)
        first.finish()
        XCTAssertGreaterThan(first.detector!.lateEvents, 1000, "one reading loses them")
        let spans = Detector.slices(first.detector!.minuteWeights()!, budget: first.detector!.sliceBudget)
        XCTAssertGreaterThanOrEqual(spans.count, 3)
        let fresh = Detector(config: config, coupons: first.extractor.coupons, providers: first.extractor.providers)
        var most = 0
        for span in spans {
            fresh.timeSlice = span
            let a = Analyzer(sharingTablesOf: first)
            a.enableDetection(sharing: fresh)
            a.feed(bytes, blockSize: 1 << 16) { most = max(most, a.detector!.retainedEntries) }
            a.finish()
            fresh.settle(before: span.upperBound)
        }
        fresh.timeSlice = nil
        XCTAssertEqual(fresh.lateEvents, 0)
        let found = fresh.decided().map { FindingReport.json($0) }
        XCTAssertGreaterThan(found.count, 3)
        XCTAssertEqual(withoutExamples(found), withoutExamples(ordered.findings))
        XCTAssertLessThanOrEqual(most, bound, "each span within the bound: nothing folded early")
    }

    /// A month of archives holds few codes a minute but many minutes, each with its own tables
    /// (heavy hitters and their sketch, examples, samples: some 15 KB in a busy shop): counted in
    /// code entries only, a month of a busy shop's minutes stayed far under the bound and held
    /// some 700 MB. Each minute now counts as `MinuteBucket.entryWeight` entries.
    func testManyQuietMinutesCountAgainstTheBound() {
        var text = ""
        for m in 0..<(3 * 1440) {
            let ts = String(format: "2026-11-%02dT%02d:%02d:00Z", 20 + m / 1440, m / 60 % 24, m % 60)
            text += #"{"ts":"\#(ts)","msg":"ApplyPromotion","coupon":"SAVE10","user_id":"u\#(m % 50)"}"# + "\n"
        }
        let bound = 100 * MinuteBucket.entryWeight
        let (_, a, most) = run(Array(text.utf8), entries: bound)
        let window = DetectionConfig().longestWindowMinutes + 3
        XCTAssertLessThanOrEqual(most, bound + window * (MinuteBucket.entryWeight + 2))
        XCTAssertLessThan(a.detector!.buckets.count, 100 + window + 1, "minutes held")
        XCTAssertEqual(a.summary().lateEvents, 0)
        XCTAssertEqual(a.summary().events.promotionApplied, 3 * 1440)
    }

    /// 100,000 accounts each reusing its own code once a minute for 40 minutes raised 188,898
    /// reuse findings and took 445 MB (the findings held until the batch ends). A minute keeps at
    /// most 256 steady-reuse pairs: the flood is reported by its first pairs and counted.
    func testAFloodOfReusersIsReportedByItsFirstAndCounted() {
        var text = ""
        for m in 0..<12 {
            for c in 0..<600 {
                let ts = String(format: "2026-11-20T08:%02d:%02dZ", m, c % 60)
                text += #"{"ts":"\#(ts)","msg":"ApplyPromotion","coupon":"C\#(c)","user_id":"u\#(c)"}"# + "\n"
            }
        }
        let a = Analyzer()
        a.enableDetection(DetectionConfig())
        a.feed(Array(text.utf8))
        a.finish()
        let found = a.detector!.decided().filter { $0.category == .couponReuse }
        let s = a.summary()
        XCTAssertGreaterThan(found.count, 100, "the flood is reported")
        XCTAssertLessThanOrEqual(found.count, 2 * 256, "but not pair by pair")
        XCTAssertGreaterThan(s.untrackedReusePairs, 1000)
        XCTAssertTrue(SummaryReport.json(s).contains(#""untracked_reuse_pairs": \#(s.untrackedReusePairs)"#))
        XCTAssertTrue(SummaryReport.text(s).contains("\(s.untrackedReusePairs) redemptions by accounts reusing a code"))
    }
}
