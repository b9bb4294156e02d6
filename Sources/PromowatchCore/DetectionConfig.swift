/// Every setting (detection, decision, actions), with the built-in defaults (`config/promowatch.yaml` documents each
/// key and must equal these). Plain values: loading YAML lives in `PromowatchConfig`.
public struct DetectionConfig: Sendable, Equatable {
    public struct General: Sendable, Equatable {
        /// Minutes of history needed before share-based judgements (coupon share, new accounts).
        public var warmupMinutes = 30
        /// Minimum score (-log10 tail probability) for a count to be anomalous.
        public var minScore = 8.0
        /// Quiet minutes before the same category and subject can fire again.
        public var cooldownMinutes = 15
    }
    public struct CouponAbuse: Sendable, Equatable {
        public var windowMinutes = 5
        public var minRedemptions = 20
        /// Distinct accounts first seen in the window, and their share of the window's accounts.
        public var minNewAccounts = 10
        public var newAccountShare = 0.5
        /// Discount share (discount / subtotal) that makes redemptions abnormal whoever redeems.
        public var abnormalDiscountShare = 0.6
        /// Excess discount (currency units) in the window that makes it P0 rather than P1.
        public var p0Discount = 500.0
    }
    public struct CouponReuse: Sendable, Equatable {
        public var windowMinutes = 15
        public var minPerUser = 8
        public var minPerIP = 30
    }
    public struct CouponEnumeration: Sendable, Equatable {
        public var windowMinutes = 5
        public var minDistinctCodes = 15
        /// Rejected attempts shop-wide needed for an overall surge finding.
        public var minRejectedSurge = 100
    }
    public struct DiscountStacking: Sendable, Equatable {
        public var windowMinutes = 15
        /// Redemptions with discount >= subtotal needed for a finding.
        public var minEvents = 3
        /// Jump of a coupon's discount share over its history (absolute) with `minRedemptions`.
        public var shareJump = 0.3
        public var minRedemptions = 10
    }
    public struct ProviderFailure: Sendable, Equatable {
        public var windowMinutes = 5
        /// The least count of provider-side failures that can raise a finding: five in a quarter
        /// hour stay quiet, six can speak (the Poisson score and the rate decide the rest).
        public var minFailures = 6
        public var minFailureRate = 0.05
        /// Assumed provider-side failure rate before there is history.
        public var baselineFailureRate = 0.01
        /// Minutes a provider must keep failing, with its fallback healthy all along, before the
        /// switch is proposed (the finding itself is raised at once): with the failing minute, one
        /// short window, so a second provider whose failures start minutes later (a shared cause
        /// reaching it) has had the detector's own span to show before traffic is moved onto it.
        public var confirmMinutes = 4
    }
    public struct CardTesting: Sendable, Equatable {
        public var windowMinutes = 10
        public var minDistinctCards = 5
        public var minDeclineSurge = 30
        public var smallAmount = 5.0
    }
    public struct CompensationFailure: Sendable, Equatable {
        public var windowMinutes = 5
        public var minFailures = 5
    }
    public struct Latency: Sendable, Equatable {
        public var windowMinutes = 5
        public var minRequests = 50
        public var p99Ms = 1000.0
        public var p1Ms = 2000.0
        /// Requests slower than `p99Ms` needed before the p99 counts (one slow request is no trend).
        public var minSlow = 5
        public var minTimeouts = 20
    }
    public struct DBSaturation: Sendable, Equatable {
        public var minEvents = 1
    }

    public var general = General()
    public var couponAbuse = CouponAbuse()
    public var couponReuse = CouponReuse()
    public var couponEnumeration = CouponEnumeration()
    public var discountStacking = DiscountStacking()
    public var providerFailure = ProviderFailure()
    public var cardTesting = CardTesting()
    public var compensationFailure = CompensationFailure()
    public var latency = Latency()
    public var dbSaturation = DBSaturation()
    /// Extra log keys per logical field (`coupon`, `user`, ...), added to the contract's.
    public var aliases: [String: [String]] = [:]
    /// Which event times are trusted (contract §2; an outlier must not move a window).
    public struct Input: Sendable, Equatable {
        /// Times before January 1st of this year (UTC) are not trusted.
        public var earliestYear = 2000
        /// Times more than this many seconds ahead of the arrival (wall) clock are not trusted.
        public var maxFutureSkewSeconds = 86_400
        /// Code and steady-reuse entries (one per code per minute, about 60 bytes each; a minute's
        /// own tables count as 256) a batch holds before it evaluates its oldest minutes and folds
        /// them into the baseline, as `watch` does: memory bounded by this, not by the length of
        /// the input (some 2.8 days of minutes at the default).
        public var batchMinuteEntries = 1 << 20
        /// A batch reading standard input from a pipe copies it to a nameless temporary file (in
        /// `$TMPDIR`), up to this many MiB, so that it can read it again in spans of event time
        /// when it was not in time order, as it reads files; 0: never (late events stay late).
        public var stdinCopyMegabytes = 4096
    }
    public var input = Input()
    /// Whether and how to act on findings (the decision stage; detection never reads it).
    public var decision = DecisionConfig()
    /// How actions reach the cluster.
    public var actions = ActionsConfig()
    /// What promowatch may read, beside logs, to diagnose a finding.
    public var diagnostics = DiagnosticsConfig()
    /// Where incidents are announced.
    public var notifications = NotificationsConfig()

    public init() {}

    /// The longest window any detector looks at, in minutes.
    public var longestWindowMinutes: Int {
        [
            couponAbuse.windowMinutes, couponReuse.windowMinutes, couponEnumeration.windowMinutes,
            discountStacking.windowMinutes,
            providerFailure.windowMinutes, cardTesting.windowMinutes, compensationFailure.windowMinutes,
            latency.windowMinutes,
        ].max() ?? 15
    }
}
