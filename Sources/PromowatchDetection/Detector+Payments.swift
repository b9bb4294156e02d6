import PromowatchCore

// Payment detectors: provider-side failures (with the confirmation a switch waits for) and card
// testing. Customer declines are never a provider's failure.
extension Detector {
    /// A provider over the failure threshold in the evaluated minute.
    struct FailingProvider {
        var provider: Int32
        var stat: ProviderStat
        var expected: Double
        var score: Double
    }

    func providerStats(_ m: Int, _ w: Int) -> [Int32: ProviderStat] {
        var stats: [Int32: ProviderStat] = [:]
        for b in window(m, w) {
            for (p, s) in b.providers where p >= 0 {
                var t = stats[p] ?? ProviderStat()
                t.attempts +~= s.attempts
                t.failures +~= s.failures
                t.succeeded +~= s.succeeded
                t.declined +~= s.declined
                stats[p] = t
            }
        }
        return stats
    }

    func providerFailure(_ m: Int, _ end: Int64, _ out: inout [Finding]) {
        let cfg = config.providerFailure
        let hour = HourProfile.hour(m)
        // Adaptive windows, the same evidence thresholds over each: a small shop's sustained
        // degradation (a dozen failures over a quarter hour) never fills the short window but fills
        // one three times as long, while a few failures in a quarter hour stay quiet; a busy shop's
        // sharp onset is diluted by four healthy minutes in the short window but plain in its
        // first minute alone.
        let longWindow = min(3 * cfg.windowMinutes, longest)
        var windows = [cfg.windowMinutes]
        if cfg.windowMinutes > 1 { windows.append(1) }
        if longWindow > cfg.windowMinutes { windows.append(longWindow) }
        var stats: [Int32: ProviderStat] = [:]
        var failing: [FailingProvider] = []
        var failingWindow: [Int32: Int] = [:]
        var raised = Set<Int32>()  // failing more than its own baseline now, threshold crossed or not
        var burning = Set<Int32>()  // raised in the short window at the rate a finding needs
        var suspect = Set<Int32>()  // any failure now that its baseline makes unlikely (p < 5%)
        var longStats: [Int32: ProviderStat] = [:]
        var known = Set<Int32>()
        for (p, a) in past.providerAttempts where p >= 0 && a > 0 { known.insert(p) }
        for w in windows {
            let ws = providerStats(m, w)
            if w == cfg.windowMinutes { stats = ws }
            if w == longWindow { longStats = ws }
            // the long window finds slow burns that are still burning: the provider's failures must
            // be raised in the short window too, at the rate a finding needs (the long window only
            // adds the count), or a past burst would keep a finding alive (pinned: seed
            // 72208688273, a quarter hour still holding an outage that ended seven minutes before,
            // whose short window had 4 failures in 635 attempts)
            let burningNow = burning
            for (p, s) in ws.sorted(by: { $0.key < $1.key }) where s.attempts > 0 {
                known.insert(p)
                var rate =
                    ((past.providerFailures[p] ?? 0) + cfg.baselineFailureRate * 20)
                    / ((past.providerAttempts[p] ?? 0) + 20)
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
                if failingWindow[p] == nil && (w <= cfg.windowMinutes || burningNow.contains(p))
                    && Int(s.failures) >= cfg.minFailures && observedRate >= minRate && score >= config.general.minScore
                {
                    failing.append(FailingProvider(provider: p, stat: s, expected: expected, score: score))
                    failingWindow[p] = w
                }
                // a degrading provider (failures clearly above its own expectation: tail below 1%)
                // is no fallback even before it crosses the threshold of a finding of its own
                if s.failures >= 2 && score >= 2 && observedRate >= 2 * rate {
                    raised.insert(p)
                    if w == cfg.windowMinutes && observedRate >= minRate { burning.insert(p) }
                }
                // a fallback must be above suspicion in the short window and in its newest minute:
                // one failure its baseline makes unlikely (p < 5% over the window, < 1% in the
                // newest minute alone) is enough to wait (verify after a switch would catch it only
                // after the damage; a staggered onset shows there first). The newest minute asks
                // for more: a fresh minute is tested every minute of a confirmation, and one failure
                // in a minute of five payments against a 1% baseline (p 4.9%) broke a Stripe
                // outage's streak on a healthy PayPal now and then
                let unlikely = w == 1 ? 2.0 : 1.3
                if w <= cfg.windowMinutes && s.failures >= 1 && score >= unlikely && observedRate >= 2 * rate {
                    suspect.insert(p)
                }
            }
        }
        guard !failing.isEmpty else { return }
        for p in failing.map(\.provider) { mark(m, failingWindow[p] ?? cfg.windowMinutes) { $0.providers.insert(p) } }
        if Set(failing.map(\.provider)).isSuperset(of: known) {
            let f = failing.reduce(0) { $0 + Int($1.stat.failures) }
            let a = failing.reduce(0) { $0 + Int($1.stat.attempts) }
            let e = failing.reduce(0.0) { $0 + $1.expected }
            let w = failingWindow.values.max() ?? cfg.windowMinutes
            emit(
                FindingDraft(
                    category: .paymentProviderFailure, severity: .p0, subject: Subject(), windowMinutes: w,
                    evidence: Evidence(
                        observed: Double(f), expected: e, score: failing.map(\.score).max() ?? 0,
                        counts: [("attempts", Double(a)), ("providers", Double(known.count))]),
                    summary:
                        "every payment provider is failing: \(f) of \(a) attempts failed in \(w) min; nowhere to switch"
                ),
                m, end, into: &out)
            return
        }
        // a switch only helps if some other provider is healthy right now, on evidence gathered
        // while the outage has been showing: the short window, then the minutes since the outage
        // was first seen, up to the long window (a quarter hour of health from before the outage
        // says nothing about a shared cause that reached the fallback a minute or two later)
        let failingSet = Set(failing.map(\.provider))
        var onset = m
        for p in failingSet { onset = min(onset, m - Detector.extendRun(&outages, p, m, unbroken: true)) }
        let span = min(longWindow, max(cfg.windowMinutes, m - onset + 1))
        let fallbacks = fallbackVerdicts(
            candidates: known.subtracting(failingSet), short: stats,
            overSpan: span == longWindow ? longStats : providerStats(m, span), spanMinutes: span,
            raised: raised.union(suspect), failing: failing, m: m)
        let healthy = Set(fallbacks.compactMap { $0.reason == nil ? $0.provider : nil })
        // the fallback that would take the traffic: the healthy one carrying the most now
        let fallback = healthy.max { a, b in
            (stats[a]?.attempts ?? 0, b) < (stats[b]?.attempts ?? 0, a)
        }
        let perMinute = { (p: Int32) in Double(stats[p]?.attempts ?? 0) / Double(cfg.windowMinutes) }
        for f in failing {
            let (p, s, expected, score) = (f.provider, f.stat, f.expected, f.score)
            let name = providers.string(p)
            let w = failingWindow[p] ?? cfg.windowMinutes
            // a switch is proposed once the outage has lasted `confirmMinutes` with a healthy
            // fallback all along (the finding is raised at once, without it)
            let streak = providerStreak(p, m, fallbackHealthy: !healthy.isEmpty)
            // a minute still filling (a live look seconds into it) has not been witnessed yet: it
            // does not count toward the confirmation, which lands where a batch's does, on the
            // whole minute (pinned: seed 777201845012, where a look at 19:29:00 counted 19:29 as a
            // failing minute with a healthy fallback and switched stripe to a paypal whose own
            // degradation had begun 90 s before; analyze, judging 19:29 whole, did not)
            let filling = end < Int64(m + 1) * Detector.minuteNanos
            // an outage fails the customers who try: failures from fewer accounts than the least
            // count that may speak, three or more each, are those accounts' doing (an attack the
            // provider answers with errors, a client's retry loop); switching would move them to
            // the fallback along with everyone's payments (pinned: card testing from three ips,
            // answered by stripe with rate_limit, switched stripe off)
            // Only where the logged accounts tell the provider's customers apart (three times as
            // many paying as failing): payments that all carry one proxy's ip say nothing by it.
            let spread = failingAccounts(p, m, w)
            let accounts = spread?.failing
            let concentrated =
                spread.map {
                    $0.failing < cfg.minFailures && $0.failing * 3 <= Int(s.failures) && $0.attempting >= 3 * $0.failing
                } ?? false
            let confirmed =
                !concentrated && !healthy.isEmpty && streak - (filling ? 1 : 0) >= cfg.confirmMinutes
            let load = ProviderLoad(
                movedPerMinute: perMinute(p), fallback: fallback.map { providers.string($0) },
                fallbackPerMinute: fallback.map(perMinute) ?? 0)
            var counts: [(String, Double)] = [
                ("attempts", Double(s.attempts)), ("failure_rate", Double(s.failures) / Double(s.attempts)),
                ("healthy_fallbacks", Double(healthy.count)), ("failing_minutes", Double(streak + 1)),
                ("attempts_per_minute", load.movedPerMinute),
            ]
            if load.fallback != nil { counts.append(("fallback_attempts_per_minute", load.fallbackPerMinute)) }
            if let accounts { counts.append(("failing_accounts", Double(accounts))) }
            let evidence = Evidence(observed: Double(s.failures), expected: expected, score: score, counts: counts)
            var summary =
                "\(name): \(s.failures) of \(s.attempts) payment attempts failed on the provider side in \(w) min (expected \(fmt(expected)))"
            if let fb = load.fallback {
                summary +=
                    "; a switch moves \(fmt(load.movedPerMinute))/min to \(fb) (carrying \(fmt(load.fallbackPerMinute))/min now)"
            } else {
                let reasons = fallbacks.compactMap(\.reason)
                summary += reasons.isEmpty ? "; no other provider" : "; no fallback: " + reasons.joined(separator: "; ")
            }
            if concentrated, let accounts {
                summary +=
                    "; not switched: the failures came from \(accounts) account(s) (an attack or a client's retries, not an outage): look at them"
            }
            var draft = FindingDraft(
                category: .paymentProviderFailure, severity: .p1, subject: Subject(provider: name), windowMinutes: w,
                evidence: evidence, summary: summary, remedy: .switchProvider(name, confirmed: false, load: load),
                provider: p)
            emit(draft, m, end, into: &out)
            if confirmed {
                draft.summary += "; failing for \(streak + 1) min with a healthy fallback all along: switch"
                draft.remedy = .switchProvider(name, confirmed: true, load: load)
                draft.episode = "switch"
                emit(draft, m, end, into: &out)
            }
        }
    }

    /// Distinct accounts behind provider `p`'s provider-side failures, and behind all its
    /// attempts, over the `w` minutes to `m` (one without an account counts as one of its own);
    /// nil when some minute of the window was restored from a snapshot written before they were.
    func failingAccounts(_ p: Int32, _ m: Int, _ w: Int) -> (failing: Int, attempting: Int)? {
        var failing = BottomK(k: MinuteBucket.failingAccountsK)
        var attempting = BottomK(k: MinuteBucket.failingAccountsK)
        var (failingUnidentified, attemptsUnidentified) = (0, 0)
        for b in window(m, w) {
            guard b.failingAccountsKnown else { return nil }
            if let a = b.failingAccounts[p] { failing.merge(a) }
            if let a = b.attemptAccounts[p] { attempting.merge(a) }
            failingUnidentified += Int(b.failingUnidentified[p] ?? 0)
            attemptsUnidentified += Int(b.attemptsUnidentified[p] ?? 0)
        }
        return (
            Int(failing.estimate.rounded()) + failingUnidentified,
            Int(attempting.estimate.rounded()) + attemptsUnidentified
        )
    }

    /// Each candidate fallback with the reason it cannot take traffic (nil: it can). A provider
    /// with traffic must show health on evidence: nothing raised or suspect now, and enough
    /// attempts over `overSpan` (the outage's span) that, were it failing at half the failing provider's rate
    /// (or `min_failure_rate`), it would have shown (the upper end of its failure rate's 95%
    /// interval below that). A standby (no traffic over the span) only when it had no
    /// provider-side failure in the last 30 minutes.
    func fallbackVerdicts(
        candidates: Set<Int32>, short: [Int32: ProviderStat], overSpan: [Int32: ProviderStat], spanMinutes: Int,
        raised: Set<Int32>, failing: [FailingProvider], m: Int
    ) -> [(provider: Int32, reason: String?)] {
        let cfg = config.providerFailure
        let worst = failing.map { Double($0.stat.failures) / Double(max($0.stat.attempts, 1)) }.min() ?? 0
        let failingToo = max(worst / 2, cfg.minFailureRate)
        let recent = recentPayments(m, minutes: 30)
        return candidates.sorted().map { p in
            let name = providers.string(p)
            let s = short[p] ?? ProviderStat()
            let l = overSpan[p] ?? ProviderStat()
            if l.attempts == 0 && s.attempts == 0 {
                // a standby is switched off: no traffic for half an hour. One that carried some
                // (a night's trickle with a quiet few minutes) has shown nothing, not health
                // (pinned: seed 923511689703, stripe switched to a paypal degrading with it that
                // had had no attempt in the five minutes of a live evaluation)
                let (attempts, failures) = recent[p] ?? (0, 0)
                if attempts > 0 {
                    return (
                        p,
                        "\(name) has too few attempts to show it is healthy (none in \(spanMinutes) min, \(attempts) shortly before)"
                    )
                }
                return (
                    p, failures == 0 ? nil : "\(name) is on standby but failed \(failures) time(s) in the last 30 min"
                )
            }
            // raised: failures its own baseline makes unlikely (suspects are among `raised` here).
            // Not one failure in twenty: against a 0.4% baseline that happens one window in eleven,
            // and it flipped a healthy PayPal's verdict minute by minute through a Stripe outage,
            // so its switch waited on luck (the Wilson bound below asks whether it fails like the
            // failing provider)
            if raised.contains(p) {
                return (
                    p,
                    "\(name) is failing more than usual too (\(s.failures) of \(s.attempts) in \(cfg.windowMinutes) min)"
                )
            }
            let n = Double(max(l.attempts, s.attempts))
            let k = Double(max(l.failures, s.failures))
            if Stats.wilsonUpper(k / n, n: n) >= failingToo {
                return (
                    p,
                    "\(name) has too few attempts to show it is healthy (\(Int(k)) of \(Int(n)) failed in \(spanMinutes) min)"
                )
            }
            return (p, nil)
        }
    }

    /// Minutes provider `p` has been failing without a break before minute `m` (0 = it starts
    /// now), counting only minutes in which a healthy fallback was there too. Evaluating one minute
    /// again (streaming re-evaluates the filling minute) does not extend it, and its latest verdict
    /// on the fallback replaces the earlier ones: watch once lost a confirmed Stripe outage's
    /// switch because a look at a minute's first seconds found too few PayPal attempts, and that
    /// broke the streak for good while the full minute showed PayPal healthy (analyze switched).
    func providerStreak(_ p: Int32, _ m: Int, fallbackHealthy: Bool) -> Int {
        let run = Detector.extendRun(&streaks, p, m, unbroken: true)
        let start = m - run
        var doubts = fallbackDoubts[p, default: []].filter { $0 >= start && $0 != m }
        if !fallbackHealthy { doubts.append(m) }
        doubts.sort()
        fallbackDoubts[p] = doubts.isEmpty ? nil : doubts
        guard let last = doubts.last(where: { $0 <= m }) else { return run }
        return m - last  // a doubted minute starts the streak anew, as a gap does
    }

    /// Extends `p`'s run of consecutive minutes to minute `m` (a new run after a gap, before its
    /// start, or when not `unbroken`) and returns the minutes before `m` in it. Evaluating one
    /// minute again (streaming re-evaluates the filling minute) does not extend it.
    static func extendRun(_ runs: inout [Int32: (start: Int, last: Int)], _ p: Int32, _ m: Int, unbroken: Bool) -> Int {
        var s = runs[p] ?? (start: m, last: m)
        if m > s.last + 1 || m < s.start || !unbroken { s = (start: m, last: m) }
        s.last = max(s.last, m)
        runs[p] = s
        return m - s.start
    }

    /// Payment attempts and provider-side failures per provider in the `minutes` before minute
    /// `m` (inclusive).
    func recentPayments(_ m: Int, minutes: Int) -> [Int32: (attempts: Int, failures: Int)] {
        var out: [Int32: (attempts: Int, failures: Int)] = [:]
        for b in window(m, minutes) {
            for (p, s) in b.providers where p >= 0 && (s.attempts > 0 || s.failures > 0) {
                let t = out[p] ?? (0, 0)
                out[p] = (t.attempts + Int(s.attempts), t.failures + Int(s.failures))
            }
        }
        return out
    }

    func cardTesting(_ m: Int, _ end: Int64, _ history: Int, _ out: inout [Finding]) {
        let cfg = config.cardTesting
        let bs = window(m, cfg.windowMinutes)
        var declines = 0
        var attempts = 0
        var small = 0
        var cards = BottomK(k: 64)
        for b in bs {
            declines += Int(b.declines)
            attempts += Int(b.attempts)
            small += Int(b.smallDeclines)
            cards.merge(b.declineCards)
        }
        let merged = mergedHitters(bs, \.decliners) { a, b in
            a.distinct.merge(b.distinct)
            a.small +~= b.small
        }
        let declining = merged.filter { Int($0.value.count) >= cfg.minDistinctCards }
        for (_, v) in declining.sorted(by: { $0.key < $1.key }) {
            let distinct = v.p.distinct.estimate
            guard distinct >= Double(cfg.minDistinctCards) else { continue }
            let who = name(v.p.name, v.p.identity)
            let evidence = Evidence(
                observed: distinct.rounded(), expected: 1,
                score: Stats.poissonTailScore(distinct.rounded(), expected: 1),
                counts: [("declines", Double(v.count)), ("small_amounts", Double(v.p.small))])
            let summary =
                "\(v.p.kind == .user ? "user" : "ip") \(who): \(v.count) declines over \(Int(distinct.rounded())) cards in \(cfg.windowMinutes) min"
            emit(
                FindingDraft(
                    category: .cardTesting, severity: .p2,
                    subject: v.p.kind == .user ? Subject(user: who) : Subject(ip: who),
                    windowMinutes: cfg.windowMinutes, evidence: evidence, summary: summary), m, end, into: &out)
        }
        guard declines >= cfg.minDeclineSurge else { return }
        let rate = (past.declines + 1) / (past.attempts + 20)
        let expected = rate * Double(attempts)
        let score = Stats.poissonTailScore(Double(declines), expected: expected)
        let distinctCards = cards.estimate
        if score >= config.general.minScore && distinctCards >= 0.5 * Double(declines)
            && Double(small) >= 0.5 * Double(declines)
        {
            mark(m, cfg.windowMinutes) { $0.declines = true }
            let evidence = Evidence(
                observed: Double(declines), expected: expected, score: score,
                counts: [
                    ("cards", distinctCards.rounded()), ("small_amounts", Double(small)),
                    ("attempts", Double(attempts)),
                ])
            emit(
                FindingDraft(
                    category: .cardTesting, severity: .p2, subject: Subject(), windowMinutes: cfg.windowMinutes,
                    evidence: evidence,
                    summary:
                        "\(declines) card declines in \(cfg.windowMinutes) min (expected \(fmt(expected))), mostly small amounts on many cards"
                ),
                m, end, into: &out)
        }
    }
}
