import XCTest
import PromowatchCore
@testable import PromowatchEngine

/// `watch` replaying a file evaluates on event time (`Analyzer.onEventTime`), not on the clock, so
/// a replay is judged as the live stream was, at any speed and with any block size.
final class EventTimeTickTests: XCTestCase {
    func lines(_ seconds: [Int]) -> [UInt8] {
        Array(
            seconds.map { s in
                #"{"ts":"2026-11-20T10:\#(String(format: "%02d", s / 60)):\#(String(format: "%02d", s % 60))Z","msg":"payment captured","provider":"stripe","amount":20}"#
                    + "\n"
            }.joined().utf8)
    }

    func ticks(_ input: [UInt8], blockSize: Int) -> [Int64] {
        let a = Analyzer()
        a.enableDetection(DetectionConfig(), streaming: true)
        var at: [Int64] = []
        a.onEventTime(every: 5) { at.append(a.detector!.watermark) }
        a.feed(input, blockSize: blockSize)
        return at
    }

    func testTicksFollowEventTimeWhateverTheBlocks() {
        // 10:00:00 .. 10:00:21 one line a second, then a gap to 10:01:00
        let input = lines(Array(0...21) + [60])
        let t0 = EventTime.parseRFC3339("2026-11-20T10:00:00Z")!
        let expected = [5, 10, 15, 20, 60].map { t0 + Int64($0) * EventTime.nanosPerSecond }
        XCTAssertEqual(ticks(input, blockSize: 1 << 20), expected)
        XCTAssertEqual(ticks(input, blockSize: 64), expected, "one line a block: the same ticks")
    }

    /// A lone line dated an hour ahead does not move the watermark, so it fires no tick and does
    /// not silence the ticks after it.
    func testALoneLineAheadFiresNoTick() {
        let input = lines([0, 1, 2, 3600, 6, 11])
        let t0 = EventTime.parseRFC3339("2026-11-20T10:00:00Z")!
        XCTAssertEqual(ticks(input, blockSize: 1 << 20), [6, 11].map { t0 + Int64($0) * EventTime.nanosPerSecond })
    }
}
