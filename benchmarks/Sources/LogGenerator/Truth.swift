import PromowatchCore

/// What the generator wrote, computed from the records themselves (never from the parser).
public struct Truth: Sendable, Equatable {
    public var lines = 0
    public var records = 0
    public var skippedRecords = 0
    public var bytes = 0
    public var events = EventCounts()
    public var coupons: [String: CouponTotal] = [:]
    public var providers: [String: ProviderTotal] = [:]

    public init() {}

    /// Upper-casing by Unicode case mapping, as promowatch matches codes (`café` is `CAFÉ`).
    public static func upper(_ s: String) -> String {
        s.uppercased()
    }

    public mutating func add(_ r: Record, lines n: Int) {
        lines += n
        if r.plainLines != nil {
            records += n
            skippedRecords += n
            return
        }
        records += 1
        if r.kinds.isEmpty {
            skippedRecords += 1
            return
        }
        events.add(r.kinds)
        if let c = r.coupon, !r.kinds.isDisjoint(with: .promotion) {
            let code = Truth.upper(c)
            var t = coupons[code] ?? CouponTotal(code: code)
            if r.kinds.contains(.promotionApplied) {
                t.applied += 1
                t.discount += r.discount
            } else {
                t.rejected += 1
            }
            coupons[code] = t
        }
        if let p = r.provider, !r.kinds.isDisjoint(with: .payment) {
            let name = p.lowercased()
            var t = providers[name] ?? ProviderTotal(provider: name)
            if r.kinds.contains(.paymentSucceeded) { t.succeeded += 1 }
            if r.kinds.contains(.paymentDeclined) { t.declined += 1 }
            if r.kinds.contains(.paymentProviderFailure) { t.providerFailures += 1 }
            providers[name] = t
        }
    }

    /// One JSON object (stable key order) for `loggen --truth`.
    public func json() -> String {
        var o =
            "{\"lines\": \(lines), \"records\": \(records), \"skipped_lines\": \(skippedRecords), \"bytes\": \(bytes), \"events\": {"
        o += events.named.map { "\"\($0.name)\": \($0.count)" }.joined(separator: ", ") + "}, \"coupons\": {"
        o += coupons.keys.sorted().map { k in
            let c = coupons[k]!
            var key: [UInt8] = []
            Renderer.jsonString(k, into: &key)
            return String(decoding: key, as: UTF8.self)
                + ": {\"applied\": \(c.applied), \"rejected\": \(c.rejected), \"discount\": \((c.discount * 100).rounded() / 100)}"
        }.joined(separator: ", ")
        o +=
            "}, \"providers\": {"
            + providers.keys.sorted().map { k in
                let p = providers[k]!
                return
                    "\"\(k)\": {\"succeeded\": \(p.succeeded), \"declined\": \(p.declined), \"provider_failures\": \(p.providerFailures)}"
            }.joined(separator: ", ") + "}}"
        return o
    }
}
