import PromowatchCore

/// One incident as the receivers see it: opened, updated (a new finding joined) or resolved.
/// Subjects, summaries and outcomes come from logs: every renderer below puts them only where
/// nothing is interpreted (JSON strings, Slack plain_text).
public struct IncidentNotice: Sendable, Equatable {
    public var id: String
    public var state: IncidentRef.State
    public var severity: Severity
    /// The root cause's category.
    public var category: Category
    /// `coupon=X`, `provider=stripe`, or `checkout` for the shop-wide incidents.
    public var subject: String
    public var summary: String
    public var evidence: String
    public var action: String?
    public var startsAt: Int64
    public var endsAt: Int64?
    /// The finding behind it, as the contract's JSON (the generic webhook's body).
    public var findingJSON: String?
    /// The audit id of its action, when the run keeps an audit (`cron`): rolled back with
    /// `promowatch rollback ID --apply`.
    public var auditID: Int64?

    /// How to undo what was done.
    var rollback: String {
        auditID.map { "promowatch rollback \($0) --apply" }
            ?? "promowatch history shows each action's id; promowatch rollback ID --apply undoes one"
    }

    public init(
        id: String, state: IncidentRef.State, severity: Severity, category: Category, subject: String,
        summary: String, evidence: String, action: String?, startsAt: Int64, endsAt: Int64? = nil,
        findingJSON: String? = nil
    ) {
        self.id = id
        self.state = state
        self.severity = severity
        self.category = category
        self.subject = subject
        self.summary = summary
        self.evidence = evidence
        self.action = action
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.findingJSON = findingJSON
    }

    /// The subject of a finding, for labels and titles.
    public static func subject(_ s: Subject) -> String {
        s.isEmpty ? "checkout" : s.storageText
    }

    // MARK: Alertmanager API v2

    /// `POST /api/v2/alerts` body: stable labels (`alertname`, `category`, `severity`, `subject`,
    /// `incident`), annotations, `startsAt`, and `endsAt` once resolved.
    public static func alertmanager(_ ns: [IncidentNotice]) -> String {
        "[" + ns.map(alert).joined(separator: ", ") + "]"
    }

    static func alert(_ n: IncidentNotice) -> String {
        var labels = JSONWriter()
        labels.add("alertname", "promowatch_" + n.category.rawValue)
        labels.add("category", n.category.rawValue)
        labels.add("severity", n.severity.name)
        labels.add("subject", n.subject)
        labels.add("incident", n.id)
        var ann = JSONWriter()
        ann.add("summary", n.summary)
        ann.add("evidence", n.evidence)
        if let a = n.action { ann.add("action", a) }
        ann.add("rollback", n.rollback)
        var o = JSONWriter()
        o.addRaw("labels", labels.text)
        o.addRaw("annotations", ann.text)
        o.add("startsAt", EventTime.rfc3339(n.startsAt))
        if let e = n.endsAt { o.add("endsAt", EventTime.rfc3339(e)) }
        return o.text
    }

    // MARK: Slack Block Kit

    /// An incoming-webhook message within Block Kit's limits (header 150 characters, section
    /// text 3000, fields 2000 each and at most 10). Everything from logs is `plain_text`: no
    /// formatting, links or mentions can come out of a coupon code.
    public static func slack(_ n: IncidentNotice) -> String {
        let title = "\(n.severity.name) \(n.category.rawValue): incident \(n.id) \(n.state.rawValue)"
        func plain(_ s: String, _ limit: Int) -> String {
            var o = JSONWriter()
            o.add("type", "plain_text")
            o.add("text", cut(s.isEmpty ? "-" : s, limit))
            o.add("emoji", false)
            return o.text
        }
        var fields = [
            plain("Severity: \(n.severity.name)", 2000), plain("Subject: \(n.subject)", 2000),
            plain("Started: \(EventTime.rfc3339(n.startsAt))", 2000),
        ]
        if let e = n.endsAt { fields.append(plain("Resolved: \(EventTime.rfc3339(e))", 2000)) }
        if let a = n.action { fields.append(plain("Action: \(a)", 2000)) }
        let blocks = [
            "{\"type\": \"header\", \"text\": \(plain(title, 150))}",
            "{\"type\": \"section\", \"text\": \(plain(n.summary, 3000))}",
            "{\"type\": \"section\", \"fields\": [\(fields.prefix(10).joined(separator: ", "))]}",
            "{\"type\": \"context\", \"elements\": [\(plain("Roll back: " + n.rollback, 2000))]}",
        ]
        var o = JSONWriter()
        // the notification's fallback text is mrkdwn to Slack: only our own words go there
        o.add("text", "promowatch: \(title)")
        o.addRaw("blocks", "[" + blocks.joined(separator: ", ") + "]")
        return o.text
    }

    /// At most `limit` characters (Slack counts characters), with an ellipsis when cut.
    static func cut(_ s: String, _ limit: Int) -> String {
        s.count <= limit ? s : String(s.prefix(limit - 1)) + "…"
    }

    // MARK: generic webhook

    /// `{"incident": {...}, "finding": <the contract's finding JSON or null>}`.
    public static func webhook(_ n: IncidentNotice) -> String {
        var i = JSONWriter()
        i.add("id", n.id)
        i.add("state", n.state.rawValue)
        i.add("severity", n.severity.name)
        i.add("category", n.category.rawValue)
        i.add("subject", n.subject)
        i.add("summary", n.summary)
        i.add("starts_at", EventTime.rfc3339(n.startsAt))
        if let e = n.endsAt { i.add("ends_at", EventTime.rfc3339(e)) }
        var o = JSONWriter()
        o.addRaw("incident", i.text)
        o.addRaw("finding", n.findingJSON ?? "null")
        return o.text
    }
}

/// A JSON object written key by key, every string quoted safely.
struct JSONWriter {
    private var parts: [String] = []
    mutating func add(_ k: String, _ v: String) { parts.append("\(JSONString.quoted(k)): \(JSONString.quoted(v))") }
    mutating func add(_ k: String, _ v: Bool) { parts.append("\(JSONString.quoted(k)): \(v)") }
    mutating func addRaw(_ k: String, _ json: String) { parts.append("\(JSONString.quoted(k)): \(json)") }
    var text: String { "{" + parts.joined(separator: ", ") + "}" }
}
