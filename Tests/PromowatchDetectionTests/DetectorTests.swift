import XCTest
import PromowatchCore
@testable import PromowatchDetection

/// Detectors on hand-made event streams.
final class DetectorTests: XCTestCase {
    final class Names: EventTextSource {
        var user: String?
        var ip: String?
        func userText() -> String? { user }
        func ipText() -> String? { ip }
    }

    let t0: Int64 = 1_795_132_800 * 1_000_000_000
    var coupons = SymbolTable()
    var providers = SymbolTable()
    let names = Names()

    func minute(_ m: Int, _ s: Int = 0) -> Int64 { t0 + Int64(m * 60 + s) * 1_000_000_000 }

    func hash(_ s: String) -> UInt64 { ByteHash.hash(Array(s.utf8)) }

    func promo(
        _ d: Detector, _ t: Int64, _ code: String, applied: Bool = true, user: String, ip: String = "10.0.0.1",
        discount: Double = 5, subtotal: Double = 50
    ) {
        var e = Event()
        e.kinds = applied ? .promotionApplied : .promotionRejected
        e.time = t
        e.coupon = coupons.intern(code)
        e.couponHash = hash(code)
        e.userHash = hash(user)
        e.ipHash = hash(ip)
        e.discount = discount
        e.subtotal = subtotal
        names.user = user
        names.ip = ip
        d.add(e, text: names)
    }

    func pay(
        _ d: Detector, _ t: Int64, _ provider: String, _ kinds: EventKinds, card: String = "c", ip: String = "10.0.0.2",
        user: String? = nil, amount: Double = 40
    ) {
        var e = Event()
        e.kinds = kinds
        e.time = t
        e.provider = providers.intern(provider)
        e.cardHash = hash(card)
        e.ipHash = hash(ip)
        e.userHash = hash(user ?? "user-of-" + card)
        e.amount = amount
        names.user = user ?? "user-of-" + card
        names.ip = ip
        d.add(e, text: names)
    }

    func detector(_ c: DetectionConfig = DetectionConfig()) -> Detector {
        Detector(config: c, coupons: coupons, providers: providers)
    }

    /// A detector for a shop that trusts two hours of account history to tell new accounts from
    /// returning ones (`decision.min_account_history_hours` 2; the default asks for a day): tests
    /// that pin what the detector sees in a leak, on a short stream, use it.
    func shortMemoryDetector(fresh: Bool = false) -> Detector {
        var c = DetectionConfig()
        c.decision.minAccountHistoryHours = 2
        return fresh ? freshDetector(c) : detector(c)
    }

    /// A detector over new symbol tables (a test that runs several days in one).
    func freshDetector(_ c: DetectionConfig = DetectionConfig()) -> Detector {
        coupons = SymbolTable()
        providers = SymbolTable()
        return detector(c)
    }

    /// An hour of ordinary traffic: redemptions of two codes by returning customers, payments.
    func background(_ d: Detector, minutes: Range<Int>, scale: Int = 1) {
        for m in minutes {
            for k in 0..<(4 * scale) {
                let u = (m * 7 + k) % 300
                promo(
                    d, minute(m, k), k % 2 == 0 ? "WELCOME10" : "FREESHIP", user: "u-\(u)",
                    ip: "10.1.\(u / 200).\(u % 200)")
                pay(
                    d, minute(m, 10 + k), k % 2 == 0 ? "stripe" : "paypal", .paymentSucceeded,
                    card: "card-\((m * 7 + k) % 300)")
            }
        }
    }

    /// Ordinary traffic through `minutes`, and stripe failing six customers a minute on the
    /// provider's side: each failure another card and account, as an outage fails whoever pays.
    func stripeOutage(_ d: Detector, minutes: Range<Int>) {
        for m in minutes {
            background(d, minutes: m..<(m + 1))
            for k in 0..<6 { pay(d, minute(m, 20 + k), "stripe", .paymentProviderFailure, card: "o-\(m)-\(k)") }
        }
    }

    /// A code its owners redeemed now and then (every `ownerEvery` minutes from `ownersFrom`) over
    /// `start` minutes of ordinary traffic, then `perMinute` redeemers a minute for `minutes`,
    /// named by `redeemer(minute, k)`: a leak or a launch. Its coupon-abuse findings, decided.
    func privateCodeRedeemed(
        _ d: Detector, _ code: String, start: Int, minutes: Int, perMinute: Int, ownersFrom: Int = 0,
        ownerEvery: Int = 20, owner: (Int) -> String, discount: Double = 5, subtotal: Double = 50,
        redeemer: (Int, Int) -> String
    ) -> [Finding] {
        background(d, minutes: 0..<start)
        for m in stride(from: ownersFrom, to: start, by: ownerEvery) { promo(d, minute(m, 30), code, user: owner(m)) }
        for m in start..<(start + minutes) {
            background(d, minutes: m..<(m + 1))
            for k in 0..<perMinute {
                promo(
                    d, minute(m, 5 + k * (50 / perMinute)), code, user: redeemer(m, k), ip: "198.51.\(m % 200).\(k)",
                    discount: discount, subtotal: subtotal)
            }
        }
        return d.decided().filter { $0.category == .couponAbuse && $0.subject.coupon == code }
    }

    /// Redemptions of a never-seen code by accounts new to the shop, after `history` minutes of
    /// ordinary traffic.
    func newCodeByNewAccounts(history: Int) -> [Finding] {
        let d = detector()
        background(d, minutes: 0..<history)
        for m in history..<(history + 10) {
            background(d, minutes: m..<(m + 1))
            for k in 0..<30 {
                promo(
                    d, minute(m, k), "STAFF50", user: "new-\(m)-\(k)", ip: "172.16.\(m % 250).\(k)", discount: 40,
                    subtotal: 80)
            }
        }
        return d.decided().filter { $0.category == .couponAbuse }
    }

    func testLeakedCodeIsCouponAbuseWithABlacklistAction() {
        let f = newCodeByNewAccounts(history: 1500)
        XCTAssertEqual(f.count, 1, "one finding per episode")
        XCTAssertEqual(f.first?.subject.coupon, "STAFF50")
        XCTAssertEqual(f.first?.action?.kind, .blacklistCoupon, "a day of account history: new accounts are new")
        XCTAssertEqual(f.first?.action?.applied, false)
        XCTAssertLessThanOrEqual(f.first!.time, minute(1502))
    }

    /// A private code (two accounts for two hours) redeemed by a dozen new accounts in five
    /// minutes on a small shop: its distinct users are the evidence, long before 20 redemptions.
    /// (Pins a leak found seven minutes late on a 45-checkouts-a-minute adversarial day.) Blocked
    /// where the shop trusts its two hours of account history; with the default day asked for, the
    /// same redeemers may be yesterday's customers: a P2 that needs a look (pins seed 521647738289,
    /// a campaign previewed by staff and launched at night, blacklisted as a leak on 9 hours of
    /// history because nine of its first ten redeemers were not in them).
    func testAPrivateCodeLeakingOnASmallShopIsFoundOnItsDistinctUsers() {
        func run(_ d: Detector) -> [Finding] {
            privateCodeRedeemed(
                d, "STAFF47-BOB", start: 150, minutes: 6, perMinute: 2, owner: { "owner-\($0 % 40 == 0 ? 1 : 2)" },
                redeemer: { "fresh-\($0)-\($1)" })
        }
        let f = run(shortMemoryDetector())
        XCTAssertEqual(f.count, 1, f.map(\.summary).joined(separator: "\n"))
        XCTAssertLessThan(f.first!.evidence.observed, 20, "found before the ordinary minimum of 20 redemptions")
        XCTAssertEqual(f.first?.action?.kind, .blacklistCoupon, "two hours of history trusted: surely new is new")
        XCTAssertTrue(f.first?.summary.contains("a code of 2 account(s)") ?? false, f.first?.summary ?? "")
        let cautious = run(freshDetector())
        XCTAssertEqual(cautious.count, 1, cautious.map(\.summary).joined(separator: "\n"))
        XCTAssertNil(cautious.first?.action)
        XCTAssertEqual(cautious.first?.severity, .p2)
        XCTAssertTrue(
            cautious.first?.summary.hasSuffix(
                "not blocked: only 2 h of account history, too little to tell new accounts from returning ones: "
                    + "a campaign or a leak, needs a look") ?? false, cautious.first?.summary ?? "")
    }

    /// A campaign previewed by two staff accounts for two hours, then launched to the shop's
    /// returning customers: a private code by its history, a launch by its redeemers. Not blocked.
    func testACampaignPreviewedByStaffThenLaunchedIsNotALeak() {
        let d = detector()
        background(d, minutes: 0..<1500)
        for m in stride(from: 1380, to: 1500, by: 20) {
            promo(d, minute(m, 30), "WINTER30", user: "staff-\(m % 40 == 0 ? 1 : 2)")
        }
        for m in 1500..<1510 {
            background(d, minutes: m..<(m + 1))
            for k in 0..<6 {
                let u = (m * 13 + k * 7) % 300  // customers the background has seen all day
                promo(d, minute(m, 3 + k * 9), "WINTER30", user: "u-\(u)", ip: "10.1.\(u / 200).\(u % 200)")
            }
        }
        let f = d.decided().filter { $0.category == .couponAbuse && $0.subject.coupon == "WINTER30" }
        XCTAssertFalse(f.isEmpty, "the spike is still reported")
        XCTAssertTrue(f.allSatisfy { $0.action == nil && $0.severity == .p2 }, f.map(\.summary).joined(separator: "\n"))
        XCTAssertTrue(f.first?.summary.contains("a launch, needs a look") ?? false, f.first?.summary ?? "")
    }

    /// Campaign or leak on a cold start: with an hour and a half of history most returning
    /// customers look new, so the same stream is a P2 that needs a look, never a P0 blacklist.
    func testNewCodeOnAColdStartNeedsALook() {
        let f = newCodeByNewAccounts(history: 90)
        XCTAssertEqual(f.count, 1)
        XCTAssertNil(f.first?.action)
        XCTAssertEqual(f.first?.severity, .p2)
        XCTAssertTrue(f.first?.summary.contains("1 h of account history") ?? false, f.first?.summary ?? "")
    }

    func testAllowlistedCodeProposesNoActionAndCampaignsAreQuiet() {
        func run(_ c: DetectionConfig) -> [Finding] {
            let d = detector(c)
            background(d, minutes: 0..<90)
            for m in 90..<100 { for k in 0..<30 { promo(d, minute(m, k), "STAFF50", user: "new-\(m)-\(k)") } }
            return d.decided().filter { $0.category == .couponAbuse }
        }
        var c = DetectionConfig()
        c.decision.minAccountHistoryHours = 0  // only the allowlist stands between the finding and its action
        XCTAssertEqual(run(c).first?.action?.kind, .blacklistCoupon)
        c.decision.allowlist = ["staff50"]
        let f = run(c)
        XCTAssertEqual(f.count, 1)
        XCTAssertNil(f.first?.action, "allowlisted: found, never blacklisted")

        var c2 = DetectionConfig()
        c2.decision.campaigns = ["STAFF50"]
        let d2 = detector(c2)
        background(d2, minutes: 0..<90)
        for m in 90..<100 { for k in 0..<30 { promo(d2, minute(m, k), "STAFF50", user: "new-\(m)-\(k)") } }
        XCTAssertTrue(d2.decided().filter { $0.category == .couponAbuse }.isEmpty)
    }

    func testSharedIPIsNotReuse() {
        let d = detector()
        for k in 0..<40 { promo(d, minute(10, k), "WELCOME10", user: "office-\(k)", ip: "198.18.0.1") }
        for k in 0..<40 { promo(d, minute(20, k), "WELCOME10", user: "same-person", ip: "198.18.0.2") }
        let f = d.decided().filter { $0.category == .couponReuse }
        XCTAssertFalse(f.contains { $0.subject.ip == "198.18.0.1" }, "many accounts behind one ip: shared, not reuse")
        XCTAssertTrue(f.contains { $0.subject.ip == "198.18.0.2" })
        XCTAssertTrue(f.contains { $0.subject.user == "same-person" })
    }

    func testShopWideTrafficSpikeIsQuiet() {
        let d = detector()
        background(d, minutes: 0..<90)
        background(d, minutes: 90..<150, scale: 8)  // Black Friday: everything x8
        XCTAssertEqual(d.decided().map(\.summary), [])
    }

    func testOrderDoesNotMatter() {
        func run(_ reversed: Bool) -> [String] {
            coupons = SymbolTable()
            providers = SymbolTable()
            let d = detector()
            var plan: [() -> Void] = []
            for m in 0..<90 { plan.append { [self] in background(d, minutes: m..<(m + 1)) } }
            for m in 90..<100 {
                plan.append { [self] in for k in 0..<30 { promo(d, minute(m, k), "LEAK", user: "n-\(m)-\(k)") } }
            }
            for m in 100..<110 {
                plan.append { [self] in for k in 0..<10 { pay(d, minute(m, k), "stripe", .paymentProviderFailure) } }
            }
            for step in reversed ? plan.reversed() : plan { step() }
            return d.decided().map {
                "\($0.category.rawValue) \($0.subject.coupon ?? $0.subject.provider ?? "") \($0.time)"
            }
        }
        let forward = run(false)
        XCTAssertFalse(forward.isEmpty)
        XCTAssertEqual(forward, run(true))
    }

    func testProviderOutageSwitchesOnlyToAHealthyProvider() {
        let d = detector()
        background(d, minutes: 0..<60)
        stripeOutage(d, minutes: 60..<70)
        let f = d.decided().filter { $0.category == .paymentProviderFailure }
        XCTAssertEqual(f.first?.subject.provider, "stripe")
        XCTAssertNil(f.first?.action, "raised at once; the switch waits for confirmation")
        let switched = f.first { $0.action != nil }
        XCTAssertEqual(switched?.action?.kind, .disableProvider)
        XCTAssertEqual(switched?.action?.target, "stripe")
        XCTAssertEqual(switched?.severity, .p1)
        XCTAssertEqual(
            switched.map { ($0.time - f.first!.time) / 60_000_000_000 },
            Int64(DetectionConfig().providerFailure.confirmMinutes),
            "confirm_minutes more minutes of failures, fallback healthy")

        // both failing: P0, no provider in the subject, nowhere to switch
        coupons = SymbolTable()
        providers = SymbolTable()
        let both = detector()
        background(both, minutes: 0..<60)
        for m in 60..<70 {
            for k in 0..<6 {
                pay(both, minute(m, 20 + k), "stripe", .paymentProviderFailure)
                pay(both, minute(m, 30 + k), "paypal", .paymentProviderFailure)
            }
        }
        let g = both.decided().filter { $0.category == .paymentProviderFailure }
        XCTAssertTrue(g.contains { $0.severity == .p0 && $0.subject.provider == nil && $0.action == nil })
        XCTAssertTrue(g.allSatisfy { $0.action == nil }, "no switch while every provider fails")
    }

    /// An outage of 40 minutes raises its findings at the start and none after, while it lasts: the
    /// episode's span says how long its cause held, so its incident is not resolved mid-outage.
    func testAnEpisodeSpansAsLongAsItsCauseHolds() {
        let d = detector()
        background(d, minutes: 0..<60)
        stripeOutage(d, minutes: 60..<100)
        background(d, minutes: 100..<140)
        let f = d.finish().filter { $0.category == .paymentProviderFailure }
        XCTAssertLessThan(f.last!.time, minute(75), "no finding repeated while the outage lasts")
        let spans = d.episodeSpans.filter { $0.category == .paymentProviderFailure }
        XCTAssertEqual(spans.map(\.start), f.map(\.time), "one span per finding, from its time")
        let last = spans.map(\.last).max()!
        XCTAssertGreaterThanOrEqual(last, minute(100), "held through the outage's last minute")
        XCTAssertLessThanOrEqual(last, minute(100 + DetectionConfig().providerFailure.windowMinutes))
        XCTAssertTrue(spans.allSatisfy { $0.subject.provider == "stripe" })
    }

    func testDeclinesNeverCountAsProviderFailuresAndCardTestingNeverSwitches() {
        let d = detector()
        background(d, minutes: 0..<60)
        for m in 60..<70 {
            background(d, minutes: m..<(m + 1))
            for k in 0..<8 {
                pay(
                    d, minute(m, 20 + k), "stripe", .paymentDeclined, card: "test-\(m)-\(k)", ip: "198.51.100.9",
                    amount: 1)
            }
        }
        let f = d.decided()
        XCTAssertFalse(f.contains { $0.category == .paymentProviderFailure })
        XCTAssertTrue(f.contains { $0.category == .cardTesting && $0.subject.ip == "198.51.100.9" })
        XCTAssertTrue(f.filter { $0.category == .cardTesting }.allSatisfy { $0.action == nil })
    }

    func testReuseEnumerationStackingCompensationLatencyDatabase() {
        let d = detector()
        background(d, minutes: 0..<60)
        for k in 0..<12 { promo(d, minute(61, k), "WELCOME10", user: "u-greedy", ip: "192.0.2.1") }
        for k in 0..<40 { promo(d, minute(70, k), "GUESS\(k)", applied: false, user: "bot", ip: "203.0.113.5") }
        for k in 0..<4 { promo(d, minute(80, k), "FREESHIP", user: "u-\(k)", discount: 60, subtotal: 60) }
        for k in 0..<12 {
            var e = Event()
            e.kinds = .compensationFailure
            e.time = minute(90, k)
            d.add(e, text: names)
        }
        for k in 0..<80 {
            var e = Event()
            e.kinds = .request
            e.time = minute(100, k % 60)
            e.latencyMs = k < 10 ? 3500 : 90
            d.add(e, text: names)
        }
        var db = Event()
        db.kinds = .dbSaturation
        db.time = minute(110)
        d.add(db, text: names)
        let f = d.decided()
        let cats = Set(f.map(\.category))
        XCTAssertTrue(
            f.contains {
                $0.category == .couponReuse && $0.subject.user == "u-greedy" && $0.subject.coupon == "WELCOME10"
            })
        XCTAssertTrue(f.contains { $0.category == .couponEnumeration && $0.subject.ip == "203.0.113.5" })
        XCTAssertTrue(f.contains { $0.category == .discountStacking && $0.subject.coupon == "FREESHIP" })
        XCTAssertTrue(cats.contains(.compensationFailure))
        XCTAssertTrue(f.contains { $0.category == .latency && $0.severity == .p1 })
        XCTAssertTrue(f.contains { $0.category == .dbSaturation && $0.severity == .p1 })
        XCTAssertTrue(
            f.filter { $0.category == .couponEnumeration || $0.category == .latency || $0.category == .dbSaturation }
                .allSatisfy { $0.action == nil })
    }

    func testFewFailuresAtNightAreQuiet() {
        let d = detector()
        for m in 0..<60 { pay(d, minute(m), "stripe", .paymentSucceeded) }
        for k in 0..<4 { pay(d, minute(61, k), "stripe", .paymentProviderFailure) }
        XCTAssertTrue(d.decided().isEmpty)
    }

    /// Streaming: an event older than the baseline horizon goes through a throwaway bucket into
    /// the baseline (the per-event path holds the minute's bucket unretained; the throwaway one
    /// must live until it is folded).
    func testALateEventIsFoldedIntoTheBaselineAndCounted() {
        let d = detector()
        d.streaming = true
        for m in 0..<200 {
            pay(d, minute(m), "stripe", .paymentSucceeded)
            _ = d.evaluateLatest()
        }
        XCTAssertGreaterThan(d.pastUpTo, 10, "old minutes were folded")
        let applied = d.past.applied
        promo(d, minute(3, 7), "LATE10", user: "u-late")
        pay(d, minute(4, 2), "stripe", .paymentProviderFailure)
        XCTAssertEqual(d.lateEvents, 2)
        XCTAssertEqual(d.past.applied, applied + 1, "the late promotion is in the baseline")
        promo(d, minute(200, 3), "NOW10", user: "u-now")
        XCTAssertEqual(d.lateEvents, 2, "a current event is not late")
    }

    func testStreamingEmitsAsSoonAsTheWindowTrips() {
        let d = detector()
        d.streaming = true
        for m in 0..<30 {
            pay(d, minute(m), "stripe", .paymentSucceeded)
            pay(d, minute(m, 1), "paypal", .paymentSucceeded)
            _ = d.evaluateLatest()
        }
        var got: [Finding] = []
        for k in 0..<12 {
            pay(d, minute(30, k), "stripe", .paymentProviderFailure)
            got += d.evaluateLatest()
            if !got.isEmpty {
                XCTAssertGreaterThanOrEqual(k + 1, DetectionConfig().providerFailure.minFailures, "needs min_failures")
                break
            }
        }
        let n = DetectionConfig().providerFailure.minFailures
        XCTAssertEqual(got.first?.subject.provider, "stripe")
        XCTAssertEqual(
            got.first?.time, minute(30, n - 1), "raised at the event time of the failure that makes min_failures")
    }
}
