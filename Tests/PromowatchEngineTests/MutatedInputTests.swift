import XCTest
import PromowatchTestSupport
import Foundation
import PromowatchCore
import PromowatchEngine
import LogGenerator

/// The real-world fixture lines, mutated at random in the places revision 2 added parsing for
/// (framing tokens, NUL runs, byte order marks, `tail -F` headers, quotes, `=`, 4 KiB and 16 KiB
/// boundaries, extreme timestamps), through the whole analyze path with detection. A debug build
/// traps on any overflow, so this fails on a reachable trap. The seed is drawn per run and
/// printed; `PROMOWATCH_TEST_SEED` replays one.
final class MutatedInputTests: XCTestCase {
    func testMutatedRealLinesNeverTrapAndCountEveryLine() throws {
        var rng = SeededRandom.forTest("MutatedInputTests")
        let seed = rng.seed
        let dir = RealFixtureTests.dir
        var lines: [[UInt8]] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".log") {
            let data = try Data(contentsOf: dir.appendingPathComponent(name))
            lines += data.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
        }
        let tokens: [[UInt8]] = [
            "==> /x.log <==", "\u{FEFF}", "stdout P ", "stderr F:T ", "{\"log\":\"", "\",\"stream\":\"stdout\"}",
            "\"", "=", " ", "\\", "9999-12-31T23:59:59.999999999Z ", "0000-01-01T00:00:00Z ", "1e308",
            "-99999999999999999999", "[pod/p/c] ", "trace.id=t1 ", " code=0 ", "operation=/x/ApplyPromotion ",
            "args=coupon:\"", "msg=", "\"msg\":\"\",", "null", "2026-11-20T08:15:00Z ",
        ].map { Array($0.utf8) }
        var input: [UInt8] = []
        for _ in 0..<20_000 {
            var l = lines[rng.int(lines.count)]
            for _ in 0..<(1 + rng.int(3)) {
                let at = l.isEmpty ? 0 : rng.int(l.count + 1)
                switch rng.int(6) {
                case 0: l.insert(contentsOf: tokens[rng.int(tokens.count)], at: at)
                case 1: if !l.isEmpty { l[rng.int(l.count)] = UInt8(truncatingIfNeeded: rng.next()) }
                case 2: l = Array(l.prefix(at))
                case 3: l.insert(contentsOf: [UInt8](repeating: 0, count: rng.int(40)), at: at)
                case 4 where rng.chance(0.1):
                    l.insert(
                        contentsOf: [UInt8](
                            repeating: UInt8(ascii: "x"), count: [4096, 16384, 16383, 4095][rng.int(4)]), at: at)
                default: l.insert(contentsOf: tokens[rng.int(tokens.count)] + tokens[rng.int(tokens.count)], at: at)
                }
            }
            l.removeAll { $0 == 0x0A }
            input += l
            input.append(0x0A)
        }
        let newlines = input.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        for streaming in [false, true] {
            // a narrow trusted range: `finish` still walks every minute between the first and last
            // event time (issue "Nothing an input can do stops, blinds or bloats promowatch"), and
            // the fixtures' 2016 and 2025 lines would make that years of minutes in a debug build
            var options = Analyzer.Options()
            options.earliestTime = 1_795_132_800 * 1_000_000_000  // 2026-11-20
            let a = Analyzer(options: options)
            a.enableDetection(DetectionConfig(), streaming: streaming)
            input.withUnsafeBufferPointer { b in
                var start = 0
                while start < b.count {
                    var end = min(b.count, start + 65_536 + rng.int(65_536))
                    while end < b.count && b[end - 1] != 0x0A { end += 1 }
                    a.process(UnsafeBufferPointer(rebasing: b[start..<end]))
                    start = end
                }
            }
            a.finish()
            if streaming { _ = a.detector?.evaluateLatest() } else { _ = a.detector?.finish() }
            let s = a.summary()
            XCTAssertEqual(s.lines, newlines, "seed \(seed)")
            let events = s.events.named.reduce(0) { $0 + $1.count }
            XCTAssertGreaterThan(events, 1000, "seed \(seed)")
            XCTAssertLessThanOrEqual(s.skippedLines, s.lines, "seed \(seed)")
        }
    }
}
