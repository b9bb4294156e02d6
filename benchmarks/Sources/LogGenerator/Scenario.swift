import PromowatchCore

/// What an injected stretch of traffic is, and what detection should say about it.
public struct ScenarioLabel: Sendable {
    public var name: String
    /// The finding category expected; nil for a legitimate spike (which must propose no action).
    public var category: Category?
    public var subject: Subject
    public var start: Int64
    public var end: Int64
    public var legit: Bool { category == nil }

    public func json() -> String {
        "{\"name\": \(labelQuoted(name)), \"category\": \(category.map { labelQuoted($0.rawValue) } ?? "null"), \"subject\": \(subject.json), "
            + "\"start\": \(labelQuoted(EventTime.rfc3339(start))), \"end\": \(labelQuoted(EventTime.rfc3339(end))), \"legit\": \(legit)}"
    }
}

/// A string as a JSON literal, for label files.
func labelQuoted(_ s: String) -> String { JSONString.quoted(s) }

/// A day of checkout traffic with incidents and legitimate spikes injected, and their labels.
///
/// Background: traffic follows the time of day (quiet at night, busiest in the evening) and grows
/// slowly over the day; a pool of returning customers; promotion codes with stable shares and
/// ordinary discounts; ~88% of payments succeed, ~8% are declined, ~1% fail on the provider side;
/// request latencies around 80 ms with a p99 well under a second; rare failed compensations.
public struct ScenarioConfig: Sendable {
    public var seed: UInt64 = 7
    public var start: Int64 = 1_795_132_800 * 1_000_000_000  // 2026-11-20T00:00:00Z
    public var hours = 24
    /// Ordinary traffic (no incidents, no spikes) for this many hours before `start`: the account
    /// history a long-running deployment has when the day begins.
    public var priorHours = 0
    /// Background records per minute at the busiest time of day.
    public var peakPerMinute = 120.0
    public var pods = 3
    /// Inject the incidents (off: background and legitimate spikes only).
    public var incidents = true
    public var legitSpikes = true
    /// An enumeration attack spread over the whole day: this many rejected attempts, each with
    /// a code, user and ip never seen before (for the bounded-memory benchmark).
    public var attackDistinct = 0
    /// Inject only the incidents with these names (empty: all).
    public var onlyIncidents: Set<String> = []
    /// Write promotions the way a stock go-kratos checkout does (`KratosService`): explicit lines
    /// and middleware request lines with trace ids.
    public var kratosService = false
    public init() {}
}

public struct ScenarioGenerator {
    public let config: ScenarioConfig
    var g: Generator
    var rng: SplitMix64
    public private(set) var labels: [ScenarioLabel] = []
    /// Customers who have already appeared (returning customers are drawn from here).
    var seenUsers: [Int] = []
    var seenSet = Set<Int>()

    static let codes: [(String, Double)] = [
        ("WELCOME10", 0.30), ("FREESHIP", 0.25), ("SPRING15", 0.15), ("VIP25", 0.10),
        ("SAVE5", 0.10), ("LOYALTY_GOLD", 0.05), ("BF2026", 0.05),
    ]
    public static let leakedCode = "STAFF50-ANNA"
    public static let campaignCode = "WINTER30"

    public init(config: ScenarioConfig) {
        self.config = config
        var gc = GeneratorConfig()
        gc.seed = config.seed
        gc.pods = config.pods
        g = Generator(config: gc)
        rng = SplitMix64(seed: config.seed ^ 0x5CE7_A210)
        if config.incidents { planIncidents() }
        if config.legitSpikes { planLegit() }
    }

    func at(_ h: Int, _ m: Int) -> Int64 { config.start + Int64(h * 3600 + m * 60) * EventTime.nanosPerSecond }

    mutating func planIncidents() {
        labels += [
            ScenarioLabel(
                name: "leaked employee code", category: .couponAbuse,
                subject: Subject(coupon: ScenarioGenerator.leakedCode), start: at(9, 5), end: at(9, 35)),
            ScenarioLabel(
                name: "one user reusing a code", category: .couponReuse,
                subject: Subject(coupon: "WELCOME10", user: "u-777"), start: at(10, 10), end: at(10, 20)),
            ScenarioLabel(
                name: "code enumeration from one ip", category: .couponEnumeration,
                subject: Subject(ip: "203.0.113.66"), start: at(11, 10), end: at(11, 20)),
            ScenarioLabel(
                name: "discount >= subtotal", category: .discountStacking, subject: Subject(coupon: "VIP25"),
                start: at(12, 10), end: at(12, 25)),
            ScenarioLabel(
                name: "stripe outage", category: .paymentProviderFailure, subject: Subject(provider: "stripe"),
                start: at(13, 10), end: at(13, 30)),
            ScenarioLabel(
                name: "every provider down", category: .paymentProviderFailure, subject: Subject(), start: at(14, 10),
                end: at(14, 20)),
            ScenarioLabel(
                name: "card testing from one ip", category: .cardTesting, subject: Subject(ip: "198.51.100.23"),
                start: at(15, 10), end: at(15, 20)),
            ScenarioLabel(
                name: "failed compensations", category: .compensationFailure, subject: Subject(), start: at(16, 10),
                end: at(16, 20)),
            ScenarioLabel(
                name: "slow checkout", category: .latency, subject: Subject(), start: at(21, 40), end: at(21, 55)),
            ScenarioLabel(
                name: "database connections exhausted", category: .dbSaturation, subject: Subject(), start: at(22, 40),
                end: at(22, 45)),
        ].filter {
            $0.end <= at(config.hours, 0) && (config.onlyIncidents.isEmpty || config.onlyIncidents.contains($0.name))
        }
    }

    mutating func planLegit() {
        labels += [
            ScenarioLabel(
                name: "a few failures at 3 a.m.", category: nil, subject: Subject(provider: "stripe"), start: at(3, 0),
                end: at(3, 5)),
            ScenarioLabel(name: "Black Friday x8", category: nil, subject: Subject(), start: at(17, 0), end: at(19, 0)),
            ScenarioLabel(
                name: "new campaign ramping up", category: nil,
                subject: Subject(coupon: ScenarioGenerator.campaignCode), start: at(19, 30), end: at(21, 0)),
        ].filter { $0.end <= at(config.hours, 0) }
    }

    func active(_ name: String, _ t: Int64) -> Bool {
        labels.contains { $0.name == name && t >= $0.start && t < $0.end }
    }

    // MARK: traffic model

    /// Background records per minute at time t: time of day, slow growth, Black Friday.
    func rate(_ t: Int64) -> Double {
        let day = 86400 * EventTime.nanosPerSecond
        let hour = Double(((t - config.start) % day + day) % day) / 3.6e12
        let diurnal = 0.12 + 0.88 * max(0, sin(Double.pi * (hour - 5) / 18))  // 05:00 low → 14:00 high → 23:00 low
        let growth =
            1 + 0.2 * Double(max(0, t - config.start)) / Double(Int64(config.hours) * 3600 * EventTime.nanosPerSecond)
        let friday = active("Black Friday x8", t) ? 8.0 : 1.0
        return config.peakPerMinute * diurnal * growth * friday
    }

    mutating func poisson(_ lambda: Double) -> Int {
        if lambda > 50 { return max(0, Int((lambda + lambda.squareRoot() * gaussian()).rounded())) }
        let l = exp(-lambda)
        var k = 0
        var p = 1.0
        repeat {
            k += 1
            p *= rng.unit()
        } while p > l
        return k - 1
    }

    mutating func gaussian() -> Double {
        let u = max(rng.unit(), 1e-12)
        let v = rng.unit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    mutating func customer() -> String {
        // returning customers most of the time, new ones now and then
        if !seenUsers.isEmpty && rng.chance(0.7) { return "u-\(seenUsers[rng.int(seenUsers.count)])" }
        let id = rng.int(40_000)
        if seenSet.insert(id).inserted { seenUsers.append(id) }
        return "u-\(id)"
    }

    var returningCursor = 0
    var attackSerial = 0
    var attackMinute = 0
    /// A customer seen before, each only once (customers apply a campaign code once), going
    /// through the customers in a scrambled order.
    mutating func returningCustomer() -> String {
        guard !seenUsers.isEmpty else { return customer() }
        let k = (returningCursor &* 7919) % seenUsers.count
        returningCursor += 1
        return "u-\(seenUsers[k])"
    }

    mutating func ipFor(_ user: String) -> String {
        let h = ByteHash.hash(Array(user.utf8))
        return "\(10 + Int(h % 200)).\(Int((h >> 8) % 256)).\(Int((h >> 16) % 256)).\(1 + Int((h >> 24) % 254))"
    }

    mutating func pickCode() -> String {
        var u = rng.unit()
        for (c, share) in ScenarioGenerator.codes {
            u -= share
            if u < 0 { return c }
        }
        return ScenarioGenerator.codes[0].0
    }

    // MARK: one minute

    /// A random instant within the minute starting at `t0`.
    mutating func when(_ t0: Int64) -> Int64 { t0 + Int64(rng.int(60_000_000)) * 1000 }

    /// Every record of minute `t0`, in time order.
    mutating func minute(_ t0: Int64) -> [Record] {
        var recs: [Record] = []
        let n = poisson(rate(t0))
        for _ in 0..<n { recs.append(background(when(t0))) }
        // the leaked code's rare legitimate use by its owner (every few hours)
        if rng.chance(1.0 / 180) {
            recs.append(
                g.promotionRecord(
                    when(t0), pod: rng.int(config.pods), code: ScenarioGenerator.leakedCode, applied: true,
                    user: "u-4242", ip: "10.9.8.7", subtotal: 120, discountShare: 0.5))
        }
        injectLegit(t0, &recs)
        if config.attackDistinct > 0 {
            let perMinute =
                config.attackDistinct / (config.hours * 60)
                + (attackMinute < config.attackDistinct % (config.hours * 60) ? 1 : 0)
            attackMinute += 1
            for _ in 0..<perMinute {
                attackSerial += 1
                let n = attackSerial
                recs.append(
                    g.promotionRecord(
                        when(t0), pod: rng.int(config.pods), code: "ENUM\(n)X\(rng.next() & 0xFFFF)", applied: false,
                        user: "bot-\(n)", ip: "\(1 + n >> 24 & 0x7F).\(n >> 16 & 0xFF).\(n >> 8 & 0xFF).\(n & 0xFF)",
                        subtotal: 30, discountShare: 0))
            }
        }
        if config.incidents { injectIncidents(t0, &recs) }
        recs.sort { $0.time < $1.time }
        return recs
    }

    mutating func background(_ t: Int64) -> Record {
        let pod = rng.int(config.pods)
        let u = rng.unit()
        if u < 0.05 {
            let user = customer()
            let applied = !rng.chance(0.08)
            let code = applied ? pickCode() : rng.pick(["WELCOM10", "FREESHIPP", "SPRING51", "VIP52", "EXPIRED2025"])
            return g.promotionRecord(
                t, pod: pod, code: code, applied: applied, user: user, ip: ipFor(user),
                subtotal: 20 + Double(rng.int(20000)) / 100, discountShare: 0.05 + Double(rng.int(20)) / 100)
        }
        if u < 0.12 {
            let user = customer()
            let r = rng.unit()
            let outcome: PaymentOutcome =
                r < 0.90
                ? .success
                : (r < 0.99
                    ? .decline(rng.pick(Generator.declineCodes)) : .providerFailure(rng.pick(Generator.providerCodes)))
            return g.paymentRecord(
                t, pod: pod, provider: rng.chance(0.6) ? "stripe" : "paypal", outcome: outcome,
                amount: 10 + Double(rng.int(30000)) / 100, card: "fp_\(ByteHash.hash(Array(user.utf8)) % 100_000)",
                user: user, ip: ipFor(user))
        }
        if u < 0.30 {
            // lognormal latencies: median 80 ms, p99 around 600 ms
            let ms = 80 * exp(0.85 * gaussian())
            return g.requestRecord(t, pod: pod, latencyMs: min(ms, 900), timeout: false)
        }
        if u < 0.30002 { return g.compensationRecord(t, pod: pod) }
        return g.noise(t, pod: pod)
    }

    mutating func injectLegit(_ t0: Int64, _ recs: inout [Record]) {
        guard config.legitSpikes else { return }
        if active("new campaign ramping up", t0) {
            let minutes = Double(t0 - at(19, 30)) / 6e10
            let perMinute = min(150, 5 * minutes)
            for _ in 0..<poisson(perMinute) {
                let user = returningCustomer()
                recs.append(
                    g.promotionRecord(
                        when(t0), pod: rng.int(config.pods), code: ScenarioGenerator.campaignCode, applied: true,
                        user: user, ip: ipFor(user), subtotal: 30 + Double(rng.int(15000)) / 100, discountShare: 0.3))
            }
        }
        if active("a few failures at 3 a.m.", t0), rng.chance(0.8) {
            let user = customer()
            recs.append(
                g.paymentRecord(
                    when(t0), pod: rng.int(config.pods), provider: "stripe",
                    outcome: .providerFailure("api_connection_error"),
                    amount: 50, card: "fp_night", user: user, ip: ipFor(user)))
        }
    }

    mutating func injectIncidents(_ t0: Int64, _ recs: inout [Record]) {
        let pod = rng.int(config.pods)
        if active("leaked employee code", t0) {
            for _ in 0..<poisson(40) {
                let user = "new-\(rng.next() & 0xFFFFFF)"
                recs.append(
                    g.promotionRecord(
                        when(t0), pod: rng.int(config.pods), code: ScenarioGenerator.leakedCode, applied: true,
                        user: user, ip: "\(100 + rng.int(100)).\(rng.int(256)).\(rng.int(256)).\(rng.int(256))",
                        subtotal: 60 + Double(rng.int(20000)) / 100, discountShare: 0.5))
            }
        }
        if active("one user reusing a code", t0) {
            for _ in 0..<3 {
                recs.append(
                    g.promotionRecord(
                        when(t0), pod: pod, code: "WELCOME10", applied: true, user: "u-777", ip: "192.0.2.77",
                        subtotal: 80, discountShare: 0.1))
            }
        }
        if active("code enumeration from one ip", t0) {
            for _ in 0..<20 {
                let code = String((0..<8).map { _ in Character(UnicodeScalar(UInt8(65 + rng.int(26)))) })
                recs.append(
                    g.promotionRecord(
                        when(t0), pod: pod, code: code, applied: false, user: "u-\(rng.int(40_000))",
                        ip: "203.0.113.66", subtotal: 40, discountShare: 0))
            }
        }
        if active("discount >= subtotal", t0) {
            let user = customer()
            recs.append(
                g.promotionRecord(
                    when(t0), pod: pod, code: "VIP25", applied: true, user: user, ip: ipFor(user), subtotal: 35,
                    discountShare: 1.0))
        }
        if active("stripe outage", t0) || active("every provider down", t0) {
            let both = active("every provider down", t0)
            for _ in 0..<poisson(both ? 40 : 25) {
                let user = customer()
                let provider = both ? (rng.chance(0.5) ? "stripe" : "paypal") : "stripe"
                let failed = rng.chance(0.8)
                recs.append(
                    g.paymentRecord(
                        when(t0), pod: rng.int(config.pods), provider: provider,
                        outcome: failed
                            ? .providerFailure(
                                rng.pick(["timeout", "gateway_unavailable", "context deadline exceeded"])) : .success,
                        amount: 20 + Double(rng.int(10000)) / 100, card: "fp_\(rng.int(100_000))", user: user,
                        ip: ipFor(user)))
            }
        }
        if active("card testing from one ip", t0) {
            for _ in 0..<6 {
                recs.append(
                    g.paymentRecord(
                        when(t0), pod: pod, provider: rng.chance(0.5) ? "stripe" : "paypal",
                        outcome: .decline(rng.pick(["card_declined", "incorrect_cvc", "do_not_honor"])),
                        amount: 1, card: "fp_test_\(rng.next() & 0xFFFFF)", user: "guest", ip: "198.51.100.23"))
            }
        }
        if active("failed compensations", t0) {
            for _ in 0..<poisson(4) { recs.append(g.compensationRecord(when(t0), pod: rng.int(config.pods))) }
        }
        if active("slow checkout", t0) {
            for _ in 0..<poisson(30) {
                recs.append(
                    g.requestRecord(
                        when(t0), pod: rng.int(config.pods), latencyMs: 2000 + Double(rng.int(4000)),
                        timeout: rng.chance(0.2)))
            }
        }
        if active("database connections exhausted", t0) {
            for _ in 0..<4 { recs.append(g.dbSaturationRecord(when(t0), pod: rng.int(config.pods))) }
        }
    }

    /// Generates the whole day, minute by minute, calling `emit` with each record in time order.
    public mutating func generate(_ emit: (Record) -> Void) {
        let prior = config.priorHours * 60
        var kratos = config.kratosService ? KratosService(seed: config.seed) : nil
        for m in -prior..<(config.hours * 60) {
            for r in minute(config.start + Int64(m) * 60 * EventTime.nanosPerSecond) {
                if kratos != nil { for x in kratos!.expand(r) { emit(x) } } else { emit(r) }
            }
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
