import XCTest
import PromowatchCore
@testable import PromowatchParsing

final class FramingTests: XCTestCase {
    let payload = #"{"msg":"ApplyPromotion","coupon":"X1"}"#

    func testPlain() {
        let h = LineHarness()
        let e = h.event(payload)!
        XCTAssertEqual(e.kinds, .promotionApplied)
        XCTAssertEqual(e.time, 7, "no timestamp anywhere: arrival time")
    }

    func testKubectlPrefix() {
        let h = LineHarness()
        let e = h.event("[pod/checkout-7d9f-abc/checkout] " + payload)!
        XCTAssertEqual(e.kinds, .promotionApplied)
        XCTAssertEqual(h.source(e), "pod/checkout-7d9f-abc/checkout")
    }

    func testKubectlTimestampsBothOrders() {
        for line in [
            "[pod/p/c] 2026-11-20T08:15:00.000000001Z " + payload,
            "2026-11-20T08:15:00.000000001Z [pod/p/c] " + payload,
            "2026-11-20T08:15:00.000000001Z " + payload,
        ] {
            let h = LineHarness()
            let e = h.event(line)!
            XCTAssertEqual(e.kinds, .promotionApplied, line)
            XCTAssertEqual(e.time, t0 + 1, line)
        }
    }

    func testPayloadTimestampWinsOverFraming() {
        let h = LineHarness()
        let e = h.event(#"2026-11-20T09:00:00Z {"ts":"2026-11-20T08:15:00Z","msg":"ApplyPromotion"}"#)!
        XCTAssertEqual(e.time, t0)
    }

    func testCRIFullAndPartialLines() {
        let h = LineHarness()
        let e = h.event("2026-11-20T08:15:00Z stdout F " + payload)!
        XCTAssertEqual(e.kinds, .promotionApplied)
        XCTAssertEqual(e.time, t0)
        XCTAssertNil(h.event(#"2026-11-20T08:15:00Z stdout P {"msg":"Apply"#))
        XCTAssertNil(h.event(#"2026-11-20T08:15:00Z stdout P Promotion","coup"#))
        // a stderr line of another stream in between is its own record
        XCTAssertEqual(
            h.event("2026-11-20T08:15:00Z stderr F msg=ApplyPromotion coupon=OTHER")!.kinds, .promotionApplied)
        let joined = h.event(#"2026-11-20T08:15:00Z stdout F on":"JOINED"}"#)!
        XCTAssertEqual(joined.kinds, .promotionApplied)
        XCTAssertEqual(h.coupon(joined), "JOINED")
    }

    func testCRIPartialsArePerSource() {
        let h = LineHarness()
        XCTAssertNil(h.event(#"[pod/a/c] 2026-11-20T08:15:00Z stdout P {"msg":"ApplyPromotion","#))
        XCTAssertNil(h.event(#"[pod/b/c] 2026-11-20T08:15:00Z stdout P {"msg":"payment "#))
        let b = h.event(#"[pod/b/c] 2026-11-20T08:15:00Z stdout F captured","provider":"paypal"}"#)!
        XCTAssertEqual(b.kinds, .paymentSucceeded)
        let a = h.event(#"[pod/a/c] 2026-11-20T08:15:00Z stdout F "coupon":"A"}"#)!
        XCTAssertEqual(h.coupon(a), "A")
    }

    func testUnfinishedPartialIsDrainedAtEnd() {
        let h = LineHarness()
        XCTAssertNil(h.event("2026-11-20T08:15:00Z stdout P msg=ApplyPromotion coupon=LAST"))
        var drained: [EventKinds] = []
        h.deframer.drainPending { f in drained.append(h.extractor.extract(f, phrases: [], arrival: 0).kinds) }
        XCTAssertEqual(drained, [.promotionApplied])
    }

    func testDockerJSONFile() {
        let h = LineHarness()
        let line =
            #"{"log":"{\"msg\":\"ApplyPromotion\",\"coupon\":\"D\\\"Q\"}\n","stream":"stdout","time":"2026-11-20T08:15:00.5Z"}"#
        let e = h.event(line)!
        XCTAssertEqual(e.kinds, .promotionApplied)
        XCTAssertEqual(h.coupon(e), "D\"Q")
        XCTAssertEqual(e.time, t0 + 500_000_000)
        // logfmt inside Docker, and a 16 KiB partial (no trailing \n) joined with the next entry
        let head = "msg=ApplyPromotion pad=" + String(repeating: "x", count: 16 * 1024 - 27) + " cou"
        XCTAssertEqual(head.utf8.count, 16 * 1024)
        XCTAssertNil(h.event(#"{"log":""# + head + #"","stream":"stdout","time":"2026-11-20T08:15:00Z"}"#))
        let j = h.event(#"{"log":"pon=PARTS\n","stream":"stdout","time":"2026-11-20T08:15:00Z"}"#)!
        XCTAssertEqual(h.coupon(j), "PARTS")
    }

    func testTimestampThatIsNotFramingStaysPayload() {
        let h = LineHarness()
        // a level word line that starts with a digit but is no timestamp
        XCTAssertEqual(h.event("2026 msg=ApplyPromotion coupon=Y")!.kinds, .promotionApplied)
        // [pod/ without a closing bracket is payload
        XCTAssertEqual(h.event("[pod/oops msg=ApplyPromotion")!.kinds, .promotionApplied)
    }
}
