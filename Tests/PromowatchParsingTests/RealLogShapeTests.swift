import XCTest
import PromowatchCore
@testable import PromowatchParsing

/// Log contract revision 2: how real services and nodes write lines. Each test names the case of
/// "Read real services' logs as they are written" that it pins (events were silently lost).
final class RealLogShapeTests: XCTestCase {
    // MARK: go-kratos std logger: values are never quoted

    func testStdLoggerUnquotedPaymentNames() {
        let h = LineHarness()
        let f = h.event(
            "INFO ts=2026-11-20T08:15:00Z caller=service/pay.go:88 msg=payment authorization failed provider=paypal error_code=api_connection_error"
        )!
        XCTAssertEqual(f.kinds, .paymentProviderFailure)
        XCTAssertEqual(h.provider(f), "paypal")
        XCTAssertEqual(f.time, t0)
        XCTAssertEqual(h.event("INFO msg=payment authorized provider=stripe amount=12.5")!.kinds, .paymentSucceeded)
        // `msg` last: the value runs to the end of the line
        let d = h.event("WARN provider=stripe decline_code=card_declined msg=payment declined")!
        XCTAssertEqual(d.kinds, .paymentDeclined)
        XCTAssertEqual(
            h.event("ERROR msg=compensation failed for order o-17: refund rejected")!.kinds, .compensationFailure)
    }

    func testStdLoggerValueStopsOnlyAtKeyEquals() {
        let h = LineHarness()
        // an error text with `:` and `=`-free words stays whole; `@timestamp=` is a key
        let e = h.event(
            "ERROR msg=payment failed err=dial tcp 10.0.3.7:443: connect: connection refused provider=stripe @timestamp=2026-11-20T08:15:00Z"
        )!
        XCTAssertEqual(e.kinds, .paymentProviderFailure)
        XCTAssertEqual(h.provider(e), "stripe")
        XCTAssertEqual(e.time, t0)
        // quoted logfmt is read as before
        let q = h.event(#"level=info msg="payment captured" provider="Stripe" amount=3"#)!
        XCTAssertEqual(q.kinds, .paymentSucceeded)
        XCTAssertEqual(h.provider(q), "stripe")
        // a word with other bytes than a key's before `=` belongs to the value before it
        XCTAssertEqual(
            h.event("INFO msg=payment failed a/b=x provider=stripe")?.kinds ?? [], [],
            "the name is `payment failed a/b=x`, no payment name")
        XCTAssertEqual(h.event("INFO err=bad a/b=x msg=payment failed provider=stripe")?.kinds, .paymentProviderFailure)
        // an empty bare value before the next key is empty (absent), not the next pair
        let r = h.event("INFO msg=ApplyPromotion coupon= coupon_code=SAVE5 status= result=rejected")!
        XCTAssertEqual(r.kinds, .promotionRejected)
        XCTAssertEqual(h.coupon(r), "SAVE5")
    }

    // MARK: empty and null values are absent

    func testZapAdapterEmptyMsgLeavesNameToOperation() {
        let h = LineHarness()
        // `"msg":""` beside the real name in `operation`, no middleware keys: an explicit event
        let e = h.event(
            #"{"level":"info","msg":"","operation":"ApplyPromotion","coupon":"","coupon_code":"w10","status":"","result":"rejected"}"#
        )!
        XCTAssertEqual(e.kinds, .promotionRejected)
        XCTAssertEqual(h.coupon(e), "W10")
        let d = h.event(#"{"msg":"payment failed","provider":"stripe","error_code":"","reason":"card_declined"}"#)!
        XCTAssertEqual(d.kinds, .paymentDeclined, "an empty error_code must not hide reason")
        let n = h.event(#"{"msg":null,"message":"payment declined","error_code":null,"decline_code":"do_not_honor"}"#)!
        XCTAssertEqual(n.kinds, .paymentDeclined)
    }

    // MARK: go-kratos logging middleware request lines

    func testMiddlewareRequestLineIsARequestInSeconds() {
        let h = LineHarness()
        let e = h.event(
            "INFO ts=2025-11-30T08:42:39+08:00 caller=logging/logging.go:47 kind=server component=http operation=/xxxx.v1.xxxx/xxxx args=date:\"2025-11-30\" code=200 reason= stack= latency=0.004203327"
        )!
        XCTAssertEqual(e.kinds, .request)
        XCTAssertEqual(e.latencyMs, 4.203327, accuracy: 1e-9)
    }

    func testMiddlewareApplyPromotionOutcomeFromCodeAndCouponFromArgs() {
        let h = LineHarness()
        let rejected = h.event(
            "ERROR ts=2026-11-20T08:15:00Z kind=server component=grpc operation=/api.checkout.v1.CartService/ApplyPromotion args=session_id:\"s-1\"  promotion_code:\"save10\" code=400 reason=PROMOTION_NOT_FOUND stack=error: code = 400 reason = PROMOTION_NOT_FOUND latency=0.004"
        )!
        XCTAssertEqual(rejected.kinds, [.promotionRejected, .request])
        XCTAssertEqual(h.coupon(rejected), "SAVE10")
        XCTAssertTrue(h.extractor.promotionFromRequestLine)
        let applied = h.event(
            "INFO kind=server component=http operation=/api.checkout.v1.CartService/ApplyPromotion args=user_id:\"u-9\" coupon_code: \"vip25\" code=0 reason= stack= latency=0.0031"
        )!
        XCTAssertEqual(applied.kinds, [.promotionApplied, .request])
        XCTAssertEqual(h.coupon(applied), "VIP25")
        XCTAssertEqual(h.user(applied), "u-9", "identities come from args when the line has none")
        // JSON args inside the zap adapter's JSON line, with the empty msg
        let z = h.event(
            #"{"level":"error","msg":"","kind":"server","component":"grpc","operation":"/api.checkout.v1.CartService/ApplyPromotion","args":"{\"promotion_code\":\"X9\",\"user_id\":\"u-1\"}","code":404,"reason":"NOT_FOUND","stack":"","latency":0.01,"trace_id":"t1"}"#
        )!
        XCTAssertEqual(z.kinds, [.promotionRejected, .request])
        XCTAssertEqual(h.coupon(z), "X9")
        XCTAssertNotEqual(h.extractor.traceHash, 0)
        // `args` as a JSON object (a logger that encodes the request itself): its code was lost
        let o = h.event(
            #"{"level":"info","ts":1763626500,"msg":"","kind":"server","component":"grpc","operation":"/api.checkout.v1.CartService/ApplyPromotion","args":{"session_id":"s-1","promotion_code":"obj1","user_id":"u-7"},"code":0,"reason":"","latency":0.01}"#
        )!
        XCTAssertEqual(o.kinds, [.promotionApplied, .request])
        XCTAssertEqual(h.coupon(o), "OBJ1")
        XCTAssertEqual(h.user(o), "u-7")
    }

    func testMiddlewareOtherOperationsAreRequestsOnly() {
        let h = LineHarness()
        for op in [
            "/api.checkout.v1.CartService/RemovePromotion", "/api.checkout.v1.CartService/ApplyPromotionPreview",
        ] {
            let e = h.event(
                "INFO kind=server component=grpc operation=\(op) args=promotion_code:\"A\" code=0 reason= stack= latency=0.001"
            )!
            XCTAssertEqual(e.kinds, .request, op)
        }
    }

    func testArgValueNeedsAWholeKey() {
        func find(_ args: String, _ alias: String) -> String? {
            var b = Array(args.utf8)
            return b.withUnsafeMutableBufferPointer { p in
                EventExtractor.argValue(UnsafePointer(p.baseAddress!), p.count, Array(alias.utf8)).map {
                    String(decoding: UnsafeBufferPointer(start: $0.0, count: $0.1), as: UTF8.self)
                }
            }
        }
        XCTAssertNil(find(#"coupon_code:"A""#, "coupon"))
        XCTAssertNil(find(#"xcoupon:"A""#, "coupon"))
        XCTAssertEqual(find(#"x:"1" coupon:"A""#, "coupon"), "A")
        XCTAssertEqual(find(#"coupon: "B""#, "coupon"), "B")
        XCTAssertEqual(find(#"{"coupon":"C\"D"}"#, "coupon"), #"C\"D"#)
        XCTAssertNil(find(#"coupon:"#, "coupon"))
    }

    /// Requests the middleware prints through `%+v` (a Go struct without `String()`), and args in
    /// protojson's and Go's spellings of the contract's keys: each coupon was lost, or the
    /// attempt counted without its code and account.
    func testArgsInGoStructAndCamelCaseSpellings() {
        let h = LineHarness()
        let s = h.event(
            "INFO kind=server component=http operation=/api.checkout.v1.Cart/ApplyPromotion args=&{PromotionCode:save12 UserID:u-3 Cart:<nil>} code=0 reason= stack= latency=0.002"
        )!
        XCTAssertEqual(s.kinds, [.promotionApplied, .request])
        XCTAssertEqual(h.coupon(s), "SAVE12")
        XCTAssertEqual(h.user(s), "u-3")
        let c = h.event(
            #"INFO kind=server component=grpc operation=/api.checkout.v1.Cart/ApplyPromotion args=promotionCode:"s15" code=0 reason= stack= latency=0.002"#
        )!
        XCTAssertEqual(h.coupon(c), "S15")
        let n = h.event(
            "INFO kind=server component=grpc operation=/api.checkout.v1.Cart/ApplyPromotion args=cart:{id:\"c\"} user_id:7 promotion_code:\"N1\" code=0 reason= stack= latency=0.002"
        )!
        XCTAssertEqual(h.coupon(n), "N1")
        XCTAssertEqual(h.user(n), "7", "a number is a bare value")
        // nested values and Go's nil are no code
        let z = h.event(
            "INFO kind=server component=http operation=/api.checkout.v1.Cart/ApplyPromotion args=&{Coupon:<nil> PromoCode:{X:1}} code=0 reason= stack= latency=0.002"
        )!
        XCTAssertEqual(z.kinds, [.promotionApplied, .request])
        XCTAssertNil(h.coupon(z))
        // top-level keys in the same spellings: protojson and encoding/json of an untagged struct
        let j = h.event(#"{"msg":"ApplyPromotion","promotionCode":"pj1","accountId":"a-1","discountAmount":5}"#)!
        XCTAssertEqual(h.coupon(j), "PJ1")
        XCTAssertEqual(h.user(j), "a-1")
        XCTAssertEqual(j.discount, 5)
        let g = h.event(#"{"Msg":"payment failed","Provider":"stripe","ErrorCode":"card_declined","UserID":"u-4"}"#)!
        XCTAssertEqual(g.kinds, .paymentDeclined)
        XCTAssertEqual(h.provider(g), "stripe")
        XCTAssertEqual(h.user(g), "u-4")
    }

    /// `log.Infof("ApplyPromotion coupon=%s ...")` through a JSON or logrus logger: the pairs are
    /// inside the message string. The attempt was counted without its code.
    func testPairsWrittenIntoTheMessage() {
        let h = LineHarness()
        let j = h.event(#"{"level":"info","msg":"ApplyPromotion coupon=m1 user_id=u-1 status=rejected"}"#)!
        XCTAssertEqual(j.kinds, .promotionRejected)
        XCTAssertEqual(h.coupon(j), "M1")
        XCTAssertEqual(h.user(j), "u-1")
        let l = h.event(#"time="2026-11-20T08:15:00Z" level=info msg="ApplyPromotion promotion_code=M2""#)!
        XCTAssertEqual(h.coupon(l), "M2")
        XCTAssertEqual(l.time, t0)
        // the line's own keys come first
        let k = h.event(#"{"msg":"ApplyPromotion coupon=INNER status=rejected","coupon":"OUTER","status":"applied"}"#)!
        XCTAssertEqual(h.coupon(k), "OUTER")
        XCTAssertEqual(k.kinds, .promotionApplied)
        // free text names no code
        XCTAssertNil(h.coupon(h.event(#"{"msg":"ApplyPromotion for code SAVE10"}"#)!))
    }

    /// kratos-layout's biz layer logs a request with `Infof("ApplyPromotion: %v", req)` (a proto
    /// message prints as protobuf text) or `Infow("msg", "ApplyPromotion", "req", req)`: the
    /// attempt was counted without its code.
    func testARequestFormattedIntoAPromotionLine() {
        let h = LineHarness()
        let f = h.event(
            #"INFO ts=2026-11-20T08:15:00Z caller=biz/cart.go:44 msg=ApplyPromotion: session_id:"s-1"  promotion_code:"pf1" user_id:"u-1""#
        )!
        XCTAssertEqual(f.kinds, .promotionApplied)
        XCTAssertEqual(h.coupon(f), "PF1")
        XCTAssertEqual(h.user(f), "u-1")
        XCTAssertEqual(f.time, t0)
        // through zap: the message is a JSON string, its quotes escaped
        let z = h.event(#"{"level":"info","msg":"ApplyPromotion: promotion_code:\"pf2\" user_id:\"u-2\""}"#)!
        XCTAssertEqual(h.coupon(z), "PF2")
        XCTAssertEqual(h.user(z), "u-2")
        // a value of a key promowatch does not read
        let w = h.event(#"INFO msg=ApplyPromotion req=session_id:"s-3"  promotion_code:"pf3""#)!
        XCTAssertEqual(h.coupon(w), "PF3")
        let g = h.event("INFO msg=ApplyPromotion request=&{PromotionCode:pf4 UserID:u-4 Items:[]}")!
        XCTAssertEqual(h.coupon(g), "PF4")
        XCTAssertEqual(h.user(g), "u-4")
        // the line's own keys come first; a whole key only; free text names no code
        let k = h.event(#"INFO msg=ApplyPromotion: promotion_code:"INNER" coupon=OUTER user_id=u-5"#)!
        XCTAssertEqual(h.coupon(k), "OUTER")
        XCTAssertEqual(h.user(k), "u-5")
        XCTAssertNil(h.coupon(h.event(#"INFO msg=ApplyPromotion: xpromotion_code:"X1""#)!))
        XCTAssertNil(h.coupon(h.event("INFO msg=ApplyPromotion for code SAVE10")!))
        XCTAssertNil(h.coupon(h.event(#"INFO msg=ApplyPromotion promotion_code:"""#)!), "empty is no code")
        // the search stops after 4 KB: a hostile line cannot ask for a search of a megabyte per alias
        let far = "INFO msg=ApplyPromotion pad=" + String(repeating: "x", count: 5000) + #" promotion_code:"FAR""#
        XCTAssertNil(h.coupon(h.event(far)!))
    }

    /// klog's text format (`klog.InfoS` and `klog.Infof` in Go services of the Kubernetes world):
    /// a header with month, day and time but no year, then the message. Such lines were skipped.
    func testKlogLines() {
        let h = LineHarness()
        let s = h.event(#"I1120 08:15:01.250000       1 cart.go:75] "ApplyPromotion" coupon="k1" user_id="u-1""#)!
        XCTAssertEqual(s.kinds, .promotionApplied)
        XCTAssertEqual(h.coupon(s), "K1")
        XCTAssertEqual(h.user(s), "u-1")
        let e = h.event(
            #"E1120 08:15:02.000000   12345 pay.go:12] "payment failed" provider="stripe" error_code="api_error""#)!
        XCTAssertEqual(e.kinds, .paymentProviderFailure)
        XCTAssertEqual(h.provider(e), "stripe")
        let f = h.event("I1120 08:15:03.000000       1 cart.go:80] ApplyPromotion coupon=K2")!
        XCTAssertEqual(h.coupon(f), "K2")
        XCTAssertEqual(
            h.event(#"I1120 08:15:04.000000 1 main.go:10] "Starting checkout" version="v1""#)?.kinds ?? [], [])
        // the year: the one that puts the line nearest before the framing's time or the arrival
        let x = EventExtractor()
        let line = #"I1120 08:15:05.500000 1 cart.go:75] "ApplyPromotion" coupon="k3""#
        XCTAssertEqual(eventTime(x, line, arrival: t0 + 86_400_000_000_000), t0 + 5_500_000_000)
        let january = EventTime.daysFromCivil(year: 2027, month: 1, day: 3)
        XCTAssertEqual(
            eventTime(x, line, arrival: Int64(january) * 86_400_000_000_000), t0 + 5_500_000_000,
            "read in January: last year's November")
        XCTAssertEqual(
            eventTime(x, "2026-11-20T08:16:00Z " + line, arrival: t0 + 86_400_000_000_000), t0 + 60_000_000_000,
            "the framing's time wins")
        // the std logger's level word is no klog header
        XCTAssertEqual(h.event("INFO ts=2026-11-20T08:15:00Z msg=ApplyPromotion coupon=S1").map { h.coupon($0) }, "S1")
    }

    /// Human-readable text of Go loggers: logrus' text formatter when it colours (a terminal or
    /// `ForceColors`), zerolog's `ConsoleWriter`, and layouts of the same kind: a time, a level, the
    /// message as words, then pairs. The message was no name, so every such line was skipped.
    func testConsoleTextLevelMessagePairs() {
        let h = LineHarness()
        // logrus, default: seconds since start in brackets, the message padded to 44 columns
        let l = h.event("INFO[0003] ApplyPromotion                                coupon=lr1 user_id=u-1")!
        XCTAssertEqual(l.kinds, .promotionApplied)
        XCTAssertEqual(h.coupon(l), "LR1")
        XCTAssertEqual(h.user(l), "u-1")
        // `FullTimestamp` (its time is read) and `ReportCaller` (the caller glued after `]`)
        let c = h.event(
            "WARN[2026-11-20T09:15:00+01:00]/app/biz/pay.go:88 biz.(*Usecase).Charge() payment failed                               error_code=timeout provider=paypal"
        )!
        XCTAssertEqual(c.kinds, .paymentProviderFailure)
        XCTAssertEqual(h.provider(c), "paypal")
        XCTAssertEqual(c.time, t0)
        // zerolog: a clock (no date: the arrival's or the framing's time), three letters, a caller
        let z = h.event("8:15AM INF cart.go:75 > ApplyPromotion coupon=zl1 user_id=u-2")!
        XCTAssertEqual(h.coupon(z), "ZL1")
        XCTAssertEqual(z.time, 7, "a clock alone is no time")
        let r = h.event(#"2026-11-20 08:15:00 ERR payment failed error="dial tcp: i/o timeout" provider=stripe"#)!
        XCTAssertEqual(r.kinds, .paymentProviderFailure)
        XCTAssertEqual(r.time, t0)
        XCTAssertEqual(
            h.event("|INFO| payment captured provider=stripe")?.kinds, .paymentSucceeded, "zerolog before 1.0")
        XCTAssertEqual(h.event("[WARN] payment declined decline_code=card_declined")?.kinds, .paymentDeclined)
        // no pairs: the whole rest is the message
        XCTAssertEqual(h.event("INF payment captured")?.kinds, .paymentSucceeded)
        // the go-kratos std logger's level before a pair stays logfmt; other words are no event
        let k = h.event("INFO msg=payment failed provider=stripe caller=x.go:1")!
        XCTAssertEqual(k.kinds, .paymentProviderFailure)
        XCTAssertEqual(h.provider(k), "stripe")
        XCTAssertEqual(h.event("INF payment webhook received provider=stripe")?.kinds ?? [], [])
        XCTAssertEqual(h.event("Info payment captured provider=stripe")?.kinds ?? [], [], "a message's word, no level")
        XCTAssertEqual(h.event("INFORMATION payment captured provider=stripe")?.kinds ?? [], [])
        XCTAssertEqual(h.event("12 INF payment captured")?.kinds ?? [], [], "a number is no time")
    }

    /// slog's default handler, which writes through Go's `log` package until a service installs a
    /// handler of its own: `2026/11/20 08:15:00 INFO ApplyPromotion coupon=X`, with the caller when
    /// the `log` flags ask for it. The `/` date hid the line's shape, so every such line was skipped.
    func testSlogDefaultHandlerThroughGoLog() {
        let h = LineHarness()
        let d = h.event("2026/11/20 08:15:00 INFO ApplyPromotion coupon=sd1 user_id=u-1")!
        XCTAssertEqual(d.kinds, .promotionApplied)
        XCTAssertEqual(h.coupon(d), "SD1")
        XCTAssertEqual(h.user(d), "u-1")
        XCTAssertEqual(d.time, t0)
        // `Lmicroseconds|Lshortfile`, a quoted value, and a prefix word before the time
        let f = h.event(
            #"2026/11/20 08:15:00.000000 pay.go:88: ERROR payment failed provider=stripe err="dial tcp: i/o timeout""#)!
        XCTAssertEqual(f.kinds, .paymentProviderFailure)
        XCTAssertEqual(h.provider(f), "stripe")
        XCTAssertEqual(f.time, t0)
        let l = h.event("[checkout] 2026/11/20 08:15:00 /app/internal/biz/promo.go:31: WARN ApplyPromotion coupon=sd2")!
        XCTAssertEqual(h.coupon(l), "SD2")
        XCTAssertEqual(l.time, t0)
        // Go's `log` without a level, or a message that is no event: nothing
        XCTAssertEqual(h.event("2026/11/20 08:15:00 ApplyPromotion coupon=sd3")?.kinds ?? [], [])
        XCTAssertEqual(
            h.event("2026/11/20 08:15:00 pay.go:88: INFO payment webhook received provider=stripe")?.kinds ?? [], [])
        XCTAssertEqual(h.event("2026/11/20 08:15:00 INFO payment captured")?.kinds, .paymentSucceeded)
        XCTAssertEqual(h.event("2026/11/20 08:15:00 pay.go: INFO payment captured")?.kinds ?? [], [], "no caller")
    }

    /// Colour codes (`ESC [ ... m`) around levels, keys and messages: `\u{1B}[36mcoupon\u{1B}[0m=X` was
    /// no key, and a coloured time hid the line's shape.
    func testColourCodesAreNotPartOfTheText() {
        let h = LineHarness()
        let e = "\u{1B}"
        let l = h.event(
            "\(e)[36mINFO\(e)[0m[0003] ApplyPromotion                                \(e)[36mcoupon\(e)[0m=c1 \(e)[36muser_id\(e)[0m=u-1"
        )!
        XCTAssertEqual(h.coupon(l), "C1")
        XCTAssertEqual(h.user(l), "u-1")
        let z = h.event(
            "\(e)[90m2026-11-20T08:15:00Z\(e)[0m \(e)[31mERR\(e)[0m \(e)[1mpayment failed\(e)[0m \(e)[36merror=\(e)[0m\(e)[31m\"context deadline exceeded\"\(e)[0m \(e)[36mprovider=\(e)[0mpaypal"
        )!
        XCTAssertEqual(z.kinds, [.paymentProviderFailure, .timeout])
        XCTAssertEqual(h.provider(z), "paypal")
        XCTAssertEqual(z.time, t0)
        func stripped(_ s: String) -> String {
            let b = Array(s.utf8)
            var out = [UInt8](repeating: 0, count: b.count)
            let n = Bytes.stripEscapes(b, b.count, into: &out)
            return String(decoding: out[0..<n], as: UTF8.self)
        }
        XCTAssertEqual(stripped("a\(e)[1;31mb\(e)[0mc"), "abc")
        XCTAssertEqual(stripped("a\(e)Mb"), "ab", "a two-byte escape")
        XCTAssertEqual(stripped("a\(e)[31"), "a", "unfinished at the end")
        XCTAssertEqual(stripped("a\(e)[3\u{1}b"), "a[3\u{1}b", "malformed: only the escape goes")
        XCTAssertEqual(stripped("ab\(e)"), "ab")
    }

    /// A JSON line behind the prefix of the tool that collected it (stern's pod and container, a
    /// compose service, syslog): skipped whole before.
    func testJSONAfterAToolsPrefix() {
        let h = LineHarness()
        let stern = h.event(
            #"checkout-7d9f8c6b5-x2kqp checkout {"level":"info","ts":"2026-11-20T08:15:00Z","msg":"ApplyPromotion","coupon":"st1"}"#
        )!
        XCTAssertEqual(h.coupon(stern), "ST1")
        XCTAssertEqual(stern.time, t0)
        let compose = h.event(#"checkout-1  | {"msg":"payment failed","provider":"stripe","error_code":"timeout"} "#)!
        XCTAssertEqual(compose.kinds, .paymentProviderFailure)
        let syslog = h.event(#"Nov 20 08:15:01 node1 checkout[123]: {"msg":"ApplyPromotion","coupon":"SY1"}"#)!
        XCTAssertEqual(h.coupon(syslog), "SY1")
        // logfmt stays logfmt; a brace that does not open the line's last object is no JSON line
        XCTAssertEqual(h.coupon(h.event(#"msg=ApplyPromotion coupon=LF1 note={"a":1}"#)!), "LF1")
        XCTAssertEqual(h.event(#"prefix {"msg":"ApplyPromotion","coupon":"X"} trailing"#)?.kinds ?? [], [])
        XCTAssertEqual(h.event(#"prefix{"msg":"ApplyPromotion","coupon":"X"}"#)?.kinds ?? [], [])
    }

    /// `logcli query` prints Loki's label set between the time and the line: the `{` made the line
    /// a broken JSON object, and it was skipped whole.
    func testLineAfterALokiLabelSet() {
        let h = LineHarness()
        let j = h.event(
            #"2026-11-20T08:15:00Z {app="checkout", pod="checkout-7d9f8c6b5-x2kqp"} {"level":"info","msg":"ApplyPromotion","coupon":"lk1","user_id":"u-1"}"#
        )!
        XCTAssertEqual(h.coupon(j), "LK1")
        XCTAssertEqual(h.user(j), "u-1")
        XCTAssertEqual(j.time, t0)
        let l = h.event(
            #"2026-11-20T08:15:00+00:00 {app="checkout",namespace="shop \"eu\""} INFO ts=2026-11-20T08:15:00Z msg=payment failed provider=stripe error_code=timeout"#
        )!
        XCTAssertEqual(l.kinds, .paymentProviderFailure)
        XCTAssertEqual(h.provider(l), "stripe")
        // a broken JSON line stays skipped; a label set needs quoted values and a line after it
        XCTAssertEqual(
            h.event(#"{"msg":"ApplyPromotion","coupon":"X" INFO msg=ApplyPromotion coupon=Y"#)?.kinds ?? [], [])
        XCTAssertEqual(h.event(#"{app=checkout} msg=ApplyPromotion coupon=Y"#)?.kinds ?? [], [])
        XCTAssertEqual(h.event(#"{app="checkout"}"#)?.kinds ?? [], [])
        XCTAssertEqual(
            h.event(#"{a="1"} {b="2"} msg=ApplyPromotion coupon=Z"#)?.kinds ?? [], [], "one label set, not one per set")
        XCTAssertEqual(PayloadScanner.labelSetEnd(Array("{} x".utf8), 4, from: 0), nil, "no labels")
    }

    /// Records of log shippers, as archives of them hold the lines: Fluent Bit's and Fluentd's
    /// `log` beside `kubernetes` metadata, Cloud Logging's `textPayload`, Vector's `message`. The
    /// extra keys made them no Docker framing, so every such line was skipped.
    func testLinesInsideALogShippersRecord() {
        let h = LineHarness()
        let fb = h.event(
            #"{"date":1763626500.123,"time":"2026-11-20T08:15:00Z","stream":"stdout","_p":"F","log":"INFO caller=biz/promo.go:10 msg=ApplyPromotion coupon=fb1 user_id=u-1","kubernetes":{"pod_name":"checkout-1","namespace_name":"shop","labels":{"app":"checkout"}}}"#
        )!
        XCTAssertEqual(fb.kinds, .promotionApplied)
        XCTAssertEqual(h.coupon(fb), "FB1")
        XCTAssertEqual(h.user(fb), "u-1")
        XCTAssertEqual(fb.time, t0, "the record's time when the line has none")
        // Fluentd's docker format: the escaped JSON line with its newline; the line's own time wins
        let fd = h.event(
            #"{"log":"{\"level\":\"error\",\"ts\":\"2026-11-20T08:15:00Z\",\"msg\":\"payment failed\",\"provider\":\"stripe\",\"error_code\":\"timeout\"}\n","stream":"stderr","docker":{"container_id":"3f2a"},"kubernetes":{"pod_name":"checkout-1"},"time":"2026-11-20T09:00:00Z"}"#
        )!
        XCTAssertEqual(fd.kinds, .paymentProviderFailure)
        XCTAssertEqual(h.provider(fd), "stripe")
        XCTAssertEqual(fd.time, t0)
        let gcp = h.event(
            #"{"textPayload":"WARN ts=2026-11-20T08:15:00Z msg=payment declined provider=paypal decline_code=card_declined","resource":{"type":"k8s_container","labels":{"pod_name":"checkout-1"}},"timestamp":"2026-11-20T08:15:00.5Z","severity":"WARNING"}"#
        )!
        XCTAssertEqual(gcp.kinds, .paymentDeclined)
        XCTAssertEqual(gcp.time, t0)
        let vector = h.event(
            #"{"file":"/var/log/pods/shop_checkout-1/checkout/0.log","kubernetes":{"pod_name":"checkout-1"},"message":"{\"level\":\"info\",\"msg\":\"payment captured\",\"provider\":\"stripe\"}","source_type":"kubernetes_logs","stream":"stdout","timestamp":"2026-11-20T08:15:00Z"}"#
        )!
        XCTAssertEqual(vector.kinds, .paymentSucceeded)
        XCTAssertEqual(vector.time, t0)
        // Filebeat: the std logger's line in `message`, `log` an object of its own
        let filebeat = h.event(
            #"{"@timestamp":"2026-11-20T08:15:00.000Z","message":"ERROR caller=biz/pay.go:88 msg=payment authorization failed provider=stripe error_code=timeout","log":{"offset":1042,"file":{"path":"/var/log/containers/checkout.log"}},"stream":"stdout","kubernetes":{"pod":{"name":"checkout-1"}}}"#
        )!
        XCTAssertEqual(filebeat.kinds, .paymentProviderFailure)
        XCTAssertEqual(h.provider(filebeat), "stripe")
        XCTAssertEqual(filebeat.time, t0)
        // a message that is no line stays the message (its pairs read as before)
        let zap = h.event(
            #"{"level":"info","ts":"2026-11-20T08:15:00Z","msg":"ApplyPromotion coupon=zp1","user_id":"u-9"}"#)!
        XCTAssertEqual(h.coupon(zap), "ZP1")
        XCTAssertEqual(h.user(zap), "u-9")
        // a record whose fields were merged (Fluent Bit's `Merge_Log`) reads its own keys; a nested
        // `log` is no record's line; a line that is no event stays skipped
        let merged = h.event(
            #"{"log":"{\"msg\":\"ApplyPromotion\"}","msg":"ApplyPromotion","coupon":"mg1","time":"2026-11-20T08:15:00Z"}"#
        )!
        XCTAssertEqual(h.coupon(merged), "MG1")
        XCTAssertEqual(
            h.event(#"{"data":{"log":"INFO msg=ApplyPromotion coupon=n1"},"time":"2026-11-20T08:15:00Z"}"#)?.kinds
                ?? [], [])
        XCTAssertEqual(
            h.event(#"{"log":"GET /healthz ApplyPromotion 200","kubernetes":{"pod_name":"checkout-1"}}"#)?.kinds ?? [],
            [])
    }

    /// slog's groups in its text handler (`req.coupon=X`), flattened fields (`client.ip`): the
    /// values were lost. A dotted key is read by its last part, below the line's own keys, and only
    /// for an event's values.
    func testDottedKeysByTheirLastPart() {
        let h = LineHarness()
        let g = h.event(
            "time=2026-11-20T08:15:01Z level=INFO msg=ApplyPromotion req.coupon=grp1 req.user_id=u-1 client.ip=10.0.0.9"
        )!
        XCTAssertEqual(h.coupon(g), "GRP1")
        XCTAssertEqual(h.user(g), "u-1")
        XCTAssertEqual(h.extractor.text(.ip), "10.0.0.9")
        let p = h.event(
            #"time=2026-11-20T08:15:03Z level=INFO msg="payment failed" payment.provider=stripe payment.error_code=timeout"#
        )!
        XCTAssertEqual(p.kinds, .paymentProviderFailure)
        XCTAssertEqual(h.provider(p), "stripe")
        let j = h.event(#"{"msg":"ApplyPromotion","promo.coupon":"INNER","coupon":"TOP"}"#)!
        XCTAssertEqual(h.coupon(j), "TOP", "the line's own key first")
        // not the name, the time, a latency or the middleware's keys
        XCTAssertEqual(
            h.event(#"{"event.duration":"1.5s","service.name":"checkout","error.message":"payment failed"}"#)?.kinds
                ?? [], [])
        XCTAssertEqual(h.event("INFO msg=ApplyPromotion coupon=A span.id=7 service.id=x").map { h.coupon($0) }, "A")
    }

    func testOtherSpellingsOfAKey() {
        XCTAssertEqual(
            KeyTable.otherSpellings(of: "promotion_code"),
            ["promotionCode", "PromotionCode"])
        XCTAssertEqual(KeyTable.otherSpellings(of: "user_id"), ["userId", "UserId", "userID", "UserID"])
        XCTAssertEqual(KeyTable.otherSpellings(of: "DiscountTotal"), ["discount_total", "discountTotal"])
        XCTAssertEqual(KeyTable.otherSpellings(of: "traceID"), ["trace_id", "traceId", "TraceId", "TraceID"])
        XCTAssertEqual(KeyTable.otherSpellings(of: "trace.id"), [])
        XCTAssertEqual(KeyTable.otherSpellings(of: "@timestamp"), [])
        // a spelling never takes another field's alias: `reason` stays an error code, `code` the
        // middleware's status, whatever their spellings
        let k = KeyTable()
        for (key, field) in [("Reason", Field.errorCode), ("Code", .code), ("ErrorCode", .errorCode), ("Ts", .ts)] {
            var b = Array(key.utf8)
            XCTAssertEqual(b.withUnsafeMutableBufferPointer { k.lookup($0.baseAddress!, $0.count)?.field }, field, key)
        }
    }

    /// zap's console encoder (tab-separated columns, the fields as JSON last), which go-kratos'
    /// zap adapter writes through too: such lines were skipped whole.
    func testZapConsoleEncoderLines() {
        let h = LineHarness()
        let p = h.event(
            "2026-11-20T08:15:06.000Z\tINFO\tcheckout/main.go:50\tpayment captured\t{\"provider\": \"stripe\"}")!
        XCTAssertEqual(p.kinds, .paymentSucceeded)
        XCTAssertEqual(h.provider(p), "stripe")
        XCTAssertEqual(p.time, t0 + 6_000_000_000)
        // the adapter's empty message, a named logger, ISO 8601 with an offset, a colour code
        let a = h.event(
            "2026-11-20T16:15:07.000+0800\t\u{1B}[34mINFO\u{1B}[0m\tcheckout\tlogging/logging.go:47\t\t{\"kind\": \"server\", \"component\": \"grpc\", \"operation\": \"/api.checkout.v1.Cart/ApplyPromotion\", \"args\": \"promotion_code:\\\"C1\\\"\", \"code\": 0, \"reason\": \"\", \"latency\": 0.001}"
        )!
        XCTAssertEqual(a.kinds, [.promotionApplied, .request])
        XCTAssertEqual(h.coupon(a), "C1")
        XCTAssertEqual(a.time, t0 + 7_000_000_000)
        // three columns (no caller): the time before a tab is no kubectl framing (its token ran
        // on to the first space and the line lost its first words)
        let three = h.event("2026-11-20T08:15:06.000Z\tINFO\tpayment captured\t{\"provider\": \"paypal\"}")!
        XCTAssertEqual(three.kinds, .paymentSucceeded)
        XCTAssertEqual(h.provider(three), "paypal")
        // no fields: the message alone
        XCTAssertEqual(
            h.event("2026-11-20T08:15:08.000Z\tERROR\tbiz/saga.go:88\tcompensation failed for order o-1")?.kinds,
            .compensationFailure)
        // a last column left empty (the line ends in the separator): the fields are not read
        // from past the line's end
        var cut = Array("2026-11-20T08:15:09.000Z\tINFO\tpayment captured\t{\"provider\": \"stripe\"}\t".utf8)
        XCTAssertEqual(h.event(bytes: &cut)?.kinds ?? [], .paymentSucceeded)
        // not a time in the first column, or one column only: no console line
        XCTAssertEqual(h.event("3 carts\tINFO\tpayment captured")?.kinds ?? [], [])
        XCTAssertEqual(h.event("2026-11-20T08:15:08.000Z\tpayment captured")?.kinds ?? [], [])
    }

    // MARK: framing

    func testDockerFramingAnyKeyOrderAndWhiteSpace() {
        let h = LineHarness()
        for line in [
            #"{"log": "msg=ApplyPromotion coupon=A1\n", "stream": "stdout", "time": "2026-11-20T08:15:00Z"}"#,
            #"{ "time":"2026-11-20T08:15:00Z" , "stream":"stderr","log":"msg=ApplyPromotion coupon=A1\n" }"#,
            #"{"stream":"stdout","log":"msg=ApplyPromotion coupon=A1\n","attrs":{"tag":"x"},"time":"2026-11-20T08:15:00Z"}"#,
        ] {
            let e = h.event(line)
            XCTAssertEqual(e?.kinds, .promotionApplied, line)
            XCTAssertEqual(e.map { h.coupon($0) }, "A1", line)
            XCTAssertEqual(e?.time, t0, line)
        }
        // a payload whose first key is `time` (slog) is a payload, not Docker framing
        let s = h.event(#"{"time":"2026-11-20T08:15:00Z","level":"INFO","msg":"ApplyPromotion","coupon":"S1"}"#)!
        XCTAssertEqual(h.coupon(s), "S1")
    }

    func testDockerEntryWithoutNewlineIsWholeUnlessExactly16KiB() {
        let h = LineHarness()
        let e = h.event(#"{"log":"msg=ApplyPromotion coupon=LAST","stream":"stdout","time":"2026-11-20T08:15:00Z"}"#)
        XCTAssertEqual(e?.kinds, .promotionApplied, "a last line written without newline is a whole line")
    }

    func testCRITagLists() {
        let h = LineHarness()
        let e = h.event("2026-11-20T08:15:00Z stdout F:TAG1:TAG2 msg=ApplyPromotion coupon=T1")!
        XCTAssertEqual(h.coupon(e), "T1")
        XCTAssertNil(h.event("2026-11-20T08:15:00Z stdout P:TAG1 msg=ApplyPromotion cou"))
        XCTAssertEqual(h.coupon(h.event("2026-11-20T08:15:01Z stdout F:TAG1 pon=T2")!), "T2")
    }

    func testTailHeadersSeparatePartials() {
        let h = LineHarness()
        XCTAssertNil(h.event("==> /var/log/containers/a.log <=="))
        XCTAssertNil(h.event("2026-11-20T08:15:00Z stdout P msg=ApplyPromotion coupon=FROM_A"))
        XCTAssertNil(h.event("==> /var/log/containers/b.log <=="))
        // b's own complete line is not glued to a's partial
        let b = h.event("2026-11-20T08:15:00Z stdout F msg=ApplyPromotion coupon=B1")!
        XCTAssertEqual(h.coupon(b), "B1")
        XCTAssertNil(h.event("==> /var/log/containers/a.log <=="))
        let a = h.event("2026-11-20T08:15:01Z stdout F _TAIL")!
        XCTAssertEqual(h.coupon(a), "FROM_A_TAIL")
    }

    func testKubeletInnerTimestampsRemoved() {
        let h = LineHarness()
        // kubectl logs --timestamps on a line the node split: the chunk's own time before each 16 KiB
        let chunk = 16 * 1024
        let head = "msg=ApplyPromotion pad=" + String(repeating: "y", count: chunk - 23)
        let line = "[pod/p/c] 2026-11-20T08:15:00.1Z " + head + "2026-11-20T08:15:00.2Z  coupon=INNER"
        let e = h.event(line)!
        XCTAssertEqual(h.coupon(e), "INNER")
        XCTAssertEqual(e.kinds, .promotionApplied)
        // the kubelet's 4 KiB copy buffer (kubernetes#113481): a timestamp every 4 KiB
        var four = "2026-11-20T08:15:00.1Z " + "msg=ApplyPromotion pad=" + String(repeating: "z", count: 4096 - 23)
        for _ in 0..<3 { four += "2026-11-20T08:15:00.1Z " + String(repeating: "z", count: 4096) }
        four += "2026-11-20T08:15:00.1Z  coupon=FOUR"
        XCTAssertEqual(h.coupon(h.event(four)!), "FOUR")
        // a line with a timestamp-looking token elsewhere is left alone
        let other =
            "2026-11-20T08:15:00.1Z msg=ApplyPromotion note=" + String(repeating: "q", count: 5000)
            + " at=2026-11-20T08:15:00.1Z coupon=KEEP"
        XCTAssertEqual(h.coupon(h.event(other)!), "KEEP")
    }

    func testBOMAndNULRunsIgnored() {
        let h = LineHarness()
        XCTAssertEqual(h.coupon(h.event("\u{FEFF}{\"msg\":\"ApplyPromotion\",\"coupon\":\"BOM\"}")!), "BOM")
        var bytes = [UInt8](repeating: 0, count: 300) + Array(#"{"msg":"ApplyPromotion","coupon":"HOLE"}"#.utf8)
        XCTAssertEqual(h.coupon(h.event(bytes: &bytes)!), "HOLE")
    }

    // MARK: time

    func testTimestampsOutsideInt64NanosAreNoTimestamps() {
        for s in ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2262-04-12T00:00:00Z", "1677-09-21T00:00:00Z"] {
            var b = Array(s.utf8)
            XCTAssertNil(
                b.withUnsafeMutableBufferPointer {
                    ByteNumbers.parseEventTime(UnsafePointer($0.baseAddress!), $0.count)?.nanos
                }, s)
        }
        let h = LineHarness()
        let e = h.event(#"{"msg":"ApplyPromotion","ts":"9999-12-31T23:59:59Z","coupon":"A"}"#)!
        XCTAssertEqual(e.time, 7, "no trap: the arrival time")
    }

    /// The time `x` gives the event on `line` (deframed first), read at `arrival`; -1 when the
    /// line is no record.
    func eventTime(_ x: EventExtractor, _ line: String, arrival: Int64) -> Int64 {
        var b = Array(line.utf8)
        return b.withUnsafeMutableBufferPointer { p -> Int64 in
            let d = Deframer()
            guard case .record(let f) = d.deframe(UnsafePointer(p.baseAddress!), p.count) else { return -1 }
            return x.extract(f, phrases: [], arrival: arrival).time
        }
    }

    func testTrustedRange() {
        let x = EventExtractor()
        let arrival = t0
        func time(_ line: String) -> Int64 { eventTime(x, line, arrival: arrival) }
        XCTAssertEqual(time(#"{"msg":"ApplyPromotion","ts":"2026-11-20T08:15:00Z"}"#), t0)
        XCTAssertEqual(time(#"{"msg":"ApplyPromotion","ts":"1999-12-31T23:59:59Z"}"#), arrival, "before 2000")
        XCTAssertEqual(time(#"{"msg":"ApplyPromotion","ts":"2026-11-22T08:15:00Z"}"#), arrival, "two days ahead")
        XCTAssertEqual(
            time(#"2026-11-20T08:14:00Z {"msg":"ApplyPromotion","ts":"2030-01-01T00:00:00Z"}"#), t0 - 60_000_000_000,
            "the framing's time when the payload's is not trusted")
        XCTAssertEqual(x.untrustedTimestamps, 3)
        XCTAssertEqual(time(#"{"msg":"ApplyPromotion","ts":"yesterday"}"#), arrival)
        XCTAssertEqual(x.untrustedTimestamps, 4, "an unreadable time is not used either")
    }

    /// Real go-kratos services often set `"ts", log.Timestamp("2006-01-02 15:04:05")` (a local
    /// time, no zone); zap and logrus configs do the same with layouts of their own. Such times were
    /// unreadable: an archived file without framing dated every event by the moment it was read.
    func testLocalTimesWithoutZone() {
        let x = EventExtractor()
        let arrival = t0 + 3 * 86_400_000_000_000
        func time(_ line: String) -> Int64 { eventTime(x, line, arrival: arrival) }
        let second: Int64 = 1_000_000_000
        XCTAssertEqual(
            time("INFO ts=2026-11-20 08:15:00 caller=biz/promo.go:31 msg=ApplyPromotion coupon=SAVE10"), t0,
            "kratos std logger, a layout with a space: read as UTC")
        XCTAssertEqual(
            time(#"{"ts":"2026-11-20 08:15:01.250","msg":"ApplyPromotion","coupon":"A"}"#), t0 + 1_250_000_000)
        XCTAssertEqual(time(#"time="2026/11/20 08:15:02" level=info msg=ApplyPromotion coupon=A"#), t0 + 2 * second)
        XCTAssertEqual(
            time(#"{"ts":"2026-11-20 16:15:03.5 +0800 CST","msg":"ApplyPromotion","coupon":"A"}"#),
            t0 + 3 * second + 500_000_000, "time.Time.String(): the offset after a space counts")
        XCTAssertEqual(
            time(#"2026-11-20T08:15:04.5Z {"ts":"2026-11-20 16:15:04","msg":"ApplyPromotion","coupon":"A"}"#),
            t0 + 4 * second + 500_000_000, "no zone: the framing's time says which instant it was")
        XCTAssertEqual(
            time(#"2026-11-20T08:15:05Z {"ts":"2026-11-20T08:14:05+00:00","msg":"ApplyPromotion","coupon":"A"}"#),
            t0 - 55 * second, "a zoned payload time still comes first")
        XCTAssertEqual(x.untrustedTimestamps, 0)
        XCTAssertEqual(time(#"{"ts":"2026-11-20 8:15:00","msg":"ApplyPromotion","coupon":"A"}"#), arrival)
        XCTAssertEqual(time(#"{"ts":"2026-11/20 08:15:00","msg":"ApplyPromotion","coupon":"A"}"#), arrival)
        XCTAssertEqual(x.untrustedTimestamps, 2, "other shapes stay unreadable and counted")
        // a framing's time still needs its zone: a payload that starts with a local time is no framing
        var line = Array("2026-11-20 08:15:00 {\"msg\":\"ApplyPromotion\"}".utf8)
        line.withUnsafeMutableBufferPointer { p in
            XCTAssertNil(ByteNumbers.parseRFC3339(UnsafePointer(p.baseAddress!), p.count))
        }
    }

    /// Go's `log` package writes its own local time before the message (`LstdFlags`), and services
    /// hand go-kratos' std logger such a writer (`log.New(w, "", log.LstdFlags|log.Llongfile)`,
    /// found in public kratos projects): `2026/11/20 08:15:01 /app/biz/promo.go:31: INFO msg=...`,
    /// often with no `ts`. Unread, an archived day of these lines was dated by the moment it was
    /// read, every event in the same minutes.
    func testGoLogPrefixTime() {
        let x = EventExtractor()
        let arrival = t0 + 3 * 86_400_000_000_000
        func time(_ line: String) -> Int64 { eventTime(x, line, arrival: arrival) }
        let second: Int64 = 1_000_000_000
        XCTAssertEqual(time("2026/11/20 08:15:01 /app/biz/promo.go:31: INFO msg=ApplyPromotion coupon=A"), t0 + second)
        XCTAssertEqual(
            time("2026/11/20 08:15:02.250000 promo.go:31: INFO msg=ApplyPromotion coupon=A"), t0 + 2_250_000_000,
            "Lmicroseconds|Lshortfile")
        XCTAssertEqual(time("[checkout] 2026/11/20 08:15:03 INFO msg=ApplyPromotion coupon=A"), t0 + 3 * second)
        XCTAssertEqual(
            time("2026/11/20 08:15:04 INFO ts=2026-11-20T08:14:04Z msg=ApplyPromotion coupon=A"), t0 - 56 * second,
            "the payload's own ts comes first")
        XCTAssertEqual(
            time("2026-11-20T08:15:05Z 2026/11/20 16:15:05 INFO msg=ApplyPromotion coupon=A"), t0 + 5 * second,
            "no zone: the framing's time says which instant it was")
        XCTAssertEqual(
            time(#"2026/11/20 08:15:06 {"msg":"ApplyPromotion","coupon":"A","status":"applied"}"#), t0 + 6 * second,
            "a JSON line handed to log.Printf")
        XCTAssertEqual(
            time(#"2026/11/20 08:15:07.5 promo.go:31: {"msg":"ApplyPromotion","coupon":"A"}"#), t0 + 7_500_000_000)
        XCTAssertEqual(x.untrustedTimestamps, 0)
        XCTAssertEqual(time("msg=ApplyPromotion coupon=A at=2026/11/20 08:15:06"), arrival, "only before the message")
        XCTAssertEqual(time("2026/11/20 08:15:0 INFO msg=ApplyPromotion coupon=A"), arrival)
        XCTAssertEqual(time("a=1 2026/11/20 08:15:07 INFO msg=ApplyPromotion coupon=A"), arrival, "a key is no prefix")
    }
}
