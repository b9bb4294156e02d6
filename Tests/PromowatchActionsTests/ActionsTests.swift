import XCTest
import PromowatchCore
@testable import PromowatchActions

final class CouponCodeTests: XCTestCase {
    func testOnlySafeCodesPass() {
        XCTAssertEqual(CouponCode.sanitized("cart20-120"), "CART20-120")
        XCTAssertEqual(CouponCode.sanitized("VIP_25"), "VIP_25")
        XCTAssertEqual(CouponCode.sanitized(String(repeating: "A", count: 64)), String(repeating: "A", count: 64))
        for bad in ["X,Y", "A\"B", String(repeating: "A", count: 200), "NEW\nLINE", "", "SPACE CODE", "K=V", "café", "A;DROP", "\u{1b}[2J", "A\u{0}B"] {
            XCTAssertNil(CouponCode.sanitized(bad), bad.debugDescription)
        }
    }
}

final class ConfigMapEditTests: XCTestCase {
    func testBlacklistKeepsEntriesAndOrderAndAddsOnce() throws {
        XCTAssertEqual(try ConfigMapEdits.blacklist(nil, add: "leak1"), "LEAK1")
        XCTAssertEqual(try ConfigMapEdits.blacklist("", add: "LEAK1"), "LEAK1")
        XCTAssertEqual(try ConfigMapEdits.blacklist("OLD1,old2", add: "LEAK1"), "OLD1,old2,LEAK1")
        XCTAssertEqual(try ConfigMapEdits.blacklist("OLD1, OLD2 ", add: "NEW"), "OLD1, OLD2 ,NEW", "existing entries are kept as written")
        XCTAssertEqual(try ConfigMapEdits.blacklist("OLD1,", add: "NEW"), "OLD1,NEW")
        XCTAssertThrowsError(try ConfigMapEdits.blacklist("OLD1,Leak1", add: "leak1")) { XCTAssertEqual($0 as? EditRefusal, .alreadyBlacklisted) }
        XCTAssertThrowsError(try ConfigMapEdits.blacklist("OLD1", add: "X,Y")) { XCTAssertEqual($0 as? EditRefusal, .invalidCoupon) }
        XCTAssertThrowsError(try ConfigMapEdits.blacklist("OLD1", add: "A\"B"))
        XCTAssertThrowsError(try ConfigMapEdits.blacklist("OLD1", add: "NEW\nLINE"))
        XCTAssertThrowsError(try ConfigMapEdits.blacklist("OLD1", add: String(repeating: "Z", count: 200)))
    }

    func testProviderSwitchNeverDisablesTheLastEnabledProvider() throws {
        let c = ActionsConfig()
        XCTAssertEqual(try ConfigMapEdits.disableProvider("Stripe", data: ["ENABLE_STRIPE": "true", "ENABLE_PAYPAL": "false"], config: c),
                       ["ENABLE_STRIPE": "false", "ENABLE_PAYPAL": "true"])
        XCTAssertEqual(try ConfigMapEdits.disableProvider("stripe", data: ["ENABLE_STRIPE": "true", "ENABLE_PAYPAL": "true"], config: c),
                       ["ENABLE_STRIPE": "false"], "the fallback is already on")
        XCTAssertThrowsError(try ConfigMapEdits.disableProvider("stripe", data: ["ENABLE_STRIPE": "true", "ENABLE_PAYPAL": "true"], config: c,
                                                               unhealthy: ["paypal"])) { XCTAssertEqual($0 as? EditRefusal, .noHealthyFallback) }
        XCTAssertThrowsError(try ConfigMapEdits.disableProvider("adyen", data: [:], config: c)) { XCTAssertEqual($0 as? EditRefusal, .unknownProvider("adyen")) }
        XCTAssertThrowsError(try ConfigMapEdits.disableProvider("stripe", data: ["ENABLE_STRIPE": "false", "ENABLE_PAYPAL": "true"], config: c)) {
            XCTAssertEqual($0 as? EditRefusal, .alreadyDisabled)
        }
        var one = ActionsConfig()
        one.providerKeys = ["stripe": "ENABLE_STRIPE"]
        XCTAssertThrowsError(try ConfigMapEdits.disableProvider("stripe", data: ["ENABLE_STRIPE": "true"], config: one)) {
            XCTAssertEqual($0 as? EditRefusal, .noHealthyFallback, "a single provider is never switched off")
        }
    }

    func testMergePatchIsConditionalAndEscaped() {
        XCTAssertEqual(ConfigMapEdits.mergePatch(["B": "x\"y", "A": "1"], resourceVersion: "42"),
                       #"{"metadata":{"resourceVersion":"42"},"data":{"A":"1","B":"x\"y"}}"#)
    }
}

final class GuardrailTests: XCTestCase {
    func finding(_ cat: Category = .couponAbuse, _ sev: Severity = .p0, coupon: String = "LEAK", provider: String? = nil) -> Finding {
        let action = provider.map { ProposedAction(kind: .disableProvider, target: $0) } ?? ProposedAction(kind: .blacklistCoupon, target: coupon)
        return Finding(time: 0, category: cat, severity: sev, subject: Subject(coupon: coupon), windowStart: 0, windowEnd: 0,
                       evidence: Evidence(observed: 1, expected: 1, score: 1), action: action, summary: "")
    }
    let min: Int64 = 60_000_000_000

    func testAllowlistSeverityCardTestingAndBadCodes() {
        let g = Guardrails(config: ActionsConfig(), allowlist: ["vip25"])
        XCTAssertEqual(g.decide(finding(coupon: "VIP25"), now: 0), .skip("coupon VIP25 is allowlisted"))
        XCTAssertEqual(g.decide(finding(.couponAbuse, .p2), now: 0), .skip("severity P2 below the minimum P1"))
        XCTAssertEqual(g.decide(finding(.cardTesting, .p0, provider: "stripe"), now: 0), .skip("card testing never switches providers"))
        XCTAssertEqual(g.decide(finding(coupon: "X,Y"), now: 0), .skip("coupon code is not [A-Z0-9_-]{1,64}; not written"))
        XCTAssertEqual(g.decide(finding(), now: 0), .act)
    }

    func testCooldownCapsAndProviderHold() {
        var c = ActionsConfig()
        c.maxPerRun = 3
        c.maxPerHour = 10
        let g = Guardrails(config: c, allowlist: [])
        let f = finding(coupon: "A")
        XCTAssertEqual(g.decide(f, now: 0), .act); g.record(f, now: 0)
        if case .skip(let why) = g.decide(f, now: 5 * min) { XCTAssertTrue(why.hasPrefix("cooldown")) } else { XCTFail("cooldown") }
        XCTAssertEqual(g.decide(f, now: 31 * min), .act)
        let p = finding(.paymentProviderFailure, .p1, provider: "stripe")
        XCTAssertEqual(g.decide(p, now: 0), .act); g.record(p, now: 0)
        if case .skip(let why) = g.decide(p, now: 45 * min) { XCTAssertTrue(why.contains("held off")) } else { XCTFail("hold") }
        g.record(finding(coupon: "B"), now: 1)
        if case .skip(let why) = g.decide(finding(coupon: "C"), now: 2) { XCTAssertTrue(why.contains("per run")) } else { XCTFail("cap") }
        let h = Guardrails(config: { var x = ActionsConfig(); x.maxPerHour = 2; return x }(), allowlist: [])
        h.record(finding(coupon: "A"), now: 0); h.record(finding(coupon: "B"), now: min)
        if case .skip(let why) = h.decide(finding(coupon: "C"), now: 2 * min) { XCTAssertTrue(why.contains("per hour")) } else { XCTFail("hour cap") }
        XCTAssertEqual(h.decide(finding(coupon: "C"), now: 61 * min), .act)
    }
}
