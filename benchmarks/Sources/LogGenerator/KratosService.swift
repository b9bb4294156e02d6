import PromowatchCore

/// A stock go-kratos checkout: handlers log through `log.NewStdLogger` (values never quoted) and the
/// logging middleware logs every RPC as a request line (`kind`, `component`, `operation`, `args`,
/// `code`, `reason`, `stack`, `latency` in seconds), both carrying the request's `trace.id`.
///
/// `expand` turns one promotion record into what such a service writes for the call: the
/// handler's explicit `ApplyPromotion` line and the middleware's request line (which then is a
/// request only, by the contract's trace-id rule), or the request line alone (which then is the
/// promotion attempt as well), with the coupon and user inside `args`.
public struct KratosService {
    var rng: SplitMix64
    var serial = 0
    /// Share of calls whose handler also logs an explicit `ApplyPromotion` line.
    public var explicitShare = 0.7

    public init(seed: UInt64) { rng = SplitMix64(seed: seed ^ 0x6B72_6174_6F73) }

    public mutating func expand(_ r: Record) -> [Record] {
        guard !r.kinds.isDisjoint(with: .promotion), let code = r.coupon else { return [r] }
        serial += 1
        let trace = "4bf92f3577b34da6a3ce929d0e0e\(String(serial, radix: 16))"
        let user = r.fields.first {
            ["user_id", "userId", "customer_id", "customerId", "account_id", "user"].contains($0.0)
        }?.1
        var args = "session_id:\"s-\(serial)\"  promotion_code:\"\(code)\""
        if case .string(let u)? = user { args += "  user_id:\"\(u)\"" }
        if case .number(let u)? = user { args += "  user_id:\"\(u)\"" }
        let applied = r.kinds.contains(.promotionApplied)
        let latency = Double(500 + rng.int(9000)) / 1_000_000
        let t = r.time + Int64(latency * 1e9)
        var f: [(String, Value)] = [
            ("ts", .string(EventTime.rfc3339(t, fractionDigits: 6))), ("caller", .string("logging/logging.go:47")),
            ("msg", .string("")), ("kind", .string("server")), ("component", .string("grpc")),
            ("operation", .string("/api.checkout.v1.CartService/ApplyPromotion")), ("args", .string(args)),
            ("code", .number(applied ? "0" : "400")), ("reason", .string(applied ? "" : "PROMOTION_NOT_VALID")),
            (
                "stack",
                .string(applied ? "" : "error: code = 400 reason = PROMOTION_NOT_VALID message = coupon is not valid")
            ),
            ("latency", .number(String(latency))), ("trace.id", .string(trace)),
        ]
        if rng.chance(0.5) { f.swapAt(0, 1) }
        var request = Record(time: t, pod: r.pod, kinds: .request, level: applied ? "INFO" : "ERROR", fields: f)
        if rng.unit() < explicitShare {
            var explicit = r
            explicit.fields.append(("trace.id", .string(trace)))
            return [explicit, request]
        }
        request.kinds.formUnion(r.kinds)
        request.coupon = r.coupon
        request.incident = r.incident
        return [request]
    }
}
