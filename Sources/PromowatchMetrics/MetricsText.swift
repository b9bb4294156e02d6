import Foundation
import PromowatchCore

/// What a run counted that is not in its summary: findings and actions, and failures at the
/// edges. Labels only ever take values from fixed sets (categories, severities, action kinds,
/// outcomes), never a code, user or ip.
public struct RunCounters: Sendable, Equatable {
    /// `category|severity` -> findings.
    public var findings: [String: Int] = [:]
    /// `kind|outcome` (`applied`, `dry_run`, `skipped`, `failed`) -> actions and steps.
    public var actions: [String: Int] = [:]
    public var storeErrors = 0
    public var notificationDrops = 0
    public init() {}

    public mutating func note(_ f: Finding) {
        findings[f.category.rawValue + "|" + f.severity.name, default: 0] += 1
        if let a = f.action { note(a) }
    }

    public mutating func note(_ a: ProposedAction) {
        let outcome: String
        switch a.outcome {
        case .applied?: outcome = "applied"
        case .dryRun?: outcome = "dry_run"
        case .skipped?: outcome = "skipped"
        case .failed?: outcome = "failed"
        case nil: outcome = "proposed"
        }
        actions[a.kind.rawValue + "|" + outcome, default: 0] += 1
    }
}

/// The Prometheus text exposition format (version 0.0.4) of a run: business metrics derived from
/// the logs and promowatch's own health, named by Prometheus conventions (`promowatch_` prefix,
/// `_total` counters, base units, a `_seconds` histogram).
public enum MetricsText {
    /// `providers`: the provider names that may be label values (the configured ones); any other
    /// provider, which a log line could name at will, counts as `other`.
    public static func render(
        summary s: RunSummary, counters c: RunCounters, lagSeconds: Double?, providers: Set<String>
    ) -> String {
        var o = ""
        func family(_ name: String, _ type: String, _ help: String) {
            o += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func sample(_ name: String, _ labels: [(String, String)] = [], _ v: Double) {
            let l =
                labels.isEmpty
                ? "" : "{" + labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
            o += "\(name)\(l) \(number(v))\n"
        }
        family("promowatch_events_total", "counter", "Events read from the logs, by kind (contract section 3).")
        let e = s.events
        for (kind, n) in [
            ("promotion_applied", e.promotionApplied), ("promotion_rejected", e.promotionRejected),
            ("payment_succeeded", e.paymentSucceeded), ("payment_declined", e.paymentDeclined),
            ("payment_provider_failure", e.paymentProviderFailure), ("compensation_failure", e.compensationFailure),
            ("request", e.request), ("timeout", e.timeout), ("db_saturation", e.dbSaturation),
        ] {
            sample("promowatch_events_total", [("kind", kind)], Double(n))
        }
        family("promowatch_promotion_redemptions_total", "counter", "Applied promotions.")
        sample("promowatch_promotion_redemptions_total", [], Double(e.promotionApplied))
        family("promowatch_promotion_discount_total", "counter", "Discount of applied promotions, in currency units.")
        sample("promowatch_promotion_discount_total", [], Double(s.discountTotalE4) / 1e4)
        var byProvider: [String: (Int, Int, Int)] = [:]
        for p in s.providers {
            let name = providers.contains(p.provider) ? p.provider : "other"
            let x = byProvider[name] ?? (0, 0, 0)
            byProvider[name] = (x.0 + p.succeeded, x.1 + p.declined, x.2 + p.providerFailures)
        }
        family("promowatch_payment_attempts_total", "counter", "Payment attempts, by provider.")
        for (p, x) in byProvider.sorted(by: { $0.key < $1.key }) {
            sample("promowatch_payment_attempts_total", [("provider", p)], Double(x.0 + x.1 + x.2))
        }
        family("promowatch_payment_declines_total", "counter", "Customer declines, by provider.")
        for (p, x) in byProvider.sorted(by: { $0.key < $1.key }) {
            sample("promowatch_payment_declines_total", [("provider", p)], Double(x.1))
        }
        family(
            "promowatch_payment_provider_failures_total", "counter",
            "Provider-side payment failures (timeouts, 5xx, unavailable), by provider.")
        for (p, x) in byProvider.sorted(by: { $0.key < $1.key }) {
            sample("promowatch_payment_provider_failures_total", [("provider", p)], Double(x.2))
        }
        family("promowatch_compensation_failures_total", "counter", "Failed saga compensations.")
        sample("promowatch_compensation_failures_total", [], Double(e.compensationFailure))
        family("promowatch_request_latency_seconds", "histogram", "Latency of logged requests.")
        var cumulative = 0
        for (i, b) in LatencyTotals.bounds.enumerated() {
            cumulative += s.latency.buckets[i]
            sample("promowatch_request_latency_seconds_bucket", [("le", number(b))], Double(cumulative))
        }
        sample("promowatch_request_latency_seconds_bucket", [("le", "+Inf")], Double(s.latency.count))
        sample("promowatch_request_latency_seconds_sum", [], Double(s.latency.sumMicros) / 1e6)
        sample("promowatch_request_latency_seconds_count", [], Double(s.latency.count))

        family("promowatch_lines_total", "counter", "Input lines read.")
        sample("promowatch_lines_total", [], Double(s.lines))
        family("promowatch_bytes_total", "counter", "Input bytes read (after decompression).")
        sample("promowatch_bytes_total", [], Double(s.bytes))
        family("promowatch_skipped_lines_total", "counter", "Lines that are no event.")
        sample("promowatch_skipped_lines_total", [], Double(s.skippedLines))
        family("promowatch_input_errors_total", "counter", "Inputs that failed (open errors, corrupt gzip).")
        sample("promowatch_input_errors_total", [], Double(s.inputErrors.count))
        family("promowatch_input_warnings_total", "counter", "kubectl error lines in the input.")
        sample("promowatch_input_warnings_total", [], Double(s.inputWarnings))
        if let lag = lagSeconds {
            family("promowatch_event_lag_seconds", "gauge", "How far the newest event is behind the clock.")
            sample("promowatch_event_lag_seconds", [], lag)
        }
        family("promowatch_findings_total", "counter", "Findings raised, by category and severity.")
        for k in c.findings.keys.sorted() {
            let p = k.split(separator: "|").map(String.init)
            sample("promowatch_findings_total", [("category", p[0]), ("severity", p[1])], Double(c.findings[k]!))
        }
        family("promowatch_actions_total", "counter", "Actions and breaker steps, by kind and outcome.")
        for k in c.actions.keys.sorted() {
            let p = k.split(separator: "|").map(String.init)
            sample("promowatch_actions_total", [("kind", p[0]), ("outcome", p[1])], Double(c.actions[k]!))
        }
        family("promowatch_store_errors_total", "counter", "Failed writes to the store.")
        sample("promowatch_store_errors_total", [], Double(c.storeErrors))
        family("promowatch_notification_drops_total", "counter", "Notifications dropped (queue full, receiver down).")
        sample("promowatch_notification_drops_total", [], Double(c.notificationDrops))
        return o
    }

    /// A label value: backslash, double quote and newline escaped.
    static func escape(_ s: String) -> String {
        var o = ""
        for ch in s {
            switch ch {
            case "\\": o += "\\\\"
            case "\"": o += "\\\""
            case "\n": o += "\\n"
            default: o.append(ch)
            }
        }
        return o
    }

    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }
}

/// node-exporter's textfile collector reads `*.prom` files: written to a temporary file beside it
/// and renamed, so the collector never reads half a file.
public enum MetricsFile {
    public static func write(_ text: String, to path: String) throws {
        let tmp = path + ".tmp"
        guard FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8)) else {
            throw MetricsError(description: "cannot write \(tmp)")
        }
        if rename(tmp, path) != 0 {
            throw MetricsError(description: "cannot rename \(tmp) to \(path): errno \(errno)")
        }
    }
}
