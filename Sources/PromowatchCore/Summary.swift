/// Totals for one coupon code over a run.
public struct CouponTotal: Sendable, Equatable {
    public var code: String
    public var applied: Int
    public var rejected: Int
    /// Sum of the discount of applied redemptions (currency units).
    public var discount: Double
    public init(code: String, applied: Int = 0, rejected: Int = 0, discount: Double = 0) {
        self.code = code
        self.applied = applied
        self.rejected = rejected
        self.discount = discount
    }
}

/// Totals for one payment provider over a run.
public struct ProviderTotal: Sendable, Equatable {
    public var provider: String
    public var succeeded: Int
    public var declined: Int
    public var providerFailures: Int
    public init(provider: String, succeeded: Int = 0, declined: Int = 0, providerFailures: Int = 0) {
        self.provider = provider
        self.succeeded = succeeded
        self.declined = declined
        self.providerFailures = providerFailures
    }
}

/// What a run read (contract section 4, `summary`), plus per-coupon and per-provider totals.
public struct RunSummary: Sendable, Equatable {
    /// Physical input lines (a CRI `P` fragment is a line of its own).
    public var lines = 0
    /// Bytes of log text read (after gzip decompression).
    public var bytes = 0
    /// Records that are no event of contract section 3 (including oversized lines).
    public var skippedLines = 0
    /// Lines longer than the line limit, skipped (also counted in `skippedLines`).
    public var oversizedLines = 0
    public var events = EventCounts()
    /// Every coupon seen, most applied first.
    public var coupons: [CouponTotal] = []
    /// Coupon codes not tracked individually because the table was full (bounded memory).
    public var untrackedCouponEvents = 0
    /// Payment events whose provider did not fit the provider table: counted in the totals,
    /// attributed to no provider.
    public var untrackedProviderEvents = 0
    /// Events whose source (pod and container) did not fit the source table (4,096).
    public var untrackedSourceEvents = 0
    public var providers: [ProviderTotal] = []
    /// One message per input that failed (open error, corrupt or truncated gzip).
    public var inputErrors: [String] = []
    /// kubectl's own error lines in the input (`Error from server ...`), and the first few of them.
    public var inputWarnings = 0
    public var inputWarningSamples: [String] = []
    /// Events whose timestamp was unreadable or outside the trusted range (the framing's or arrival time was used).
    public var untrustedTimestamps = 0
    /// Events of a batch with no time in the payload or the framing: counted in the totals, left
    /// out of detection (dated by the moment they were read, a day would be one minute).
    public var undatedEvents = 0
    /// Kratos request lines not counted as a second promotion (same trace as an explicit line).
    public var duplicatePromotionLines = 0
    /// Events whose minute detection had already folded into its baseline when they arrived
    /// (`watch` behind its windows, or a batch over `input.batch_minute_entries` whose input is
    /// not in time order): counted in the baseline, in no window.
    public var lateEvents = 0
    /// A batch not in time order over that bound, read again in this many spans of event time
    /// (0: read once). Its `lateEvents` are then those of the spans.
    public var timeSlices = 0
    /// Redemptions by (account, code) pairs at the reuse threshold in a minute whose steady-reuse
    /// table (256 pairs) was full: a flood is reported by its first pairs, the rest counted here.
    public var untrackedReusePairs = 0
    /// Discount of every applied promotion, in ten-thousandths of a currency unit (a whole
    /// number: the total does not depend on the order events were added in).
    public var discountTotalE4: Int64 = 0
    /// Request latencies (for the metrics endpoint; not in the printed summary).
    public var latency = LatencyTotals()

    public init() {}
}

/// A cumulative histogram of request latencies with Prometheus' default buckets (seconds).
public struct LatencyTotals: Sendable, Equatable {
    public static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Per bucket (not cumulative); the last entry counts the latencies above every bound.
    public var buckets = [Int](repeating: 0, count: LatencyTotals.bounds.count + 1)
    /// In microseconds (a whole number: order-independent).
    public var sumMicros: Int64 = 0
    public var count = 0
    public init() {}

    @inline(__always)
    public mutating func add(_ seconds: Double) {
        var i = 0
        while i < LatencyTotals.bounds.count && seconds > LatencyTotals.bounds[i] { i += 1 }
        buckets[i] += 1
        sumMicros &+= Int64(min(seconds, 1e9) * 1e6)
        count += 1
    }
}

/// Per-minute figures of a run, for the report's charts: checkout traffic, p99 latency,
/// payment outcomes by provider and the redemptions of the codes the findings are about.
public struct MinuteSeries: Sendable, Equatable {
    /// Start of each minute (ns since the epoch), ascending; every other array follows it.
    public var minutes: [Int64] = []
    /// Payment attempts and requests (what promotions do not drive).
    public var traffic: [Int] = []
    /// p99 request latency (ms); 0 for a minute without requests.
    public var p99Ms: [Double] = []
    public struct Payments: Sendable, Equatable {
        public var succeeded: [Int] = []
        public var declined: [Int] = []
        public var failed: [Int] = []
        public init() {}
    }
    /// By provider name.
    public var payments: [String: Payments] = [:]
    /// Redemptions by code.
    public var coupons: [String: [Int]] = [:]
    public init() {}
}
