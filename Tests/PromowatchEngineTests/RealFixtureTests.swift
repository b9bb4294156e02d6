import XCTest
import Foundation
import PromowatchCore
import PromowatchEngine

/// `fixtures/real/`: excerpts of real log text from public sources and checkout events composed in
/// their exact shapes (`fixtures/real/README.md` names each source). Every file is read with
/// exactly the counts and event times written by hand in `truth.json`.
final class RealFixtureTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/real")

    func testEveryRealFixtureReadsWithItsTrueCountsAndTimes() throws {
        let data = try Data(contentsOf: RealFixtureTests.dir.appendingPathComponent("truth.json"))
        let truth = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        let logs = try FileManager.default.contentsOfDirectory(atPath: RealFixtureTests.dir.path).filter {
            $0.hasSuffix(".log")
        }
        XCTAssertEqual(Set(logs), Set(truth.keys), "every fixture has a truth entry and every entry a fixture")
        for (name, t) in truth.sorted(by: { $0.key < $1.key }) {
            let a = Analyzer()
            var times: [Int64] = []
            a.eventObserver = { times.append($0.time) }
            var failure: String?
            do { try a.run(path: RealFixtureTests.dir.appendingPathComponent(name).path) } catch {
                failure = String(describing: error)
            }
            a.finish()
            let s = a.summary()
            XCTAssertEqual(s.lines, t["lines"] as? Int, name)
            XCTAssertEqual(s.skippedLines, t["skipped_lines"] as? Int, name)
            XCTAssertEqual(s.inputWarnings, t["input_warnings"] as? Int ?? 0, name)
            XCTAssertEqual(s.duplicatePromotionLines, t["duplicate_promotion_lines"] as? Int ?? 0, name)
            if let e = t["error"] as? String {
                XCTAssertTrue(
                    failure?.contains(e) == true && failure?.contains(name) == true, "\(name): \(failure ?? "no error")"
                )
            } else {
                XCTAssertNil(failure, name)
            }
            let events = t["events"] as? [String: Int] ?? [:]
            for (kind, count) in s.events.named { XCTAssertEqual(count, events[kind] ?? 0, "\(name): \(kind)") }
            let coupons = (t["coupons"] as? [String: [Int]] ?? [:]).mapValues { $0 }
            XCTAssertEqual(
                Dictionary(uniqueKeysWithValues: s.coupons.map { ($0.code, [$0.applied, $0.rejected]) }), coupons, name)
            let want = (t["times"] as? [String] ?? []).map { RealFixtureTests.parse($0) }
            let got = times.sorted()
            XCTAssertEqual(got.count, want.count, "\(name): event times")
            for (g, w) in zip(got, want) {
                XCTAssertLessThanOrEqual(
                    abs(g - w), 1000,
                    "\(name): \(EventTime.rfc3339(g, fractionDigits: 9)) vs \(EventTime.rfc3339(w, fractionDigits: 9))")
            }
        }
    }

    /// `2026-11-20T08:15:00.5Z` to nanoseconds (the truth file's own simple form).
    static func parse(_ s: String) -> Int64 {
        let b = Array(s.utf8)
        func n(_ r: Range<Int>) -> Int { Int(String(decoding: b[r], as: UTF8.self))! }
        let days = EventTime.daysFromCivil(year: n(0..<4), month: n(5..<7), day: n(8..<10))
        var t = (Int64(days) * 86400 + Int64(n(11..<13) * 3600 + n(14..<16) * 60 + n(17..<19))) * 1_000_000_000
        if b[19] == UInt8(ascii: ".") {
            let frac = String(decoding: b[20..<(b.count - 1)], as: UTF8.self)
            t += Int64(frac.padding(toLength: 9, withPad: "0", startingAt: 0))!
        }
        return t
    }
}
