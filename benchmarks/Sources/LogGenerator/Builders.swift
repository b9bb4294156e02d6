import PromowatchCore

public enum PaymentOutcome: Sendable {
    case success
    case decline(String)
    /// A provider-side failure: an error code (`timeout`) or an error text (with a space).
    case providerFailure(String)
}

/// Records with chosen contents (for scenarios), rendered with the same random variety of key
/// aliases, value types and timestamp forms as the rest of the generator.
extension Generator {
    public mutating func promotionRecord(
        _ t: Int64, pod: Int, code: String, applied: Bool, user: String, ip: String,
        subtotal: Double, discountShare: Double
    ) -> Record {
        var f: [(String, Value)] = [timestampField(t)]
        f.append(
            (
                rng.pick(["msg", "message", "event", "operation", "op"]),
                .string(
                    rng.pick(["ApplyPromotion", "/checkout.v1.Checkout/ApplyPromotion", "checkout.ApplyPromotion"]))
            ))
        f.append(
            (
                rng.pick(["coupon", "coupon_code", "couponCode", "promo_code", "promoCode", "promotion_code"]),
                .string(rng.chance(0.2) ? code.lowercased() : code)
            ))
        if rng.chance(0.7) {
            let w =
                applied
                ? rng.pick(["applied", "ok", "success"]) : rng.pick(["rejected", "invalid", "expired", "not_found"])
            f.append((rng.pick(["status", "result", "outcome"]), .string(w)))
        } else if !applied {
            f.append((rng.pick(["error", "err"]), .string("coupon is not valid")))
        }
        let discount = applied ? (subtotal * discountShare * 100).rounded() / 100 : 0
        f.append((rng.pick(["subtotal", "order_total", "cart_total", "orderTotal", "cartTotal"]), money(subtotal)))
        if applied {
            f.append(
                (
                    rng.pick(["discount", "discount_total", "DiscountTotal", "discountTotal", "discount_amount"]),
                    money(discount)
                ))
        }
        f.append((rng.pick(["user_id", "userId", "customer_id", "customerId", "account_id", "user"]), .string(user)))
        let ipKey = rng.pick(["ip", "client_ip", "clientIp", "remote_addr", "x_forwarded_for"])
        f.append((ipKey, .string(ipKey == "x_forwarded_for" ? ip + ", 10.0.0.1" : ip)))
        var r = Record(time: t, pod: pod, kinds: applied ? .promotionApplied : .promotionRejected, fields: f)
        r.coupon = code
        r.discount = discount
        return r
    }

    public mutating func paymentRecord(
        _ t: Int64, pod: Int, provider: String, outcome: PaymentOutcome, amount: Double,
        card: String, user: String, ip: String
    ) -> Record {
        var f: [(String, Value)] = [timestampField(t)]
        let nameKey = rng.pick(["msg", "message", "event"])
        var kinds: EventKinds
        switch outcome {
        case .success:
            kinds = .paymentSucceeded
            f.append((nameKey, .string(rng.pick(["payment authorized", "payment succeeded", "payment captured"]))))
        case .decline(let code):
            kinds = .paymentDeclined
            f.append(
                (nameKey, .string(rng.pick(["payment authorization failed", "payment failed", "payment declined"]))))
            f.append((rng.pick(["error_code", "decline_code", "reason"]), .string(code)))
        case .providerFailure(let what):
            kinds = .paymentProviderFailure
            f.append((nameKey, .string(rng.pick(["payment authorization failed", "payment failed"]))))
            if what.contains(" ") {
                f.append((rng.pick(["error", "err"]), .string(what)))
                if what.contains("context deadline exceeded") { kinds.insert(.timeout) }
            } else {
                f.append((rng.pick(["error_code", "reason"]), .string(what)))
            }
        }
        f.append(
            (
                rng.pick(["provider", "gateway", "psp", "payment_provider"]),
                .string(rng.chance(0.2) ? provider.uppercased() : provider)
            ))
        f.append((rng.pick(["amount", "amount_total"]), money(amount)))
        f.append((rng.pick(["card_fingerprint", "card_fp", "fingerprint"]), .string(card)))
        f.append((rng.pick(["user_id", "userId", "customer_id"]), .string(user)))
        f.append((rng.pick(["ip", "client_ip", "remote_addr"]), .string(ip)))
        var r = Record(time: t, pod: pod, kinds: kinds, level: kinds == .paymentSucceeded ? "INFO" : "WARN", fields: f)
        r.provider = provider
        return r
    }

    public mutating func requestRecord(_ t: Int64, pod: Int, latencyMs ms: Double, timeout: Bool) -> Record {
        var f: [(String, Value)] = [timestampField(t)]
        f.append(("msg", .string(rng.pick(["request completed", "http request", "grpc call finished"]))))
        f.append(("path", .string(rng.pick(["/api/cart", "/api/checkout", "/api/cart/promotion"]))))
        f.append(("status", .number(timeout ? "504" : "200")))
        switch rng.int(4) {
        case 0: f.append(("latency_ms", .number(String((ms * 1000).rounded() / 1000))))
        case 1: f.append(("duration_ms", .number(String(Int(ms)))))
        case 2: f.append(("latency", .string(ms >= 1000 ? "\((ms / 10).rounded() / 100)s" : "\(Int(ms))ms")))
        default: f.append(("duration", .string("\(Int(ms * 1000))us")))
        }
        var kinds: EventKinds = .request
        if timeout {
            f.append(("error", .string("rpc error: code = DeadlineExceeded desc = context deadline exceeded")))
            kinds.insert(.timeout)
        }
        return Record(time: t, pod: pod, kinds: kinds, fields: f)
    }

    public mutating func compensationRecord(_ t: Int64, pod: Int) -> Record {
        var f: [(String, Value)] = [timestampField(t)]
        if rng.chance(0.5) {
            f += [
                ("msg", .string("order saga step finished")),
                ("step", .string(rng.pick(["release_inventory", "refund_payment"]))),
                (rng.pick(["status", "state", "result"]), .string("failed_compensation")),
            ]
        } else {
            f += [("msg", .string("saga compensation failed")), ("order_id", .string("o-\(rng.int(1_000_000))"))]
        }
        return Record(time: t, pod: pod, kinds: .compensationFailure, level: "ERROR", fields: f)
    }

    public mutating func dbSaturationRecord(_ t: Int64, pod: Int) -> Record {
        var f: [(String, Value)] = [timestampField(t)]
        f += [
            ("msg", .string("db query failed")),
            (
                "error",
                .string(
                    rng.chance(0.5)
                        ? "pq: sorry, too many clients already"
                        : "FATAL: remaining connection slots are reserved for non-replication superuser connections")
            ),
        ]
        return Record(time: t, pod: pod, kinds: .dbSaturation, level: "ERROR", fields: f)
    }
}
