import XCTest
import PromowatchCore
import PromowatchReport
@testable import PromowatchEngine

/// Inputs built to stop, blind or bloat promowatch (issue "Nothing an input can do stops, blinds
/// or bloats promowatch"); each test cites what it pins.
final class HostileInputTests: XCTestCase {
    func summary(_ text: String) -> RunSummary {
        let a = Analyzer()
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
}
