import PromowatchCore
import XCTest

@testable import PromowatchDecision

/// Incidents, not alerts: findings of one cause within the gap are one incident, root cause first.
final class IncidentTrackerTests: XCTestCase {
    let min: Int64 = 60_000_000_000

    func finding(
        _ cat: Category, at minute: Int64, _ sev: Severity = .p1, coupon: String? = nil, provider: String? = nil
    )
        -> Finding
    {
        Finding(
            time: minute * min, category: cat, severity: sev, subject: Subject(coupon: coupon, provider: provider),
            windowStart: minute * min, windowEnd: minute * min, evidence: Evidence(observed: 1, expected: 1, score: 1),
            summary: "")
    }

    func testAnOutageAndItsSymptomsAreOneIncidentWithTheRootFirst() {
        let t = IncidentTracker(gapMinutes: 15)
        // the timeouts show first, then the provider failure that explains them, then compensations
        var fs = [
            finding(.latency, at: 0, .p1), finding(.paymentProviderFailure, at: 1, .p1, provider: "stripe"),
            finding(.compensationFailure, at: 3), finding(.couponReuse, at: 4, .p2, coupon: "WELCOME10"),
        ]
        for i in fs.indices { t.assign(&fs[i]) }
        let id = fs[0].incident!.id
        XCTAssertEqual(fs[0].incident?.state, .opened)
        XCTAssertEqual(
            fs[1].incident, IncidentRef(id: id, state: .updated, root: .paymentProviderFailure), "the root cause leads")
        XCTAssertEqual(fs[2].incident, IncidentRef(id: id, state: .updated, root: .paymentProviderFailure))
        XCTAssertNotEqual(fs[3].incident?.id, id, "a coupon's reuse is another incident")
        XCTAssertEqual(fs[3].incident?.state, .opened)
        t.advance(to: 17 * min)
        XCTAssertEqual(t.resolved.count, 0, "quiet for less than the gap")
        t.advance(to: 18 * min)
        XCTAssertEqual(t.resolved.map(\.ref.id), [id])
        XCTAssertEqual(t.resolved.first?.ref.root, .paymentProviderFailure)
        XCTAssertEqual(t.resolved.first?.findings, 3)
        XCTAssertEqual(t.resolved.first?.severity, .p1)
        XCTAssertEqual(t.resolved.first?.time, 18 * min, "resolved a gap after the last finding")
        t.advance(to: 19 * min)
        XCTAssertEqual(t.resolved.map(\.ref.id), [id, fs[3].incident!.id])
    }

    func testAfterTheGapTheSameCauseIsANewIncident() {
        let t = IncidentTracker(gapMinutes: 15)
        var a = finding(.paymentProviderFailure, at: 0, provider: "stripe")
        var b = finding(.paymentProviderFailure, at: 40, provider: "stripe")
        t.assign(&a)
        t.assign(&b)
        XCTAssertNotEqual(a.incident?.id, b.incident?.id)
        XCTAssertEqual(b.incident?.state, .opened)
        XCTAssertEqual(t.resolved.count, 1)
        // ids are stable: the same findings give the same ids in any run
        let u = IncidentTracker(gapMinutes: 15)
        var c = finding(.paymentProviderFailure, at: 0, provider: "stripe")
        u.assign(&c)
        XCTAssertEqual(c.incident?.id, a.incident?.id)
    }

    /// A provider failing for 40 minutes raises one finding (the detector does not repeat it while
    /// its cause holds): its incident was resolved 15 minutes after that finding, while the
    /// provider still failed. It stays open until its episode has been over for the gap.
    func testAnIncidentStaysOpenWhileItsCauseHolds() {
        let t = IncidentTracker(gapMinutes: 15)
        var spans = [
            EpisodeSpan(
                category: .paymentProviderFailure, subject: Subject(provider: "paypal"), start: 1 * min, last: 1 * min)
        ]
        var generation = 0
        t.episodes = { (spans, generation) }
        var f = finding(.paymentProviderFailure, at: 1, provider: "paypal")
        t.assign(&f)
        spans[0].last = 30 * min  // the detector saw it hold through minute 30
        t.advance(to: 20 * min)
        XCTAssertEqual(t.resolved.count, 0, "still failing at minute 20")
        // an episode of another cause, or one raised later, keeps nothing open
        spans.append(
            EpisodeSpan(category: .couponReuse, subject: Subject(coupon: "X"), start: 2 * min, last: 90 * min))
        spans.append(
            EpisodeSpan(
                category: .paymentProviderFailure, subject: Subject(provider: "paypal"), start: 60 * min,
                last: 90 * min))
        t.advance(to: 43 * min)
        // a live detector forgets old spans (indices move): the tracker's index follows
        spans.remove(at: 1)
        generation += 1
        t.advance(to: 44 * min)
        XCTAssertEqual(t.resolved.count, 0)
        t.advance(to: 45 * min)
        XCTAssertEqual(t.resolved.map(\.ref.id), [f.incident!.id])
        XCTAssertEqual(t.resolved.first?.time, 45 * min, "a gap after the cause last held")
        XCTAssertEqual(t.resolved.first?.updated, 30 * min)
        // without the detector's episodes: a gap after the finding
        let u = IncidentTracker(gapMinutes: 15)
        var g = finding(.paymentProviderFailure, at: 1, provider: "paypal")
        u.assign(&g)
        u.advance(to: 20 * min)
        XCTAssertEqual(u.resolved.first?.time, 16 * min)
    }

    func testOneCodesFindingsAreOneIncidentWhateverTheCase() {
        let t = IncidentTracker(gapMinutes: 15)
        var fs = [finding(.couponReuse, at: 0, coupon: "leak"), finding(.couponAbuse, at: 2, .p0, coupon: "LEAK")]
        for i in fs.indices { t.assign(&fs[i]) }
        XCTAssertEqual(fs[0].incident?.id, fs[1].incident?.id)
        XCTAssertEqual(fs[1].incident?.root, .couponAbuse)
    }
}
