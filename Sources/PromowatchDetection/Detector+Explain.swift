import PromowatchCore

// Explanations: who contributed most to a finding and a few of the lines behind it. Built only
// for findings that fire, from what the window's buckets already hold; never per event.
extension Detector {
    func explain(_ draft: FindingDraft, _ m: Int) -> Explanation {
        let bs = window(m, draft.windowMinutes)
        let s = draft.subject
        var contributors: [Explanation.Contributor] = []
        var keys: [ExampleKey] = []
        let measure: String
        switch draft.category {
        case .couponAbuse, .couponReuse, .discountStacking:
            let code = s.coupon ?? ""
            switch draft.category {
            case .discountStacking: measure = "orders of \(code) with a discount at or above the subtotal"
            case .couponReuse: measure = "redemptions of \(code) by one \(s.user != nil ? "account" : "ip")"
            default: measure = "redemptions of \(code)"
            }
            if draft.coupon >= 0 {
                contributors = topRedeemers(bs, coupon: draft.coupon)
                keys = [.coupon(draft.coupon)]
            }
        case .couponEnumeration:
            measure = "invalid codes tried"
            contributors = topIdentities(bs, \.rejectors)
            keys = [.rejected]
        case .cardTesting:
            measure = "card declines"
            contributors = topIdentities(bs, \.decliners)
            keys = [.declined]
        case .paymentProviderFailure:
            measure = "provider-side payment failures"
            let stats = providerStats(m, draft.windowMinutes)
            contributors = stats.map { p, st in
                Explanation.Contributor(
                    kind: "provider", value: providers.string(p), count: Double(st.failures), of: Double(st.attempts))
            }
            .sorted { ($1.count, $0.value) < ($0.count, $1.value) }
            // one provider's own lines, or (every provider failing) any provider's
            keys = draft.provider >= 0 ? [.provider(draft.provider)] : stats.keys.map { .provider($0) }
        case .compensationFailure:
            measure = "failed compensations"
            keys = [.compensation]
        case .latency:
            measure = "request latency and timeouts"
            keys = [.timeout]
        case .dbSaturation:
            measure = "database connection errors"
            keys = [.dbSaturation]
        }
        // newest minutes first; where the subject is one identity, only its own lines
        let identity = s.user ?? s.ip
        var examples: [String] = []
        search: for b in bs.reversed() {
            for (k, line) in b.examples where keys.contains(k) {
                if let identity, !line.contains(identity) { continue }
                examples.append(line)
                if examples.count == 3 { break search }
            }
        }
        return Explanation(measure: measure, contributors: Array(contributors.prefix(5)), examples: examples)
    }

    /// The accounts and ips that redeemed code `c` most in the window (three of each at most).
    func topRedeemers(_ bs: [MinuteBucket], coupon c: Int32) -> [Explanation.Contributor] {
        // the window's pairs, grouped by code, once per evaluation and window: a minute with
        // thousands of findings (a flood of reused codes) must not merge them again for each
        let key = RedeemerCacheKey(buckets: bs.count, first: bs.first.map(ObjectIdentifier.init))
        if redeemerCache?.key != key {
            var merged = mergedHitters(bs, \.reuse) { $0.accounts.merge($1.accounts) }
            mergeSteadyReuse(bs, into: &merged)
            var byCoupon: [Int32: [(count: Int32, p: ReusePayload)]] = [:]
            for v in merged.values { byCoupon[v.p.coupon, default: []].append(v) }
            redeemerCache = (key, byCoupon)
        }
        let mine = redeemerCache?.byCoupon[c] ?? []
        func top(_ kind: IdentityKind) -> [Explanation.Contributor] {
            mine.filter { $0.p.kind == kind }
                .map {
                    Explanation.Contributor(
                        kind: kind == .user ? "user" : "ip", value: name($0.p.name, $0.p.identity),
                        count: Double($0.count))
                }
                .sorted { ($1.count, $0.value) < ($0.count, $1.value) }
                .prefix(3).map { $0 }
        }
        return top(.user) + top(.ip)
    }

    /// The identities with the most events in one of the window's identity tables.
    func topIdentities(
        _ bs: [MinuteBucket], _ table: KeyPath<MinuteBucket, TopK<IdentityPayload>>
    ) -> [Explanation.Contributor] {
        mergedHitters(bs, table) { $0.distinct.merge($1.distinct) }.values
            .filter { $0.count >= 2 }
            .map {
                Explanation.Contributor(
                    kind: $0.p.kind == .user ? "user" : "ip", value: name($0.p.name, $0.p.identity),
                    count: Double($0.count))
            }
            .sorted { ($1.count, $0.value) < ($0.count, $1.value) }
            .prefix(5).map { $0 }
    }
}

extension Detector {
    /// The minutes still held (a batch holds all of them unless its entry bound folded the
    /// oldest), as per-minute series for the report; `coupons` names the codes to chart.
    public func series(coupons names: [String]) -> MinuteSeries {
        var s = MinuteSeries()
        let ids = names.compactMap { n -> (String, Int32)? in
            let id = self.coupons.find(Array(n.utf8))
            return id >= 0 ? (n, id) : nil
        }
        var providerNames: [Int32: String] = [:]
        for m in buckets.keys.sorted() {
            let b = buckets[m]!
            s.minutes.append(Int64(m) * Detector.minuteNanos)
            s.traffic.append(b.reference)
            s.p99Ms.append(b.latency.total > 0 ? b.latency.quantile(0.99) : 0)
            for (p, _) in b.providers where providerNames[p] == nil { providerNames[p] = providers.string(p) }
            for (name, id) in ids {
                var n = 0
                for (c, st) in b.coupons where c == id { n = Int(st.applied) }
                s.coupons[name, default: []].append(n)
            }
        }
        for (p, name) in providerNames {
            var pay = MinuteSeries.Payments()
            for m in buckets.keys.sorted() {
                let st = buckets[m]!.providers[p]
                pay.succeeded.append(Int(st?.succeeded ?? 0))
                pay.declined.append(Int(st?.declined ?? 0))
                pay.failed.append(Int(st?.failures ?? 0))
            }
            s.payments[name] = pay
        }
        return s
    }
}
