import XCTest
import Foundation
import PromowatchCore
@testable import PromowatchReport

final class ReportTests: XCTestCase {
    func testJSONQuotingSurvivesHostileStrings() throws {
        for s in ["A\"B", "x\\y", "new\nline", "\u{1b}[2J", "tab\t", "\u{2028}", "café", "A,B=C"] {
            let q = JSONString.quoted(s)
            XCTAssertFalse(q.contains("\n"))
            let back = try JSONSerialization.jsonObject(with: Data("[\(q)]".utf8)) as! [String]
            XCTAssertEqual(back, [s])
        }
    }

    func testSummaryJSONHasContractKeysAndParses() throws {
        var s = RunSummary()
        s.lines = 10
        s.bytes = 100
        s.skippedLines = 7
        s.events.promotionApplied = 2
        s.events.timeout = 1
        s.coupons = [CouponTotal(code: "Q\"T\n", applied: 2, rejected: 0, discount: 3.5)]
        s.providers = [ProviderTotal(provider: "stripe", succeeded: 1)]
        let line = SummaryReport.json(s)
        XCTAssertFalse(line.contains("\n"))
        let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        let sum = obj["summary"] as! [String: Any]
        XCTAssertEqual(sum["lines"] as? Int, 10)
        XCTAssertEqual(sum["bytes"] as? Int, 100)
        XCTAssertEqual(sum["skipped_lines"] as? Int, 7)
        let events = sum["events"] as! [String: Int]
        XCTAssertEqual(Set(events.keys), Set(EventKinds.all.map(\.name)))
        XCTAssertEqual(events["promotion_applied"], 2)
        XCTAssertEqual(((sum["coupons"] as! [[String: Any]])[0]["coupon"] as? String), "Q\"T\n")
    }

    func testTextEscapesTerminalControlCharacters() {
        var s = RunSummary()
        s.coupons = [CouponTotal(code: "EVIL\u{1b}]0;pwned\u{07}\nX", applied: 1)]
        let t = SummaryReport.text(s)
        XCTAssertFalse(t.contains("\u{1b}"))
        XCTAssertFalse(t.contains("\u{07}"))
        XCTAssertTrue(t.contains("EVIL\\u{1b}]0;pwned\\u{7}\\u{a}X"))
    }

    /// Text output passed U+061C, U+2028/2029 and U+FEFF through.
    func testTextEscapesEveryInvisibleFormattingCharacter() {
        for c: UInt32 in [0x061C, 0x2028, 0x2029, 0xFEFF, 0x202E, 0x2066, 0x85, 0x200B] {
            let s = "A" + String(Character(Unicode.Scalar(c)!)) + "B"
            XCTAssertEqual(TerminalText.safe(s), "A\\u{" + String(c, radix: 16) + "}B", String(c, radix: 16))
        }
        XCTAssertEqual(TerminalText.safe("CAFÉ10"), "CAFÉ10")
    }

    func testNumbers() {
        XCTAssertEqual(JSONText.number(3), "3")
        XCTAssertEqual(JSONText.number(3.25), "3.25")
        XCTAssertEqual(JSONText.number(.nan), "null")
    }
}
