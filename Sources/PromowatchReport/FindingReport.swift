import PromowatchCore

/// Renders findings: one JSON object per line (contract section 4) or a readable timeline line.
public enum FindingReport {
    public static func json(_ f: Finding) -> String {
        var o =
            "{\"time\": \(JSONString.quoted(EventTime.rfc3339(f.time))), \"category\": \"\(f.category.rawValue)\", \"severity\": \"\(f.severity.name)\""
        o += ", \"subject\": " + f.subject.json
        o +=
            ", \"window\": {\"start\": \(JSONString.quoted(EventTime.rfc3339(f.windowStart))), \"end\": \(JSONString.quoted(EventTime.rfc3339(f.windowEnd)))}"
        o +=
            ", \"evidence\": {\"observed\": \(JSONText.number(f.evidence.observed)), \"expected\": \(JSONText.number(f.evidence.expected)), \"score\": \(JSONText.number((f.evidence.score * 10).rounded() / 10))"
        for (k, v) in f.evidence.counts { o += ", \(JSONString.quoted(k)): \(JSONText.number(v))" }
        o += "}, \"action\": "
        if let a = f.action {
            o +=
                "{\"kind\": \"\(a.kind.rawValue)\", \"target\": \(JSONString.quoted(a.target)), \"applied\": \(a.applied)"
            if let out = a.outcome { o += ", \"outcome\": \(JSONString.quoted(out.description))" }
            o += "}"
        } else {
            o += "null"
        }
        o += ", \"summary\": \(JSONString.quoted(f.summary)), \"fingerprint\": \(JSONString.quoted(f.fingerprint))"
        if let i = f.incident {
            o +=
                ", \"incident\": {\"id\": \"\(i.id)\", \"state\": \"\(i.state.rawValue)\", \"root\": \"\(i.root.rawValue)\"}"
        }
        if f.explanation != nil || f.whyNoAction != nil { o += ", \"explanation\": " + explanation(f) }
        if let d = f.diagnosis { o += ", \"diagnosis\": " + diagnosis(d) }
        o += "}"
        return o
    }

    /// `{"database": {"max_connections": 60, "client_connections": 58, "culprit": "leaky-svc",
    /// "idle_age_seconds": 300, "applications": [{"name": ..., "total": ..., ...}]}}` or
    /// `{"unavailable": "why"}`.
    static func diagnosis(_ d: Diagnosis) -> String {
        var o = JSONObject()
        if !d.unavailable.isEmpty { o.add("unavailable", d.unavailable.joined(separator: "; ")) }
        if let db = d.database {
            var x = JSONObject()
            x.add("max_connections", Int64(db.maxConnections))
            x.add("client_connections", Int64(db.clientConnections))
            x.add("culprit", db.culprit)
            x.add("idle_age_seconds", Int64(db.idleAgeSeconds))
            x.add("read_at", EventTime.rfc3339(db.readAt))
            let apps = db.applications.map { a -> String in
                var y = JSONObject()
                y.add("name", a.name)
                y.add("total", Int64(a.total))
                y.add("active", Int64(a.active))
                y.add("idle", Int64(a.idle))
                y.add("idle_in_transaction", Int64(a.idleInTransaction))
                y.add("idle_over_age", Int64(a.idleOverAge))
                return y.text
            }
            x.addRaw("applications", "[" + apps.joined(separator: ", ") + "]")
            o.addRaw("database", x.text)
        }
        if let r = d.rollout {
            var x = JSONObject()
            x.add("deployment", r.deployment)
            x.add("revision", Int64(r.revision))
            x.add("image", r.image)
            x.add("created_at", EventTime.rfc3339(r.createdAt))
            if let p = r.previousRevision { x.add("previous_revision", Int64(p)) }
            x.add("previous_image", r.previousImage)
            x.add("current", r.isCurrent)
            o.addRaw("rollout", x.text)
        }
        if let p = d.pods {
            var x = JSONObject()
            x.add("selector", p.selector)
            x.add("ready", Int64(p.ready))
            let pods = p.pods.map { q -> String in
                var y = JSONObject()
                y.add("name", q.name)
                y.add("phase", q.phase)
                y.add("ready", q.ready)
                y.add("restarts", Int64(q.restarts))
                y.add("restarts_in_window", Int64(q.restartsInWindow))
                y.add("waiting", q.waiting)
                y.add("last_terminated", q.lastTerminated)
                return y.text
            }
            x.addRaw("pods", "[" + pods.joined(separator: ", ") + "]")
            o.addRaw("pods", x.text)
        }
        return o.text
    }

    /// `{"measure": ..., "actual": 12, "typical": 0.01, "window_minutes": 5, "contributors":
    /// [{"user": "u-1", "count": 9}, ...], "examples": [...], "why_no_action": ...}`
    static func explanation(_ f: Finding) -> String {
        var o = JSONObject()
        if let e = f.explanation {
            o.add("measure", e.measure)
            o.add("actual", f.evidence.observed)
            o.add("typical", f.evidence.expected)
            o.add("window_minutes", (f.windowEnd - f.windowStart + 59_999_999_999) / 60_000_000_000)
            let contributors = e.contributors.map { c -> String in
                var x = JSONObject()
                x.add(c.kind, c.value)
                x.add("count", c.count)
                if let of = c.of { x.add("of", of) }
                return x.text
            }
            o.addRaw("contributors", "[" + contributors.joined(separator: ", ") + "]")
            o.addRaw("examples", "[" + e.examples.map(JSONString.quoted).joined(separator: ", ") + "]")
        }
        o.add("why_no_action", f.whyNoAction)
        return o.text
    }

    /// `2026-11-20T08:15:00Z  P0  coupon_abuse  coupon=CART20-120  <summary>  -> blacklist_coupon CART20-120 (proposed)`
    public static func text(_ f: Finding) -> String {
        var subject: [String] = []
        if let c = f.subject.coupon { subject.append("coupon=" + TerminalText.safe(c, maxLength: 64)) }
        if let u = f.subject.user { subject.append("user=" + TerminalText.safe(u, maxLength: 64)) }
        if let i = f.subject.ip { subject.append("ip=" + TerminalText.safe(i, maxLength: 64)) }
        if let p = f.subject.provider { subject.append("provider=" + TerminalText.safe(p, maxLength: 32)) }
        var o = EventTime.rfc3339(f.time) + "  " + f.severity.name + "  " + f.category.rawValue
        if !subject.isEmpty { o += "  " + subject.joined(separator: " ") }
        o += "\n    " + TerminalText.safe(f.summary, maxLength: 300)
        if let a = f.action {
            let state = a.outcome?.description ?? (a.applied ? "applied" : "proposed")
            o +=
                "\n    -> \(a.kind.rawValue) \(TerminalText.safe(a.target, maxLength: 64)) (\(TerminalText.safe(state, maxLength: 200)))"
        }
        if let i = f.incident { o += "\n    incident \(i.id) (\(i.state.rawValue), root cause \(i.root.rawValue))" }
        if let e = f.explanation {
            func count(_ v: Double) -> String {
                v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : NumberText.short(v)
            }
            var why =
                "why: \(count(f.evidence.observed)) \(e.measure), typical \(NumberText.short(f.evidence.expected))"
            if !e.contributors.isEmpty {
                why +=
                    "; most: "
                    + e.contributors.map { c in
                        "\(c.kind)=\(c.value) (\(count(c.count))\(c.of.map { " of " + count($0) } ?? ""))"
                    }.joined(separator: ", ")
            }
            o += "\n    " + TerminalText.safe(why, maxLength: 400)
            if let line = e.examples.first { o += "\n    e.g. " + TerminalText.safe(line, maxLength: 200) }
        }
        return o
    }
}

/// Renders a circuit breaker's step (an action without a finding of its own) as a JSON line
/// (`{"step": {...}}`, beside the findings) or a timeline line.
public enum StepReport {
    public static func json(_ s: ActionStep) -> String {
        var o = JSONObject()
        o.add("time", EventTime.rfc3339(s.time))
        o.add("kind", s.action.kind.rawValue)
        o.add("target", s.action.target)
        o.add("applied", s.action.applied)
        o.add("outcome", s.action.outcome?.description)
        o.add("reason", s.reason)
        o.add("cause", s.cause)
        return "{\"step\": \(o.text)}"
    }

    /// `2026-11-20T09:02:00Z  step  enable_provider stripe (dry_run: would set ENABLE_STRIPE=true ...)`
    public static func text(_ s: ActionStep) -> String {
        EventTime.rfc3339(s.time) + "  step  " + s.action.kind.rawValue + " "
            + TerminalText.safe(s.action.target, maxLength: 64)
            + " (" + TerminalText.safe(s.action.outcome?.description ?? "proposed", maxLength: 200) + ")\n    "
            + TerminalText.safe(s.reason, maxLength: 300)
    }
}

/// Renders an incident's lifecycle event without a finding (resolved) as a JSON line
/// (`{"incident": {...}}`) or a timeline line.
public enum IncidentReport {
    public static func json(_ e: IncidentEvent) -> String {
        var o = JSONObject()
        o.add("time", EventTime.rfc3339(e.time))
        o.add("id", e.ref.id)
        o.add("state", e.ref.state.rawValue)
        o.add("root", e.ref.root.rawValue)
        o.add("severity", e.severity.name)
        o.add("opened", EventTime.rfc3339(e.opened))
        o.add("findings", Int64(e.findings))
        return "{\"incident\": \(o.text)}"
    }

    public static func text(_ e: IncidentEvent) -> String {
        EventTime.rfc3339(e.time)
            + "  incident \(e.ref.id) \(e.ref.state.rawValue): \(e.severity.name) \(e.ref.root.rawValue), "
            + "\(e.findings) finding(s) since \(EventTime.rfc3339(e.opened))"
    }
}
