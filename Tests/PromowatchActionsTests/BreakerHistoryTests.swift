import XCTest
import PromowatchActions
import PromowatchCore

/// `cron` continues one circuit breaker across runs from the audit: the hold with its backoff,
/// and a trial that began in an earlier run.
final class BreakerHistoryTests: XCTestCase {
    let minute = 60 * EventTime.nanosPerSecond

    func replay(_ rows: [(ProposedAction.Kind, Int)]) -> BreakerHistory.State? {
        BreakerHistory.replay(
            rows.map { (kind: $0.0, time: Int64($0.1) * minute) }, holdMinutes: 60, maxHoldMinutes: 480,
            verifyMinutes: 10)
    }

    func testOpenHalfOpenBackoffAndClosed() {
        XCTAssertNil(replay([]))
        XCTAssertEqual(replay([(.disableProvider, 0)]), .init(openedAt: 0, holdMinutes: 60, trialAt: nil))
        // enabled on trial at the end of the hold: half-open
        XCTAssertEqual(
            replay([(.disableProvider, 0), (.enableProvider, 60)]),
            .init(openedAt: 0, holdMinutes: 60, trialAt: 60 * minute))
        // failed within the verify time of the trial: off again for twice as long, then four times
        XCTAssertEqual(
            replay([(.disableProvider, 0), (.enableProvider, 60), (.disableProvider, 65)]),
            .init(openedAt: 65 * minute, holdMinutes: 120, trialAt: nil))
        XCTAssertEqual(
            replay([
                (.disableProvider, 0), (.enableProvider, 60), (.disableProvider, 65), (.enableProvider, 185),
                (.disableProvider, 190),
            ]),
            .init(openedAt: 190 * minute, holdMinutes: 240, trialAt: nil))
        // a trial that held for the verify time closed the breaker: the next switch is a new one
        XCTAssertEqual(
            replay([(.disableProvider, 0), (.enableProvider, 60), (.disableProvider, 200)]),
            .init(openedAt: 200 * minute, holdMinutes: 60, trialAt: nil))
        // enabled before the hold was over: a revert (the switch did not help), closed
        XCTAssertNil(replay([(.disableProvider, 0), (.enableProvider, 5)]))
        // the order of the audit rows does not matter
        XCTAssertEqual(
            replay([(.disableProvider, 65), (.enableProvider, 60), (.disableProvider, 0)]),
            .init(openedAt: 65 * minute, holdMinutes: 120, trialAt: nil))
    }

    func testBackoffStopsAtTheLongestHold() {
        var rows: [(ProposedAction.Kind, Int)] = [(.disableProvider, 0)]
        var t = 0
        var hold = 60
        for _ in 0..<6 {
            t += hold
            rows.append((.enableProvider, t))
            t += 1
            rows.append((.disableProvider, t))
            hold = min(2 * hold, 480)
        }
        XCTAssertEqual(replay(rows)?.holdMinutes, 480)
    }
}
