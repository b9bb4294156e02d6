import XCTest
import PromowatchTestSupport
import PromowatchCore
@testable import PromowatchDetection

/// Snapshots (history across `cron` runs), partial aggregates (`watch --shared`) and the
/// hour-of-day baseline.
extension DetectorTests {
    func keys(_ fs: [Finding]) -> [String] {
        fs.map { "\($0.category.rawValue)|\($0.subject.storage)|\($0.windowStart)" }.sorted()
    }

    /// A leak that starts right after a run boundary is judged with the history of earlier runs.
    func testSnapshotCarriesWarmupBaselineAndFirstSeenAcrossRuns() throws {
        let first = detector()
        background(first, minutes: 0..<90)
        XCTAssertTrue(first.finish().isEmpty)
        let blob = first.snapshot()

        // the next run: new tables, interned in another order
        coupons = SymbolTable()
        providers = SymbolTable()
        _ = coupons.intern("STAFF50")
        _ = providers.intern("adyen")
        let next = detector()
        try next.restore(blob)
        for m in 90..<100 {
            background(next, minutes: m..<(m + 1))
            for k in 0..<30 {
                promo(
                    next, minute(m, k), "STAFF50", user: "new-\(m)-\(k)", ip: "172.16.\(m).\(k)", discount: 40,
                    subtotal: 80)
            }
        }
        let f = next.decided().filter { $0.category == .couponAbuse }
        XCTAssertEqual(f.map(\.subject.coupon), ["STAFF50"])

        // without the snapshot the same run has no warm-up and knows no account: it cannot judge
        coupons = SymbolTable()
        providers = SymbolTable()
        let cold = detector()
        for m in 90..<100 {
            background(cold, minutes: m..<(m + 1))
            for k in 0..<30 {
                promo(
                    cold, minute(m, k), "STAFF50", user: "new-\(m)-\(k)", ip: "172.16.\(m).\(k)", discount: 40,
                    subtotal: 80)
            }
        }
        XCTAssertTrue(cold.decided().filter { $0.category == .couponAbuse }.isEmpty)
    }

    func testAFindingIsNotRepeatedByTheNextRun() throws {
        let d = detector()
        background(d, minutes: 0..<60)
        for m in 60..<63 {
            background(d, minutes: m..<(m + 1))
            for k in 0..<6 { pay(d, minute(m, 20 + k), "stripe", .paymentProviderFailure) }
        }
        XCTAssertEqual(d.decided().filter { $0.category == .paymentProviderFailure }.count, 1)
        let blob = d.snapshot()
        let next = detector()
        try next.restore(blob)
        for m in 63..<66 {
            background(next, minutes: m..<(m + 1))
            for k in 0..<6 { pay(next, minute(m, 20 + k), "stripe", .paymentProviderFailure) }
        }
        // the same episode goes on: not raised again (once confirmed, the switch may be proposed)
        XCTAssertTrue(next.decided().filter { $0.category == .paymentProviderFailure && $0.action == nil }.isEmpty)
    }

    /// A restored detector is the one that stopped: same baseline, same findings after. Pins a
    /// double count: minutes already in the baseline but still held for the windows came back
    /// from a snapshot as late events and were counted again, two minutes of every cron run (a
    /// shop's expected redemptions 40% high for a run every five minutes).
    func testARestoredDetectorCountsEachMinuteOnce() throws {
        func feed(_ d: Detector, _ minutes: Range<Int>) {
            for m in minutes {
                background(d, minutes: m..<(m + 1))
                if m >= 150 { for k in 0..<(m - 148) { promo(d, minute(m, 30 + k), "SPRING", user: "s-\(m)-\(k)") } }
            }
        }
        let whole = detector()
        feed(whole, 0..<140)
        _ = whole.decided()
        let stopped = detector()
        feed(stopped, 0..<140)
        _ = stopped.decided()
        let resumed = detector()
        try resumed.restore(stopped.snapshot())
        XCTAssertEqual(resumed.past.applied, whole.past.applied)
        XCTAssertEqual(resumed.past.minutes, whole.past.minutes)
        XCTAssertEqual(resumed.past.hours.applied, whole.past.hours.applied)
        feed(whole, 140..<170)
        feed(resumed, 140..<170)
        let a = whole.decided().map { "\($0.time) \($0.summary)" }
        let b = resumed.decided().map { "\($0.time) \($0.summary)" }
        XCTAssertFalse(a.isEmpty)
        XCTAssertEqual(a, b)
    }

    func testDamagedSnapshotsAreRefusedNeverCrash() throws {
        let d = detector()
        background(d, minutes: 0..<40)
        for k in 0..<6 { pay(d, minute(40, k), "stripe", .paymentProviderFailure) }
        _ = d.decided()
        let blob = d.snapshot()
        XCTAssertNoThrow(try detector().restore(blob))
        for n in stride(from: 0, to: blob.count, by: max(1, blob.count / 300)) {
            XCTAssertThrowsError(try detector().restore(Array(blob[0..<n])), "prefix of \(n) bytes")
        }
        var rng = SeededRandom.forTest("corrupted snapshot")
        for _ in 0..<200 {
            var bad = blob
            let i = Int.random(in: 0..<bad.count, using: &rng)
            bad[i] ^= UInt8.random(in: 1...255, using: &rng)
            XCTAssertThrowsError(try detector().restore(bad))
        }
        XCTAssertThrowsError(try detector().restore(Array("PWS1 not really".utf8)))
        let used = detector()
        background(used, minutes: 0..<1)
        XCTAssertThrowsError(try used.restore(blob), "restoring over live data would mix two histories")
    }

    /// Two aggregating instances, each with half of the events (split by pod, so each minute has
    /// data from both), send partials to a leader; the leader finds what one detector finds.
    func testPartialsFromTwoInstancesEqualOneDetector() throws {
        func feed(_ d: Detector, _ keep: (Int) -> Bool) {
            var i = 0
            func take() -> Bool {
                defer { i += 1 }
                return keep(i)
            }
            for m in 0..<100 {
                for k in 0..<4 where take() {
                    let u = (m * 7 + k) % 300
                    promo(
                        d, minute(m, k), k % 2 == 0 ? "WELCOME10" : "FREESHIP", user: "u-\(u)",
                        ip: "10.1.\(u / 200).\(u % 200)")
                }
                for k in 0..<4 where take() {
                    pay(
                        d, minute(m, 10 + k), k % 2 == 0 ? "stripe" : "paypal", .paymentSucceeded,
                        card: "card-\((m * 7 + k) % 300)")
                }
                if m >= 90 {
                    for k in 0..<30 where take() {
                        promo(
                            d, minute(m, k), "STAFF50", user: "new-\(m)-\(k)", ip: "172.16.\(m).\(k)", discount: 40,
                            subtotal: 80)
                    }
                }
                if m >= 70 && m < 76 {
                    for k in 0..<6 where take() { pay(d, minute(m, 20 + k), "stripe", .paymentProviderFailure) }
                }
                if m >= 30 && m < 40 {
                    for k in 0..<2 where take() {
                        promo(d, minute(m, 40 + k), "WELCOME10", user: "greedy", ip: "10.9.\(m).\(k)")
                    }
                }
                if m >= 50 && m < 52 {
                    for k in 0..<40 where take() {
                        promo(d, minute(m, k), "BAD\(k)", applied: false, user: "enum", ip: "198.51.100.7")
                    }
                }
            }
        }
        let single = detector()
        feed(single, { _ in true })
        let expected = keys(single.finish())
        XCTAssertTrue(expected.contains { $0.hasPrefix("coupon_abuse|coupon=STAFF50") })
        XCTAssertTrue(expected.contains { $0.hasPrefix("payment_provider_failure|provider=stripe") })
        XCTAssertTrue(expected.contains { $0.hasPrefix("coupon_enumeration") })
        XCTAssertTrue(expected.contains { $0.hasPrefix("coupon_reuse|coupon=WELCOME10 user=greedy") }, "\(expected)")
        // the smallest entry bound: a batch folds as it goes (same findings, input in time order),
        // while an instance that aggregates for a leader never folds what it has not handed over
        var tiny = DetectionConfig()
        tiny.input.batchMinuteEntries = 1
        let bounded = detector(tiny)
        feed(bounded, { _ in true })
        XCTAssertEqual(keys(bounded.finish()), expected)
        XCTAssertLessThan(bounded.buckets.count, 30)

        // each instance interns on its own; the leader too
        var partials: [[UInt8]] = []
        for half in 0..<2 {
            coupons = SymbolTable()
            providers = SymbolTable()
            if half == 1 { _ = coupons.intern("STAFF50") }
            let instance = detector(tiny)
            instance.trackPartials()
            var n = 0
            feed(instance) { i in
                n += 1
                if n % 500 == 0, let p = instance.takePartial() { partials.append(p) }  // flushed as it goes
                return i % 2 == half
            }
            if let p = instance.takePartial() { partials.append(p) }
            XCTAssertNil(instance.takePartial(), "nothing new since the last partial")
        }
        coupons = SymbolTable()
        providers = SymbolTable()
        let leader = detector()
        for p in partials.reversed() { try leader.absorb(p) }  // arrival order does not matter
        XCTAssertEqual(keys(leader.finish()), expected)
    }

    /// A provider that fails a little every night during maintenance: after three nights that
    /// hour's own failure rate is expected, while the same failures at another hour still fire.
    func testHourOfDayBaselineLearnsWhatRecursDaily() throws {
        var d = detector()
        var firing: [Int] = []
        for day in 0..<4 {
            if day > 0 {
                let next = detector()
                try next.restore(d.snapshot())
                d = next
            }
            for m in (day * 1440)..<((day + 1) * 1440) {
                background(d, minutes: m..<(m + 1))
                let hour = (m % 1440) / 60
                if hour == 3 || (day == 3 && hour == 15) {
                    for k in 0..<10 {
                        pay(d, minute(m, 20 + k), "stripe", k < 3 ? .paymentProviderFailure : .paymentSucceeded)
                    }
                }
            }
            // as cron would: a new process each day, history through the snapshot
            let found = d.decided().filter { $0.category == .paymentProviderFailure }
            firing += found.map { Int(($0.time - t0) / 60_000_000_000) }
        }
        let nights = Set(firing.filter { ($0 % 1440) / 60 == 3 }.map { $0 / 1440 })
        XCTAssertEqual(nights, [0, 1, 2], "learned after three nights")
        XCTAssertTrue(
            firing.contains { $0 / 1440 == 3 && ($0 % 1440) / 60 == 15 }, "the same failures at 15:00 are not normal")

        // the profile survives a snapshot
        let next = detector()
        try next.restore(d.snapshot())
        XCTAssertEqual(next.past.hours.minutes[3], d.past.hours.minutes[3])
        XCTAssertTrue(next.past.hours.known(3))
    }
}

extension Subject {
    var storage: String {
        [
            coupon.map { "coupon=" + $0 }, user.map { "user=" + $0 }, ip.map { "ip=" + $0 },
            provider.map { "provider=" + $0 },
        ]
        .compactMap { $0 }.joined(separator: " ")
    }
}
