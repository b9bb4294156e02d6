import XCTest
import PromowatchCore
@testable import PromowatchActions

final class CouponCodeTests: XCTestCase {
    func testOnlySafeCodesPass() {
        XCTAssertEqual(CouponCode.sanitized("cart20-120"), "CART20-120")
        XCTAssertEqual(CouponCode.sanitized("VIP_25"), "VIP_25")
        XCTAssertEqual(CouponCode.sanitized(String(repeating: "A", count: 64)), String(repeating: "A", count: 64))
        for bad in [
            "X,Y", "A\"B", String(repeating: "A", count: 200), "NEW\nLINE", "", "SPACE CODE", "K=V", "café", "A;DROP",
            "\u{1b}[2J", "A\u{0}B",
        ] {
            XCTAssertNil(CouponCode.sanitized(bad), bad.debugDescription)
        }
    }
}

final class ConfigMapEditTests: XCTestCase {
    func testBlacklistKeepsEntriesAndOrderAndAddsOnce() throws {
        XCTAssertEqual(try ConfigMapEdits.blacklist(nil, add: "leak1"), "LEAK1")
        XCTAssertEqual(try ConfigMapEdits.blacklist("", add: "LEAK1"), "LEAK1")
        XCTAssertEqual(try ConfigMapEdits.blacklist("OLD1,old2", add: "LEAK1"), "OLD1,old2,LEAK1")
        XCTAssertEqual(
            try ConfigMapEdits.blacklist("OLD1, OLD2 ", add: "NEW"), "OLD1, OLD2 ,NEW",
            "existing entries are kept as written")
        XCTAssertEqual(try ConfigMapEdits.blacklist("OLD1,", add: "NEW"), "OLD1,NEW")
        XCTAssertThrowsError(try ConfigMapEdits.blacklist("OLD1,Leak1", add: "leak1")) {
            XCTAssertEqual($0 as? EditRefusal, .alreadyBlacklisted)
        }
        XCTAssertThrowsError(try ConfigMapEdits.blacklist("OLD1", add: "X,Y")) {
            XCTAssertEqual($0 as? EditRefusal, .invalidCoupon)
        }
        XCTAssertThrowsError(try ConfigMapEdits.blacklist("OLD1", add: "A\"B"))
        XCTAssertThrowsError(try ConfigMapEdits.blacklist("OLD1", add: "NEW\nLINE"))
        XCTAssertThrowsError(try ConfigMapEdits.blacklist("OLD1", add: String(repeating: "Z", count: 200)))
    }

    func testProviderSwitchNeverDisablesTheLastEnabledProvider() throws {
        let c = ActionsConfig()
        XCTAssertEqual(
            try ConfigMapEdits.disableProvider(
                "Stripe", data: ["ENABLE_STRIPE": "true", "ENABLE_PAYPAL": "false"], config: c),
            ["ENABLE_STRIPE": "false", "ENABLE_PAYPAL": "true"])
        XCTAssertEqual(
            try ConfigMapEdits.disableProvider(
                "stripe", data: ["ENABLE_STRIPE": "true", "ENABLE_PAYPAL": "true"], config: c),
            ["ENABLE_STRIPE": "false"], "the fallback is already on")
        XCTAssertThrowsError(
            try ConfigMapEdits.disableProvider(
                "stripe", data: ["ENABLE_STRIPE": "true", "ENABLE_PAYPAL": "true"], config: c,
                unhealthy: ["paypal"])
        ) { XCTAssertEqual($0 as? EditRefusal, .noHealthyFallback) }
        XCTAssertThrowsError(try ConfigMapEdits.disableProvider("adyen", data: [:], config: c)) {
            XCTAssertEqual($0 as? EditRefusal, .unknownProvider("adyen"))
        }
        XCTAssertThrowsError(
            try ConfigMapEdits.disableProvider(
                "stripe", data: ["ENABLE_STRIPE": "false", "ENABLE_PAYPAL": "true"], config: c)
        ) {
            XCTAssertEqual($0 as? EditRefusal, .alreadyDisabled)
        }
        var one = ActionsConfig()
        one.providerKeys = ["stripe": "ENABLE_STRIPE"]
        XCTAssertThrowsError(try ConfigMapEdits.disableProvider("stripe", data: ["ENABLE_STRIPE": "true"], config: one))
        {
            XCTAssertEqual($0 as? EditRefusal, .noHealthyFallback, "a single provider is never switched off")
        }
    }

    func testMergePatchIsConditionalAndEscaped() {
        XCTAssertEqual(
            ConfigMapEdits.mergePatch(["B": "x\"y", "A": "1"], resourceVersion: "42"),
            #"{"metadata":{"resourceVersion":"42"},"data":{"A":"1","B":"x\"y"}}"#)
        // a rollback of a key that did not exist removes it
        XCTAssertEqual(
            ConfigMapEdits.mergePatch(setting: ["K": nil, "A": "1"], resourceVersion: "7"),
            #"{"metadata":{"resourceVersion":"7"},"data":{"A":"1","K":null}}"#)
    }
}
