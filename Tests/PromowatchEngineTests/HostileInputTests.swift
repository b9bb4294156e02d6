import XCTest
import PromowatchCore
import PromowatchReport
@testable import PromowatchEngine

/// Inputs built to stop, blind or bloat promowatch (issue "Nothing an input can do stops, blinds
/// or bloats promowatch"); each test cites what it pins.
final class HostileInputTests: XCTestCase {
    func summary(_ text: String, options: Analyzer.Options = Analyzer.Options()) -> RunSummary {
        let a = Analyzer(options: options)
        a.feed(Array(text.utf8))
        a.finish()
        return a.summary()
    }

    /// `"discount":1e306` twice made the summary print `"discount": inf`, which no JSON parser
    /// accepts; negative discounts were summed as they came. A money amount outside zero to a
    /// trillion is absent: the redemption counts, its amount does not.
    func testImplausibleAmountsNeverReachTheSums() throws {
        let s = summary(
            """
            {"msg":"ApplyPromotion","coupon":"X","discount":1e306}
            {"msg":"ApplyPromotion","coupon":"X","discount":1e306}
            {"msg":"ApplyPromotion","coupon":"Y","discount":-50}
            {"msg":"ApplyPromotion","coupon":"Y","discount":20}

            """)
        XCTAssertEqual(s.events.promotionApplied, 4)
        let json = SummaryReport.json(s)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(json.utf8)), json)
        XCTAssertTrue(json.contains(#"{"coupon": "X", "applied": 2, "rejected": 0, "discount": 0}"#), json)
        XCTAssertTrue(json.contains(#"{"coupon": "Y", "applied": 2, "rejected": 0, "discount": 20}"#), json)
    }

    /// A run of CRI partial lines (`P`) that never finishes was dropped at the end of the input
    /// without being counted: 200 MB of input vanished from the summary. It is one line, too long
    /// to be a record: skipped and counted, while a short unfinished run is still read as a line.
    func testANeverFinishedPartialRunIsCountedAsSkipped() {
        var o = Analyzer.Options()
        o.maxLineLength = 256
        let a = Analyzer(options: o)
        var text = ""
        for _ in 0..<50 {
            text += "2026-11-20T08:00:00.000000000Z stdout P " + String(repeating: "x", count: 100) + "\n"
        }
        text += "2026-11-20T08:00:01.000000000Z stderr P {\"msg\":\"ApplyPromotion\",\"coupon\":\"SHORT\"}\n"
        a.feed(Array(text.utf8))
        a.finish()
        let s = a.summary()
        XCTAssertEqual(s.lines, 51)
        XCTAssertEqual(s.skippedLines, 1, "the overlong run is one skipped line")
        XCTAssertEqual(s.events.promotionApplied, 1, "the short pending partial of the other stream is read")
    }
}

extension HostileInputTests {
    /// A million distinct providers lost 999,936 events from attribution with no note. Events
    /// beyond the provider table are counted as events and as untracked, in JSON and text.
    func testProvidersBeyondTheTableAreCountedAsUntracked() {
        var o = Analyzer.Options()
        o.limits.providers = 4
        let s = summary(
            (0..<10).map { #"{"msg":"payment failed","provider":"psp\#($0)","error_code":"timeout"}"# + "\n" }.joined(),
            options: o)
        XCTAssertEqual(s.events.paymentProviderFailure, 10)
        XCTAssertEqual(s.providers.count, 4)
        XCTAssertEqual(s.untrackedProviderEvents, 6)
        XCTAssertTrue(SummaryReport.json(s).contains(#""untracked_provider_events": 6"#))
        XCTAssertTrue(SummaryReport.text(s).contains("6 payment events for providers beyond the tracking limit"))
    }
}

extension HostileInputTests {
    /// `café10` and `CAFÉ10` counted apart (only ASCII was case-folded), so an abuser could split
    /// a code's count by its spelling. Codes are compared after Unicode case mapping; invalid
    /// UTF-8 keeps its bytes, so two different invalid codes stay two codes.
    func testNonASCIICodesAreCaseFoldedAndInvalidOnesStayDistinct() {
        var bytes = Array(
            """
            {"msg":"ApplyPromotion","coupon":"café10"}
            {"msg":"ApplyPromotion","coupon":"CAFÉ10"}
            {"msg":"ApplyPromotion","coupon":"Café10"}

            """.utf8)
        for tail: UInt8 in [0xC0, 0xC1] {
            bytes += Array(#"{"msg":"ApplyPromotion","coupon":"OL"#.utf8) + [tail, 0xAF] + Array("\"}\n".utf8)
        }
        let a = Analyzer()
        a.feed(bytes)
        a.finish()
        let s = a.summary()
        XCTAssertEqual(s.coupons.first { $0.code == "CAFÉ10" }?.applied, 3, "\(s.coupons.map(\.code))")
        XCTAssertEqual(s.coupons.count, 3, "café10 in every case, and the two invalid codes apart")
    }
}

extension HostileInputTests {
    /// Sources beyond the source table (4,096 pods) were attributed to no source without a word:
    /// their events share one checkpoint in `cron`. They are counted, in JSON and text.
    func testSourcesBeyondTheTableAreCountedAsUntracked() {
        var o = Analyzer.Options()
        o.limits.sources = 3
        let s = summary(
            (0..<8).map { #"[pod/checkout-\#($0)/checkout] {"msg":"ApplyPromotion","coupon":"C\#($0)"}"# + "\n" }
                .joined(),
            options: o)
        XCTAssertEqual(s.events.promotionApplied, 8)
        XCTAssertEqual(s.untrackedSourceEvents, 5)
        XCTAssertTrue(SummaryReport.json(s).contains(#""untracked_source_events": 5"#))
        XCTAssertTrue(SummaryReport.text(s).contains("5 events from sources (pods) beyond the source table"))
    }
}
