import PromowatchCore

/// Groups findings into incidents: findings that share a time span and a cause form one incident,
/// with the root cause first and the symptoms attached. A provider outage, the failed
/// compensations and the timeouts it causes, and a saturated database are one checkout
/// degradation; the findings about one coupon are one; an identity's enumeration or card testing
/// is one. An incident stays open while its findings keep coming within `gapMinutes` of each
/// other, and is resolved after that much quiet. Findings must arrive in time order.
public final class IncidentTracker {
    struct Incident {
        var id: String
        var key: String
        var root: Category
        var opened: Int64
        var updated: Int64
        var severity: Severity
        var findings: Int
    }

    let gap: Int64
    private var open: [Incident] = []
    /// Where each open incident's key is in `open` (a flood of findings about distinct codes opens
    /// one incident each: a scan per finding made 20,000 of them take seconds).
    private var openIndex: [String: Int] = [:]
    /// No open incident can be resolved before this time (the earliest last update plus the gap,
    /// possibly earlier than the truth: updates only move it later).
    private var nextExpiry = Int64.max
    /// Incidents resolved so far, in time order.
    public private(set) var resolved: [IncidentEvent] = []

    public init(gapMinutes: Int) {
        gap = Int64(gapMinutes) * 60 * EventTime.nanosPerSecond
    }

    /// The detector's episodes (`Detector.episodeSpans`): an incident whose cause still holds is
    /// not resolved, though its finding is not repeated while it does (a provider failing for an
    /// hour raises one finding, and was resolved a gap after it). Nil: findings alone.
    public var episodes: (() -> (spans: [EpisodeSpan], generation: Int))?
    /// `episodes`' spans by incident key (a flood of incidents must not scan every span for each),
    /// for the spans up to `indexed` of `indexedGeneration`.
    private var spansByKey: [String: [Int]] = [:]
    private var indexed = 0
    private var indexedGeneration = -1

    /// Which incidents a finding can join: the same family of causes and, for coupons and
    /// identities, the same subject.
    static func key(_ f: Finding) -> String { key(f.category, f.subject) }

    static func key(_ category: Category, _ s: Subject) -> String {
        switch category {
        case .paymentProviderFailure, .compensationFailure, .latency, .dbSaturation:
            return "checkout"
        case .couponAbuse, .couponReuse, .discountStacking:
            return "coupon:" + ASCII.uppercased(s.coupon ?? "")
        case .couponEnumeration:
            return "enumeration:" + (s.user ?? s.ip ?? "")
        case .cardTesting:
            return "cards:" + (s.user ?? s.ip ?? "")
        }
    }

    /// Causes before symptoms (lower first): a failing provider or database explains failed
    /// compensations, which explain slow requests; a leaked code explains its reuse.
    static func rank(_ c: Category) -> Int {
        switch c {
        case .dbSaturation, .paymentProviderFailure, .couponAbuse, .couponEnumeration, .cardTesting: return 0
        case .compensationFailure, .discountStacking: return 1
        case .latency, .couponReuse: return 2
        }
    }

    /// Places `f` in an incident (opening one if none fits) and records it in `f.incident`.
    public func assign(_ f: inout Finding) {
        advance(to: f.time)
        let key = IncidentTracker.key(f)
        if let i = openIndex[key] {
            if IncidentTracker.rank(f.category) < IncidentTracker.rank(open[i].root) { open[i].root = f.category }
            open[i].updated = max(open[i].updated, f.time)
            open[i].severity = min(open[i].severity, f.severity)
            open[i].findings += 1
            f.incident = IncidentRef(id: open[i].id, state: .updated, root: open[i].root)
            return
        }
        var fingerprint = f.fingerprint
        let h = fingerprint.withUTF8 { b in b.baseAddress.map { ByteHash.hash($0, b.count) } ?? 0 }
        let id = "inc-" + String(h & 0xFFFF_FFFF, radix: 16)
        openIndex[key] = open.count
        open.append(
            Incident(
                id: id, key: key, root: f.category, opened: f.time, updated: f.time, severity: f.severity, findings: 1))
        nextExpiry = min(nextExpiry, f.time &+ gap)
        f.incident = IncidentRef(id: id, state: .opened, root: f.category)
    }

    /// Every incident this tracker has seen: the resolved ones, then the open ones (their time is
    /// their last update), for the store.
    public var all: [IncidentEvent] {
        resolved
            + open.map {
                IncidentEvent(
                    time: $0.updated,
                    ref: IncidentRef(id: $0.id, state: $0.findings > 1 ? .updated : .opened, root: $0.root),
                    severity: $0.severity, opened: $0.opened, updated: $0.updated, findings: $0.findings, key: $0.key)
            }
    }

    /// Incidents an earlier run left open (from the store): a finding of the same cause within
    /// the gap continues them under their id, instead of opening a new incident each run.
    public func resume(_ events: [IncidentEvent]) {
        for e in events where !e.key.isEmpty && e.ref.state != .resolved && openIndex[e.key] == nil {
            openIndex[e.key] = open.count
            open.append(
                Incident(
                    id: e.ref.id, key: e.key, root: e.ref.root, opened: e.opened, updated: e.updated,
                    severity: e.severity, findings: e.findings))
            nextExpiry = min(nextExpiry, e.updated &+ gap)
        }
    }

    /// The latest time up to `t` at which an episode of the incident's cause held (episodes raised
    /// after `t` say nothing of it yet).
    func lastActive(_ i: Incident, at t: Int64) -> Int64? {
        guard let (spans, generation) = episodes?() else { return nil }
        if generation != indexedGeneration || spans.count < indexed {
            spansByKey.removeAll(keepingCapacity: true)
            indexed = 0
            indexedGeneration = generation
        }
        while indexed < spans.count {
            spansByKey[IncidentTracker.key(spans[indexed].category, spans[indexed].subject), default: []].append(
                indexed)
            indexed += 1
        }
        var latest: Int64?
        for k in spansByKey[i.key] ?? [] {
            let sp = spans[k]
            if sp.start <= t && sp.last > i.updated { latest = max(latest ?? Int64.min, min(sp.last, t)) }
        }
        return latest
    }

    /// Resolves the incidents quiet for the gap by event time `t`: no finding and no episode of
    /// their cause holding for that long.
    public func advance(to t: Int64) {
        guard t >= nextExpiry else { return }
        var still: [Incident] = []
        openIndex.removeAll(keepingCapacity: true)
        nextExpiry = Int64.max
        for var i in open {
            if i.updated + gap <= t, let a = lastActive(i, at: t) { i.updated = max(i.updated, a) }
            if i.updated + gap <= t {
                resolved.append(
                    IncidentEvent(
                        time: i.updated + gap, ref: IncidentRef(id: i.id, state: .resolved, root: i.root),
                        severity: i.severity,
                        opened: i.opened, updated: i.updated, findings: i.findings, key: i.key))
            } else {
                openIndex[i.key] = still.count
                still.append(i)
                nextExpiry = min(nextExpiry, i.updated &+ gap)
            }
        }
        open = still
    }
}
