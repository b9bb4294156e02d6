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
