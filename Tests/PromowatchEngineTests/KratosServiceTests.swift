import XCTest
import Foundation
import PromowatchCore
import PromowatchEngine
import LogGenerator

/// A stock go-kratos checkout, simulated (issue "Read real services' logs as they are written"):
/// every promotion and payment appears only as std-logger lines (never quoted) and logging
/// middleware request lines. The day must read with the same counts and the same findings as
/// the JSON rendering (the zap adapter, `"msg":""` beside `operation`) of the same records.
final class KratosServiceTests: XCTestCase {
    static let day: (records: [Record], labels: [ScenarioLabel]) = {
        var c = ScenarioConfig()
        c.seed = 11
        c.kratosService = true
        var sg = ScenarioGenerator(config: c)
        var recs: [Record] = []
        sg.generate { recs.append($0) }
        return (recs, sg.labels)
    }()

    func analyze(_ bytes: [UInt8]) -> (RunSummary, [Finding]) {
        let a = Analyzer()
        a.enableDetection(DetectionConfig())
        a.feed(bytes)
        a.finish()
        return (a.summary(), a.detector!.decided())
    }

    /// Findings in a fixed order, evidence to 9 significant digits: sums of the same discounts
    /// added in another order differ in the last bit (2709.98 and 2709.9799999999996).
    func normalized(_ fs: [Finding]) -> [String] {
        func r(_ v: Double) -> String { String(format: "%.9g", v) }
        return fs.map { f in
            "\(f.time) \(f.category.rawValue) \(f.severity.name) \(f.subject) \(f.windowStart)-\(f.windowEnd) "
                + "\(r(f.evidence.observed)) \(r(f.evidence.expected)) \(r(f.evidence.score)) "
                + f.evidence.counts.map { "\($0.0)=\(r($0.1))" }.joined(separator: ",")
                + " \(f.action.map { "\($0.kind) \($0.target)" } ?? "-") \(f.summary)"
        }.sorted()
    }

    func render(_ format: PayloadFormat, stdLogger: Bool, podOrder: Bool) -> [UInt8] {
        var r = Renderer(format: format, framing: .prefixTimestamps)
        r.stdLogger = stdLogger
        var rng = SplitMix64(seed: 3)
        var pods = [[UInt8]](repeating: [], count: 3)
        for rec in KratosServiceTests.day.records { r.render(rec, rng: &rng, into: &pods[podOrder ? rec.pod % 3 : 0]) }
        return pods.flatMap { $0 }
    }

    func testStockKratosDayReadsLikeItsJSONRendering() {
        var truth = EventCounts()
        for r in KratosServiceTests.day.records { truth.add(r.kinds) }
        XCTAssertGreaterThan(truth.promotionApplied, 1000)
        XCTAssertGreaterThan(truth.paymentProviderFailure, 100)

        let std = render(.kratos, stdLogger: true, podOrder: false)
        let text = String(decoding: std.prefix(200_000), as: UTF8.self)
        XCTAssertTrue(text.contains(" args=session_id:\"s-"), "middleware request lines are in the day")
        XCTAssertFalse(text.contains("msg=\""), "the std logger never quotes")

        let (s1, f1) = analyze(render(.json, stdLogger: false, podOrder: false))
        let (s2, f2) = analyze(std)
        let (s3, f3) = analyze(render(.kratos, stdLogger: true, podOrder: true))  // pods one after another
        XCTAssertEqual(s1.events, truth)
        XCTAssertEqual(s2.events, truth)
        XCTAssertEqual(s3.events, truth)
        XCTAssertEqual(s1.coupons, s2.coupons)
        XCTAssertEqual(s1.providers, s2.providers)
        XCTAssertGreaterThan(s2.duplicatePromotionLines, 1000)
        XCTAssertEqual(s2.duplicatePromotionLines, s3.duplicatePromotionLines)
        XCTAssertFalse(f1.isEmpty)
        XCTAssertEqual(normalized(f1), normalized(f2))
        XCTAssertEqual(normalized(f2), normalized(f3))
        // the day's payment incidents are found from std-logger lines alone
        XCTAssertTrue(f2.contains { $0.category == .paymentProviderFailure })
    }
}
