import XCTest
import PromowatchCore
import PromowatchEngine
import LogGenerator
import PromowatchTestSupport

/// The labelled scenario suite: a day of background traffic with every incident of the
/// contract and the legitimate spikes injected. Every incident must be found (right category and
/// subject, within 5 minutes of its start) and no action may be proposed outside incidents — in
/// every framing and payload format, and with pods concatenated (time going backwards).
final class ScenarioTests: XCTestCase {
    struct Day {
        var records: [Record] = []
        var labels: [ScenarioLabel] = []
    }

    static let day: Day = {
        var sg = ScenarioGenerator(config: ScenarioConfig())
        var d = Day()
        sg.generate { d.records.append($0) }
        d.labels = sg.labels
        return d
    }()

    static func render(_ day: Day, format: PayloadFormat, framing: Framing, podOrder: Bool) -> [UInt8] {
        let r = Renderer(format: format, framing: framing)
        var rng = SplitMix64(seed: 3)
        if !podOrder {
            var out: [UInt8] = []
            out.reserveCapacity(day.records.count * 200)
            for rec in day.records { r.render(rec, rng: &rng, into: &out) }
            return out
        }
        var pods = [[UInt8]](repeating: [], count: 3)
        for rec in day.records { r.render(rec, rng: &rng, into: &pods[rec.pod % 3]) }
        return pods.flatMap { $0 }
    }

    func findings(_ bytes: [UInt8]) -> [Finding] {
        let a = Analyzer()
        a.enableDetection(DetectionConfig())
        a.feed(bytes)
        a.finish()
        return a.detector!.decided()
    }

    func check(
        _ found: [Finding], _ labels: [ScenarioLabel], _ label: String, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let fiveMinutes: Int64 = 5 * 60 * EventTime.nanosPerSecond
        for l in labels where !l.legit {
            let hit = found.first { f in
                f.category == l.category && f.time >= l.start && f.time <= l.start + fiveMinutes
                    && (l.subject.isEmpty
                        ? f.subject.isEmpty
                        : (l.subject.coupon == nil || f.subject.coupon == l.subject.coupon)
                            && (l.subject.user == nil || f.subject.user == l.subject.user)
                            && (l.subject.ip == nil || f.subject.ip == l.subject.ip)
                            && (l.subject.provider == nil || f.subject.provider == l.subject.provider))
            }
            XCTAssertNotNil(hit, "\(label): missed \(l.name) (\(l.category!.rawValue))", file: file, line: line)
        }
        let incidents = labels.filter { !$0.legit }
        for f in found where f.action != nil {
            let inside = incidents.contains { f.time >= $0.start && f.time <= $0.end + fiveMinutes }
            XCTAssertTrue(
                inside,
                "\(label): action outside incidents: \(f.category.rawValue) \(f.summary) at \(EventTime.rfc3339(f.time))",
                file: file, line: line)
        }
        for l in labels where l.legit {
            let noisy = found.filter { $0.time >= l.start && $0.time <= l.end + fiveMinutes && $0.action != nil }
            XCTAssertTrue(
                noisy.isEmpty, "\(label): legitimate \(l.name) raised \(noisy.map(\.summary))", file: file, line: line)
        }
    }

    func testEveryIncidentFoundNoActionOutsideIncidents() {
        let day = ScenarioTests.day
        XCTAssertEqual(day.labels.filter { !$0.legit }.count, 10)
        let reference = findings(Self.render(day, format: .json, framing: .plain, podOrder: false))
        check(reference, day.labels, "json/plain")
        let key = { (fs: [Finding]) in
            Set(
                fs.map {
                    "\($0.category.rawValue)|\($0.subject.coupon ?? "")|\($0.subject.ip ?? "")|\($0.subject.provider ?? "")|\($0.time)"
                })
        }
        // pods concatenated: time goes backwards at each boundary; the findings must be the same
        let concatenated = findings(Self.render(day, format: .json, framing: .prefixTimestamps, podOrder: true))
        check(concatenated, day.labels, "json/prefixTimestamps/pod-order")
        XCTAssertEqual(key(concatenated), key(reference), "batch results must not depend on line order")
    }

    /// Every framing, each with one payload format, the formats rotated by a seed drawn per run
    /// (printed; `PROMOWATCH_TEST_SEED` replays it): every format and every framing in each run,
    /// every pair over runs. The whole cross product is checked where the pairs can differ, in
    /// parsing (`RoundTripTests.testEveryFormatAndFramingGivesTheGeneratorsTruth`: every event
    /// kind, line and coupon count); here it cost 21 detection runs of a day in a debug build,
    /// three minutes of CI.
    func testEveryFormatAndFraming() {
        let day = ScenarioTests.day
        var rng = SeededRandom.forTest("ScenarioTests.testEveryFormatAndFraming")
        let formats = PayloadFormat.allCases
        let offset = Int.random(in: 0..<formats.count, using: &rng)
        for (i, framing) in Framing.allCases.enumerated() {
            let format = formats[(i + offset) % formats.count]
            check(
                findings(Self.render(day, format: format, framing: framing, podOrder: framing == .prefix)),
                day.labels,
                "\(format)/\(framing)")
        }
    }

    /// `watch` fed a whole day at full speed (as `kubectl logs -f` replays history) must find
    /// what `analyze` finds: every completed minute is evaluated, none skipped.
    func testStreamingOverAFastReplayEqualsBatch() {
        let day = ScenarioTests.day
        let bytes = Self.render(day, format: .json, framing: .timestamps, podOrder: false)
        let a = Analyzer()
        a.enableDetection(DetectionConfig(), streaming: true)
        var streamed: [Finding] = []
        a.feed(bytes, blockSize: 1 << 20) { streamed += a.detector!.evaluateLatest() }
        a.finish()
        streamed += a.detector!.evaluateLatest()
        check(streamed, day.labels, "streaming")
        let batch = findings(bytes)
        let key = { (fs: [Finding]) in
            Set(
                fs.map {
                    "\($0.category.rawValue)|\($0.subject.coupon ?? "")|\($0.subject.user ?? "")|\($0.subject.ip ?? "")|\($0.subject.provider ?? "")|\($0.time)"
                })
        }
        XCTAssertEqual(key(streamed), key(batch))
    }

    /// `cron` every 20 minutes: each run is a new process that restores the previous run's detector
    /// snapshot (through bytes, with coupon and provider ids interned in another order), reads the
    /// next slice of the day and saves a snapshot. Together the runs find what one batch run finds,
    /// the incidents that need 30 minutes of warm-up and the first-seen accounts included.
    func testRunsInSlicesWithSnapshotsEqualOneBatchRun() throws {
        let day = ScenarioTests.day
        var rng = SplitMix64(seed: 3)
        let renderer = Renderer(format: .json, framing: .timestamps)
        let sliceNanos: Int64 = 20 * 60 * EventTime.nanosPerSecond
        var slices: [[UInt8]] = []
        for rec in day.records {
            let k = Int((rec.time - day.records[0].time) / sliceNanos)
            while slices.count <= k { slices.append([]) }
            renderer.render(rec, rng: &rng, into: &slices[k])
        }
        var snapshot: [UInt8]? = nil
        var sliced: [Finding] = []
        for (i, slice) in slices.enumerated() {
            let a = Analyzer()
            // a different interning order each run: ids in the snapshot must be remapped by name
            if i % 2 == 1 {
                for code in ["ZZZ-FIRST", "WELCOME10"] { _ = a.extractor.coupons.intern(code) }
                _ = a.extractor.providers.intern("zzz")
            }
            a.enableDetection(DetectionConfig())
            if let s = snapshot { try a.detector!.restore(s) }
            slice.withUnsafeBufferPointer { a.process($0) }
            a.finish()
            sliced += a.detector!.decided()
            snapshot = a.detector!.snapshot()
        }
        XCTAssertGreaterThan(slices.count, 50)
        check(sliced, day.labels, "cron slices")
        let key = { (fs: [Finding]) in
            Set(
                fs.map {
                    "\($0.category.rawValue)|\($0.subject.coupon ?? "")|\($0.subject.user ?? "")|\($0.subject.ip ?? "")|\($0.subject.provider ?? "")|\($0.windowStart)"
                })
        }
        let batch = findings(slices.flatMap { $0 })
        XCTAssertEqual(key(sliced), key(batch))
        XCTAssertLessThan(snapshot!.count, 4 << 20, "a snapshot keeps only what windows and baselines need")
    }

    func testQuietDayHasNoActions() {
        var cfg = ScenarioConfig()
        cfg.incidents = false
        cfg.seed = 99
        var sg = ScenarioGenerator(config: cfg)
        var d = Day()
        sg.generate { d.records.append($0) }
        let found = findings(Self.render(d, format: .logfmt, framing: .cri, podOrder: false))
        XCTAssertEqual(found.filter { $0.action != nil }.map(\.summary), [])
    }
}
