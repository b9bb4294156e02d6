import XCTest
import PromowatchCore
@testable import PromowatchDecision

final class GuardrailTests: XCTestCase {
    func finding(
        _ cat: Category = .couponAbuse, _ sev: Severity = .p0, coupon: String = "LEAK", provider: String? = nil
    ) -> Finding {
        let action =
            provider.map { ProposedAction(kind: .disableProvider, target: $0) }
            ?? ProposedAction(kind: .blacklistCoupon, target: coupon)
        return Finding(
            time: 0, category: cat, severity: sev, subject: Subject(coupon: coupon), windowStart: 0, windowEnd: 0,
            evidence: Evidence(observed: 1, expected: 1, score: 1), action: action, summary: "")
    }
    let min: Int64 = 60_000_000_000

    func testBadCodesAreNeverWritten() {
        let g = Guardrails(config: DecisionConfig())
        XCTAssertEqual(
            g.decide(finding(coupon: "X,Y"), now: 0), .skip("coupon code is not [A-Z0-9_-]{1,64}; not written"))
        XCTAssertEqual(
            g.decide(finding(coupon: "A\u{202E}B"), now: 0), .skip("coupon code is not [A-Z0-9_-]{1,64}; not written"))
        XCTAssertEqual(g.decide(finding(), now: 0), .act)
        var none = finding()
        none.action = nil
        XCTAssertEqual(g.decide(none, now: 0), .skip("no action proposed"))
    }

    func testCooldownCapsAndProviderHold() {
        var c = DecisionConfig()
        c.maxPerRun = 3
        c.maxPerHour = 10
        let g = Guardrails(config: c)
        let f = finding(coupon: "A")
        XCTAssertEqual(g.decide(f, now: 0), .act)
        g.record(f, now: 0)
        if case .skip(let why) = g.decide(f, now: 5 * min) {
            XCTAssertTrue(why.hasPrefix("cooldown"))
        } else {
            XCTFail("cooldown")
        }
        XCTAssertEqual(g.decide(f, now: 31 * min), .act)
        let p = finding(.paymentProviderFailure, .p1, provider: "stripe")
        XCTAssertEqual(g.decide(p, now: 0), .act)
        g.record(p, now: 0)
        if case .skip(let why) = g.decide(p, now: 45 * min) {
            XCTAssertTrue(why.contains("held off"))
        } else {
            XCTFail("hold")
        }
        g.record(finding(coupon: "B"), now: 1)
        if case .skip(let why) = g.decide(finding(coupon: "C"), now: 2) {
            XCTAssertTrue(why.contains("per run"))
        } else {
            XCTFail("cap")
        }
        let h = Guardrails(
            config: {
                var x = DecisionConfig()
                x.maxPerHour = 2
                return x
            }())
        h.record(finding(coupon: "A"), now: 0)
        h.record(finding(coupon: "B"), now: min)
        if case .skip(let why) = h.decide(finding(coupon: "C"), now: 2 * min) {
            XCTAssertTrue(why.contains("per hour"))
        } else {
            XCTFail("hour cap")
        }
        XCTAssertEqual(h.decide(finding(coupon: "C"), now: 61 * min), .act)
    }
}
