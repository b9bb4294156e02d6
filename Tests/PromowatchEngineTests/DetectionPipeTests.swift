import XCTest
import PromowatchCore
@testable import PromowatchEngine
import LogGenerator

/// A batch's detection on a second thread (`DetectionPipe`) sees what one thread would: the same
/// events in the same order, the same account names and example lines read from the same bytes.
/// Findings (with their explanations and examples) and summaries are compared whole, on the
/// labelled scenario day in every framing and payload format, on an adversarial day and on every
/// real-log fixture.
final class DetectionPipeTests: XCTestCase {
    func run(_ bytes: [UInt8], thread: Bool, config: DetectionConfig = DetectionConfig()) -> (String, String) {
        var o = Analyzer.Options()
        o.detectionThread = thread
        let a = Analyzer(options: o)
        a.enableDetection(config)
        a.feed(bytes)
        a.finish()
        let found = a.detector!.decided()
        var s = a.summary()
        s.inputErrors = []
        return (String(describing: found), String(describing: s))
    }

    func same(_ bytes: [UInt8], _ what: String, config: DetectionConfig = DetectionConfig(), finds: Bool = true) {
        let one = run(bytes, thread: false, config: config)
        let two = run(bytes, thread: true, config: config)
        XCTAssertEqual(one.0.count, two.0.count, what)
        XCTAssertTrue(one.0 == two.0, "findings differ: \(what)")
        XCTAssertTrue(one.1 == two.1, "summaries differ: \(what)")
        if finds { XCTAssertTrue(one.0.contains("Finding("), "\(what): nothing found, nothing compared") }
    }

    func testTheScenarioDayIsFoundAlikeOnOneThreadAndTwo() {
        let day = ScenarioTests.day
        for (format, framing, podOrder) in [
            (PayloadFormat.json, Framing.prefixTimestamps, false), (.logfmt, .cri, false), (.kratos, .docker, true),
        ] {
            same(
                ScenarioTests.render(day, format: format, framing: framing, podOrder: podOrder), "\(format) \(framing)")
        }
    }

    func testAnAdversarialDayAndABatchOverItsBoundAreFoundAlike() {
        let out = TestInputs.adversarialDay
        same(out, "adversarial day")
        // folding minutes early on the detection thread resolves code names there while the
        // parsing thread interns new ones
        var small = DetectionConfig()
        small.input.batchMinuteEntries = 64
        same(out, "adversarial day, bound 64", config: small)
    }

    func testEveryRealFixtureIsReadAlike() throws {
        let dir = RealFixtureTests.dir
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".log") {
            let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent(name)))
            same(bytes, name, finds: false)
        }
    }

    /// The detection thread ends with the batch and nothing keeps the pipe alive after it (a
    /// stored Thread and its closure once made a cycle: the fuzzer's leak check found it).
    func testThePipeIsFreedWithItsBatch() {
        weak var pipe: DetectionPipe?
        do {
            var o = Analyzer.Options()
            o.detectionThread = true
            let a = Analyzer(options: o)
            a.enableDetection(DetectionConfig())
            pipe = a.pipe
            XCTAssertNotNil(pipe)
            a.feed(Array(#"{"ts":"2026-11-20T08:15:00Z","msg":"ApplyPromotion","coupon":"BOM1"}"#.utf8) + [0x0A])
            a.finish()
        }
        let deadline = Date().addingTimeInterval(5)
        while pipe != nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertNil(pipe)
    }

    /// A crash input of the fuzz target (`FuzzAnalyze`, SEGV): a saturation line found by its
    /// phrase in a payload that does not scan, whose texts the detection thread asked for. Read
    /// alike on one thread and two, and without a crash.
    func testTheFuzzersSaturationLineWithoutFields() throws {
        let b64 =
            "MjAxNi0xMC0wNlQwMDoxNzowOS42Njk3OTQyMDJaIHN0ZG91dCBQIGxtZyBjb25wdHVyZWQiLCJwcm92aWRlciI6InN0c2lwZSIsImFtb3VudCI6MTBmbyIsMH0KeyJsZXZlbCI6ImluZm8iLCJwciJ9CnRpbWU9Ii0xMi0yMDYxMjBUMDk6MTU6MDMrMDE6MDAiIGxldmVsPXdhcm5pbmcgbXNnPSJwYXlseV9tcyI6MjEyLjM2MX0KeyJsZXZlbCI6ImluZm8iLCJ0aW1lc3RhbXAiOiIxMDEzLTExLTIwVDAwOjAzOjQwLjU1N1oiLCJldmVudCI6IkFwcGx5UHJvbW90aW9uIiwicHJvb21Db2RlIjoiIGZhaWxlZCIsImVycm9yIjoicCAAAABvcnJ5LCB0b28gbWFueSBjbGllbnRzIGFscmUzIiwidXNlcl9pZCI6InUtMjM3NSIsInhfZm9yd2ZyZGVkX2ZvciI6IjExNiJdfQp7ImxldmVsIjoiaW5mbyIsInRzIjoidGhvZCI6IlBPU1QiLCJwYSJ9CnRoIjoiL2FwaS9jaJKca291dCIsInN0YXR1cyI6NDA1LCJsYXRlbmN5X21zIgp7ImxlMnZlbHlfbXMiOjIxMi4zNjF93CXb7J/A4KS9VU0MhCVjb3Vwb25lGUfvsMgox2maE/Q+i483bGFibGUK"
        same(try XCTUnwrap(Data(base64Encoded: b64)).map { $0 }, "fuzz crash 4e29b46a", finds: false)
    }
}
