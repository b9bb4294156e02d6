import XCTest
import PromowatchCore
@testable import LogGenerator

final class GeneratorTests: XCTestCase {
    func render(seed: UInt64) -> [UInt8] {
        var c = GeneratorConfig()
        c.seed = seed
        c.records = 500
        var g = Generator(config: c)
        let r = Renderer(format: .json, framing: .cri)
        var rng = SplitMix64(seed: seed)
        var out: [UInt8] = []
        g.generate { rec in
            r.render(rec, rng: &rng, into: &out)
            return true
        }
        return out
    }

    func testDeterministic() {
        XCTAssertEqual(render(seed: 3), render(seed: 3))
        XCTAssertNotEqual(render(seed: 3), render(seed: 4))
    }

    func testMostlyNoiseAboutATenthEvents() {
        var c = GeneratorConfig()
        c.records = 20000
        var g = Generator(config: c)
        var t = Truth()
        g.generate { rec in
            t.add(rec, lines: rec.plainLines?.count ?? 1)
            return true
        }
        let promoPay =
            t.events.promotionApplied + t.events.promotionRejected + t.events.paymentSucceeded
            + t.events.paymentDeclined + t.events.paymentProviderFailure + t.events.compensationFailure
            + t.events.dbSaturation
        let share = Double(promoPay) / Double(t.records)
        XCTAssertGreaterThan(share, 0.07)
        XCTAssertLessThan(share, 0.13)
        XCTAssertGreaterThan(t.skippedRecords, t.records * 3 / 4)
    }

    func testTruthJSONIsValid() throws {
        var c = GeneratorConfig()
        c.records = 300
        c.exoticCoupons = true
        var g = Generator(config: c)
        var t = Truth()
        g.generate { rec in
            t.add(rec, lines: 1)
            return true
        }
        let obj = try JSONSerialization.jsonObject(with: Data(t.json().utf8)) as? [String: Any]
        XCTAssertNotNil(obj?["coupons"])
    }
}

import Foundation
