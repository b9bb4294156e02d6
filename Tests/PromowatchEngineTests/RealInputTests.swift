import XCTest
import PromowatchCore
import PromowatchInput
@testable import PromowatchEngine

/// Whole inputs as real nodes and tools leave them (log contract revision 2).
final class RealInputTests: TemporaryDirectoryTestCase {
    func analyze(_ paths: [String]) -> (RunSummary, [String]) {
        let a = Analyzer()
        var errors: [String] = []
        for p in paths {
            do { try a.run(path: p) } catch { errors.append(String(describing: error)) }
        }
        a.finish()
        return (a.summary(), errors)
    }

    func testBOMAtStartOfInput() {
        let p = write(
            "bom.log", [0xEF, 0xBB, 0xBF] + Array("msg=ApplyPromotion coupon=B1\nmsg=ApplyPromotion coupon=B2\n".utf8))
        let (s, _) = analyze([p])
        XCTAssertEqual(s.events.promotionApplied, 2)
    }

    func testCopytruncateHoleOfNULs() {
        let p = write(
            "hole.log", [UInt8](repeating: 0, count: 70_000) + Array("msg=ApplyPromotion coupon=AFTER\n".utf8))
        let (s, _) = analyze([p])
        XCTAssertEqual(s.events.promotionApplied, 1)
        XCTAssertEqual(s.coupons.first?.code, "AFTER")
    }

    func testUTF16IsRefusedNamingTheFile() {
        var le: [UInt8] = [0xFF, 0xFE]
        for u in "msg=ApplyPromotion coupon=U16\n".utf16 { le += [UInt8(u & 0xFF), UInt8(u >> 8)] }
        let p = write("powershell.log", le)
        let noBOM = write("nobom.log", Array(le.dropFirst(2)))
        let (s, errors) = analyze([p, noBOM])
        XCTAssertEqual(errors.count, 2)
        XCTAssertTrue(errors[0].contains("powershell.log") && errors[0].contains("UTF-16"), errors[0])
        XCTAssertTrue(errors[1].contains("nobom.log"), errors[1])
        XCTAssertEqual(s.inputErrors.count, 2)
    }

    func testPartialPendingAtEndOfFileIsOneLineOfThatFile() {
        let a = write("a.log", Array("2026-11-20T08:15:00Z stdout P msg=ApplyPromotion coupon=A_END\n".utf8))
        let b = write("b.log", Array("2026-11-20T08:15:01Z stdout F msg=ApplyPromotion coupon=B_FIRST\n".utf8))
        let (s, _) = analyze([a, b])
        XCTAssertEqual(Set(s.coupons.map(\.code)), ["A_END", "B_FIRST"])
        XCTAssertEqual(s.events.promotionApplied, 2)
    }

    func testKubectlErrorLinesAreInputWarnings() {
        let p = write(
            "k.log",
            Array(
                """
                Error from server (NotFound): pods "checkout-abc" not found
                unable to retrieve container logs for containerd://0123abcd
                msg=ApplyPromotion coupon=K1
                Error from server (BadRequest): container "checkout" in pod "checkout-x" is waiting to start: ContainerCreating

                """.utf8))
        let (s, _) = analyze([p])
        XCTAssertEqual(s.inputWarnings, 3)
        XCTAssertEqual(s.skippedLines, 3)
        XCTAssertEqual(s.events.promotionApplied, 1)
        XCTAssertTrue(s.inputWarningSamples[0].hasPrefix("Error from server (NotFound)"))
    }

    /// The trace-id rule in batch does not depend on line order (pods are read one after another).
    func testTraceRuleIsOrderIndependent() {
        let explicit =
            #"{"msg":"ApplyPromotion","coupon":"SAVE10","status":"applied","discount":5,"subtotal":50,"trace_id":"t-1","user_id":"u1"}"#
        let request =
            #"{"msg":"","kind":"server","component":"grpc","operation":"/api.checkout.v1.CartService/ApplyPromotion","args":"promotion_code:\"SAVE10\"","code":0,"reason":"","latency":0.002,"trace_id":"t-1"}"#
        let lonely =
            #"{"msg":"","kind":"server","component":"grpc","operation":"/api.checkout.v1.CartService/ApplyPromotion","args":"promotion_code:\"OTHER\"","code":400,"reason":"NOT_FOUND","latency":0.002,"trace_id":"t-2"}"#
        for (name, order) in [
            ("explicit first", [explicit, request, lonely]), ("request first", [request, lonely, explicit]),
            ("request last", [lonely, explicit, request]),
        ] {
            let p = write("\(name).log", Array((order.joined(separator: "\n") + "\n").utf8))
            let (s, _) = analyze([p])
            XCTAssertEqual(s.events.promotionApplied, 1, name)
            XCTAssertEqual(s.events.promotionRejected, 1, name)
            XCTAssertEqual(s.events.request, 2, name)
            XCTAssertEqual(s.duplicatePromotionLines, 1, name)
            XCTAssertEqual(s.coupons.first { $0.code == "SAVE10" }?.discount, 5, name)
        }
    }

    func testOutOfRangeTimestampsNeverTrapAndAreCounted() {
        let p = write(
            "t.log",
            Array(
                """
                {"msg":"ApplyPromotion","ts":"9999-12-31T23:59:59Z","coupon":"A"}
                {"msg":"ApplyPromotion","ts":"1600-01-01T00:00:00Z","coupon":"A"}
                {"msg":"ApplyPromotion","ts":-99999999999999999999,"coupon":"A"}
                9999-12-31T23:59:59.999999999Z stdout F {"msg":"ApplyPromotion","coupon":"A"}
                {"log":"msg=ApplyPromotion coupon=A\\n","stream":"stdout","time":"0001-01-01T00:00:00Z"}

                """.utf8))
        let a = Analyzer()
        a.enableDetection(DetectionConfig())
        XCTAssertNoThrow(try a.run(path: p))
        a.finish()
        _ = a.detector?.finish()
        let s = a.summary()
        XCTAssertEqual(s.events.promotionApplied, 5)
        XCTAssertEqual(s.untrustedTimestamps, 5)
    }

    /// A day of lines with no time of their own (a go-kratos std logger without `ts`, read by
    /// `kubectl logs` without `--timestamps`) was dated by the moment it was read: the whole day in
    /// one minute, a provider's ordinary failures a surge. In a batch such events are counted and
    /// kept out of detection; a live stream still dates them by their arrival.
    func testABatchKeepsEventsWithoutATimeOutOfItsWindows() {
        var text = ""
        for i in 0..<600 {
            text +=
                i % 3 == 0
                ? #"{"msg":"payment failed","provider":"stripe","error_code":"timeout"}"#
                : #"{"msg":"payment authorized","provider":"paypal"}"#
            text += "\n"
        }
        for streaming in [false, true] {
            let a = Analyzer()
            a.enableDetection(DetectionConfig(), streaming: streaming)
            a.feed(Array(text.utf8))
            a.finish()
            let findings = a.detector?.finish() ?? []
            let s = a.summary()
            XCTAssertEqual(s.events.paymentProviderFailure, 200, "counted either way")
            XCTAssertEqual(s.events.paymentSucceeded, 400)
            if streaming {
                XCTAssertEqual(s.undatedEvents, 0)
                XCTAssertTrue(
                    findings.contains { $0.category == .paymentProviderFailure }, "live: dated by arrival, as before")
            } else {
                XCTAssertEqual(s.undatedEvents, 600)
                XCTAssertEqual(findings.map(\.category), [], "a batch: no window holds them")
            }
        }
        // one line dated by its framing is dated
        let a = Analyzer()
        a.enableDetection(DetectionConfig())
        a.feed(Array("2026-11-20T08:15:00Z {\"msg\":\"payment authorized\",\"provider\":\"paypal\"}\n".utf8))
        a.finish()
        XCTAssertEqual(a.summary().undatedEvents, 0)
    }
}
