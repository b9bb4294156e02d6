/// Finding categories of contract section 4.
public enum Category: String, CaseIterable, Sendable, Hashable {
    case couponAbuse = "coupon_abuse"
    case couponReuse = "coupon_reuse"
    case couponEnumeration = "coupon_enumeration"
    case discountStacking = "discount_stacking"
    case paymentProviderFailure = "payment_provider_failure"
    case cardTesting = "card_testing"
    case compensationFailure = "compensation_failure"
    case latency
    case dbSaturation = "db_saturation"
}

/// Runbook severities: P0 outage, data corruption, financial loss; P1 major feature broken or
/// latency > 2 s; P2 minor; P3 internal.
public enum Severity: Int, Comparable, CaseIterable, Sendable {
    case p0 = 0, p1, p2, p3
    public var name: String { "P\(rawValue)" }
    public init?(name: String) {
        switch name.uppercased() {
        case "P0": self = .p0
        case "P1": self = .p1
        case "P2": self = .p2
        case "P3": self = .p3
        default: return nil
        }
    }
    /// P0 is the most severe: `a < b` means a is more severe.
    public static func < (a: Severity, b: Severity) -> Bool { a.rawValue < b.rawValue }
}

/// Who or what a finding is about. Values come from logs: render them escaped.
public struct Subject: Sendable, Hashable {
    public var coupon: String?
    public var user: String?
    public var ip: String?
    public var provider: String?
    public init(coupon: String? = nil, user: String? = nil, ip: String? = nil, provider: String? = nil) {
        self.coupon = coupon
        self.user = user
        self.ip = ip
        self.provider = provider
    }
    public var isEmpty: Bool { coupon == nil && user == nil && ip == nil && provider == nil }

    /// A stable text form (`coupon=X user=u`), for storage, reports and notices; values raw.
    public var storageText: String {
        [
            coupon.map { "coupon=" + $0 }, user.map { "user=" + $0 }, ip.map { "ip=" + $0 },
            provider.map { "provider=" + $0 },
        ]
        .compactMap { $0 }.joined(separator: " ")
    }

    /// The subject as a JSON object (`{"coupon": "X", "user": "u"}`), every value quoted safely.
    public var json: String {
        var parts: [String] = []
        if let c = coupon { parts.append("\"coupon\": \(JSONString.quoted(c))") }
        if let u = user { parts.append("\"user\": \(JSONString.quoted(u))") }
        if let i = ip { parts.append("\"ip\": \(JSONString.quoted(i))") }
        if let p = provider { parts.append("\"provider\": \(JSONString.quoted(p))") }
        return "{" + parts.joined(separator: ", ") + "}"
    }
}

/// What became of a proposed action: the outcome written back into the finding and the audit.
public enum ActionOutcome: Sendable, Hashable, CustomStringConvertible {
    /// Carried out; the detail says what changed.
    case applied(String)
    /// What would have been done (`--apply` not given, or the server validated and stored nothing).
    case dryRun(String)
    /// Not attempted, and why (a guardrail, an edit refused).
    case skipped(String)
    /// Attempted and failed: the error.
    case failed(String)

    public var description: String {
        switch self {
        case .applied(let d): return "applied: " + d
        case .dryRun(let d): return "dry_run: " + d
        case .skipped(let d): return "skipped: " + d
        case .failed(let d): return "failed: " + d
        }
    }

    /// Reads an outcome back from the audit (`description`'s text); nil for anything else.
    public init?(text: String) {
        let cases: [(String, (String) -> ActionOutcome)] = [
            ("applied: ", ActionOutcome.applied), ("dry_run: ", ActionOutcome.dryRun),
            ("skipped: ", ActionOutcome.skipped), ("failed: ", ActionOutcome.failed),
        ]
        for (prefix, make) in cases where text.hasPrefix(prefix) {
            self = make(String(text.dropFirst(prefix.count)))
            return
        }
        return nil
    }

    public var isApplied: Bool {
        if case .applied = self { return true }
        return false
    }
}

/// A remediation the decision stage proposes (contract: `blacklist_coupon` or `disable_provider`).
public struct ProposedAction: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        case blacklistCoupon = "blacklist_coupon"
        case disableProvider = "disable_provider"
        /// Only as a step of a provider's circuit breaker (a trial after its hold, or a revert).
        case enableProvider = "enable_provider"
        /// Database saturation: terminate idle client connections older than the configured age
        /// (target: the culprit's application name, or `*` when none dominates).
        case terminateIdleConnections = "terminate_idle_connections"
        /// Database saturation: delete the culprit's pods by label, as the runbook does (a step
        /// after `terminate_idle_connections`; target: the application name).
        case restartCulprit = "restart_culprit"
        /// High latency or timeouts: raise the checkout's replicas by a step, up to a maximum,
        /// never down (target: the deployment).
        case scaleDeployment = "scale_deployment"
        /// A P0/P1 incident soon after a rollout: what `kubectl rollout undo` does (the pod
        /// template set back to the previous revision's; target: the deployment).
        case rolloutUndo = "rollout_undo"
        /// A runbook hook's HTTP call (a step after a finding; target: the hook's name).
        case runbookHook = "runbook_hook"
    }
    public var kind: Kind
    public var target: String
    /// Whether it was carried out.
    public var applied: Bool
    /// Nil until remediation ran.
    public var outcome: ActionOutcome?
    public init(kind: Kind, target: String, applied: Bool = false, outcome: ActionOutcome? = nil) {
        self.kind = kind
        self.target = target
        self.applied = applied
        self.outcome = outcome
    }
}

/// An action taken without a finding of its own: a step of a provider's circuit breaker (re-enabled
/// on trial after its hold; re-enabled because the switch did not help). Audited like any action.
public struct ActionStep: Sendable, Hashable {
    /// Event time at which it was taken (ns).
    public var time: Int64
    public var action: ProposedAction
    /// Why, for people.
    public var reason: String
    /// The fingerprint of the finding whose action the step follows up.
    public var cause: String
    public init(time: Int64, action: ProposedAction, reason: String, cause: String) {
        self.time = time
        self.action = action
        self.reason = reason
        self.cause = cause
    }
}

/// A finding's place in an incident: findings that share a time span and a cause are one
/// incident, with the root cause first and the symptoms attached.
public struct IncidentRef: Sendable, Hashable {
    public enum State: String, Sendable { case opened, updated, resolved }
    public var id: String
    public var state: State
    /// The category of the incident's root cause as known at this finding.
    public var root: Category
    public init(id: String, state: State, root: Category) {
        self.id = id
        self.state = state
        self.root = root
    }
}

/// An incident's lifecycle event without a finding of its own (resolved: quiet for the gap).
public struct IncidentEvent: Sendable, Hashable {
    public var time: Int64
    public var ref: IncidentRef
    public var severity: Severity
    public var opened: Int64
    /// Its last finding's time.
    public var updated: Int64
    public var findings: Int
    /// The cause it groups (`IncidentTracker.key`): with it, a later run continues the incident.
    public var key: String
    public init(
        time: Int64, ref: IncidentRef, severity: Severity, opened: Int64, updated: Int64, findings: Int,
        key: String = ""
    ) {
        self.key = key
        self.time = time
        self.ref = ref
        self.severity = severity
        self.opened = opened
        self.updated = updated
        self.findings = findings
    }
}

/// What else a coupon block would hit: the facts detection measured about the code's other use.
public struct BlastRadius: Sendable, Hashable {
    /// The share of the code's redemptions in the window the abuse explains (0...1).
    public var abuseShare: Double
    /// Distinct accounts that redeemed the code before the window.
    public var pastAccounts: Double
    /// Redemptions of the code in the window that are not the abuse.
    public var otherRedemptions: Int
    /// Of those, per minute.
    public var legitPerMinute: Double
    /// What says the use is abuse and not a campaign.
    public var basis: Basis
    /// Minutes of the shop's account history behind "new account" (a cold start has little).
    public var accountHistoryMinutes: Int
    /// The share of the code's redeemers new to the shop, and of the shop's other redeemers now.
    public var newShare: Double
    public var shopNewShare: Double
    /// Whether the redeemers are mostly new and clearly newer than the shop's others (the bar of
    /// detection's new-accounts rule, `coupon_abuse.new_account_share` and a 0.25 margin).
    public var redeemersAreNew: Bool
    /// Minutes the code had been seen before the window (0: never): a code counts as private
    /// (not public) only after `BlastRadius.privateAfterMinutes` of a handful of accounts.
    public var codeWatchedMinutes: Int
    /// How large (95% upper bound) the code's share of the shop's redemptions over those minutes
    /// may be, its handful of accounts against everything the shop redeemed meanwhile. A handful of
    /// accounts says "private" only against a crowd: at night on a cold start, the shop's most
    /// used code had three accounts in two hours because the whole shop had few more.
    public var shopShareBound: Double

    /// How long a code must have been watched with at most a handful of accounts to count as
    /// private: before that, nobody can tell a private code from a public one seen briefly.
    public static let privateAfterMinutes = 60
    /// The share of the shop's redemptions under which a code counts as private (with
    /// `shopShareBound`): if it was public after all, a block breaks at most this share.
    public static let privateShare = 0.02

    /// Whether the code's history shows it private, not merely unseen: a handful of accounts over
    /// at least `privateAfterMinutes`, while the shop redeemed enough that a public code would have
    /// shown more (its share surely under `privateShare`).
    public var privacyShown: Bool {
        codeWatchedMinutes >= BlastRadius.privateAfterMinutes && shopShareBound < BlastRadius.privateShare
    }

    public enum Basis: Sendable, Hashable {
        /// The redeemers are accounts new to the shop: only as good as the account history.
        case newAccounts
        /// A code a handful of accounts used for an hour or more, now used by many.
        case privateCode
        /// A discount share no ordinary order gets, whoever redeems.
        case abnormalDiscount
        /// One account or ip repeating, or orders stacking discounts.
        case repetition
    }

    public init(
        abuseShare: Double, pastAccounts: Double, otherRedemptions: Int = 0, legitPerMinute: Double = 0,
        basis: Basis = .repetition, accountHistoryMinutes: Int = 0, newShare: Double = 0, shopNewShare: Double = 0,
        redeemersAreNew: Bool = false, codeWatchedMinutes: Int = Int.max, shopShareBound: Double = 0
    ) {
        self.abuseShare = abuseShare
        self.pastAccounts = pastAccounts
        self.otherRedemptions = otherRedemptions
        self.legitPerMinute = legitPerMinute
        self.basis = basis
        self.accountHistoryMinutes = accountHistoryMinutes
        self.newShare = newShare
        self.shopNewShare = shopNewShare
        self.redeemersAreNew = redeemersAreNew
        self.codeWatchedMinutes = codeWatchedMinutes
        self.shopShareBound = shopShareBound
    }
}

/// The mitigation that would address what a finding reports, with the facts that decide whether
/// it is safe. Detection says what it sees; the decision stage decides whether to propose it.
/// Not part of the finding's JSON.
public enum Remedy: Sendable, Hashable {
    /// Blacklisting the code stops the abuse; `blast` nil: nothing measured speaks against it.
    case blockCoupon(String, blast: BlastRadius?)
    /// Switching the provider off moves payments to another; `confirmed`: it has kept failing for
    /// the confirmation time with a healthy fallback all along.
    case switchProvider(String, confirmed: Bool, load: ProviderLoad? = nil)
    /// Free connection slots of the checkout's database: terminate idle connections (what to
    /// terminate comes from the diagnosis, `Finding.diagnosis`).
    case relieveDatabase
    /// More replicas for the checkout (whether that can help comes from the pods' diagnosis).
    case scaleOut
}

/// What a provider switch would move: the blast radius of `disable_provider`.
public struct ProviderLoad: Sendable, Hashable {
    /// Payment attempts a minute the failing provider carries (its short window's average).
    public var movedPerMinute: Double
    /// The fallback that would take them (nil: none is healthy), and what it carries now.
    public var fallback: String?
    public var fallbackPerMinute: Double
    public init(movedPerMinute: Double, fallback: String?, fallbackPerMinute: Double) {
        self.movedPerMinute = movedPerMinute
        self.fallback = fallback
        self.fallbackPerMinute = fallbackPerMinute
    }
}

/// The numbers behind a finding.
public struct Evidence: Sendable, Hashable {
    public var observed: Double
    public var expected: Double
    /// -log10 of the tail probability of `observed` given `expected` (higher = stranger).
    public var score: Double
    /// Further named counts (distinct users, failure rate, p99 ms, ...), in a stable order.
    public var counts: [(String, Double)]
    public init(observed: Double, expected: Double, score: Double, counts: [(String, Double)] = []) {
        self.observed = observed
        self.expected = expected
        self.score = score
        self.counts = counts
    }
    public static func == (a: Evidence, b: Evidence) -> Bool {
        a.observed == b.observed && a.expected == b.expected && a.score == b.score
            && a.counts.map(\.0) == b.counts.map(\.0) && a.counts.map(\.1) == b.counts.map(\.1)
    }
    public func hash(into h: inout Hasher) {
        h.combine(observed)
        h.combine(expected)
        h.combine(score)
    }
}

/// Why a finding was raised, for the person reading it: who contributed most, typical against
/// actual, and a few of the log lines behind it (sanitised: printable ASCII only, long digit runs
/// masked, cut short). Values come from logs: render them escaped.
public struct Explanation: Sendable, Hashable {
    public struct Contributor: Sendable, Hashable {
        /// `user`, `ip`, `coupon` or `provider`.
        public var kind: String
        public var value: String
        /// Its events in the window (redemptions, failures, declines, rejected codes).
        public var count: Double
        /// Of how many (a provider's attempts), when that matters.
        public var of: Double?
        public init(kind: String, value: String, count: Double, of: Double? = nil) {
            self.kind = kind
            self.value = value
            self.count = count
            self.of = of
        }
    }
    /// What was counted, in words ("redemptions of CART20", "provider-side failures").
    public var measure: String
    public var contributors: [Contributor]
    public var examples: [String]
    public init(measure: String, contributors: [Contributor] = [], examples: [String] = []) {
        self.measure = measure
        self.contributors = contributors
        self.examples = examples
    }
}

/// One finding (contract section 4).
public struct Finding: Sendable, Hashable {
    /// Event time at which it was raised (end of the triggering window), ns since the epoch.
    public var time: Int64
    public var category: Category
    public var severity: Severity
    public var subject: Subject
    public var windowStart: Int64
    public var windowEnd: Int64
    public var evidence: Evidence
    public var action: ProposedAction?
    /// One line for people.
    public var summary: String
    /// What would mitigate it (detection's view; the decision stage turns it into `action`).
    public var remedy: Remedy?
    /// The incident it belongs to, once grouped (`IncidentTracker`).
    public var incident: IncidentRef?
    /// Contributors, examples and what was measured (detection's).
    public var explanation: Explanation?
    /// The rule that said no to the remedy, when there is a remedy and no action (the decision
    /// stage's; the summary says it too).
    public var whyNoAction: String?
    /// What promowatch read from the systems involved when the finding was raised (the
    /// checkout's database); nil when nothing was read.
    public var diagnosis: Diagnosis?

    public init(
        time: Int64, category: Category, severity: Severity, subject: Subject, windowStart: Int64, windowEnd: Int64,
        evidence: Evidence, action: ProposedAction? = nil, summary: String, remedy: Remedy? = nil
    ) {
        self.time = time
        self.category = category
        self.severity = severity
        self.subject = subject
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.evidence = evidence
        self.action = action
        self.summary = summary
        self.remedy = remedy
    }

    /// Stable identity of the incident a finding belongs to: category, subject and window start.
    public var fingerprint: String {
        [
            category.rawValue, subject.coupon ?? "", subject.user ?? "", subject.ip ?? "", subject.provider ?? "",
            String(windowStart / EventTime.nanosPerSecond),
        ].joined(separator: "|")
    }
}

/// One stored baseline figure: how often `name` (a coupon's redemptions, a provider's failures)
/// happened in the hour of day starting at `minuteOfDay` (UTC), against the traffic it is judged
/// by (checkout traffic, the provider's attempts), summed over the days seen.
public struct BaselineRow: Sendable, Equatable {
    public var scope: String
    public var name: String
    public var minuteOfDay: Int
    public var count: Double
    public var traffic: Double
    public init(scope: String, name: String, minuteOfDay: Int, count: Double, traffic: Double) {
        self.scope = scope
        self.name = name
        self.minuteOfDay = minuteOfDay
        self.count = count
        self.traffic = traffic
    }
}
