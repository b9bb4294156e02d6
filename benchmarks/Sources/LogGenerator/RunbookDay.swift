import PromowatchCore

/// A few hours of a shop for the runbook's other scenarios, every parameter drawn from the seed:
/// an ordinary rollout of the checkout with no incident of its own, a database saturation (one
/// service leaking connections) that may fall soon after it, and a bad rollout followed by
/// latency and timeouts. Labelled with the right and wrong actions before promowatch reads it;
/// the rollouts (revision, image, time) are for the test API server.
public struct RunbookDay {
    public struct Rollout: Sendable {
        public var deployment: String
        public var revision: Int
        public var image: String
        public var at: Int64
        /// Whether an incident follows it (undoing it is right).
        public var bad: Bool
    }

    public let seed: UInt64
    public let start: Int64
    public let minutes: Int
    public private(set) var labels: [AdversarialLabel] = []
    public private(set) var rollouts: [Rollout] = []
    /// The application name the leaking service connects with.
    public let leakingApplication: String
    public private(set) var parameters: [(String, String)] = []
    var g: Generator
    var rng: SplitMix64
    let perMinute: Double
    let saturation: Range<Int>
    let slow: Range<Int>
    let slowShare: Double
    let saturationPerMinute: Int

    func at(_ m: Int) -> Int64 { start + Int64(m) * 60 * EventTime.nanosPerSecond }

    /// `minutes` (at least 180) ending at `end` (ns).
    public init(seed: UInt64, end: Int64, minutes: Int = 180) {
        self.seed = seed
        self.minutes = max(180, minutes)
        start = (end / (60 * EventTime.nanosPerSecond) - Int64(self.minutes)) * 60 * EventTime.nanosPerSecond
        var r = SplitMix64(seed: seed ^ 0x5EB0_0C0D)
        var gc = GeneratorConfig()
        gc.seed = seed
        g = Generator(config: gc)
        perMinute = 60 + Double(r.int(540))
        leakingApplication =
            ["inventory-sync", "report-worker", "orders-api", "loyalty-batch"][r.int(4)]
            + "-\(r.int(90) + 10)"
        // the ordinary rollout first; the saturation between 5 and 40 minutes after it (an
        // incident soon after a rollout that is not the rollout's doing); the bad rollout later
        let ordinary = 15 + r.int(20)
        let satStart = ordinary + 5 + r.int(35)
        saturation = satStart..<(satStart + 3 + r.int(6))
        saturationPerMinute = 1 + r.int(8)
        let bad = saturation.upperBound + 40 + r.int(40)
        let onset = bad + 2 + r.int(5)
        slow = onset..<(onset + 10 + r.int(11))
        slowShare = 0.2 + r.unit() * 0.5
        rng = r
        let v = 4 + r.int(5)
        rollouts = [
            Rollout(
                deployment: "checkout", revision: 1, image: "shop/checkout:1.\(v - 2).0", at: at(-24 * 60), bad: false),
            Rollout(
                deployment: "checkout", revision: 2, image: "shop/checkout:1.\(v - 1).0", at: at(ordinary), bad: false),
            Rollout(deployment: "checkout", revision: 3, image: "shop/checkout:1.\(v).0", at: at(bad), bad: true),
        ]
        labels = [
            AdversarialLabel(
                name: "ordinary rollout of checkout revision 2", category: nil, subject: Subject(), start: at(ordinary),
                end: at(bad), findWithinSeconds: 0, rightAction: nil,
                wrongActions: ["rollout_undo:*", "scale_deployment:*"]),
            AdversarialLabel(
                name: "database saturation: \(leakingApplication) leaks connections", category: .dbSaturation,
                subject: Subject(), start: at(saturation.lowerBound), end: at(saturation.upperBound),
                findWithinSeconds: 120, rightAction: "terminate_idle_connections:\(leakingApplication)",
                wrongActions: ["rollout_undo:*", "scale_deployment:*", "blacklist_coupon:*", "disable_provider:*"]),
            AdversarialLabel(
                name: "latency after the bad rollout of checkout revision 3", category: .latency, subject: Subject(),
                start: at(slow.lowerBound), end: at(slow.upperBound), findWithinSeconds: 300,
                rightAction: "rollout_undo:checkout",
                wrongActions: ["scale_deployment:*", "blacklist_coupon:*", "disable_provider:*"]),
        ]
        parameters = [
            ("requests_per_minute", String(Int(perMinute))), ("ordinary_rollout_minute", String(ordinary)),
            ("saturation_minute", String(saturation.lowerBound)), ("bad_rollout_minute", String(bad)),
            ("slow_minute", String(slow.lowerBound)), ("slow_share", String(Double(Int(slowShare * 100)) / 100)),
        ]
    }

    /// Every record, in time order.
    public mutating func generate(_ emit: (Record) -> Void) {
        for m in 0..<minutes {
            let t0 = at(m)
            var recs: [Record] = []
            let n = Int(perMinute * (0.8 + 0.4 * rng.unit()))
            for _ in 0..<n {
                let t = t0 + Int64(rng.int(60_000_000)) * 1000
                let isSlow = slow.contains(m) && rng.unit() < slowShare
                let timeout = isSlow && rng.chance(0.25)
                recs.append(
                    g.requestRecord(
                        t, pod: rng.int(3),
                        latencyMs: isSlow ? 2200 + Double(rng.int(2000)) : 30 + Double(rng.int(150)),
                        timeout: timeout))
                if rng.chance(0.05) { recs.append(g.noise(t, pod: rng.int(3))) }
            }
            if saturation.contains(m) {
                for _ in 0..<saturationPerMinute {
                    recs.append(g.dbSaturationRecord(t0 + Int64(rng.int(60_000_000)) * 1000, pod: rng.int(3)))
                }
            }
            recs.sort { $0.time < $1.time }
            for r in recs { emit(r) }
        }
    }
}
