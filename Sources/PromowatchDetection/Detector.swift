import PromowatchCore

/// Finds incidents in minute buckets of event time.
///
/// Batch (`finish`): every event is aggregated first, then each minute is evaluated in time order
/// with baselines from the minutes before its windows — so results do not depend on line order.
/// Streaming (`evaluateLatest`): the same evaluation for the windows ending at the newest event,
/// repeated as events arrive; old minutes are folded into the baseline and dropped.
///
/// Expected counts scale with concurrent traffic (a coupon's past share of redemptions times the
/// redemptions now; a provider's past failure rate times its attempts now), and a count is
/// anomalous when its Poisson tail probability is tiny *and* it clears a minimum evidence count.
///
/// Detection reports what it sees (category, subject, window, evidence and the remedy that would
/// address it); whether to act is the decision stage's (`PromowatchDecision`). The detectors live
/// one family per file: `Detector+Coupons`, `Detector+Payments`, `Detector+Operations`; events
/// enter through `Detector+Ingest`.
public final class Detector {
    public let config: DetectionConfig
    let coupons: SymbolTable
    let providers: SymbolTable
    var buckets: [Int: MinuteBucket] = [:]
    var firstMinute = Int.max
    var lastMinute = Int.min
    /// Newest event time seen (ns).
    public internal(set) var watermark = Int64.min
    /// A jump of the watermark seen once, waiting for a second line to confirm it.
    var pendingJump: Int64?
    let firstSeen: FirstSeenSketch
    let pairs: PairRecurrence
    var past = PastTotals()
    var pastUpTo = Int.min
    var episodes: [String: Int] = [:]
    /// Each episode from its finding to the last window its cause held, in the order raised. A
    /// batch keeps them all (one per finding); streaming forgets those a day past.
    public private(set) var episodeSpans: [EpisodeSpan] = []
    /// Counts the times `episodeSpans` lost entries (its indices moved): an index of it is stale.
    public private(set) var episodeSpansGeneration = 0
    /// The open episodes' spans (`episodes`' keys), by index into `episodeSpans`.
    var spanIndex: [String: Int] = [:]
    /// Failing streak per provider (first and last minute), for the confirmation before a switch.
    var streaks: [Int32: (start: Int, last: Int)] = [:]
    /// Per failing provider, the minutes of its streak whose latest evaluation found no healthy
    /// fallback (ascending): each breaks the streak. Only a minute's latest verdict counts, so an
    /// early look at a filling minute (a live evaluation seconds into it) cannot break it alone.
    var fallbackDoubts: [Int32: [Int]] = [:]
    /// Failing run per provider (first and last minute), whatever the fallbacks: how long the
    /// outage has been showing, the span over which a fallback must show its health.
    var outages: [Int32: (start: Int, last: Int)] = [:]
    var evaluatedThrough = Int.min
    /// Minutes evaluated so far (the work done, for tests).
    var evaluatedMinutes = 0
    /// The bucket of the last event (consecutive events share a minute).
    var lastBucket: (minute: Int, bucket: MinuteBucket)? {
        didSet { lastBucketRef = lastBucket.map { ($0.minute, Unmanaged.passUnretained($0.bucket)) } }
    }
    /// The same, unretained (`lastBucket` keeps it alive): the per-event path reads it at +0.
    var lastBucketRef: (minute: Int, bucket: Unmanaged<MinuteBucket>)?
    /// The window's reuse pairs by code for explanations (`topRedeemers`), during one evaluation.
    var redeemerCache: (key: RedeemerCacheKey, byCoupon: [Int32: [(count: Int32, p: ReusePayload)]])?
    /// Streaming: keep only the minutes windows still need.
    public var streaming = false
    /// Aggregates for a leader (`watch --shared`): never evaluates, hands its minutes over.
    var aggregatesOnly = false
    /// Code and steady-reuse entries held in the minute buckets, and each minute's own tables
    /// (`MinuteBucket.entryWeight`): what a batch bounds by `config.input.batchMinuteEntries`
    /// (recounted whenever minutes are dropped).
    var retainedEntries = 0
    /// Findings of minutes a batch evaluated before `finish` to stay within that bound.
    var foldedFindings: [Finding] = []
    /// Findings a batch already evaluated (its folded minutes): progress on long runs.
    public var findingsSoFar: Int { foldedFindings.count }
    /// The newest minute at the last attempt to fold for the bound (one attempt a minute).
    var foldAttemptMinute = Int.min
    /// Events whose minute had already been folded into the baseline when they arrived: late in
    /// `watch`, or in a batch over its entry bound whose input is not in time order.
    public internal(set) var lateEvents = 0
    /// A batch read again one span of event time at a time (`Detector+TimeSlices`): events outside
    /// it are ignored (another reading adds them). Nil: every event counts.
    public var timeSlice: Range<Int64>?
    /// Batch: the entries each folded minute held, and an estimate for events that arrived after
    /// their minute was folded: how a second reading splits event time (`minuteWeights`).
    var foldedWeights: [Int: Int] = [:]
    /// More minutes were folded than `foldedWeights` keeps (a batch spanning months of minutes).
    var foldedWeightsOverflow = false
    /// Redemptions of (account, code) pairs that reached the reuse threshold in a minute whose
    /// steady-reuse table was full (`MinuteBucket.steadyReuseCapacity`): not reported pair by pair.
    public internal(set) var untrackedReusePairs = 0

    /// The fixed tables, as powers of two: `firstSeenCellsLog2` 21 is 8 MB (accounts' first
    /// minutes), `pairSlotsLog2` 17 is 2 MB (steady reuse). Smaller ones let a fuzzer reach
    /// the full-table paths with small inputs; snapshots only merge between equal sizes.
    public struct Sizes: Sendable {
        public var firstSeenCellsLog2 = 21
        public var pairSlotsLog2 = 17
        public init() {}
    }

    public init(
        config: DetectionConfig = DetectionConfig(), coupons: SymbolTable, providers: SymbolTable,
        sizes: Sizes = Sizes()
    ) {
        self.config = config
        self.coupons = coupons
        self.providers = providers
        firstSeen = FirstSeenSketch(log2Cells: max(4, sizes.firstSeenCellsLog2))
        pairs = PairRecurrence(slotsLog2: max(3, sizes.pairSlotsLog2))
    }

    static let minuteNanos: Int64 = 60 * EventTime.nanosPerSecond

    @inline(__always) static func minute(_ t: Int64) -> Int {
        Int(t >= 0 ? t / minuteNanos : (t - minuteNanos + 1) / minuteNanos)
    }

    var longest: Int { config.longestWindowMinutes }

    // MARK: evaluation drivers

    /// Batch: evaluates every minute in time order and returns all findings, sorted by time,
    /// category and subject (a stable order whatever the input order).
    public func finish() -> [Finding] {
        guard firstMinute <= lastMinute else { return [] }
        var out = foldedFindings
        foldedFindings = []
        evaluateMinutes(from: max(firstMinute, evaluatedThrough + 1), through: lastMinute, into: &out)
        evaluatedThrough = lastMinute
        return out.sorted {
            ($0.time, $0.category.rawValue, $0.fingerprint) < ($1.time, $1.category.rawValue, $1.fingerprint)
        }
    }

    /// Streaming: evaluates every minute completed since the last call (input may arrive much
    /// faster than real time, e.g. `kubectl logs -f` replaying history), then the windows ending
    /// at the newest event (its minute may still be filling).
    public func evaluateLatest(upTo cap: Int64? = nil) -> [Finding] {
        guard watermark != Int64.min else { return [] }
        let now = min(watermark, cap ?? watermark)
        let m = Detector.minute(now)
        var out: [Finding] = []
        evaluateMinutes(
            from: evaluatedThrough == Int.min ? firstMinute : evaluatedThrough + 1, through: m - 1, into: &out)
        evaluatedThrough = max(evaluatedThrough, m - 1)
        out += evaluate(m, end: now)
        if streaming { dropOld(before: m - longest - 1) }
        return out
    }

    /// Evaluates the minutes `from...through` whose windows hold any event: a minute whose
    /// longest window is empty can raise nothing, so the work is proportional to the minutes with
    /// data (and their windows), not to the span between the first and the last event (two lines
    /// decades apart once meant walking every minute between them).
    func evaluateMinutes(from: Int, through: Int, into out: inout [Finding]) {
        guard from <= through else { return }
        if through - from < 4 * buckets.count {  // a dense span: walk it
            for m in from...through { out += evaluate(m, end: Int64(m + 1) * Detector.minuteNanos) }
            return
        }
        let keys = buckets.keys.filter { $0 > from - longest && $0 <= through }.sorted()
        var next = from
        for k in keys {
            var m = max(next, k)
            let last = min(through, k + longest - 1)
            while m <= last {
                out += evaluate(m, end: Int64(m + 1) * Detector.minuteNanos)
                m += 1
            }
            next = max(next, last + 1)
        }
    }

    func dropOld(before m: Int) {
        if m > pastUpTo { pruneEpisodes(now: m + longest + 1) }
        advancePast(to: m)
        let weigh = !streaming && !aggregatesOnly
        for (key, b) in buckets where key < m {
            if weigh { noteFoldedWeight(key, b.retainedEntries) }
            buckets[key] = nil
        }
        if let (lm, _) = lastBucket, lm < m { lastBucket = nil }
        retainedEntries = buckets.values.reduce(0) { $0 + $1.retainedEntries }
    }

    /// Batch over its entry bound: evaluates the minutes up to two before the newest (which may
    /// still be filling from pods a little behind) and folds those no window needs any more, as
    /// `watch` does. Input in time order gets the same findings as with no bound; an event older
    /// than what was folded goes to the baseline and is counted in `lateEvents`.
    func foldForBudget() {
        let newest = Detector.minute(watermark)
        guard newest != foldAttemptMinute else { return }
        foldAttemptMinute = newest
        fold(through: newest - 2)
    }

    /// Batch: evaluates the minutes not yet evaluated up to `through` and folds those no later
    /// window needs into the baseline.
    func fold(through: Int) {
        let from = evaluatedThrough == Int.min ? firstMinute : evaluatedThrough + 1
        guard from <= through else { return }
        evaluateMinutes(from: from, through: through, into: &foldedFindings)
        evaluatedThrough = through
        dropOld(before: through - longest + 1)
    }

    /// Forgets episodes that ended more than a cooldown ago (they can fire anew anyway), so the
    /// table stays as small as the set of recent incidents.
    func pruneEpisodes(now m: Int) {
        let cutoff = m - config.general.cooldownMinutes - 1
        if episodes.values.contains(where: { $0 < cutoff }) { episodes = episodes.filter { $0.value >= cutoff } }
        if spanIndex.count > episodes.count { spanIndex = spanIndex.filter { episodes[$0.key] != nil } }
        let dayAgo = Int64(m - 1440) * Detector.minuteNanos
        if streaming && episodeSpans.count > 4096 {
            // drop spans that ended a day ago; the open ones move to their new places
            let open = Set(spanIndex.values)
            var kept: [EpisodeSpan] = []
            var moved: [Int: Int] = [:]
            for (i, sp) in episodeSpans.enumerated() where sp.last >= dayAgo || open.contains(i) {
                moved[i] = kept.count
                kept.append(sp)
            }
            spanIndex = spanIndex.compactMapValues { moved[$0] }
            episodeSpans = kept
            episodeSpansGeneration += 1
        }
    }

    /// Folds minutes before `m` into the baseline totals.
    func advancePast(to m: Int) {
        guard m > pastUpTo else { return }
        if pastUpTo == Int.min { pastUpTo = firstMinute }
        if m - pastUpTo < 4 * buckets.count {
            var k = pastUpTo
            while k < m {
                if let b = buckets[k] {
                    learnRedeemers(b, minute: k)
                    past.add(b, minute: k)
                    b.examples = []
                } else if k >= firstMinute {
                    past.minutes += 1
                }
                k += 1
            }
        } else {
            // a long empty stretch: its minutes counted at once, the buckets in it folded in order
            let start = max(pastUpTo, firstMinute)
            let keys = buckets.keys.filter { $0 >= pastUpTo && $0 < m }.sorted()
            for k in keys {
                learnRedeemers(buckets[k]!, minute: k)
                past.add(buckets[k]!, minute: k)
                buckets[k]!.examples = []
            }
            if m > start { past.minutes += (m - start) - keys.filter { $0 >= firstMinute }.count }
        }
        pastUpTo = m
    }

    /// Learns, from a minute being folded into the baseline, how new each code's redeemers usually
    /// are (its sample of accounts, new when first seen at most ten minutes before, as in the
    /// abuse rule). Only minutes with the account history that "new" needs before them
    /// (`decision.min_account_history_hours`: with less, returning customers look new) teach it;
    /// minutes anomalous for the code teach nothing, as for its redemption rate.
    func learnRedeemers(_ b: MinuteBucket, minute k: Int) {
        guard past.minutes >= config.decision.minAccountHistoryHours * 60, !b.coupons.isEmpty else { return }
        let since = Int32(clamping: k - 10)
        let anomalous = b.anomalous.coupons
        // as the abuse rule reads them: through the first-seen sketch's blur
        let readsNew = firstSeen.readsNew
        for (c, s) in b.coupons where c >= 0 && !anomalous.contains(c) {
            let sample = s.accounts.values
            guard !sample.isEmpty else { continue }
            var fresh = 0
            for h in sample where firstSeen.firstSeen(h) >= since { fresh += 1 }
            past.couponRedeemers[c, default: NewTally()].sampled += Double(sample.count)
            past.couponRedeemers[c, default: NewTally()].new += min(Double(sample.count), Double(fresh) / readsNew)
        }
    }

    /// Marks the minutes of a window as anomalous for one signal (kept out of the baseline).
    func mark(_ m: Int, _ w: Int, _ f: (inout Anomalies) -> Void) {
        for b in window(m, w) { f(&b.anomalous) }
    }

    func window(_ m: Int, _ w: Int) -> [MinuteBucket] {
        var r: [MinuteBucket] = []
        var k = m - w + 1
        while k <= m {
            if let b = buckets[k] { r.append(b) }
            k += 1
        }
        return r
    }

    /// Whether this (category, subject) starts a new episode at minute `m`.
    func fires(_ key: String, _ m: Int) -> Bool {
        if let last = episodes[key], m - last <= config.general.cooldownMinutes, m >= last {
            episodes[key] = max(last, m)
            return false
        }
        episodes[key] = m
        return true
    }

    func name(_ stored: String?, _ h: UInt64) -> String {
        stored ?? String(h, radix: 16)
    }

    /// The heavy hitters of one table summed over a window's buckets: per key, the guaranteed
    /// count (the lower bounds added) and the payloads combined.
    func mergedHitters<P>(
        _ bs: [MinuteBucket], _ table: KeyPath<MinuteBucket, TopK<P>>,
        combine: (inout P, P) -> Void
    ) -> [UInt64: (count: Int32, p: P)] {
        var merged: [UInt64: (count: Int32, p: P)] = [:]
        merged.reserveCapacity(bs.reduce(0) { $0 + $1[keyPath: table].count })
        for b in bs {
            let t = b[keyPath: table]
            for i in 0..<t.count {
                let key = t.keys[i]
                let lb = t.lowerBound(i)
                if var v = merged[key] {
                    v.count += lb
                    combine(&v.p, t.payloads[i])
                    merged[key] = v
                } else {
                    merged[key] = (lb, t.payloads[i])
                }
            }
        }
        return merged
    }

    // MARK: detectors

    func evaluate(_ m: Int, end: Int64) -> [Finding] {
        evaluatedMinutes += 1
        defer { redeemerCache = nil }  // valid for this evaluation only
        advancePast(to: m - longest + 1)
        let history = (m - longest + 1) - firstMinute
        var out: [Finding] = []
        couponAbuse(m, end, history, &out)
        couponReuse(m, end, &out)
        couponEnumeration(m, end, history, &out)
        discountStacking(m, end, &out)
        providerFailure(m, end, &out)
        cardTesting(m, end, history, &out)
        compensation(m, end, &out)
        latency(m, end, &out)
        dbSaturation(m, end, &out)
        return out
    }

    /// Raises `draft` at minute `m` (window ending at `end`) unless its episode already fired
    /// within the cooldown.
    func emit(_ draft: FindingDraft, _ m: Int, _ end: Int64, into out: inout [Finding]) {
        let s = draft.subject
        let key = [draft.category.rawValue, s.coupon ?? "", s.user ?? "", s.ip ?? "", s.provider ?? "", draft.episode]
            .joined(separator: "\u{1F}")
        guard fires(key, m) else {
            // the cause still holds: its episode (and the incident it opened) goes on
            if let i = spanIndex[key] {
                episodeSpans[i].last = max(episodeSpans[i].last, end)
            } else {
                // an episode an earlier run raised (`cron`): its span starts here
                spanIndex[key] = episodeSpans.count
                episodeSpans.append(EpisodeSpan(category: draft.category, subject: s, start: end, last: end))
            }
            return
        }
        spanIndex[key] = episodeSpans.count
        episodeSpans.append(EpisodeSpan(category: draft.category, subject: s, start: end, last: end))
        var f = Finding(
            time: end, category: draft.category, severity: draft.severity, subject: s,
            windowStart: Int64(m - draft.windowMinutes + 1) * Detector.minuteNanos, windowEnd: end,
            evidence: draft.evidence, summary: draft.summary, remedy: draft.remedy)
        f.explanation = explain(draft, m)
        out.append(f)
    }

    func fmt(_ v: Double) -> String { NumberText.short(v) }
    func pct(_ v: Double) -> String { NumberText.percent(v) }
}

/// A finding under construction: what a detector saw, before the episode check gives it a time.
struct FindingDraft {
    var category: Category
    var severity: Severity
    var subject: Subject
    /// Minutes of the window that raised it (the finding's window ends at the evaluated time).
    var windowMinutes: Int
    var evidence: Evidence
    var summary: String
    var remedy: Remedy? = nil
    /// Separates findings of one category and subject that are different episodes (the
    /// confirmed provider outage beside its first finding).
    var episode = ""
    /// The code or provider of the subject as interned (the subject holds its rendering).
    var coupon: Int32 = .none
    var provider: Int32 = .none
}

/// Which window of the current evaluation a cached grouping belongs to.
struct RedeemerCacheKey: Equatable {
    var buckets: Int
    var first: ObjectIdentifier?
}
