import PromowatchCore

// Coupon detectors: abuse (a code suddenly redeemed by many new accounts), reuse (one account or
// ip applying a code again and again), enumeration (guessing codes) and discount stacking.
extension Detector {
    /// Other redeeming accounts a window must hold to say how new the shop's customers are now.
    static let minShopSample = 16

    func mergedCoupons(_ bs: [MinuteBucket]) -> (total: Int, stats: [Int32: CouponStat]) {
        var total = 0
        var stats: [Int32: CouponStat] = [:]
        for b in bs {
            total += Int(b.applied)
            for (c, s) in b.coupons { stats[c, default: CouponStat()].merge(s) }
        }
        return (total, stats)
    }

    func couponAbuse(_ m: Int, _ end: Int64, _ history: Int, _ out: inout [Finding]) {
        let cfg = config.couponAbuse
        guard history >= config.general.warmupMinutes else { return }
        let bs = window(m, cfg.windowMinutes)
        let (total, stats) = mergedCoupons(bs)
        // checkout traffic now, and coupon redemptions per unit of it in the past
        var reference = bs.reduce(0) { $0 + $1.reference }
        var pastReference = past.reference
        var hourReference = past.hours.reference
        if pastReference < 100 || reference == 0 {  // no checkout logs
            reference = total
            pastReference = past.applied
            hourReference = past.hours.applied
        }
        let hour = HourProfile.hour(m)
        let ws = m - cfg.windowMinutes + 1
        // the account history behind "new": every minute seen before the window, folded into the
        // baseline (kept across cron runs) or still held in buckets. The folded minutes alone
        // were an hour short, and a leak 24 h 11 min into a shop's logs was judged on "23 h"
        // (seed 562550866535)
        let accountHistory = past.minutes + max(0, ws - max(pastUpTo, firstMinute))
        func isNew(_ h: UInt64) -> Bool { firstSeen.firstSeen(h) >= Int32(clamping: ws - 10) }
        // the sketch behind "new" blurs as it fills: in a shop of a million customers some new
        // accounts read as returning ones. Shares of new accounts are divided by the share that
        // still reads new (`readsOldWhenNew`)
        let readsNew = firstSeen.readsNew
        func newShareOf(_ sample: [UInt64], _ fresh: (UInt64) -> Bool = isNew) -> (observed: Double, share: Double) {
            guard !sample.isEmpty else { return (0, 0) }
            let observed = Double(sample.filter(fresh).count) / Double(sample.count)
            return (observed, min(1, observed / readsNew))
        }
        /// The lower end of the one-sided 99% interval of a new share, seen through the blur.
        func surelyAtLeast(_ observed: Double, n: Int) -> Double {
            min(1, Stats.wilsonLower(observed, n: Double(n), z: Stats.sure) / readsNew)
        }
        // how new the shop's other redeeming accounts are right now (all coupons but the one judged);
        // a small shop's window holds a handful of them, too few to say what is usual (two of
        // three new made thirteen new redeemers of a leaked code look ordinary at night): then
        // over every minute still kept (the longest window)
        var wide: [Int32: CouponStat]?
        func wideStats() -> [Int32: CouponStat] {
            if wide == nil { wide = mergedCoupons(window(m, longest)).stats }
            return wide!
        }
        func shopNewShare(excluding c: Int32) -> Double {
            var all = BottomK(k: 64)
            for (o, s) in stats where o != c { all.merge(s.accounts) }
            if all.values.count < Detector.minShopSample && longest > cfg.windowMinutes {
                all = BottomK(k: 64)
                for (o, s) in wideStats() where o != c { all.merge(s.accounts) }
            }
            return newShareOf(all.values).share
        }
        /// Whether the code's redeemers are surely (99%) new, by `bar`, judged on the largest
        /// sample of them still kept: every minute of the longest window (where a slow leak's
        /// redeemers accumulate: three a minute are fifteen in five minutes, too few against a shop
        /// half new; forty-five in fifteen are not), its past accounts (the owners) left out, so a
        /// leak's first minutes are judged on their redeemers alone. Not the short window alone: a
        /// launch judged every minute for an hour on its newest five minutes finds, by chance, some
        /// stretch where eight of nine redeemers were lapsed customers (pinned: seed 704793836628,
        /// a tiny shop's previewed launch, "0% new" at its start, blacklisted 42 minutes in on
        /// "8 of 9 new"). "New" there: first seen in the long window or the ten minutes before it.
        func surelyNew(_ c: Int32, _ sample: [UInt64], _ observedNew: Double, bar: Double) -> Bool {
            guard longest > cfg.windowMinutes, let all = wideStats()[c]?.accounts.values, all.count > sample.count
            else { return surelyAtLeast(observedNew, n: sample.count) >= bar }
            let owners = Set(past.couponAccounts[c]?.values ?? [])
            let redeemers = all.filter { !owners.contains($0) }
            guard !redeemers.isEmpty else { return false }
            let since = Int32(clamping: m - longest + 1 - 10)
            let observed = newShareOf(redeemers) { firstSeen.firstSeen($0) >= since }.observed
            return surelyAtLeast(observed, n: redeemers.count) >= bar
        }
        // a private code needs only its distinct new users as evidence (`minNewAccounts` of them);
        // anything else needs `minRedemptions`
        let fewestPrivate = Stats.fewestSure(share: cfg.newAccountShare)
        let fewest = min(cfg.minRedemptions, cfg.minNewAccounts, fewestPrivate)
        for (c, s) in stats.sorted(by: { $0.key < $1.key }) where Int(s.applied) >= fewest {
            let code = coupons.string(c)
            var expected = Double(reference) * ((past.couponApplied[c] ?? 0) + 0.5) / (pastReference + 1)
            // a code busy at this hour every day (a lunch-time offer) is expected to be busy now
            if past.hours.known(hour), let daily = past.hours.coupons[c], hourReference[hour] >= 100 {
                expected = max(expected, Double(reference) * (daily[hour] + 0.5) / (hourReference[hour] + 1))
            }
            let score = Stats.poissonTailScore(Double(s.applied), expected: expected)
            guard score >= config.general.minScore else { continue }
            let shopNew = shopNewShare(excluding: c)
            let sample = s.accounts.values
            let (observedNew, newShare) = newShareOf(sample)
            let distinct = s.accounts.estimate
            let newAccounts = distinct * newShare
            // a code that belonged to a handful of accounts for a long time (at least an hour),
            // now redeemed by many: leaked. A new campaign's first redemptions are not that.
            let pastAccounts = past.couponAccounts[c]?.estimate ?? 0
            let privateSince = minutesWatched(c, before: ws)
            // a private code's history is evidence of its own: it needs only as many redeemers as
            // can show them surely new (blocking needs that), not `minNewAccounts`
            let wasPrivate =
                privateSince >= BlastRadius.privateAfterMinutes && pastAccounts <= 3
                && distinct >= Double(min(cfg.minNewAccounts, fewestPrivate))
            // new redeemers are evidence only where they are newer than usual: than the shop's
            // other redeemers now, and than the code's own over its history (a welcome code is
            // redeemed by new accounts by design; pinned: a surge of new customers on a sale day
            // blacklisted WELCOME10, "100% vs 17% shop-wide", when 100% was its every day)
            let usual = past.couponRedeemers[c]?.share
            let bar = max(cfg.newAccountShare, shopNew + 0.25, (usual ?? 0) + 0.25)
            let novel = newShare >= bar && newAccounts >= Double(cfg.minNewAccounts)
            // fewer than `min_redemptions` speak when their redeemers are surely (99%) newer than
            // the bar, as a code's first `min_new_accounts` fresh redeemers are: a leak at three
            // redemptions a minute in a quiet shop took seven minutes to reach twenty, found late
            // on every such day (pinned: seeds 752947805779, 815662440295)
            let surelyNovel = novel && surelyAtLeast(observedNew, n: sample.count) >= bar
            guard Int(s.applied) >= cfg.minRedemptions || wasPrivate || surelyNovel else { continue }
            let dshare = s.sharedSubtotal > 0 ? s.sharedDiscount / s.sharedSubtotal : 0
            let deep = Int(s.sharedCount) * 2 >= cfg.minRedemptions && dshare >= cfg.abnormalDiscountShare
            // a deep discount is abuse whoever redeems only as a jump over the code's own terms (a
            // misconfiguration or an exploit). A code without a history of its own, or always this
            // deep, gives what its promotion says: a Black Friday code at 70% off among returning
            // customers was blacklisted at P0 as "discount share 70%"; its redeemers decide
            let own = past.discountShare(c)
            let ownShare = own.count >= Double(cfg.minRedemptions) ? own.share : nil
            let abnormalDiscount = deep && ownShare.map { dshare - $0 >= config.discountStacking.shareJump } ?? false
            guard novel || wasPrivate || deep else { continue }
            mark(m, cfg.windowMinutes) { $0.coupons.insert(c) }
            let excess = s.discount * max(0, 1 - expected / Double(s.applied))
            // blast radius: the share of the code's redemptions the abuse explains. A discount no
            // one should get: all. Otherwise the share of its redeemers new to the shop, for a
            // private code too: established customers redeeming it are what a campaign launched
            // after a staff preview looks like, and their use is what a block would break
            // (pinned: seed 524980214464, a previewed launch an hour in, 25 of 35 redeemers new
            // against a shop 14% new, blacklisted when every redeemer but the two owners counted
            // as abuse)
            // Where the code's usual share u of new redeemers is known, its legitimate use brings
            // new accounts too: new share now = (1 - a) u + a for an abuse share a
            let abuseShare =
                abnormalDiscount ? 1 : usual.map { $0 < 1 ? max(0, (newShare - $0) / (1 - $0)) : 0 } ?? newShare
            let legitPerMinute = Double(s.applied) * (1 - abuseShare) / Double(cfg.windowMinutes)
            let sev: Severity = excess >= cfg.p0Discount ? .p0 : .p1
            let why =
                wasPrivate
                ? "a code of \(Int(pastAccounts)) account(s) now used by \(Int(distinct.rounded()))"
                : novel
                    ? "\(Int(newAccounts.rounded())) new accounts (\(pct(newShare)) vs \(pct(shopNew)) shop-wide"
                        + (usual.map { ", \(pct($0)) usual for it)" } ?? ")")
                    : "discount share \(pct(dshare))"
                        + (ownShare.map { " (\(pct($0)) usual for it)" } ?? " (no history of its own)")
            let evidence = Evidence(
                observed: Double(s.applied), expected: expected, score: score,
                counts: [
                    ("accounts", distinct.rounded()), ("new_accounts", newAccounts.rounded()), ("new_share", newShare),
                    ("shop_new_share", shopNew), ("past_accounts", pastAccounts.rounded()), ("discount", s.discount),
                    ("discount_share", dshare), ("excess_discount", excess), ("abuse_share", abuseShare),
                    ("legit_per_minute", legitPerMinute),
                ] + (usual.map { [("usual_new_share", $0)] } ?? [])
                    + (readsNew < 0.99 ? [("new_read_as_returning", 1 - readsNew)] : []))
            let blast = BlastRadius(
                abuseShare: abuseShare, pastAccounts: pastAccounts,
                otherRedemptions: Int((Double(s.applied) * (1 - abuseShare)).rounded()), legitPerMinute: legitPerMinute,
                basis: abnormalDiscount ? .abnormalDiscount : wasPrivate ? .privateCode : .newAccounts,
                accountHistoryMinutes: accountHistory, newShare: newShare, shopNewShare: shopNew,
                // surely (99%), not by the luck of a small sample: a night's ten redeemers of a
                // launch can be seven or eight lapsed customers
                redeemersAreNew: wasPrivate && surelyNew(c, sample, observedNew, bar: bar))
            let summary =
                "coupon \(code) redeemed \(s.applied) times in \(cfg.windowMinutes) min (expected \(fmt(expected))): \(why)"
            // a leak found on its first few redeemers, not yet surely new ones, is raised again
            // once they are: the evidence a block needs arrives minutes into the same episode
            let sure = blast.basis == .privateCode && blast.redeemersAreNew
            emit(
                FindingDraft(
                    category: .couponAbuse, severity: sev, subject: Subject(coupon: code),
                    windowMinutes: cfg.windowMinutes, evidence: evidence, summary: summary,
                    remedy: .blockCoupon(code, blast: blast), episode: sure ? "surely-new" : "", coupon: c), m, end,
                into: &out)
        }
    }

    func couponReuse(_ m: Int, _ end: Int64, _ out: inout [Finding]) {
        let cfg = config.couponReuse
        let bs = window(m, cfg.windowMinutes)
        var merged = mergedHitters(bs, \.reuse) { $0.accounts.merge($1.accounts) }
        mergeSteadyReuse(bs, into: &merged)
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
            let blast = BlastRadius(
                abuseShare: share, pastAccounts: pastAccounts, otherRedemptions: Int(total) - Int(v.count),
                codeWatchedMinutes: minutesWatched(v.p.coupon, before: m - cfg.windowMinutes + 1),
                shopShareBound: shopShareBound(v.p.coupon, accounts: pastAccounts))
            let evidence = Evidence(
                observed: Double(v.count), expected: 1, score: Stats.poissonTailScore(Double(v.count), expected: 1),
                counts: [
                    ("code_redemptions", total), ("abuse_share", share), ("past_accounts", pastAccounts.rounded()),
                    ("code_share_bound", blast.shopShareBound),
                ])
            let summary =
                "\(v.p.kind == .user ? "user" : "ip") \(who) applied \(code) \(v.count) times in \(cfg.windowMinutes) min"
            emit(
                FindingDraft(
                    category: .couponReuse, severity: .p1, subject: subject, windowMinutes: cfg.windowMinutes,
                    evidence: evidence, summary: summary, remedy: .blockCoupon(code, blast: blast),
                    coupon: v.p.coupon), m, end, into: &out)
        }
    }

    /// Minutes code `c` had been seen before minute `windowStart` (0: never).
    func minutesWatched(_ c: Int32, before windowStart: Int) -> Int {
        past.couponFirstMinute[c].map { max(0, windowStart - $0) } ?? 0
    }

    /// How large code `c`'s share of the shop's redemptions since it was first seen may be (95%
    /// upper bound; `BlastRadius.shopShareBound`): its `accounts` in the baseline against those plus
    /// the shop's other redemptions folded since. Its own anomalous minutes count as the shop's
    /// (the baseline leaves them out of its count), which errs towards a smaller share only by
    /// the abuse's size.
    func shopShareBound(_ c: Int32, accounts: Double) -> Double {
        guard past.couponFirstMinute[c] != nil else { return 1 }
        let others = max(0, past.applied - (past.couponAppliedBefore[c] ?? 0) - (past.couponApplied[c] ?? 0))
        let n = accounts + others
        return n > 0 ? Stats.wilsonUpper(accounts / n, n: n) : 1
    }

    /// Steady reuse the minutes' heavy hitters lost (`PairRecurrence`): a pair they lost entirely
    /// joins with its own count; where some minute of the window overflowed its table (a busy
    /// shop), a higher own count stands for a pair they hold only in part. Below capacity the
    /// heavy hitters are exact and their count stands, so the result does not depend on line order.
    func mergeSteadyReuse(_ bs: [MinuteBucket], into merged: inout [UInt64: (count: Int32, p: ReusePayload)]) {
        let saturated = bs.contains { $0.reuse.overflowed }
        for b in bs {
            for (k, v) in b.steadyReuse {
                if let have = merged[k] {
                    if saturated && have.count < v.count { merged[k] = (v.count, have.p) }
                } else {
                    merged[k] = v
                }
            }
        }
    }

    func couponEnumeration(_ m: Int, _ end: Int64, _ history: Int, _ out: inout [Finding]) {
        let cfg = config.couponEnumeration
        let bs = window(m, cfg.windowMinutes)
        let rejected = bs.reduce(0) { $0 + Int($1.rejected) }
        let applied = bs.reduce(0) { $0 + Int($1.applied) }
        let merged = mergedHitters(bs, \.rejectors) { $0.distinct.merge($1.distinct) }
        let tried = merged.filter { Int($0.value.count) >= cfg.minDistinctCodes }
        for (_, v) in tried.sorted(by: { $0.key < $1.key }) {
            let distinct = v.p.distinct.estimate
            guard distinct >= Double(cfg.minDistinctCodes) else { continue }
            let who = name(v.p.name, v.p.identity)
            let subject = v.p.kind == .user ? Subject(user: who) : Subject(ip: who)
            emit(
                FindingDraft(
                    category: .couponEnumeration, severity: .p2, subject: subject, windowMinutes: cfg.windowMinutes,
                    evidence: Evidence(
                        observed: distinct.rounded(), expected: 1,
                        score: Stats.poissonTailScore(distinct.rounded(), expected: 1),
                        counts: [("rejected", Double(v.count))]),
                    summary:
                        "\(v.p.kind == .user ? "user" : "ip") \(who) tried \(Int(distinct.rounded())) distinct invalid codes in \(cfg.windowMinutes) min"
                ),
                m, end, into: &out)
        }
        // a surge of rejected attempts overall, relative to redemption traffic
        guard rejected >= cfg.minRejectedSurge else { return }
        let ratio = (past.rejected + 1) / (past.applied + past.rejected + 10)
        let expected = ratio * Double(applied + rejected)
        let score = Stats.poissonTailScore(Double(rejected), expected: expected)
        if score >= config.general.minScore
            && (history >= config.general.warmupMinutes || ratio * 3 < Double(rejected) / Double(applied + rejected))
        {
            mark(m, cfg.windowMinutes) { $0.rejected = true }
            emit(
                FindingDraft(
                    category: .couponEnumeration, severity: .p2, subject: Subject(), windowMinutes: cfg.windowMinutes,
                    evidence: Evidence(
                        observed: Double(rejected), expected: expected, score: score,
                        counts: [("applied", Double(applied))]),
                    summary:
                        "\(rejected) rejected coupon attempts in \(cfg.windowMinutes) min (expected \(fmt(expected)))"),
                m, end, into: &out)
        }
    }

    func discountStacking(_ m: Int, _ end: Int64, _ out: inout [Finding]) {
        let cfg = config.discountStacking
        let (_, stats) = mergedCoupons(window(m, cfg.windowMinutes))
        for (c, s) in stats.sorted(by: { $0.key < $1.key }) {
            let code = coupons.string(c)
            let share = s.sharedSubtotal > 0 ? s.sharedDiscount / s.sharedSubtotal : 0
            let (pastCount, own) = past.discountShare(c)
            let pastShare = own ?? 0
            if Int(s.stacked) >= cfg.minEvents {
                // blast radius: a code whose redemptions are mostly free orders is blocked; a code
                // where a few orders stacked discounts points at the stacking, not at the code
                let stackedShare = Double(s.stacked) / Double(max(s.applied, s.stacked))
                let pastAccounts = past.couponAccounts[c]?.estimate ?? 0
                let blast = BlastRadius(
                    abuseShare: stackedShare, pastAccounts: pastAccounts,
                    otherRedemptions: Int(s.applied) - Int(s.stacked),
                    codeWatchedMinutes: minutesWatched(c, before: m - cfg.windowMinutes + 1),
                    shopShareBound: shopShareBound(c, accounts: pastAccounts))
                let evidence = Evidence(
                    observed: Double(s.stacked), expected: 0,
                    score: Stats.poissonTailScore(Double(s.stacked), expected: 0.01),
                    counts: [
                        ("redemptions", Double(s.applied)), ("discount_share", share), ("abuse_share", stackedShare),
                    ])
                emit(
                    FindingDraft(
                        category: .discountStacking, severity: .p1, subject: Subject(coupon: code),
                        windowMinutes: cfg.windowMinutes, evidence: evidence,
                        summary:
                            "coupon \(code): \(s.stacked) redemptions with discount >= subtotal in \(cfg.windowMinutes) min",
                        remedy: .blockCoupon(code, blast: blast), coupon: c), m, end, into: &out)
            } else if Int(s.sharedCount) >= cfg.minRedemptions && pastCount >= Double(cfg.minRedemptions)
                && share - pastShare >= cfg.shareJump
            {
                emit(
                    FindingDraft(
                        category: .discountStacking, severity: .p1, subject: Subject(coupon: code),
                        windowMinutes: cfg.windowMinutes,
                        evidence: Evidence(
                            observed: share, expected: pastShare, score: (share - pastShare) * 10,
                            counts: [("redemptions", Double(s.applied))]),
                        summary: "coupon \(code): discount share jumped from \(pct(pastShare)) to \(pct(share))",
                        remedy: .blockCoupon(code, blast: nil), coupon: c), m, end, into: &out)
            }
        }
    }
}
