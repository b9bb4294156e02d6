import PromowatchCore

/// `analyze --report FILE.html`: one self-contained page (no network, no script: inline SVG and
/// CSS that prints on A4) with a timeline of incidents by severity, per-minute charts of the
/// checkout with incident windows shaded, a section per incident (evidence, explanation,
/// contributors, actions and their outcomes) and the run summary. Everything from logs is
/// HTML-escaped.
public enum HTMLReport {
    public static func render(
        findings: [Finding], steps: [ActionStep], resolved: [IncidentEvent], summary: RunSummary,
        series: MinuteSeries, title: String = "promowatch report"
    ) -> String {
        // incidents: findings grouped by id, in order of opening
        var order: [String] = []
        var byIncident: [String: [Finding]] = [:]
        for f in findings {
            let id = f.incident?.id ?? "finding-\(order.count)"
            if byIncident[id] == nil { order.append(id) }
            byIncident[id, default: []].append(f)
        }
        let ends = Dictionary(resolved.map { ($0.ref.id, $0.time) }, uniquingKeysWith: { a, _ in a })
        let spans: [(id: String, start: Int64, end: Int64, severity: Severity, title: String)] = order.map { id in
            let fs = byIncident[id]!
            let start = fs.map(\.windowStart).min()!
            let end = ends[id] ?? fs.map(\.windowEnd).max()!
            let sev = fs.map(\.severity).min()!
            let root = fs.first!
            return (
                id, start, max(end, start + 60 * EventTime.nanosPerSecond), sev,
                "\(root.category.rawValue) \(subject(root.subject))"
            )
        }

        var o = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <style>
            @page { size: A4; margin: 14mm; }
            body { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; margin: 24px auto; max-width: 1000px; padding: 0 16px; }
            h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d9dde5; padding-bottom: 4px; }
            h3 { font-size: 14px; margin: 16px 0 6px; } .muted { color: #5b6475; }
            .sev { display: inline-block; min-width: 26px; text-align: center; border-radius: 3px; color: #fff; font-weight: 600; padding: 0 4px; }
            .P0 { background: #c62828; } .P1 { background: #ef6c00; } .P2 { background: #c0a000; } .P3 { background: #78909c; }
            table { border-collapse: collapse; width: 100%; margin: 6px 0; } td, th { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eceef2; vertical-align: top; }
            th { color: #5b6475; font-weight: 600; } code, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
            svg { width: 100%; height: auto; display: block; } figure { margin: 10px 0 18px; break-inside: avoid; } figcaption { font-weight: 600; margin-bottom: 2px; }
            section.incident { break-inside: avoid-page; border-left: 4px solid #d9dde5; padding-left: 12px; margin: 14px 0; }
            .legend span { margin-right: 14px; } .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
            @media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } }
            </style></head><body>
            <h1>\(escape(title))</h1>

            """
        o +=
            "<p class=\"muted\">\(series.minutes.first.map { EventTime.rfc3339($0) } ?? "-") to \(series.minutes.last.map { EventTime.rfc3339($0 + 60 * EventTime.nanosPerSecond) } ?? "-") · \(findings.count) findings in \(order.count) incidents · \(summary.lines) lines read</p>\n"

        // timeline
        o += "<h2>Incidents</h2>\n"
        o += timeline(spans, series)

        // charts
        o += "<h2>The checkout, minute by minute</h2>\n"
        let shaded = spans.map { ($0.start, $0.end, $0.severity) }
        o += chart(
            "Checkout traffic (payment attempts and requests a minute)", series,
            [("traffic", "#3465a4", series.traffic.map(Double.init))],
            shaded: shaded, id: "chart-traffic")
        let palette = ["#3465a4", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f"]
        let codes = series.coupons.keys.sorted()
        o += chart(
            "Redemptions a minute of the codes involved", series,
            codes.enumerated().map { (i, c) in (c, palette[i % palette.count], series.coupons[c]!.map(Double.init)) },
            shaded: shaded, id: "chart-coupons")
        var pay: [(String, String, [Double])] = []
        for (i, p) in series.payments.keys.sorted().enumerated() {
            let x = series.payments[p]!
            pay.append(("\(p) succeeded", palette[(2 * i) % palette.count], x.succeeded.map(Double.init)))
            pay.append(("\(p) provider failures", palette[(2 * i + 1) % palette.count], x.failed.map(Double.init)))
        }
        o += chart("Payment outcomes a minute, by provider", series, pay, shaded: shaded, id: "chart-payments")
        o += chart("p99 latency (ms)", series, [("p99", "#6a1b9a", series.p99Ms)], shaded: shaded, id: "chart-latency")

        // one section per incident
        o += "<h2>What happened</h2>\n"
        if order.isEmpty { o += "<p>No findings.</p>\n" }
        for span in spans {
            let fs = byIncident[span.id]!
            o += "<section class=\"incident\" id=\"\(escape(span.id))\">\n"
            o +=
                "<h3><span class=\"sev \(span.severity.name)\">\(span.severity.name)</span> \(escape(span.title)) <span class=\"muted mono\">\(escape(span.id))</span></h3>\n"
            o +=
                "<p class=\"muted\">\(EventTime.rfc3339(span.start)) to \(EventTime.rfc3339(span.end))\(ends[span.id] == nil ? " (open at the end of the input)" : " (resolved)")</p>\n"
            for f in fs { o += finding(f) }
            let related = steps.filter { s in fs.contains { $0.fingerprint == s.cause } }
            if !related.isEmpty {
                o += "<table><tr><th>step</th><th>time</th><th>outcome</th></tr>\n"
                for s in related {
                    o +=
                        "<tr><td>\(escape(s.action.kind.rawValue)) \(escape(s.action.target))</td><td class=\"mono\">\(EventTime.rfc3339(s.time))</td><td>\(escape(s.action.outcome?.description ?? "")) — \(escape(s.reason))</td></tr>\n"
                }
                o += "</table>\n"
            }
            o += "</section>\n"
        }

        // summary
        o += "<h2>Run summary</h2>\n<table>\n"
        let e = summary.events
        for (k, v) in [
            ("lines", summary.lines), ("bytes", summary.bytes), ("skipped lines", summary.skippedLines),
            ("promotions applied", e.promotionApplied), ("promotions rejected", e.promotionRejected),
            ("payments succeeded", e.paymentSucceeded), ("payments declined", e.paymentDeclined),
            ("provider-side failures", e.paymentProviderFailure), ("failed compensations", e.compensationFailure),
            ("requests", e.request), ("timeouts", e.timeout), ("database saturation lines", e.dbSaturation),
        ] {
            o += "<tr><th>\(k)</th><td>\(v)</td></tr>\n"
        }
        o += "</table>\n"
        if !summary.inputErrors.isEmpty {
            o += "<p>Input errors:</p><ul>" + summary.inputErrors.map { "<li>\(escape($0))</li>" }.joined() + "</ul>\n"
        }
        o += "</body></html>\n"
        return o
    }

    static func finding(_ f: Finding) -> String {
        var o = "<table>\n"
        o +=
            "<tr><th>finding</th><td><span class=\"sev \(f.severity.name)\">\(f.severity.name)</span> \(escape(f.category.rawValue)) \(escape(subject(f.subject))) at <span class=\"mono\">\(EventTime.rfc3339(f.time))</span></td></tr>\n"
        o += "<tr><th>what</th><td>\(escape(f.summary))</td></tr>\n"
        var ev =
            "observed \(NumberText.short(f.evidence.observed)), typical \(NumberText.short(f.evidence.expected)), score \(NumberText.short(f.evidence.score))"
        for (k, v) in f.evidence.counts { ev += "; \(k) \(NumberText.short(v))" }
        o += "<tr><th>evidence</th><td>\(escape(ev))</td></tr>\n"
        if let x = f.explanation {
            if !x.contributors.isEmpty {
                let list = x.contributors.map { c in
                    "\(c.kind)=\(c.value) (\(NumberText.short(c.count))\(c.of.map { " of " + NumberText.short($0) } ?? ""))"
                }
                o += "<tr><th>most</th><td>\(escape(list.joined(separator: ", ")))</td></tr>\n"
            }
            for line in x.examples.prefix(2) { o += "<tr><th>e.g.</th><td class=\"mono\">\(escape(line))</td></tr>\n" }
        }
        if let a = f.action {
            o +=
                "<tr><th>action</th><td>\(escape(a.kind.rawValue)) \(escape(a.target)): \(escape(a.outcome?.description ?? "proposed"))</td></tr>\n"
        }
        if let why = f.whyNoAction { o += "<tr><th>no action</th><td>\(escape(why))</td></tr>\n" }
        o += "</table>\n"
        return o
    }

    static func subject(_ s: Subject) -> String { s.storageText }

    // MARK: SVG

    static let width = 960.0
    static let left = 48.0
    static let right = 12.0

    static func x(_ t: Int64, _ s: MinuteSeries) -> Double {
        guard let a = s.minutes.first, let b = s.minutes.last, b > a else { return left }
        let end = b + 60 * EventTime.nanosPerSecond
        return left + (width - left - right) * Double(min(max(t, a), end) - a) / Double(end - a)
    }

    static func color(_ s: Severity) -> String {
        switch s {
        case .p0: return "#c62828"
        case .p1: return "#ef6c00"
        case .p2: return "#c0a000"
        case .p3: return "#78909c"
        }
    }

    static func timeline(
        _ spans: [(id: String, start: Int64, end: Int64, severity: Severity, title: String)], _ s: MinuteSeries
    )
        -> String
    {
        let row = 22.0
        let h = max(1, Double(spans.count)) * row + 26
        var o =
            "<figure id=\"timeline\"><svg viewBox=\"0 0 \(Int(width)) \(Int(h))\" role=\"img\" aria-label=\"incidents by severity\">\n"
        o += axis(s, y: h - 18)
        for (i, sp) in spans.enumerated() {
            let x0 = x(sp.start, s)
            let x1 = max(x(sp.end, s), x0 + 3)
            let y = Double(i) * row + 4
            o +=
                "<rect x=\"\(f1(x0))\" y=\"\(f1(y))\" width=\"\(f1(x1 - x0))\" height=\"\(f1(row - 6))\" rx=\"3\" fill=\"\(color(sp.severity))\"><title>\(escape(sp.title))</title></rect>\n"
            let labelX = x1 + 6 < width - 200 ? x1 + 6 : max(left, x0 - 6)
            let anchor = x1 + 6 < width - 200 ? "start" : "end"
            o +=
                "<text x=\"\(f1(labelX))\" y=\"\(f1(y + row - 10))\" font-size=\"11\" text-anchor=\"\(anchor)\">\(sp.severity.name) \(escape(String(sp.title.prefix(60))))</text>\n"
        }
        if spans.isEmpty { o += "<text x=\"\(left)\" y=\"16\" font-size=\"12\">no incidents</text>\n" }
        o += "</svg></figure>\n"
        return o
    }

    static func axis(_ s: MinuteSeries, y: Double) -> String {
        guard let a = s.minutes.first, let b = s.minutes.last else { return "" }
        var o =
            "<line x1=\"\(left)\" y1=\"\(f1(y))\" x2=\"\(f1(width - right))\" y2=\"\(f1(y))\" stroke=\"#9aa3b2\"/>\n"
        let end = b + 60 * EventTime.nanosPerSecond
        for k in 0...4 {
            let t = a + (end - a) * Int64(k) / 4
            let label = String(EventTime.rfc3339(t).dropFirst(11).prefix(5))
            o +=
                "<text x=\"\(f1(x(t, s)))\" y=\"\(f1(y + 13))\" font-size=\"10\" fill=\"#5b6475\" text-anchor=\"middle\">\(label)</text>\n"
        }
        return o
    }

    static func chart(
        _ title: String, _ s: MinuteSeries, _ lines: [(String, String, [Double])],
        shaded: [(Int64, Int64, Severity)], id: String
    ) -> String {
        let h = 170.0
        let top = 8.0
        let bottom = h - 22
        let maxY = max(1, lines.flatMap(\.2).max() ?? 1)
        var o = "<figure id=\"\(id)\"><figcaption>\(escape(title))</figcaption>\n"
        o += "<svg viewBox=\"0 0 \(Int(width)) \(Int(h))\" role=\"img\" aria-label=\"\(escape(title))\">\n"
        for (a, b, sev) in shaded {
            let x0 = x(a, s)
            o +=
                "<rect class=\"incident-window\" x=\"\(f1(x0))\" y=\"\(top)\" width=\"\(f1(max(2, x(b, s) - x0)))\" height=\"\(f1(bottom - top))\" fill=\"\(color(sev))\" opacity=\"0.14\"/>\n"
        }
        o +=
            "<text x=\"\(left - 6)\" y=\"\(top + 9)\" font-size=\"10\" fill=\"#5b6475\" text-anchor=\"end\">\(NumberText.short(maxY))</text>\n"
        o +=
            "<text x=\"\(left - 6)\" y=\"\(f1(bottom))\" font-size=\"10\" fill=\"#5b6475\" text-anchor=\"end\">0</text>\n"
        o += axis(s, y: bottom)
        for (_, colour, values) in lines where !values.isEmpty {
            var pts: [String] = []
            for (i, v) in values.enumerated() where i < s.minutes.count {
                let px = x(s.minutes[i] + 30 * EventTime.nanosPerSecond, s)
                let py = bottom - (bottom - top) * (v / maxY)
                pts.append("\(f1(px)),\(f1(py))")
            }
            o +=
                "<polyline class=\"series\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.6\" points=\"\(pts.joined(separator: " "))\"/>\n"
        }
        o += "</svg>\n<div class=\"legend\">"
        for (name, colour, _) in lines { o += "<span><i style=\"background:\(colour)\"></i>\(escape(name))</span>" }
        if lines.isEmpty { o += "<span class=\"muted\">nothing to chart</span>" }
        o += "</div></figure>\n"
        return o
    }

    static func f1(_ v: Double) -> String { String(Double(Int((v * 10).rounded())) / 10) }

    /// Text for HTML: `&`, `<`, `>`, quotes escaped; control characters shown as `?`.
    public static func escape(_ s: String) -> String {
        var o = ""
        o.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&#39;"
            default:
                if ch.value < 0x20 || (0x7F...0x9F).contains(ch.value) || (0x202A...0x202E).contains(ch.value)
                    || (0x2066...0x2069).contains(ch.value)
                {
                    o += "?"
                } else {
                    o.unicodeScalars.append(ch)
                }
            }
        }
        return o
    }
}
