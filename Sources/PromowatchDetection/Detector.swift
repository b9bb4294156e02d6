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
public final class Detector {
    public let config: DetectionConfig
    let coupons: SymbolTable
    let providers: SymbolTable
    var buckets: [Int: MinuteBucket] = [:]
    public internal(set) var firstMinute = Int.max
    public internal(set) var lastMinute = Int.min
    /// Newest event time seen (ns).
    public internal(set) var watermark = Int64.min
    let firstSeen = FirstSeenSketch()
    var past = PastTotals()
    var pastUpTo = Int.min
    var episodes: [String: Int] = [:]
    /// Failing streak per provider (first and last minute), for the confirmation before a switch.
    var streaks: [Int32: (start: Int, last: Int)] = [:]
    private let allow: Set<String>
    private let campaigns: Set<String>
    var evaluatedThrough = Int.min
    /// Streaming: keep only the minutes windows still need.
    public var streaming = false

    public init(config: DetectionConfig = DetectionConfig(), coupons: SymbolTable, providers: SymbolTable) {
        self.config = config
        self.coupons = coupons
        self.providers = providers
        allow = Set(config.allowlist.map(Detector.upper))
        campaigns = Set(config.campaigns.map(Detector.upper))
    }

    static func upper(_ s: String) -> String {
        String(decoding: s.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 32 : $0 }, as: UTF8.self)
    }

    static let minuteNanos: Int64 = 60 * EventTime.nanosPerSecond

    @inline(__always) static func minute(_ t: Int64) -> Int {
        Int(t >= 0 ? t / minuteNanos : (t - minuteNanos + 1) / minuteNanos)
    }

    var longest: Int { config.longestWindowMinutes }

    // MARK: ingest

    var lastBucket: (minute: Int, bucket: MinuteBucket)?

    func bucket(_ m: Int) -> MinuteBucket {
        if let (lm, lb) = lastBucket, lm == m { return lb }  // consecutive events share a minute
        if let b = buckets[m] { lastBucket = (m, b); return b }
        let b = MinuteBucket()
        buckets[m] = b
        lastBucket = (m, b)
        if m < firstMinute { firstMinute = m }
        if m > lastMinute { lastMinute = m }
        return b
    }

    private func text(_ kind: IdentityKind, _ source: EventTextSource) -> String? {
        kind == .user ? source.userText() : source.ipText()
    }

    /// Adds one event.
    public func add(_ e: Event, text: EventTextSource) {
        let k = e.kinds
        if k.isEmpty { return }
        let m = Detector.minute(e.time)
        if e.time > watermark { watermark = e.time }
        // (streaming) an event older than the baseline horizon: its minute was folded into the
        // baseline already, so fold this event the same way through a throwaway bucket
        let late = m < pastUpTo
        let b = late ? MinuteBucket() : bucket(m)
        if !k.isDisjoint(with: .promotion) { promotion(e, b, m, text) }
        if !k.isDisjoint(with: .payment) { payment(e, b, m, text) }
        if k.contains(.compensationFailure) { b.compensation += 1 }
        if k.contains(.request) {
            b.requests += 1
            if e.latencyMs.isFinite { b.latency.add(e.latencyMs) }
        }
        if k.contains(.timeout) { b.timeouts += 1 }
        if k.contains(.dbSaturation) { b.dbSaturation += 1 }
        if late { past.add(b, minute: m, wholeMinute: false) }
    }

    private func promotion(_ e: Event, _ b: MinuteBucket, _ m: Int, _ text: EventTextSource) {
        let account = e.userHash != 0 ? e.userHash : e.ipHash
        if e.kinds.contains(.promotionApplied) {
            b.applied += 1
            if account != 0 { firstSeen.note(account, minute: Int32(clamping: m)) }
            if e.coupon >= 0 {
                // mutated in place: copying the stat out would copy its account sketch each time
                b.coupons[e.coupon, default: CouponStat()].add(e, account: account)
                if e.userHash != 0 {
                    b.reuse.add(pairKey(e.userHash, .user, couponHash: e.couponHash)) { ReusePayload(kind: .user, identity: e.userHash, coupon: e.coupon, name: text.userText()) }
                }
                if e.ipHash != 0 {
                    if let i = b.reuse.add(pairKey(e.ipHash, .ip, couponHash: e.couponHash), fresh: { ReusePayload(kind: .ip, identity: e.ipHash, coupon: e.coupon, name: text.ipText()) }),
                       e.userHash != 0 { b.reuse.payloads[i].accounts.insert(e.userHash) }
                }
            }
        } else {
            b.rejected += 1
            rejecting(e.userHash, .user, e, b, text)
            rejecting(e.ipHash, .ip, e, b, text)
        }
    }

    private func rejecting(_ h: UInt64, _ kind: IdentityKind, _ e: Event, _ b: MinuteBucket, _ text: EventTextSource) {
        guard h != 0, let i = b.rejectors.add(identityKey(h, kind), fresh: { IdentityPayload(kind: kind, identity: h, distinct: BottomK(k: 32), name: self.text(kind, text)) }) else { return }
        if e.couponHash != 0 { b.rejectors.payloads[i].distinct.insert(e.couponHash) }
    }

    private func declining(_ h: UInt64, _ kind: IdentityKind, _ small: Bool, _ e: Event, _ b: MinuteBucket, _ text: EventTextSource) {
        guard h != 0, let i = b.decliners.add(identityKey(h, kind), fresh: { IdentityPayload(kind: kind, identity: h, distinct: BottomK(k: 16), name: self.text(kind, text)) }) else { return }
        if e.cardHash != 0 { b.decliners.payloads[i].distinct.insert(e.cardHash) }
        if small { b.decliners.payloads[i].small += 1 }
    }

    private func payment(_ e: Event, _ b: MinuteBucket, _ m: Int, _ text: EventTextSource) {
        b.attempts += 1
        var s = b.providers[e.provider, default: ProviderStat()]
        s.attempts += 1
        let account = e.userHash != 0 ? e.userHash : e.ipHash
        if e.kinds.contains(.paymentSucceeded) {
            s.succeeded += 1
            if account != 0 { firstSeen.note(account, minute: Int32(clamping: m)) }
        } else if e.kinds.contains(.paymentDeclined) {
            s.declined += 1
            b.declines += 1
            let small = e.amount.isFinite && e.amount <= config.cardTesting.smallAmount
            if small { b.smallDeclines += 1 }
            if e.cardHash != 0 { b.declineCards.insert(e.cardHash) }
            declining(e.userHash, .user, small, e, b, text)
            declining(e.ipHash, .ip, small, e, b, text)
        } else if e.kinds.contains(.paymentProviderFailure) {
            s.failures += 1
        }
        b.providers[e.provider] = s
    }

    // MARK: evaluation drivers

    /// Batch: evaluates every minute in time order and returns all findings, sorted by time,
    /// category and subject (a stable order whatever the input order).
    public func finish() -> [Finding] {
        guard firstMinute <= lastMinute else { return [] }
        var out: [Finding] = []
        var m = max(firstMinute, evaluatedThrough + 1)
        while m <= lastMinute {
            out += evaluate(m, end: Int64(m + 1) * Detector.minuteNanos)
            m += 1
        }
        evaluatedThrough = lastMinute
        return out.sorted { ($0.time, $0.category.rawValue, $0.fingerprint) < ($1.time, $1.category.rawValue, $1.fingerprint) }
    }

    /// Streaming: evaluates every minute completed since the last call (input may arrive much
    /// faster than real time, e.g. `kubectl logs -f` replaying history), then the windows ending
    /// at the newest event (its minute may still be filling).
    public func evaluateLatest(upTo cap: Int64? = nil) -> [Finding] {
        guard watermark != Int64.min else { return [] }
        let now = min(watermark, cap ?? watermark)
        let m = Detector.minute(now)
        var out: [Finding] = []
        var k = evaluatedThrough == Int.min ? firstMinute : evaluatedThrough + 1
        while k < m { out += evaluate(k, end: Int64(k + 1) * Detector.minuteNanos); k += 1 }
        evaluatedThrough = max(evaluatedThrough, m - 1)
        out += evaluate(m, end: now)
        if streaming { dropOld(before: m - longest - 1) }
        return out
    }

    func dropOld(before m: Int) {
        if m > pastUpTo { pruneEpisodes(now: m + longest + 1) }
        advancePast(to: m)
        for key in buckets.keys where key < m { buckets[key] = nil }
        if let (lm, _) = lastBucket, lm < m { lastBucket = nil }
    }

    /// Forgets episodes that ended more than a cooldown ago (they can fire anew anyway), so the
    /// table stays as small as the set of recent incidents.
    func pruneEpisodes(now m: Int) {
        let cutoff = m - config.general.cooldownMinutes - 1
        if episodes.values.contains(where: { $0 < cutoff }) { episodes = episodes.filter { $0.value >= cutoff } }
    }

    /// Folds minutes before `m` into the baseline totals.
    private func advancePast(to m: Int) {
        guard m > pastUpTo else { return }
        if pastUpTo == Int.min { pastUpTo = firstMinute }
        var k = pastUpTo
        while k < m {
            if let b = buckets[k] { past.add(b, minute: k) } else if k >= firstMinute { past.minutes += 1 }
            k += 1
        }
        pastUpTo = m
    }

    /// Marks the minutes of a window as anomalous for one signal (kept out of the baseline).
    private func mark(_ m: Int, _ w: Int, _ f: (inout Anomalies) -> Void) {
        for b in window(m, w) { f(&b.anomalous) }
    }

    private func window(_ m: Int, _ w: Int) -> [MinuteBucket] {
        var r: [MinuteBucket] = []
        var k = m - w + 1
        while k <= m { if let b = buckets[k] { r.append(b) }; k += 1 }
        return r
    }

    /// Whether this (category, subject) starts a new episode at minute `m`.
    private func fires(_ key: String, _ m: Int) -> Bool {
        if let last = episodes[key], m - last <= config.general.cooldownMinutes, m >= last {
            episodes[key] = max(last, m)
            return false
        }
        episodes[key] = m
        return true
    }

    private func name(_ stored: String?, _ h: UInt64) -> String {
        stored ?? String(h, radix: 16)
    }

    // MARK: detectors

    func evaluate(_ m: Int, end: Int64) -> [Finding] {
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

    private func emit(_ out: inout [Finding], _ m: Int, _ end: Int64, _ w: Int, _ cat: Category, _ sev: Severity, _ subject: Subject,
                      _ ev: Evidence, _ action: ProposedAction?, _ summary: String, episode: String = "") {
        let key = [cat.rawValue, subject.coupon ?? "", subject.user ?? "", subject.ip ?? "", subject.provider ?? "", episode]
            .joined(separator: "\u{1F}")
        guard fires(key, m) else { return }
        var act = action
        if sev > config.general.minActionSeverity { act = nil }
        if let a = act, a.kind == .blacklistCoupon, allow.contains(a.target) { act = nil }
        out.append(Finding(time: end, category: cat, severity: sev, subject: subject,
                           windowStart: Int64(m - w + 1) * Detector.minuteNanos, windowEnd: end,
                           evidence: ev, action: act, summary: summary))
    }

    private func mergedCoupons(_ bs: [MinuteBucket]) -> (total: Int, stats: [Int32: CouponStat]) {
        var total = 0
        var stats: [Int32: CouponStat] = [:]
        for b in bs {
            total += Int(b.applied)
            for (c, s) in b.coupons { stats[c, default: CouponStat()].merge(s) }
        }
        return (total, stats)
    }

    private func couponAbuse(_ m: Int, _ end: Int64, _ history: Int, _ out: inout [Finding]) {
        let cfg = config.couponAbuse
        guard history >= config.general.warmupMinutes else { return }
        let bs = window(m, cfg.windowMinutes)
        let (total, stats) = mergedCoupons(bs)
        // checkout traffic now, and coupon redemptions per unit of it in the past
        var reference = bs.reduce(0) { $0 + $1.reference }
        var pastReference = past.reference
        var hourReference = past.hours.reference
        if pastReference < 100 || reference == 0 {  // no checkout logs
            reference = total; pastReference = past.applied; hourReference = past.hours.applied
        }
        let hour = HourProfile.hour(m)
        let ws = m - cfg.windowMinutes + 1
        func isNew(_ h: UInt64) -> Bool { firstSeen.firstSeen(h) >= Int32(clamping: ws - 10) }
        // how new the shop's other redeeming accounts are right now (all coupons but the one judged)
        func shopNewShare(excluding c: Int32) -> Double {
            var all = BottomK(k: 64)
            for (o, s) in stats where o != c { all.merge(s.accounts) }
            return all.values.isEmpty ? 0 : Double(all.values.filter(isNew).count) / Double(all.values.count)
        }
        for (c, s) in stats.sorted(by: { $0.key < $1.key }) where Int(s.applied) >= cfg.minRedemptions {
            let code = coupons.string(c)
            if campaigns.contains(code) { continue }
            var expected = Double(reference) * ((past.couponApplied[c] ?? 0) + 0.5) / (pastReference + 1)
            // a code busy at this hour every day (a lunch-time offer) is expected to be busy now
            if past.hours.known(hour), let daily = past.hours.coupons[c], hourReference[hour] >= 100 {
                expected = max(expected, Double(reference) * (daily[hour] + 0.5) / (hourReference[hour] + 1))
            }
            let score = Stats.poissonTailScore(Double(s.applied), expected: expected)
            guard score >= config.general.minScore else { continue }
            let shopNew = shopNewShare(excluding: c)
            let sample = s.accounts.values
            let newShare = sample.isEmpty ? 0 : Double(sample.filter(isNew).count) / Double(sample.count)
            let distinct = s.accounts.estimate
            let newAccounts = distinct * newShare
            // a code that belonged to a handful of accounts for a long time (at least an hour),
            // now redeemed by many: leaked. A new campaign's first redemptions are not that.
            let pastAccounts = past.couponAccounts[c]?.estimate ?? 0
            let privateSince = past.couponFirstMinute[c].map { ws - $0 } ?? 0
            let wasPrivate = privateSince >= 60 && pastAccounts <= 3 && distinct >= Double(cfg.minNewAccounts)
            let novel = newShare >= max(cfg.newAccountShare, shopNew + 0.25) && newAccounts >= Double(cfg.minNewAccounts)
            let dshare = s.sharedSubtotal > 0 ? s.sharedDiscount / s.sharedSubtotal : 0
            let abnormalDiscount = Int(s.sharedCount) * 2 >= cfg.minRedemptions && dshare >= cfg.abnormalDiscountShare
            guard novel || wasPrivate || abnormalDiscount else { continue }
            mark(m, cfg.windowMinutes) { $0.coupons.insert(c) }
            let excess = s.discount * max(0, 1 - expected / Double(s.applied))
            // blast radius: the share of the code's redemptions the abuse explains. A private code
            // now used by many: all but its owners'. A discount no one should get: all. New
            // accounts: their share (a campaign among returning customers is not dominated by them).
            let abuseShare = abnormalDiscount ? 1
                : wasPrivate ? max(0, 1 - pastAccounts / max(distinct, 1)) : newShare
            let legitPerMinute = Double(s.applied) * (1 - abuseShare) / Double(cfg.windowMinutes)
            let dominant = abuseShare >= config.general.abuseDominanceShare
            let sev: Severity = !dominant ? .p2 : excess >= cfg.p0Discount ? .p0 : .p1
            let why = wasPrivate ? "a code of \(Int(pastAccounts)) account(s) now used by \(Int(distinct.rounded()))"
                : novel ? "\(Int(newAccounts.rounded())) new accounts (\(pct(newShare)) vs \(pct(shopNew)) shop-wide)"
                : "discount share \(pct(dshare))"
            let note = dominant ? "" : "; not blocked: abuse explains \(pct(abuseShare)) of its redemptions, "
                + "\(fmt(legitPerMinute))/min look legitimate (a campaign or a popular code needs a look)"
            emit(&out, m, end, cfg.windowMinutes, .couponAbuse, sev, Subject(coupon: code),
                 Evidence(observed: Double(s.applied), expected: expected, score: score,
                          counts: [("accounts", distinct.rounded()), ("new_accounts", newAccounts.rounded()), ("new_share", newShare),
                                   ("shop_new_share", shopNew), ("past_accounts", pastAccounts.rounded()), ("discount", s.discount),
                                   ("discount_share", dshare), ("excess_discount", excess), ("abuse_share", abuseShare),
                                   ("legit_per_minute", legitPerMinute)]),
                 dominant ? ProposedAction(kind: .blacklistCoupon, target: code) : nil,
                 "coupon \(code) redeemed \(s.applied) times in \(cfg.windowMinutes) min (expected \(fmt(expected))): \(why)\(note)")
        }
    }

    private func couponReuse(_ m: Int, _ end: Int64, _ out: inout [Finding]) {
        let cfg = config.couponReuse
        var merged: [UInt64: (count: Int32, p: ReusePayload)] = [:]
        let bs = window(m, cfg.windowMinutes)
        merged.reserveCapacity(bs.reduce(0) { $0 + $1.reuse.count })
        for b in bs {
            for i in 0..<b.reuse.count {
                let key = b.reuse.keys[i]
                let lb = b.reuse.lowerBound(i)
                if var v = merged[key] {
                    v.count += lb; v.p.accounts.merge(b.reuse.payloads[i].accounts); merged[key] = v
                } else { merged[key] = (lb, b.reuse.payloads[i]) }
            }
        }
        // only the few over a threshold are sorted (for a stable output order)
        let over = merged.filter { Int($0.value.count) >= ($0.value.p.kind == .user ? cfg.minPerUser : cfg.minPerIP) }
        let redemptions = over.isEmpty ? [:] : mergedCoupons(bs).stats
        for (_, v) in over.sorted(by: { $0.key < $1.key }) {
            // an ip behind which many accounts redeem is shared (office, carrier NAT): not one person
            if v.p.kind == .ip && v.p.accounts.estimate > 2 { continue }
            let code = coupons.string(v.p.coupon)
            let who = name(v.p.name, v.p.identity)
            let subject = v.p.kind == .user ? Subject(coupon: code, user: who) : Subject(coupon: code, ip: who)
            // blast radius: blocking a code one account reuses breaks it for everyone else using it.
            // A public code (more than a handful of accounts in its history) is never blocked for
            // the reuse of a few: the finding names them. A code the reuser alone redeems is.
            let total = max(Double(redemptions[v.p.coupon]?.applied ?? 0), Double(v.count))
            let share = Double(v.count) / total
            let pastAccounts = past.couponAccounts[v.p.coupon]?.estimate ?? 0
            let dominant = share >= config.general.abuseDominanceShare && pastAccounts <= 3
            let note = dominant ? ""
                : pastAccounts > 3 ? "; not blocked: \(code) is public (\(Int(pastAccounts.rounded())) accounts redeemed it before)"
                : "; not blocked: \(Int(total) - Int(v.count)) other redemptions of \(code) in the window"
            emit(&out, m, end, cfg.windowMinutes, .couponReuse, dominant ? .p1 : .p2, subject,
                 Evidence(observed: Double(v.count), expected: 1, score: Stats.poissonTailScore(Double(v.count), expected: 1),
                          counts: [("code_redemptions", total), ("abuse_share", share), ("past_accounts", pastAccounts.rounded())]),
                 dominant ? ProposedAction(kind: .blacklistCoupon, target: code) : nil,
                 "\(v.p.kind == .user ? "user" : "ip") \(who) applied \(code) \(v.count) times in \(cfg.windowMinutes) min\(note)")
        }
    }

    private func couponEnumeration(_ m: Int, _ end: Int64, _ history: Int, _ out: inout [Finding]) {
        let cfg = config.couponEnumeration
        let bs = window(m, cfg.windowMinutes)
        var merged: [UInt64: (count: Int32, p: IdentityPayload)] = [:]
        var rejected = 0, applied = 0
        for b in bs {
            rejected += Int(b.rejected); applied += Int(b.applied)
            for i in 0..<b.rejectors.count {
                let key = b.rejectors.keys[i]
                let lb = b.rejectors.lowerBound(i)
                if var v = merged[key] { v.count += lb; v.p.distinct.merge(b.rejectors.payloads[i].distinct); merged[key] = v }
                else { merged[key] = (lb, b.rejectors.payloads[i]) }
            }
        }
        let tried = merged.filter { Int($0.value.count) >= cfg.minDistinctCodes }
        for (_, v) in tried.sorted(by: { $0.key < $1.key }) {
            let distinct = v.p.distinct.estimate
            guard distinct >= Double(cfg.minDistinctCodes) else { continue }
            let who = name(v.p.name, v.p.identity)
            let subject = v.p.kind == .user ? Subject(user: who) : Subject(ip: who)
            emit(&out, m, end, cfg.windowMinutes, .couponEnumeration, .p2, subject,
                 Evidence(observed: distinct.rounded(), expected: 1, score: Stats.poissonTailScore(distinct.rounded(), expected: 1),
                          counts: [("rejected", Double(v.count))]),
                 nil, "\(v.p.kind == .user ? "user" : "ip") \(who) tried \(Int(distinct.rounded())) distinct invalid codes in \(cfg.windowMinutes) min")
        }
        // a surge of rejected attempts overall, relative to redemption traffic
        guard rejected >= cfg.minRejectedSurge else { return }
        let ratio = (past.rejected + 1) / (past.applied + past.rejected + 10)
        let expected = ratio * Double(applied + rejected)
        let score = Stats.poissonTailScore(Double(rejected), expected: expected)
        if score >= config.general.minScore && (history >= config.general.warmupMinutes || ratio * 3 < Double(rejected) / Double(applied + rejected)) {
            mark(m, cfg.windowMinutes) { $0.rejected = true }
            emit(&out, m, end, cfg.windowMinutes, .couponEnumeration, .p2, Subject(),
                 Evidence(observed: Double(rejected), expected: expected, score: score, counts: [("applied", Double(applied))]),
                 nil, "\(rejected) rejected coupon attempts in \(cfg.windowMinutes) min (expected \(fmt(expected)))")
        }
    }

    private func discountStacking(_ m: Int, _ end: Int64, _ out: inout [Finding]) {
        let cfg = config.discountStacking
        let (_, stats) = mergedCoupons(window(m, cfg.windowMinutes))
        for (c, s) in stats.sorted(by: { $0.key < $1.key }) {
            let code = coupons.string(c)
            let share = s.sharedSubtotal > 0 ? s.sharedDiscount / s.sharedSubtotal : 0
            let pastCount = past.couponSharedCount[c] ?? 0
            let pastShare = (past.couponSharedSubtotal[c] ?? 0) > 0 ? (past.couponSharedDiscount[c] ?? 0) / past.couponSharedSubtotal[c]! : 0
            if Int(s.stacked) >= cfg.minEvents {
                // blast radius: a code whose redemptions are mostly free orders is blocked; a code
                // where a few orders stacked discounts points at the stacking, not at the code
                let stackedShare = Double(s.stacked) / Double(max(s.applied, s.stacked))
                let pastAccounts = past.couponAccounts[c]?.estimate ?? 0
                let dominant = stackedShare >= config.general.abuseDominanceShare && pastAccounts <= 3
                let note = dominant ? ""
                    : pastAccounts > 3 ? "; not blocked: \(code) is public (\(Int(pastAccounts.rounded())) accounts redeemed it before), the stacking needs a fix"
                    : "; not blocked: \(Int(s.applied) - Int(s.stacked)) ordinary redemptions of it in the window"
                emit(&out, m, end, cfg.windowMinutes, .discountStacking, .p1, Subject(coupon: code),
                     Evidence(observed: Double(s.stacked), expected: 0, score: Stats.poissonTailScore(Double(s.stacked), expected: 0.01),
                              counts: [("redemptions", Double(s.applied)), ("discount_share", share), ("abuse_share", stackedShare)]),
                     dominant ? ProposedAction(kind: .blacklistCoupon, target: code) : nil,
                     "coupon \(code): \(s.stacked) redemptions with discount >= subtotal in \(cfg.windowMinutes) min\(note)")
            } else if Int(s.sharedCount) >= cfg.minRedemptions && pastCount >= Double(cfg.minRedemptions) && share - pastShare >= cfg.shareJump {
                emit(&out, m, end, cfg.windowMinutes, .discountStacking, .p1, Subject(coupon: code),
                     Evidence(observed: share, expected: pastShare, score: (share - pastShare) * 10,
                              counts: [("redemptions", Double(s.applied))]),
                     ProposedAction(kind: .blacklistCoupon, target: code),
                     "coupon \(code): discount share jumped from \(pct(pastShare)) to \(pct(share))")
            }
        }
    }

    private func providerStats(_ m: Int, _ w: Int) -> [Int32: ProviderStat] {
        var stats: [Int32: ProviderStat] = [:]
        for b in window(m, w) {
            for (p, s) in b.providers where p >= 0 {
                var t = stats[p] ?? ProviderStat()
                t.attempts += s.attempts; t.failures += s.failures; t.succeeded += s.succeeded; t.declined += s.declined
                stats[p] = t
            }
        }
        return stats
    }

    private func providerFailure(_ m: Int, _ end: Int64, _ out: inout [Finding]) {
        let cfg = config.providerFailure
        let hour = HourProfile.hour(m)
        // Adaptive window: a small shop's sustained degradation (a dozen failures over a quarter
        // hour) never fills the short window; the same evidence thresholds over a window three
        // times as long find it, while a few failures in a quarter hour stay quiet.
        let longWindow = min(3 * cfg.windowMinutes, longest)
        let windows = longWindow > cfg.windowMinutes ? [cfg.windowMinutes, longWindow] : [cfg.windowMinutes]
        var stats: [Int32: ProviderStat] = [:]
        var failing: [(Int32, ProviderStat, Double, Double)] = []
        var failingWindow: [Int32: Int] = [:]
        var raised = Set<Int32>()  // failing more than its own baseline now, threshold crossed or not
        var known = Set<Int32>()
        for (p, a) in past.providerAttempts where p >= 0 && a > 0 { known.insert(p) }
        for w in windows {
            let ws = providerStats(m, w)
            if w == cfg.windowMinutes { stats = ws }
            // the long window finds slow burns that are still burning: the provider's failures must
            // be raised in the short window too, or a past burst would keep a finding alive
            let raisedNow = raised
            for (p, s) in ws.sorted(by: { $0.key < $1.key }) where s.attempts > 0 {
                known.insert(p)
                var rate = ((past.providerFailures[p] ?? 0) + cfg.baselineFailureRate * 20) / ((past.providerAttempts[p] ?? 0) + 20)
                // failures that recur at this hour every day (a nightly maintenance) are expected now
                if past.hours.known(hour), let attempts = past.hours.providerAttempts[p]?[hour], attempts >= 100 {
                    let failures = past.hours.providerFailures[p]?[hour] ?? 0
                    rate = max(rate, (failures + cfg.baselineFailureRate * 20) / (attempts + 20))
                }
                let expected = rate * Double(s.attempts)
                let score = Stats.poissonTailScore(Double(s.failures), expected: expected)
                let observedRate = Double(s.failures) / Double(s.attempts)
                // with little history the normal rate is unknown: only a blatant one counts
                let coldStart = (past.providerAttempts[p] ?? 0) < 100
                let minRate = coldStart ? max(4 * cfg.minFailureRate, 3 * rate) : max(cfg.minFailureRate, 3 * rate)
                if failingWindow[p] == nil && (w == cfg.windowMinutes || raisedNow.contains(p))
                    && Int(s.failures) >= cfg.minFailures && observedRate >= minRate && score >= config.general.minScore {
                    failing.append((p, s, expected, score))
                    failingWindow[p] = w
                }
                // a degrading provider (failures clearly above its own expectation: tail below 1%)
                // is no fallback even before it crosses the threshold of a finding of its own
                if s.failures >= 2 && score >= 2 && observedRate >= 2 * rate { raised.insert(p) }
            }
        }
        guard !failing.isEmpty else { return }
        for (p, _, _, _) in failing { mark(m, failingWindow[p] ?? cfg.windowMinutes) { $0.providers.insert(p) } }
        if Set(failing.map(\.0)).isSuperset(of: known) {
            let f = failing.reduce(0) { $0 + Int($1.1.failures) }, a = failing.reduce(0) { $0 + Int($1.1.attempts) }
            let e = failing.reduce(0.0) { $0 + $1.2 }
            let w = failingWindow.values.max() ?? cfg.windowMinutes
            emit(&out, m, end, w, .paymentProviderFailure, .p0, Subject(),
                 Evidence(observed: Double(f), expected: e, score: failing.map(\.3).max() ?? 0,
                          counts: [("attempts", Double(a)), ("providers", Double(known.count))]),
                 nil, "every payment provider is failing: \(f) of \(a) attempts failed in \(w) min; nowhere to switch")
            return
        }
        // a switch only helps if some other provider is healthy right now
        let failingSet = Set(failing.map(\.0))
        let standbyFailures = recentFailures(m, minutes: 30)
        let healthy = known.subtracting(failingSet).filter { p in
            // a standby (switched off, no traffic now) only when nothing recent speaks against it
            guard let s = stats[p], s.attempts > 0 else { return (standbyFailures[p] ?? 0) == 0 }
            return !raised.contains(p) && Double(s.failures) / Double(s.attempts) < cfg.minFailureRate
        }
        for (p, s, expected, score) in failing {
            let name = providers.string(p)
            let w = failingWindow[p] ?? cfg.windowMinutes
            // a switch is proposed once the outage has lasted `confirmMinutes` with a healthy
            // fallback all along (the finding is raised at once, without it)
            let streak = providerStreak(p, m, fallbackHealthy: !healthy.isEmpty)
            let confirmed = !healthy.isEmpty && streak >= cfg.confirmMinutes
            let evidence = Evidence(observed: Double(s.failures), expected: expected, score: score,
                                    counts: [("attempts", Double(s.attempts)), ("failure_rate", Double(s.failures) / Double(s.attempts)),
                                             ("healthy_fallbacks", Double(healthy.count)), ("failing_minutes", Double(streak + 1))])
            let summary = "\(name): \(s.failures) of \(s.attempts) payment attempts failed on the provider side in \(w) min (expected \(fmt(expected)))"
            emit(&out, m, end, w, .paymentProviderFailure, .p1, Subject(provider: name), evidence, nil, summary)
            if confirmed {
                emit(&out, m, end, w, .paymentProviderFailure, .p1, Subject(provider: name), evidence,
                     ProposedAction(kind: .disableProvider, target: name),
                     summary + "; failing for \(streak + 1) min with a healthy fallback all along: switch", episode: "switch")
            }
        }
    }

    /// Minutes provider `p` has been failing without a break before minute `m` (0 = it starts
    /// now), counting only minutes in which a healthy fallback was there too. Evaluating one minute
    /// again (streaming re-evaluates the filling minute) does not extend it.
    private func providerStreak(_ p: Int32, _ m: Int, fallbackHealthy: Bool) -> Int {
        var s = streaks[p] ?? (start: m, last: m)
        if m > s.last + 1 || m < s.start || !fallbackHealthy { s = (start: m, last: m) }
        s.last = max(s.last, m)
        streaks[p] = s
        return m - s.start
    }

    /// Provider-side failures per provider in the `minutes` before minute `m` (inclusive).
    private func recentFailures(_ m: Int, minutes: Int) -> [Int32: Int] {
        var out: [Int32: Int] = [:]
        for b in window(m, minutes) { for (p, s) in b.providers where p >= 0 && s.failures > 0 { out[p, default: 0] += Int(s.failures) } }
        return out
    }

    private func cardTesting(_ m: Int, _ end: Int64, _ history: Int, _ out: inout [Finding]) {
        let cfg = config.cardTesting
        let bs = window(m, cfg.windowMinutes)
        var merged: [UInt64: (count: Int32, p: IdentityPayload)] = [:]
        var declines = 0, attempts = 0, small = 0
        var cards = BottomK(k: 64)
        for b in bs {
            declines += Int(b.declines); attempts += Int(b.attempts); small += Int(b.smallDeclines)
            cards.merge(b.declineCards)
            for i in 0..<b.decliners.count {
                let key = b.decliners.keys[i]
                let lb = b.decliners.lowerBound(i)
                if var v = merged[key] {
                    v.count += lb; v.p.distinct.merge(b.decliners.payloads[i].distinct); v.p.small += b.decliners.payloads[i].small
                    merged[key] = v
                } else { merged[key] = (lb, b.decliners.payloads[i]) }
            }
        }
        let declining = merged.filter { Int($0.value.count) >= cfg.minDistinctCards }
        for (_, v) in declining.sorted(by: { $0.key < $1.key }) {
            let distinct = v.p.distinct.estimate
            guard distinct >= Double(cfg.minDistinctCards) else { continue }
            let who = name(v.p.name, v.p.identity)
            emit(&out, m, end, cfg.windowMinutes, .cardTesting, .p2, v.p.kind == .user ? Subject(user: who) : Subject(ip: who),
                 Evidence(observed: distinct.rounded(), expected: 1, score: Stats.poissonTailScore(distinct.rounded(), expected: 1),
                          counts: [("declines", Double(v.count)), ("small_amounts", Double(v.p.small))]),
                 nil, "\(v.p.kind == .user ? "user" : "ip") \(who): \(v.count) declines over \(Int(distinct.rounded())) cards in \(cfg.windowMinutes) min")
        }
        guard declines >= cfg.minDeclineSurge else { return }
        let rate = (past.declines + 1) / (past.attempts + 20)
        let expected = rate * Double(attempts)
        let score = Stats.poissonTailScore(Double(declines), expected: expected)
        let distinctCards = cards.estimate
        if score >= config.general.minScore && distinctCards >= 0.5 * Double(declines) && Double(small) >= 0.5 * Double(declines) {
            mark(m, cfg.windowMinutes) { $0.declines = true }
            emit(&out, m, end, cfg.windowMinutes, .cardTesting, .p2, Subject(),
                 Evidence(observed: Double(declines), expected: expected, score: score,
                          counts: [("cards", distinctCards.rounded()), ("small_amounts", Double(small)), ("attempts", Double(attempts))]),
                 nil, "\(declines) card declines in \(cfg.windowMinutes) min (expected \(fmt(expected))), mostly small amounts on many cards")
        }
    }

    private func compensation(_ m: Int, _ end: Int64, _ out: inout [Finding]) {
        let cfg = config.compensationFailure
        var count = 0, traffic = 0
        for b in window(m, cfg.windowMinutes) { count += Int(b.compensation); traffic += b.traffic }
        guard count >= cfg.minFailures else { return }
        let rate = (past.compensation + 0.5) / (past.traffic + 1000)
        let expected = rate * Double(max(traffic, 1))
        let score = Stats.poissonTailScore(Double(count), expected: expected)
        guard score >= config.general.minScore else { return }
        mark(m, cfg.windowMinutes) { $0.compensation = true }
        emit(&out, m, end, cfg.windowMinutes, .compensationFailure, .p1, Subject(),
             Evidence(observed: Double(count), expected: expected, score: score, counts: [("traffic", Double(traffic))]),
             nil, "\(count) failed saga compensations in \(cfg.windowMinutes) min (expected \(fmt(expected)))")
    }

    private func latency(_ m: Int, _ end: Int64, _ out: inout [Finding]) {
        let cfg = config.latency
        var h = LatencyHistogram()
        var timeouts = 0, traffic = 0
        for b in window(m, cfg.windowMinutes) { h.merge(b.latency); timeouts += Int(b.timeouts); traffic += b.traffic }
        var p99 = 0.0
        var slow = false
        if h.total >= cfg.minRequests {
            p99 = h.quantile(0.99)
            slow = p99 > cfg.p99Ms && h.above(cfg.p99Ms) >= cfg.minSlow
        }
        let rate = (past.timeouts + 0.5) / (past.traffic + 100)
        let expectedTimeouts = rate * Double(max(traffic, 1))
        let tscore = Stats.poissonTailScore(Double(timeouts), expected: expectedTimeouts)
        let timeoutSurge = timeouts >= cfg.minTimeouts && tscore >= config.general.minScore
        guard slow || timeoutSurge else { return }
        if timeoutSurge { mark(m, cfg.windowMinutes) { $0.timeouts = true } }
        let sev: Severity = (p99 > cfg.p1Ms || timeoutSurge) ? .p1 : .p2
        let above = h.above(cfg.p99Ms)
        let score = slow ? Stats.poissonTailScore(Double(above), expected: 0.01 * Double(h.total)) : tscore
        emit(&out, m, end, cfg.windowMinutes, .latency, sev, Subject(),
             Evidence(observed: slow ? p99 : Double(timeouts), expected: slow ? cfg.p99Ms : expectedTimeouts, score: max(score, tscore),
                      counts: [("p99_ms", p99), ("requests", Double(h.total)), ("timeouts", Double(timeouts))]),
             nil, slow ? "p99 latency \(Int(p99)) ms over \(h.total) requests in \(cfg.windowMinutes) min; \(timeouts) timeouts"
                       : "\(timeouts) timeouts in \(cfg.windowMinutes) min (expected \(fmt(expectedTimeouts)))")
    }

    private func dbSaturation(_ m: Int, _ end: Int64, _ out: inout [Finding]) {
        guard let b = buckets[m], Int(b.dbSaturation) >= config.dbSaturation.minEvents else { return }
        emit(&out, m, end, 1, .dbSaturation, .p1, Subject(),
             Evidence(observed: Double(b.dbSaturation), expected: 0, score: Stats.poissonTailScore(Double(b.dbSaturation), expected: 0.01)),
             nil, "database connection slots exhausted: \(b.dbSaturation) 'too many clients' errors in 1 min")
    }

    private func fmt(_ v: Double) -> String { v < 10 ? String((v * 100).rounded() / 100) : String(Int(v.rounded())) }
    private func pct(_ v: Double) -> String { "\(Int((v * 100).rounded()))%" }
}
