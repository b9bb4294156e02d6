import PromowatchCore
#if canImport(Glibc)
    import Glibc
#endif

/// What an injected stretch of an adversarial day is, what must be found, and which actions are
/// right and wrong. Written before promowatch reads the day.
public struct AdversarialLabel: Sendable {
    public var name: String
    /// The finding category that must be raised; nil for legitimate traffic.
    public var category: Category?
    public var subject: Subject
    public var start: Int64
    public var end: Int64
    /// How long after `start` a finding still counts as in time (slow burns take longer).
    public var findWithinSeconds: Int
    /// `kind:target` an action must take during the label (empty: no action is required).
    public var rightAction: String?
    /// `kind:target` actions that are wrong during the label (`kind:*` = any target of that kind).
    public var wrongActions: [String]

    public func json() -> String {
        let q = labelQuoted
        return
            "{\"name\": \(q(name)), \"category\": \(category.map { q($0.rawValue) } ?? "null"), \"subject\": \(subject.json), "
            + "\"start\": \(q(EventTime.rfc3339(start))), \"end\": \(q(EventTime.rfc3339(end))), \"find_within_s\": \(findWithinSeconds), "
            + "\"right_action\": \(rightAction.map(q) ?? "null"), \"wrong_actions\": [\(wrongActions.map(q).joined(separator: ", "))]}"
    }
}

/// A day drawn at random for judging decisions on traffic promowatch was not tuned on: shop size
/// (under 1 to 50 checkouts a second), customer base and how much of it history has seen (cold
/// start to two days before), code popularity (Zipf), and a random set of incidents and
/// legitimate look-alikes at random times: private codes leaking, campaigns launched among
/// returning customers, popular codes reused by a few accounts, one provider down, both degrading
/// with staggered onsets, a small shop's slow degradation, Black-Friday surges, night troughs.
public struct AdversarialDay {
    public let seed: UInt64
    public private(set) var labels: [AdversarialLabel] = []
    public private(set) var parameters: [(String, String)] = []
    var g: Generator
    var rng: SplitMix64
    let start: Int64
    let dayStart: Int64
    let hours: Int
    let peak: Double
    let customers: Int
    let codes: [(String, Double)]
    let providers: [String]
    let primaryShare: Double
    let baseFailure: [Double]
    let privateCode: String
    let owners: [String]
    var seen: [Int] = []
    var seenSet = Set<Int>()
    var serial = 0

    public init(seed: UInt64) {
        self.seed = seed
        var r = SplitMix64(seed: seed ^ 0xAD5E_75A1)
        var gc = GeneratorConfig()
        gc.seed = seed
        g = Generator(config: gc)
        // shop size: checkouts a minute at the busiest hour, log-uniform from 5 to 3000 (50/s);
        // history before the labelled day: none (cold start) to two days, less for big shops
        peak = exp(log(5.0) + r.unit() * (log(3000.0) - log(5.0)))
        let prior = peak > 600 ? [0, 3, 6][r.int(3)] : [0, 6, 24, 48][r.int(4)]
        hours = prior + 24
        dayStart = 1_795_132_800 * 1_000_000_000
        start = dayStart - Int64(prior) * 3600 * EventTime.nanosPerSecond
        customers = Int(exp(log(2_000.0) + r.unit() * (log(1_000_000.0) - log(2_000.0))))
        let n = 3 + r.int(10)
        let alpha = 0.6 + r.unit() * 1.2
        let weights = (1...n).map { 1 / pow(Double($0), alpha) }
        let total = weights.reduce(0, +)
        codes = (0..<n).map { ("CODE\($0)-\(r.int(90) + 10)", weights[$0] / total) }
        providers = ["stripe", "paypal"]
        primaryShare = 0.55 + r.unit() * 0.4
        baseFailure = [0.001 + r.unit() * 0.008, 0.001 + r.unit() * 0.008]
        privateCode = "STAFF\(r.int(90) + 10)-\(["ANNA", "BOB", "LI", "OMAR"][r.int(4)])"
        owners = (0..<(1 + r.int(2))).map { "owner-\($0)-\(r.int(1000))" }
        rng = r
        parameters = [
            ("peak_per_minute", String(Int(peak))), ("prior_hours", String(prior)), ("customers", String(customers)),
            ("codes", String(n)), ("zipf", String(Double(Int(alpha * 100)) / 100)),
            ("primary_share", String(Double(Int(primaryShare * 100)) / 100)),
        ]
        plan()
    }

    func at(_ minutes: Int) -> Int64 { dayStart + Int64(minutes) * 60 * EventTime.nanosPerSecond }

    var slots: [Range<Int>] = []
    /// A free stretch of `length` minutes in the labelled day (never overlapping another label).
    mutating func slot(_ length: Int) -> Int? {
        for _ in 0..<50 {
            let s = 60 + rng.int(22 * 60 - length)
            let r = (s - 20)..<(s + length + 20)
            if !slots.contains(where: { $0.overlaps(r) }) {
                slots.append(r)
                return s
            }
        }
        return nil
    }

    mutating func label(
        _ name: String, _ cat: Category?, _ subject: Subject, _ s: Int, _ len: Int, within: Int = 300,
        right: String? = nil, wrong: [String]
    ) {
        labels.append(
            AdversarialLabel(
                name: name, category: cat, subject: subject, start: at(s), end: at(s + len),
                findWithinSeconds: within, rightAction: right, wrongActions: wrong))
    }

    mutating func plan() {
        let top = codes[0].0
        if rng.chance(0.7), let s = slot(20) {
            // with less than a day of account history, new redeemers do not prove a leak (the code
            // may not have been seen private for long either): blocking is right, a P2 "needs a
            // look" is acceptable
            let history = (hours - 24) * 60 + s
            label(
                "private code leaking", .couponAbuse, Subject(coupon: privateCode), s, 20,
                right: history >= 24 * 60 ? "blacklist_coupon:\(privateCode)" : nil,
                wrong: ["disable_provider:*"] + codes.map { "blacklist_coupon:\($0.0)" })
        }
        if rng.chance(0.7), let s = slot(90) {
            // half the launches were previewed: two staff accounts redeemed the code now and then
            // for the two hours before (a private code by its history, a campaign by its redeemers)
            let previewed = rng.chance(0.5)
            label(
                previewed ? "campaign launch after a staff preview" : "campaign launch", nil,
                Subject(coupon: "WINTER\(seed % 90 + 10)"), s, 90,
                wrong: ["blacklist_coupon:WINTER\(seed % 90 + 10)", "disable_provider:*"])
        }
        if rng.chance(0.7), let s = slot(15) {
            // one to two redemptions a minute reach the reuse threshold in 4-8 minutes
            label(
                "popular code reused by a few accounts", .couponReuse, Subject(coupon: top), s, 15, within: 600,
                wrong: ["blacklist_coupon:\(top)", "disable_provider:*"])
        }
        // A provider incident is labelled only where the traffic makes it findable: at least 15
        // provider-side failures expected over it (fewer stay below any sane detector, as five
        // failures in a quarter hour must), and it must be found by the time about 12 are in.
        func within(_ failuresPerMinute: Double) -> Int { max(300, Int(60 * 12 / max(failuresPerMinute, 0.01)) + 60) }
        let r = rng.unit()
        if r < 0.4, let s = slot(20) {
            let pi = rng.int(2)
            let p = providers[pi]
            let other = providers[1 - pi]
            let perMinute = rate(at(s)) * (pi == 0 ? primaryShare : 1 - primaryShare) * 0.4
            // the switch is right only where the other provider carries enough payments to show
            // it is healthy (a couple of dozen in a quarter hour); with less, no switch is owed
            let otherPerMinute = rate(at(s)) * (pi == 0 ? 1 - primaryShare : primaryShare)
            if perMinute * 20 >= 15 {
                label(
                    "\(p) outage", .paymentProviderFailure, Subject(provider: p), s, 20,
                    within: min(within(perMinute), 1200),
                    right: otherPerMinute * 15 >= 25 ? "disable_provider:\(p)" : nil,
                    wrong: ["disable_provider:\(other)", "blacklist_coupon:*"])
            }
        } else if r < 0.7, let s = slot(20) {
            let perMinute = rate(at(s)) * primaryShare * 0.3
            if perMinute * 20 >= 15 {
                label(
                    "both providers degrading, staggered", .paymentProviderFailure, Subject(), s, 20,
                    within: min(within(perMinute), 1200),
                    wrong: ["disable_provider:*", "blacklist_coupon:*"])
            }
        } else if peak < 60, let s = slot(25) {
            let p = providers[1]
            let perMinute = rate(at(s)) * (1 - primaryShare) * 0.12
            if perMinute * 25 >= 15 {
                label(
                    "small shop: \(p) degrading slowly", .paymentProviderFailure, Subject(provider: p), s, 25,
                    within: min(within(perMinute), 1500),
                    wrong: ["disable_provider:\(providers[0])", "blacklist_coupon:*"])
            }
        }
        if rng.chance(0.4), let s = slot(120) {
            label("surge x6", nil, Subject(), s, 120, wrong: ["blacklist_coupon:*", "disable_provider:*"])
        }
    }

    func active(_ name: String, _ t: Int64) -> AdversarialLabel? {
        labels.first { $0.name.hasPrefix(name) && t >= $0.start && t < $0.end }
    }

    /// Checkouts a minute at `t`: time of day (night trough, evening peak), surges.
    func rate(_ t: Int64) -> Double {
        let hour =
            Double(
                ((t - dayStart) % (86400 * EventTime.nanosPerSecond) + 86400 * EventTime.nanosPerSecond)
                    % (86400 * EventTime.nanosPerSecond)) / 3.6e12
        let diurnal = 0.05 + 0.95 * max(0, sin(Double.pi * (hour - 5) / 18))
        return peak * diurnal * (active("surge", t) != nil ? 6 : 1)
    }

    mutating func poisson(_ lambda: Double) -> Int {
        if lambda > 50 {
            let u = max(rng.unit(), 1e-12)
            let v = rng.unit()
            return max(
                0, Int((lambda + lambda.squareRoot() * (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)).rounded()))
        }
        let l = exp(-lambda)
        var k = 0
        var p = 1.0
        repeat {
            k += 1
            p *= rng.unit()
        } while p > l
        return k - 1
    }

    /// A customer: mostly returning (seen before), some new.
    mutating func customer() -> String {
        if !seen.isEmpty && rng.chance(0.75) { return "c\(seen[rng.int(seen.count)])" }
        let id = rng.int(customers)
        if seenSet.insert(id).inserted { seen.append(id) }
        return "c\(id)"
    }

    func ip(_ user: String) -> String {
        let h = ByteHash.hash(Array(user.utf8))
        return "\(11 + Int(h % 190)).\(Int((h >> 8) % 256)).\(Int((h >> 16) % 256)).\(1 + Int((h >> 24) % 254))"
    }

    mutating func code() -> String {
        var u = rng.unit()
        for (c, w) in codes {
            u -= w
            if u < 0 { return c }
        }
        return codes[0].0
    }

    mutating func when(_ t0: Int64) -> Int64 { t0 + Int64(rng.int(60_000_000)) * 1000 }

    mutating func payment(_ t: Int64, provider p: Int, failRate: Double, user: String) -> Record {
        let u = rng.unit()
        let outcome: PaymentOutcome =
            u < failRate
            ? .providerFailure(rng.pick(["timeout", "api_connection_error", "gateway_unavailable"]))
            : u < failRate + 0.06
                ? .decline(rng.pick(["card_declined", "insufficient_funds", "do_not_honor"])) : .success
        return g.paymentRecord(
            t, pod: rng.int(3), provider: providers[p], outcome: outcome, amount: 10 + Double(rng.int(20000)) / 100,
            card: "fp_\(ByteHash.hash(Array(user.utf8)) % 1_000_000)", user: user, ip: ip(user))
    }

    /// Every record of minute `t0`, in time order.
    mutating func minute(_ t0: Int64) -> [Record] {
        var recs: [Record] = []
        let checkouts = poisson(rate(t0))
        for _ in 0..<checkouts {
            let t = when(t0)
            let user = customer()
            if rng.chance(0.35) {
                let applied = !rng.chance(0.07)
                recs.append(
                    g.promotionRecord(
                        t, pod: rng.int(3), code: applied ? code() : "TYPO\(rng.int(50))", applied: applied, user: user,
                        ip: ip(user), subtotal: 20 + Double(rng.int(20000)) / 100,
                        discountShare: 0.05 + Double(rng.int(25)) / 100))
            }
            var p = rng.chance(primaryShare) ? 0 : 1
            var fail = baseFailure[p]
            if let l = active("\(providers[p]) outage", t) {
                fail = 0.3 + Double(seed % 60) / 100 * Double(t - l.start) / Double(l.end - l.start + 1) + 0.1
            }
            if let l = active("both providers degrading", t) {
                let onset = l.start + Int64(p == 0 ? 0 : 60 + Int(seed % 120)) * EventTime.nanosPerSecond
                if t >= onset { fail = 0.15 + 0.5 * Double(t - onset) / Double(l.end - onset) }
            }
            if active("small shop", t) != nil && p == 1 { fail = 0.12 }
            // a provider switched off carries no traffic: none here (promowatch does not act on the log)
            if fail > 1 { fail = 1 }
            if p > 1 { p = 0 }
            recs.append(payment(t, provider: p, failRate: fail, user: user))
        }
        // requests and noise, a few per checkout
        for _ in 0..<min(checkouts, 1000) {
            let t = when(t0)
            recs.append(
                rng.chance(0.5)
                    ? g.requestRecord(t, pod: rng.int(3), latencyMs: 40 + Double(rng.int(300)), timeout: false)
                    : g.noise(t, pod: rng.int(3)))
        }
        // the private code's owners, now and then (every few hours)
        if rng.chance(1.0 / 150) {
            let o = owners[rng.int(owners.count)]
            recs.append(
                g.promotionRecord(
                    when(t0), pod: 0, code: privateCode, applied: true, user: o, ip: ip(o), subtotal: 90,
                    discountShare: 0.5))
        }
        if let l = active("private code leaking", t0) {
            let perMinute = max(8, min(120, rate(t0) * 0.3)) * (0.5 + Double(t0 - l.start) / Double(l.end - l.start))
            for _ in 0..<poisson(perMinute) {
                serial += 1
                let user = "fresh-\(seed % 1000)-\(serial)"
                recs.append(
                    g.promotionRecord(
                        when(t0), pod: rng.int(3), code: privateCode, applied: true, user: user,
                        ip: "\(100 + rng.int(90)).\(rng.int(256)).\(rng.int(256)).\(rng.int(256))",
                        subtotal: 40 + Double(rng.int(20000)) / 100, discountShare: 0.5))
            }
        }
        if let l = labels.first(where: { $0.name == "campaign launch after a staff preview" }),
            let c = l.subject.coupon,
            t0 >= l.start - 7_200 * EventTime.nanosPerSecond, t0 < l.start, rng.chance(1.0 / 20)
        {
            let staff = "staff-\(1 + rng.int(2))"
            recs.append(
                g.promotionRecord(
                    when(t0), pod: 0, code: c, applied: true, user: staff, ip: ip(staff), subtotal: 50,
                    discountShare: 0.2))
        }
        if let l = active("campaign launch", t0), let c = l.subject.coupon {
            let ramp = min(1, Double(t0 - l.start) / 6e11)
            for _ in 0..<poisson(max(3, min(150, rate(t0) * 0.5)) * ramp) {
                // returning customers, each once; some lapsed (not in this history)
                let user = rng.chance(0.6) && !seen.isEmpty ? "c\(seen[rng.int(seen.count)])" : "c\(rng.int(customers))"
                recs.append(
                    g.promotionRecord(
                        when(t0), pod: rng.int(3), code: c, applied: true, user: user, ip: ip(user),
                        subtotal: 30 + Double(rng.int(15000)) / 100, discountShare: 0.1 + Double(rng.int(20)) / 100))
            }
        }
        if active("popular code reused", t0) != nil {
            for k in 0..<(1 + Int(seed % 3)) {
                let user = "reuser-\(k)"
                for _ in 0..<(1 + rng.int(2)) {
                    recs.append(
                        g.promotionRecord(
                            when(t0), pod: rng.int(3), code: codes[0].0, applied: true, user: user,
                            ip: "192.0.2.\(10 + k)",
                            subtotal: 60, discountShare: 0.15))
                }
            }
        }
        recs.sort { $0.time < $1.time }
        return recs
    }

    public mutating func generate(_ emit: (Record) -> Void) {
        for m in 0..<(hours * 60) {
            for r in minute(start + Int64(m) * 60 * EventTime.nanosPerSecond) { emit(r) }
        }
    }
}
