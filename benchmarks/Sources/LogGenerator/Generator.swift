import PromowatchCore

/// Settings of one generated log. Everything is derived from `seed`: same settings, same bytes.
public struct GeneratorConfig: Sendable {
    public var seed: UInt64 = 42
    /// First event time (ns since epoch). Default 2026-11-20T00:00:00Z.
    public var start: Int64 = 1_795_132_800 * 1_000_000_000
    /// Seconds of traffic the records are spread over.
    public var durationSeconds: Int = 3600
    /// Structured records to write (plain-text noise lines come on top). Ignored when `targetBytes` > 0.
    public var records: Int = 10_000
    /// Stop once this many bytes are written (for benchmarks), spreading records over the duration.
    public var targetBytes: Int = 0
    /// Share of records that are promotion, payment, compensation or database events.
    public var eventShare: Double = 0.10
    /// Share of records that are request logs (latency events).
    public var requestShare: Double = 0.08
    /// Include coupon codes with `,` `"` `=` spaces, a newline and non-ASCII letters.
    public var exoticCoupons = false
    public var pods = 3

    public init() {}
}

/// Writes realistic checkout-service logs: mostly noise (cache lines, other messages that mention
/// payments or promotions, multi-line panics), request logs, and events of every kind, with every
/// key alias and timestamp form of the contract.
public struct Generator {
    public var config: GeneratorConfig
    public var rng: SplitMix64

    public static let campaignCoupons = [
        "WELCOME10", "SPRING15", "FREESHIP", "CART20-120", "VIP25", "save5", "Loyalty_Gold", "BF2026",
    ]
    public static let exotic = ["A,B", "Q\"T", "K=V", "SPACE CODE", "NEW\nLINE", "caf\u{e9}", "back\\slash"]
    static let declineCodes = [
        "card_declined", "insufficient_funds", "do_not_honor", "incorrect_cvc", "expired_card", "generic_decline",
        "fraudulent",
    ]
    static let providerCodes = ["timeout", "api_connection_error", "api_error", "gateway_unavailable", "rate_limit"]
    static let providerTexts = [
        "context deadline exceeded", "dial tcp 10.0.3.7:443: connect: connection refused",
        "upstream returned 503 Service Unavailable", "502 Bad Gateway",
    ]

    public init(config: GeneratorConfig) {
        self.config = config
        rng = SplitMix64(seed: config.seed)
    }

    var coupons: [String] {
        config.exoticCoupons ? Generator.campaignCoupons + Generator.exotic : Generator.campaignCoupons
    }

    // MARK: field helpers

    mutating func timestampField(_ t: Int64) -> (String, Value) {
        let key = rng.pick(["ts", "time", "timestamp", "@timestamp"])
        switch rng.int(5) {
        case 0: return (key, .number(String(Double(t / 1000) / 1e6)))  // zap epoch seconds (µs precision)
        case 1: return (key, .number(String(t / 1_000_000)))  // epoch milliseconds
        case 2:
            // +01:00 offset: shift the wall clock, same instant
            let local = EventTime.rfc3339(t + 3600 * EventTime.nanosPerSecond, fractionDigits: 6)
            return (key, .string(String(local.dropLast()) + "+01:00"))
        default: return (key, .string(EventTime.rfc3339(t, fractionDigits: rng.int(10))))
        }
    }

    mutating func ipValue() -> (String, Value) {
        let ip = "\(10 + rng.int(200)).\(rng.int(256)).\(rng.int(256)).\(1 + rng.int(254))"
        let key = rng.pick(["ip", "client_ip", "clientIp", "remote_addr", "x_forwarded_for"])
        return (key, .string(key == "x_forwarded_for" ? ip + ", 10.0.0.\(1 + rng.int(9))" : ip))
    }

    mutating func userValue() -> (String, Value) {
        let key = rng.pick(["user_id", "userId", "customer_id", "customerId", "account_id", "user"])
        return (key, rng.chance(0.2) ? .number(String(100000 + rng.int(900000))) : .string("u-\(rng.int(50000))"))
    }

    mutating func money(_ v: Double) -> Value {
        let s = String((v * 100).rounded() / 100)
        return rng.chance(0.3) ? .string(s) : .number(s)
    }

    // MARK: record kinds

    mutating func promotion(_ t: Int64, pod: Int) -> Record {
        var f: [(String, Value)] = [timestampField(t)]
        f.append(
            (
                rng.pick(["msg", "message", "event", "operation", "op"]),
                .string(
                    rng.pick(["ApplyPromotion", "/checkout.v1.Checkout/ApplyPromotion", "checkout.ApplyPromotion"]))
            ))
        let code = rng.pick(coupons)
        let shown = rng.chance(0.3) ? code.lowercased() : code
        f.append(
            (
                rng.pick(["coupon", "coupon_code", "couponCode", "promo_code", "promoCode", "promotion_code"]),
                .string(shown)
            ))
        var applied = !rng.chance(0.12)
        switch rng.int(4) {
        case 0: break  // no outcome key: applied unless an error key is present
        default:
            let words =
                applied
                ? ["applied", "ok", "success", "true", "APPLIED"]
                : ["rejected", "invalid", "expired", "not_found", "failed", "error", "false"]
            let w = rng.pick(words)
            let key = rng.pick(["status", "result", "outcome"])
            f.append(
                (key, w == "true" || w == "false" ? (rng.chance(0.5) ? .bool(w == "true") : .string(w)) : .string(w)))
        }
        if case .some = f.firstIndex(where: { ["status", "result", "outcome"].contains($0.0) }) {
        } else if !applied || rng.chance(0.05) {
            // absent outcome with an error key = rejected
            f.append((rng.pick(["error", "err"]), .string("coupon \(code) is not valid for this cart")))
            applied = false
        }
        let subtotal = 20 + Double(rng.int(20000)) / 100
        let discount = applied ? (subtotal * Double(5 + rng.int(20)) / 100 * 100).rounded() / 100 : 0
        f.append((rng.pick(["subtotal", "order_total", "cart_total", "orderTotal", "cartTotal"]), money(subtotal)))
        if applied {
            f.append(
                (
                    rng.pick(["discount", "discount_total", "DiscountTotal", "discountTotal", "discount_amount"]),
                    money(discount)
                ))
        }
        f.append(userValue())
        f.append(ipValue())
        if rng.chance(0.3) {
            f.append(("http", .object([("status", .number("200")), ("path", .string("/api/cart/promotion"))])))
        }
        var r = Record(time: t, pod: pod, kinds: applied ? .promotionApplied : .promotionRejected, fields: f)
        r.coupon = code
        r.discount = (discount * 100).rounded() / 100
        return r
    }

    mutating func payment(_ t: Int64, pod: Int) -> Record {
        var f: [(String, Value)] = [timestampField(t)]
        let provider = rng.chance(0.6) ? "stripe" : "paypal"
        let roll = rng.unit()
        var kinds: EventKinds
        let nameKey = rng.pick(["msg", "message", "event"])
        if roll < 0.85 {
            kinds = .paymentSucceeded
            f.append((nameKey, .string(rng.pick(["payment authorized", "payment succeeded", "payment captured"]))))
        } else {
            f.append(
                (nameKey, .string(rng.pick(["payment authorization failed", "payment failed", "payment declined"]))))
            if roll < 0.95 {
                kinds = .paymentDeclined
                f.append(
                    (rng.pick(["error_code", "decline_code", "reason"]), .string(rng.pick(Generator.declineCodes))))
            } else {
                kinds = .paymentProviderFailure
                if rng.chance(0.5) {
                    f.append((rng.pick(["error_code", "reason"]), .string(rng.pick(Generator.providerCodes))))
                } else {
                    let text = rng.pick(Generator.providerTexts)
                    if text.contains("context deadline exceeded") { kinds.insert(.timeout) }
                    f.append((rng.pick(["error", "err"]), .string(text)))
                }
            }
        }
        let shownProvider = rng.chance(0.2) ? provider.prefix(1).uppercased() + provider.dropFirst() : provider
        f.append((rng.pick(["provider", "gateway", "psp", "payment_provider"]), .string(shownProvider)))
        f.append((rng.pick(["amount", "amount_total"]), money(5 + Double(rng.int(30000)) / 100)))
        f.append((rng.pick(["card_fingerprint", "card_fp", "fingerprint"]), .string("fp_\(rng.int(1 << 30))")))
        f.append(userValue())
        f.append(ipValue())
        var r = Record(time: t, pod: pod, kinds: kinds, level: kinds == .paymentSucceeded ? "INFO" : "WARN", fields: f)
        r.provider = provider
        return r
    }

    mutating func request(_ t: Int64, pod: Int) -> Record {
        var f: [(String, Value)] = [timestampField(t)]
        f.append(("msg", .string(rng.pick(["request completed", "http request", "grpc call finished"]))))
        f.append(("method", .string(rng.pick(["GET", "POST"]))))
        f.append(
            (
                "path",
                .string(
                    rng.pick(["/api/cart", "/api/checkout", "/api/cart/promotion", "/api/orders/\(rng.int(99999))"]))
            ))
        var kinds: EventKinds = .request
        let timeout = rng.chance(0.01)
        f.append(("status", .number(timeout ? "504" : rng.pick(["200", "200", "200", "201", "404"]))))
        let ms = timeout ? 5000.0 : Double(2 + rng.int(400)) + Double(rng.int(1000)) / 1000
        switch rng.int(4) {
        case 0: f.append(("latency_ms", .number(String(ms))))
        case 1: f.append(("duration_ms", .number(String(Int(ms)))))
        case 2: f.append(("latency", .string(ms >= 1000 ? "\(ms / 1000)s" : "\(Int(ms))ms")))
        default: f.append(("duration", .string("\(ms * 1000)us")))
        }
        if timeout {
            f.append(("error", .string("rpc error: code = DeadlineExceeded desc = context deadline exceeded")))
            kinds.insert(.timeout)
        }
        return Record(time: t, pod: pod, kinds: kinds, fields: f)
    }

    mutating func otherEvent(_ t: Int64, pod: Int) -> Record {
        var f: [(String, Value)] = [timestampField(t)]
        if rng.chance(0.6) {
            if rng.chance(0.5) {
                f.append(("msg", .string("order saga step finished")))
                f.append(("step", .string(rng.pick(["release_inventory", "refund_payment", "cancel_shipment"]))))
                f.append((rng.pick(["status", "state", "result"]), .string("failed_compensation")))
            } else {
                f.append(("msg", .string(rng.pick(["saga compensation failed", "Compensation failed for order"]))))
                f.append(("order_id", .string("o-\(rng.int(1_000_000))")))
            }
            return Record(time: t, pod: pod, kinds: .compensationFailure, level: "ERROR", fields: f)
        }
        f.append(("msg", .string("db query failed")))
        f.append(
            (
                "error",
                .string(
                    rng.chance(0.5)
                        ? "pq: sorry, too many clients already"
                        : "FATAL: remaining connection slots are reserved for non-replication superuser connections")
            ))
        return Record(time: t, pod: pod, kinds: .dbSaturation, level: "ERROR", fields: f)
    }

    mutating func noise(_ t: Int64, pod: Int) -> Record {
        if rng.chance(0.01) {
            var r = Record(time: t, pod: pod, kinds: [], fields: [])
            let g = 100 + rng.int(900)
            r.plainLines = [
                "panic: runtime error: invalid memory address or nil pointer dereference",
                "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a5b2c]", "",
                "goroutine \(g) [running]:",
                "main.(*CheckoutService).PlaceOrder(0xc0001a2000, {0x9c1e40, 0xc0004d2a80})",
                "\t/app/internal/service/checkout.go:\(100 + rng.int(300)) +0x1d4",
                "created by net/http.(*Server).Serve in goroutine 1",
            ]
            return r
        }
        var f: [(String, Value)] = [timestampField(t)]
        switch rng.int(9) {
        case 0: f += [("msg", .string("cache hit")), ("key", .string("cart:\(rng.int(100000))")), ("hit", .bool(true))]
        case 1: f += [("msg", .string("cache miss")), ("key", .string("product:\(rng.int(5000))"))]
        case 2:
            f += [
                ("msg", .string("RemovePromotion")), ("coupon", .string(rng.pick(coupons))), ("status", .string("ok")),
            ]
        case 3:
            f += [
                ("msg", .string(rng.pick(["ListPromotions", "Promotion cache refreshed", "promotion rules loaded"]))),
                ("count", .number(String(rng.int(40)))),
            ]
        case 4:
            f += [
                (
                    "msg",
                    .string(
                        rng.pick([
                            "payment method saved", "payment webhook received", "loading payment providers",
                            "payment intent created",
                        ]))
                ),
                ("provider", .string(rng.pick(["stripe", "paypal"]))),
            ]
        case 5:
            f += [
                ("msg", .string("inventory reserved")), ("sku", .string("SKU-\(rng.int(9999))")),
                ("qty", .number(String(1 + rng.int(4)))),
            ]
        case 6:
            f += [
                ("msg", .string("cart updated")),
                ("cart", .object([("items", .number(String(rng.int(9)))), ("currency", .string("EUR"))])),
                ("user_id", .string("u-\(rng.int(50000))")),
            ]
        case 7:
            f += [
                ("msg", .string("shipping quote")), ("carrier", .string(rng.pick(["dhl", "ups"]))),
                ("price", .number("4.99")),
            ]
        default: f += [("msg", .string("session refreshed")), ("session", .string("s-\(rng.next() & 0xFFFFFF)"))]
        }
        return Record(time: t, pod: pod, kinds: [], level: rng.chance(0.8) ? "INFO" : "DEBUG", fields: f)
    }

    /// The next record at time `t`.
    public mutating func record(at t: Int64) -> Record {
        let pod = rng.int(config.pods)
        let u = rng.unit()
        if u < config.eventShare {
            let v = rng.unit()
            if v < 0.45 { return promotion(t, pod: pod) }
            if v < 0.93 { return payment(t, pod: pod) }
            return otherEvent(t, pod: pod)
        }
        if u < config.eventShare + config.requestShare { return request(t, pod: pod) }
        return noise(t, pod: pod)
    }

    /// Generates the whole log, calling `emit` with each record in time order.
    public mutating func generate(_ emit: (Record) -> Bool) {
        let span = Int64(config.durationSeconds) * EventTime.nanosPerSecond
        let count = config.targetBytes > 0 ? config.targetBytes / 150 : config.records
        let step = max(1, span / Int64(max(count, 1)))
        var t = config.start
        var i = 0
        while config.targetBytes > 0 || i < count {
            t += step / 2 + Int64(rng.int(Int(step)))
            if !emit(record(at: t)) { break }
            i += 1
        }
    }
}
