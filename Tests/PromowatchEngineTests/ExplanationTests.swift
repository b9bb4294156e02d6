import XCTest
import PromowatchCore
import PromowatchReport
@testable import PromowatchEngine

/// Every finding explains itself: what was measured, typical against actual, who contributed
/// most, and a few sanitised lines of the input behind it.
final class ExplanationTests: XCTestCase {
    func analyze(_ text: String) -> [Finding] {
        let a = Analyzer()
        a.enableDetection(DetectionConfig())
        a.feed(Array(text.utf8))
        a.finish()
        return a.detector!.decided()
    }

    /// An hour of ordinary redemptions, then one account reusing a code; its lines carry a
    /// terminal escape and a card number.
    func testReuseNamesTheAccountAndShowsItsOwnLinesSanitised() throws {
        var lines: [String] = []
        for m in 0..<70 {
            for k in 0..<6 {
                let u = (m * 6 + k) % 200
                lines.append(
                    #"{"ts":"2026-11-20T08:\#(String(format: "%02d", m % 60)):\#(String(format: "%02d", k * 9))Z","msg":"ApplyPromotion","coupon":"WELCOME10","user_id":"u-\#(u)","status":"applied"}"#
                        .replacingOccurrences(of: "08:", with: m < 60 ? "08:" : "09:"))
            }
        }
        for k in 0..<12 {
            lines.append(
                #"{"ts":"2026-11-20T09:10:\#(String(format: "%02d", k * 4))Z","msg":"ApplyPromotion","coupon":"WELCOME10","user_id":"u-greedy","status":"applied","note":"\u001b[2J","card":"4111111111111111","at":1795169080000}"#
            )
        }
        let f = try XCTUnwrap(analyze(lines.joined(separator: "\n") + "\n").first { $0.category == .couponReuse })
        let e = try XCTUnwrap(f.explanation)
        XCTAssertEqual(e.measure, "redemptions of WELCOME10 by one account")
        XCTAssertEqual(e.contributors.first, Explanation.Contributor(kind: "user", value: "u-greedy", count: 12))
        XCTAssertFalse(e.examples.isEmpty)
        for line in e.examples {
            XCTAssertTrue(line.contains("\"user_id\":\"u-greedy\""), line)
            XCTAssertTrue(line.contains("************1111"), "the card number is masked: \(line)")
            XCTAssertTrue(line.contains("1795169080000"), "a millisecond timestamp is no card: \(line)")
            XCTAssertFalse(line.unicodeScalars.contains { $0.value < 0x20 || $0.value >= 0x7F }, line)
        }
        // the popular code is not blocked, and the rule that said no is in the explanation
        XCTAssertNil(f.action)
        XCTAssertTrue(f.whyNoAction?.hasPrefix("not blocked: WELCOME10 is public (") ?? false, f.whyNoAction ?? "")
        let json = FindingReport.json(f)
        let object = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let explanation = try XCTUnwrap(object["explanation"] as? [String: Any])
        XCTAssertEqual(explanation["actual"] as? Double, 12)
        XCTAssertEqual((explanation["contributors"] as? [[String: Any]])?.first?["user"] as? String, "u-greedy")
        XCTAssertEqual(explanation["why_no_action"] as? String, f.whyNoAction)
    }

    /// A provider outage names every provider's failures against its attempts, and shows the
    /// failing provider's own lines (the error codes are in them).
    func testProviderFailureShowsEachProvidersShareAndItsErrors() throws {
        var lines: [String] = []
        for m in 0..<70 {
            for k in 0..<10 {
                let failing = m >= 60 && k < 5
                let provider = k % 2 == 0 || failing ? "stripe" : "paypal"
                let ts = String(format: "2026-11-20T%02d:%02d:%02dZ", 8 + m / 60, m % 60, k * 5)
                lines.append(
                    failing
                        ? #"{"ts":"\#(ts)","msg":"payment failed","provider":"stripe","error_code":"api_connection_error","user_id":"c\#(k)"}"#
                        : #"{"ts":"\#(ts)","msg":"payment succeeded","provider":"\#(provider)","user_id":"c\#(k)","amount":20}"#
                )
            }
        }
        let f = try XCTUnwrap(
            analyze(lines.joined(separator: "\n") + "\n").first { $0.category == .paymentProviderFailure })
        let e = try XCTUnwrap(f.explanation)
        XCTAssertEqual(e.contributors.map(\.value), ["stripe", "paypal"])
        XCTAssertEqual(e.contributors.first?.count, f.evidence.observed)
        XCTAssertTrue(
            e.examples.allSatisfy { $0.contains("api_connection_error") && $0.contains("stripe") }, "\(e.examples)")
        XCTAssertFalse(e.examples.isEmpty)
    }
}
