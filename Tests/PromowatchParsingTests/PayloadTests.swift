import XCTest
import PromowatchCore
@testable import PromowatchParsing

final class PayloadTests: XCTestCase {
    func testJSONPromotionAllFields() {
        let h = LineHarness()
        let e = h.event(
            #"{"level":"info","ts":"2026-11-20T08:15:00Z","msg":"ApplyPromotion","coupon":"cart20","status":"applied","discount":12.5,"subtotal":100,"user_id":"u1","ip":"1.2.3.4"}"#
        )!
        XCTAssertEqual(e.kinds, .promotionApplied)
        XCTAssertEqual(e.time, t0)
        XCTAssertEqual(h.coupon(e), "CART20")
        XCTAssertEqual(e.discount, 12.5)
        XCTAssertEqual(e.subtotal, 100)
        XCTAssertEqual(h.user(e), "u1")
        XCTAssertEqual(h.ip(e), "1.2.3.4")
    }

    func testAnyKeyOrderAndNestedObjects() {
        let h = LineHarness()
        let e = h.event(
            #"{"cart":{"items":[1,{"x":"}"}],"currency":"EUR"},"coupon_code":"A1","discount_total":"3.50","msg":"ApplyPromotion","result":"ok","http":{"status":500}}"#
        )!
        XCTAssertEqual(e.kinds, .promotionApplied, "top-level result wins over nested http.status")
        XCTAssertEqual(h.coupon(e), "A1")
        XCTAssertEqual(e.discount, 3.5, "numbers as strings")
    }

    func testNestedKeysAreReadWhenTopLevelIsAbsent() {
        let h = LineHarness()
        let e = h.event(#"{"msg":"ApplyPromotion","promo":{"coupon":"NESTED","discount":2},"order":{"subtotal":10}}"#)!
        XCTAssertEqual(h.coupon(e), "NESTED")
        XCTAssertEqual(e.discount, 2)
        XCTAssertEqual(e.subtotal, 10)
    }

    func testStringEscapes() {
        let h = LineHarness()
        let e = h.event(#"{"msg":"ApplyPromotion","coupon":"q\"t\\x\u00e9\ud83d\ude00","user":"a\/b"}"#)!
        XCTAssertEqual(h.coupon(e), "Q\"T\\XÉ😀")
        XCTAssertEqual(h.user(e), "a/b")
        // the name itself escaped
        let n = h.event(#"{"msg":"Apply\u0050romotion","coupon":"X"}"#)!
        XCTAssertEqual(n.kinds, .promotionApplied)
    }

    func testCouponCodesWithSeparatorsInEveryFormat() {
        let codes = ["A,B", "Q\"T", "K=V", "SPACE CODE", "NEW\nLINE", "{}[]:"]
        for code in codes {
            let h = LineHarness()
            var json: [UInt8] = Array(#"{"msg":"ApplyPromotion","coupon":"#.utf8)
            json += Array(jsonQuote(code).utf8) + Array(#","status":"applied"}"#.utf8)
            let j = h.event(bytes: &json)!
            XCTAssertEqual(h.coupon(j), code, "json \(code)")
            var lf = Array(("msg=ApplyPromotion coupon=" + goQuote(code) + " status=applied").utf8)
            let l = h.event(bytes: &lf)!
            XCTAssertEqual(h.coupon(l), code, "logfmt \(code)")
            XCTAssertEqual(l.kinds, .promotionApplied)
        }
    }

    func testDuplicateKeysLastWinsAndAliasPriority() {
        let h = LineHarness()
        let e = h.event(#"{"msg":"ApplyPromotion","coupon":"FIRST","coupon":"SECOND","promo_code":"LOWER"}"#)!
        XCTAssertEqual(h.coupon(e), "SECOND", "duplicate key: last wins; coupon outranks promo_code")
        let f = h.event(#"{"op":"noise","msg":"ApplyPromotion","coupon":"X"}"#)!
        XCTAssertEqual(f.kinds, .promotionApplied, "msg outranks op")
        let g = h.event(#"{"msg":"request","op":"ApplyPromotion","coupon":"X"}"#)!
        XCTAssertEqual(g.kinds, [], "the name is msg; op is only read when msg is absent")
    }

    func testMissingAndEmptyValues() {
        let h = LineHarness()
        let e = h.event(#"{"msg":"ApplyPromotion","coupon":"","discount":null,"user_id":""}"#)!
        XCTAssertEqual(e.kinds, .promotionApplied)
        XCTAssertEqual(e.coupon, .none)
        XCTAssertTrue(e.discount.isNaN)
        XCTAssertNil(h.user(e))
        let l = h.event("msg=ApplyPromotion coupon= status=")!
        XCTAssertEqual(l.kinds, .promotionApplied)
        XCTAssertEqual(l.coupon, .none)
    }

    func testOutcomeRules() {
        let h = LineHarness()
        for (v, applied) in [
            ("applied", true), ("OK", true), ("success", true), ("true", true), ("rejected", false),
            ("invalid", false), ("expired", false), ("not_found", false), ("failed", false), ("error", false),
            ("false", false),
        ] {
            XCTAssertEqual(
                h.event("msg=ApplyPromotion coupon=X status=\(v)")!.kinds,
                applied ? .promotionApplied : .promotionRejected, v)
        }
        XCTAssertEqual(h.event(#"{"msg":"ApplyPromotion","coupon":"X","outcome":false}"#)!.kinds, .promotionRejected)
        XCTAssertEqual(h.event(#"{"msg":"ApplyPromotion","coupon":"X"}"#)!.kinds, .promotionApplied, "absent = applied")
        XCTAssertEqual(
            h.event(#"{"msg":"ApplyPromotion","coupon":"X","err":"no such coupon"}"#)!.kinds, .promotionRejected,
            "absent + err key = rejected")
        XCTAssertEqual(
            h.event(#"{"msg":"ApplyPromotion","coupon":"X","error":null}"#)!.kinds, .promotionApplied,
            "error: null is no error")
    }

    func testNotPromotion() {
        let h = LineHarness()
        XCTAssertEqual(h.event(#"{"msg":"RemovePromotion","coupon":"X"}"#)!.kinds, [])
        XCTAssertEqual(h.event(#"{"msg":"ListPromotions"}"#)!.kinds, [])
        XCTAssertEqual(h.event("msg=/checkout.v1.Checkout/ApplyPromotion coupon=x")!.kinds, .promotionApplied)
    }

    func testPaymentClassification() {
        let h = LineHarness()
        let ok = h.event(#"{"msg":"payment captured","gateway":"Stripe","amount":"12.00","card_fp":"fp1"}"#)!
        XCTAssertEqual(ok.kinds, .paymentSucceeded)
        XCTAssertEqual(h.provider(ok), "stripe")
        XCTAssertEqual(ok.amount, 12)
        let decline = h.event("level=warn msg=\"payment declined\" psp=paypal decline_code=insufficient_funds")!
        XCTAssertEqual(decline.kinds, .paymentDeclined)
        let fail = h.event("msg=\"payment authorization failed\" provider=stripe error_code=api_connection_error")!
        XCTAssertEqual(fail.kinds, .paymentProviderFailure)
        let timeout = h.event(
            #"{"msg":"payment failed","provider":"stripe","error":"rpc: context deadline exceeded"}"#)!
        XCTAssertEqual(timeout.kinds, [.paymentProviderFailure, .timeout], "one line, two kinds")
        let other = h.event(#"{"msg":"payment method saved","provider":"stripe","error":"x"}"#)!
        XCTAssertEqual(other.kinds, [], "other names containing payment are no attempts")
        let uncoded = h.event(#"{"msg":"payment declined","provider":"stripe"}"#)!
        XCTAssertEqual(uncoded.kinds, .paymentProviderFailure, "no decline code: provider-side, as the contract says")
    }

    /// A payment SDK's error logged as the error text, with no code key: stripe-go's error is its
    /// JSON (`{"code":"card_declined","decline_code":"insufficient_funds","type":"card_error"}`).
    /// Read as provider-side failures, a wave of declines (card testing) looked like an outage
    /// and asked for a provider switch.
    func testAnErrorTextThatNamesADeclineCodeIsADecline() {
        let h = LineHarness()
        let sdk = h.event(
            #"{"level":"error","msg":"payment failed","provider":"stripe","error":"{\"code\":\"card_declined\",\"decline_code\":\"insufficient_funds\",\"message\":\"Your card has insufficient funds.\",\"status\":402,\"type\":\"card_error\"}"}"#
        )!
        XCTAssertEqual(sdk.kinds, .paymentDeclined)
        XCTAssertEqual(
            h.event("ERROR msg=payment failed provider=stripe err=stripe: CARD_DECLINED: Your card was declined.")?
                .kinds, .paymentDeclined)
        // PayPal's buyer-side issues (its Orders API): a code or the text of its error
        XCTAssertEqual(
            h.event("WARN msg=payment failed provider=paypal error_code=INSTRUMENT_DECLINED")?.kinds, .paymentDeclined)
        XCTAssertEqual(
            h.event(
                #"{"msg":"payment failed","provider":"paypal","error":"UNPROCESSABLE_ENTITY: issue=PAYER_CANNOT_PAY"}"#)?
                .kinds,
            .paymentDeclined)
        XCTAssertEqual(
            h.event("ERROR msg=payment failed provider=paypal error_code=INTERNAL_SERVICE_ERROR")?.kinds,
            .paymentProviderFailure)
        // a code key decides; a word that only contains a code is none; provider errors stay provider-side
        XCTAssertEqual(
            h.event(
                #"{"msg":"payment failed","provider":"stripe","error_code":"api_error","error":"after card_declined retry"}"#
            )?.kinds,
            .paymentProviderFailure)
        XCTAssertEqual(
            h.event(#"{"msg":"payment failed","provider":"stripe","error":"no_card_declined_cache: 503"}"#)?.kinds,
            .paymentProviderFailure)
        XCTAssertEqual(
            h.event(
                #"{"msg":"payment failed","provider":"paypal","error":"dial tcp 10.0.0.1:443: connection refused"}"#)?
                .kinds,
            .paymentProviderFailure)
    }

    func testCompensationLatencyAndDatabase() {
        let h = LineHarness()
        XCTAssertEqual(h.event(#"{"msg":"saga","step":{"state":"failed_compensation"}}"#)!.kinds, .compensationFailure)
        XCTAssertEqual(h.event("msg=\"Saga Compensation Failed\" order=1")!.kinds, .compensationFailure)
        let r = h.event("msg=done latency=1.5s")!
        XCTAssertEqual(r.kinds, .request)
        XCTAssertEqual(r.latencyMs, 1500)
        XCTAssertEqual(h.event(#"{"msg":"done","duration_ms":"12"}"#)!.latencyMs, 12)
        XCTAssertEqual(h.event("msg=done duration=350ms")!.latencyMs, 350)
        XCTAssertEqual(h.event("msg=done duration=1m2s")!.latencyMs, 62000)
        XCTAssertEqual(h.event("INFO msg=done latency=0.25")!.latencyMs, 250, "Kratos: bare seconds")
        XCTAssertEqual(
            h.event("FATAL: sorry, too many clients already")!.kinds, .dbSaturation, "plain text still counts")
        XCTAssertEqual(
            h.event(#"{"msg":"q","error":"remaining connection slots are reserved for superuser"}"#)!.kinds,
            .dbSaturation)
        XCTAssertEqual(h.event("panic: context deadline exceeded")!.kinds, .timeout)
    }

    func testTimestampForms() {
        let h = LineHarness()
        func time(_ ts: String) -> Int64 { h.event("{\"ts\":\(ts),\"msg\":\"ApplyPromotion\"}")!.time }
        XCTAssertEqual(time("\"2026-11-20T08:15:00Z\""), t0)
        XCTAssertEqual(time("\"2026-11-20T09:15:00+01:00\""), t0)
        XCTAssertEqual(time("\"2026-11-20T03:15:00-05:00\""), t0)
        XCTAssertEqual(time("\"2026-11-20T08:15:00.123456789Z\""), t0 + 123_456_789)
        XCTAssertEqual(time("\"2026-11-20T08:15:00.1Z\""), t0 + 100_000_000)
        XCTAssertEqual(time("1795162500"), t0)
        XCTAssertEqual(time("1795162500.5"), t0 + 500_000_000)
        XCTAssertEqual(time("1795162500250"), t0 + 250_000_000, "epoch ms when > 1e11")
        XCTAssertEqual(time("\"1795162500\""), t0, "numeric string")
        XCTAssertEqual(h.event(#"{"time":"not a time","msg":"ApplyPromotion"}"#)!.time, 7, "unparseable: arrival time")
        XCTAssertEqual(h.event(#"{"@timestamp":"2026-11-20T08:15:00Z","msg":"ApplyPromotion"}"#)!.time, t0)
        XCTAssertEqual(h.event("timestamp=2026-11-20T08:15:00Z msg=ApplyPromotion")!.time, t0)
    }

    func testGarbageIsSkippedNotAnError() {
        let h = LineHarness()
        for line in [
            "", "   ", "goroutine 1 [running]:", "{", "{\"msg\":", "{\"msg\":\"ApplyPromotion\",\"coupon\":\"X", "}}}}",
            "\"\"\"",
            "=", "==== x", "\u{1b}[31mred", "msg=\"unterminated",
        ] {
            XCTAssertEqual(h.event(line)!.kinds, [], line)
        }
    }

    func testInvalidUTF8IsCarriedAsBytes() {
        let h = LineHarness()
        var bytes =
            Array(#"{"msg":"ApplyPromotion","coupon":"AB"#.utf8) + [0xFF, 0xFE] + Array(#"","status":"ok"}"#.utf8)
        let e = h.event(bytes: &bytes)!
        XCTAssertEqual(e.kinds, .promotionApplied)
        XCTAssertEqual(h.extractor.coupons.bytes(e.coupon), Array("AB".utf8) + [0xFF, 0xFE])
    }

    func testIPFirstAddressOfForwardedFor() {
        let h = LineHarness()
        let e = h.event(#"{"msg":"ApplyPromotion","x_forwarded_for":" 203.0.113.9 , 10.0.0.1"}"#)!
        XCTAssertEqual(h.ip(e), "203.0.113.9")
    }
}

func jsonQuote(_ s: String) -> String {
    var o = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": o += "\\\""
        case "\\": o += "\\\\"
        case "\n": o += "\\n"
        default: o.unicodeScalars.append(u)
        }
    }
    return o + "\""
}

func goQuote(_ s: String) -> String { jsonQuote(s) }
