import XCTest
import PromowatchCore
@testable import PromowatchParsing
import CByteSearch

/// The marker decides which lines are parsed at all, so a miss would silently drop events:
/// compare it with a naive per-line search on random text with planted needles.
final class LineMarkerTests: XCTestCase {
    func naiveMarks(_ line: [UInt8], keys: KeyTable) -> Phrases {
        var m: Phrases = []
        let s = String(decoding: line, as: UTF8.self)
        for (phrase, flag) in Phrases.eventPhrases where s.contains(phrase) { m.insert(flag) }
        let folded = String(decoding: line.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 | 0x20 : $0 }, as: UTF8.self)
        for w in Phrases.candidateWords(keys: keys) where folded.contains(w) { m.insert(.mayBeEvent) }
        return m
    }

    func testMatchesNaiveSearchOnRandomLines() { randomLines() }

    func testPortablePathMatchesNaiveSearchToo() {
        promowatch_set_portable_only(1)
        defer { promowatch_set_portable_only(0) }
        randomLines()
    }

    func randomLines() {
        let keys = KeyTable()
        let marker = LineMarker(keys: keys)
        var rng = SystemRandomNumberGenerator()
        let plants =
            Phrases.eventPhrases.map(\.0) + [
                "ApplyPromotion", "PAYMENT", "Payment", "payment", "compensation", "Compensation",
                "latency_ms", "DURATION", "\\", "failed_compensation", "context deadline", "too many client", "paymen",
            ]
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ=\"{}:,0123456789_-".utf8)
        for round in 0..<300 {
            var block: [UInt8] = []
            var lines: [[UInt8]] = []
            for _ in 0..<Int.random(in: 1...40, using: &rng) {
                var line: [UInt8] = (0..<Int.random(in: 0...120, using: &rng)).map { _ in
                    alphabet.randomElement(using: &rng)!
                }
                if Int.random(in: 0..<3, using: &rng) == 0 {
                    let p = Array(plants.randomElement(using: &rng)!.utf8)
                    line.insert(contentsOf: p, at: Int.random(in: 0...line.count, using: &rng))
                }
                lines.append(line)
                block += line + [0x0A]
            }
            var hits: [(offset: Int, phrase: Phrases)] = []
            block.withUnsafeBufferPointer { marker.scan($0.baseAddress!, $0.count, into: &hits) }
            XCTAssertEqual(hits.map(\.offset), hits.map(\.offset).sorted(), "offsets in order")
            var start = 0
            var hi = 0
            for line in lines {
                let end = start + line.count
                var got: Phrases = []
                while hi < hits.count && hits[hi].offset < end {
                    if hits[hi].offset >= start { got.insert(hits[hi].phrase) }
                    hi += 1
                }
                XCTAssertEqual(
                    got, naiveMarks(line, keys: keys), "round \(round): \(String(decoding: line, as: UTF8.self))")
                start = end + 1
            }
        }
    }

    func testConfiguredLatencyAliasBecomesACandidateWord() {
        let keys = KeyTable(extraAliases: [(.latencyMs, ["elapsed_ms"])])
        XCTAssertTrue(Phrases.candidateWords(keys: keys).contains("elapsed_ms"))
        XCTAssertFalse(Phrases.candidateWords(keys: keys).contains("latency_ms"), "covered by 'latency'")
        let marker = LineMarker(keys: keys)
        var line = Array("msg=done elapsed_ms=12".utf8)
        XCTAssertEqual(
            line.withUnsafeMutableBufferPointer { marker.marks(UnsafePointer($0.baseAddress!), $0.count) }, .mayBeEvent)
    }

    func testRarestWindowAndPositions() {
        XCTAssertEqual(LineMarker.rarestWindow(Array("\\".utf8)), 0)
        let w = LineMarker.rarestWindow(Array("context deadline exceeded".utf8))
        XCTAssertTrue(w >= 0 && w <= 22)
        let (a, b) = LineMarker.rarestPositions(Array("payment".utf8))
        XCTAssertNotEqual(a, b)
    }
}
