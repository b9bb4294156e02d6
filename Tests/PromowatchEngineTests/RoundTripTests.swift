import XCTest
import PromowatchCore
import PromowatchEngine
import LogGenerator

/// Renders the same generated records in every payload format and framing; every rendering must
/// give the same event counts and per-coupon totals, equal to what the generator wrote.
final class RoundTripTests: XCTestCase {
    func analyze(_ bytes: [UInt8], blockSize: Int = 1 << 16) -> RunSummary {
        var opts = Analyzer.Options()
        opts.blockSize = blockSize
        let a = Analyzer(options: opts)
        // feed in uneven chunks of whole lines, as the block reader would
        a.feed(bytes, blockSize: blockSize)
        a.finish()
        return a.summary()
    }

    func generate(format: PayloadFormat, framing: Framing, seed: UInt64 = 99) -> ([UInt8], Truth) {
        var config = GeneratorConfig()
        config.seed = seed
        config.records = 4000
        config.exoticCoupons = true
        var g = Generator(config: config)
        let r = Renderer(format: format, framing: framing)
        var rng = SplitMix64(seed: 5)
        var out: [UInt8] = []
        var truth = Truth()
        g.generate { rec in
            truth.add(rec, lines: r.render(rec, rng: &rng, into: &out))
            return true
        }
        return (out, truth)
    }

    func assertMatches(_ s: RunSummary, _ t: Truth, _ label: String, file: StaticString = #filePath, line: UInt = #line)
    {
        XCTAssertEqual(s.events, t.events, label, file: file, line: line)
        XCTAssertEqual(s.lines, t.lines, "lines \(label)", file: file, line: line)
        XCTAssertEqual(s.skippedLines, t.skippedRecords, "skipped \(label)", file: file, line: line)
        XCTAssertEqual(s.coupons.count, t.coupons.count, label, file: file, line: line)
        for c in s.coupons {
            guard let tc = t.coupons[c.code] else {
                XCTFail("unexpected coupon \(c.code) \(label)", file: file, line: line)
                continue
            }
            XCTAssertEqual(c.applied, tc.applied, "\(c.code) \(label)", file: file, line: line)
            XCTAssertEqual(c.rejected, tc.rejected, "\(c.code) \(label)", file: file, line: line)
            XCTAssertEqual(c.discount, tc.discount, accuracy: 0.005, "\(c.code) \(label)", file: file, line: line)
        }
        for p in s.providers {
            XCTAssertEqual(
                p.succeeded, t.providers[p.provider]?.succeeded, "\(p.provider) \(label)", file: file, line: line)
            XCTAssertEqual(
                p.declined, t.providers[p.provider]?.declined, "\(p.provider) \(label)", file: file, line: line)
            XCTAssertEqual(
                p.providerFailures, t.providers[p.provider]?.providerFailures, "\(p.provider) \(label)", file: file,
                line: line)
        }
    }

    func testEveryFormatAndFramingGivesTheGeneratorsTruth() {
        var reference: RunSummary? = nil
        for format in PayloadFormat.allCases {
            for framing in Framing.allCases {
                let (bytes, truth) = generate(format: format, framing: framing)
                let s = analyze(bytes)
                assertMatches(s, truth, "\(format)/\(framing)")
                XCTAssertGreaterThan(s.events.promotionApplied, 100)
                XCTAssertGreaterThan(s.events.timeout, 0)
                XCTAssertGreaterThan(s.events.dbSaturation, 0)
                XCTAssertGreaterThan(s.events.compensationFailure, 0)
                if let r = reference {
                    XCTAssertEqual(s.events, r.events, "\(format)/\(framing) vs first rendering")
                    XCTAssertEqual(
                        Set(s.coupons.map { "\($0.code)|\($0.applied)|\($0.rejected)" }),
                        Set(r.coupons.map { "\($0.code)|\($0.applied)|\($0.rejected)" }))
                } else {
                    reference = s
                }
            }
        }
    }

    func testMixedStreamAndBlockBoundariesDoNotMatter() {
        var config = GeneratorConfig()
        config.records = 3000
        config.exoticCoupons = true
        var g = Generator(config: config)
        let renderers = PayloadFormat.allCases.flatMap { f in Framing.allCases.map { Renderer(format: f, framing: $0) }
        }
        var rng = SplitMix64(seed: 1)
        var out: [UInt8] = []
        var truth = Truth()
        g.generate { rec in
            truth.add(rec, lines: renderers[rng.int(renderers.count)].render(rec, rng: &rng, into: &out))
            return true
        }
        for block in [97, 4096, 1 << 20] {
            assertMatches(analyze(out, blockSize: block), truth, "block \(block)")
        }
    }

    func testOversizedLineIsSkippedAndCounted() {
        var opts = Analyzer.Options()
        opts.maxLineLength = 1000
        let a = Analyzer(options: opts)
        let text =
            "{\"msg\":\"ApplyPromotion\",\"coupon\":\"" + String(repeating: "Z", count: 2000)
            + "\"}\nmsg=ApplyPromotion coupon=OK\n"
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBufferPointer { a.process(UnsafeBufferPointer($0)) }
        let s = a.summary()
        XCTAssertEqual(s.lines, 2)
        XCTAssertEqual(s.oversizedLines, 1)
        XCTAssertEqual(s.skippedLines, 1)
        XCTAssertEqual(s.events.promotionApplied, 1)
    }

    func testFixtureMatchesItsTruthFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let a = Analyzer()
        try a.run(path: root.appendingPathComponent("fixtures/checkout-sample.log.gz").path)
        a.finish()
        let s = a.summary()
        let truth =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: root.appendingPathComponent("fixtures/checkout-sample.truth.json")))
            as! [String: Any]
        XCTAssertEqual(s.lines, truth["lines"] as? Int)
        XCTAssertEqual(s.skippedLines, truth["skipped_lines"] as? Int)
        let events = truth["events"] as! [String: Int]
        for (name, count) in s.events.named { XCTAssertEqual(count, events[name], name) }
        let coupons = truth["coupons"] as! [String: [String: Any]]
        XCTAssertEqual(s.coupons.count, coupons.count)
        for c in s.coupons { XCTAssertEqual(c.applied, coupons[c.code]?["applied"] as? Int, c.code) }
    }
}

import Foundation

/// Lines the block-level marker must not skip.
final class MarkerThroughAnalyzerTests: XCTestCase {
    func summary(_ text: String) -> RunSummary {
        let a = Analyzer()
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBufferPointer { a.process(UnsafeBufferPointer($0)) }
        a.finish()
        return a.summary()
    }

    func testEscapedAndUpperCaseNamesAreStillEvents() {
        let s = summary(
            """
            {"msg":"\\u0041pplyPromotion","coupon":"ESC"}
            {"msg":"PAYMENT AUTHORIZED","provider":"stripe"}
            msg="Saga COMPENSATION FAILED"

            """)
        XCTAssertEqual(s.events.promotionApplied, 1)
        XCTAssertEqual(s.events.paymentSucceeded, 1)
        XCTAssertEqual(s.events.compensationFailure, 1)
        XCTAssertEqual(s.skippedLines, 0)
    }

    func testWordsSplitAcrossCRIPartialsAreFound() {
        let s = summary(
            """
            2026-11-20T08:15:00Z stdout P {"msg":"pay
            2026-11-20T08:15:00Z stdout P ment decl
            2026-11-20T08:15:00Z stdout F ined","provider":"paypal","decline_code":"card_declined"}
            2026-11-20T08:15:01Z stdout P msg=done lat
            2026-11-20T08:15:01Z stdout F ency=2s

            """)
        XCTAssertEqual(s.events.paymentDeclined, 1)
        XCTAssertEqual(s.events.request, 1)
        XCTAssertEqual(s.lines, 5)
        XCTAssertEqual(s.skippedLines, 0)
    }

    func testNoiseIsSkippedWithoutParsing() {
        let s = summary(
            """
            {"msg":"cache hit","key":"cart:1"}
            just text
            {"msg":"payment method saved","provider":"stripe"}

            """)
        XCTAssertEqual(s.skippedLines, 3)
        XCTAssertEqual(s.events, EventCounts())
    }
}
