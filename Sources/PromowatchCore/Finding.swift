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
        self.coupon = coupon; self.user = user; self.ip = ip; self.provider = provider
    }
    public var isEmpty: Bool { coupon == nil && user == nil && ip == nil && provider == nil }

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

/// A remediation the finding proposes (contract: `blacklist_coupon` or `disable_provider`).
public struct ProposedAction: Sendable, Hashable {
    public enum Kind: String, Sendable { case blacklistCoupon = "blacklist_coupon", disableProvider = "disable_provider" }
    public var kind: Kind
    public var target: String
    /// Whether it was carried out.
    public var applied: Bool
    /// `dry_run`, `applied`, `skipped: <reason>`, `failed: <reason>`; nil until remediation ran.
    public var outcome: String?
    public init(kind: Kind, target: String, applied: Bool = false, outcome: String? = nil) {
        self.kind = kind; self.target = target; self.applied = applied; self.outcome = outcome
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
        self.observed = observed; self.expected = expected; self.score = score; self.counts = counts
    }
    public static func == (a: Evidence, b: Evidence) -> Bool {
        a.observed == b.observed && a.expected == b.expected && a.score == b.score
            && a.counts.map(\.0) == b.counts.map(\.0) && a.counts.map(\.1) == b.counts.map(\.1)
    }
    public func hash(into h: inout Hasher) { h.combine(observed); h.combine(expected); h.combine(score) }
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

    public init(time: Int64, category: Category, severity: Severity, subject: Subject, windowStart: Int64, windowEnd: Int64,
                evidence: Evidence, action: ProposedAction?, summary: String) {
        self.time = time; self.category = category; self.severity = severity; self.subject = subject
        self.windowStart = windowStart; self.windowEnd = windowEnd; self.evidence = evidence; self.action = action
        self.summary = summary
    }

    /// Stable identity of the incident a finding belongs to: category, subject and window start.
    public var fingerprint: String {
        [category.rawValue, subject.coupon ?? "", subject.user ?? "", subject.ip ?? "", subject.provider ?? "",
         String(windowStart / EventTime.nanosPerSecond)].joined(separator: "|")
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
        self.scope = scope; self.name = name; self.minuteOfDay = minuteOfDay; self.count = count; self.traffic = traffic
    }
}
