/// A runbook hook (`hooks:` in the configuration): an HTTP call made for findings of some
/// categories, e.g. the promotion admin API that deactivates a campaign. Run under the same
/// guardrails as every action (mode `decision.modes.runbook_hook`, dry run, caps, cooldowns,
/// audit). Everything taken from a finding enters the body as a quoted JSON value.
public struct HookConfig: Sendable, Equatable {
    public var name: String
    /// Categories it runs for (empty: none).
    public var categories: [Category]
    /// The least severe finding it runs for.
    public var minSeverity = Severity.p1
    public var url: String
    public var method = "POST"
    public var headers: [Header] = []
    /// A JSON template: `${coupon}`, `${user}`, `${ip}`, `${provider}`, `${category}`,
    /// `${severity}`, `${summary}`, `${time}`, `${fingerprint}` and `${incident}` become quoted
    /// JSON strings (or `null`), so nothing from a log can leave its string.
    public var body = "{\"category\": ${category}, \"severity\": ${severity}, \"summary\": ${summary}}"
    public var timeoutSeconds = 10

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: Value
        public init(name: String, value: Value) {
            self.name = name
            self.value = value
        }
    }

    /// Where a header's value comes from: secrets from the environment or a file, never inline
    /// in the command line, never printed.
    public enum Value: Sendable, Equatable {
        case literal(String)
        case env(String, prefix: String)
        case file(String, prefix: String)
    }

    public init(name: String, categories: [Category], url: String) {
        self.name = name
        self.categories = categories
        self.url = url
    }

    public static let placeholders = [
        "coupon", "user", "ip", "provider", "category", "severity", "summary", "time", "fingerprint", "incident",
    ]

    /// The body for `f`: each placeholder replaced by its value as a JSON string, or `null`.
    public func render(_ f: Finding) -> String {
        func value(_ name: String) -> String? {
            switch name {
            case "coupon": return f.subject.coupon
            case "user": return f.subject.user
            case "ip": return f.subject.ip
            case "provider": return f.subject.provider
            case "category": return f.category.rawValue
            case "severity": return f.severity.name
            case "summary": return f.summary
            case "time": return EventTime.rfc3339(f.time)
            case "fingerprint": return f.fingerprint
            case "incident": return f.incident?.id
            default: return nil
            }
        }
        return HookConfig.substitute(body) { value($0).map(JSONString.quoted) ?? "null" }
    }

    /// Replaces every `${name}` by `replacement(name)`; text outside placeholders is kept.
    public static func substitute(_ template: String, _ replacement: (String) -> String) -> String {
        let u = Array(template.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < u.count {
            if u[i] == 0x24, i + 1 < u.count, u[i + 1] == 0x7B, let close = u[(i + 2)...].firstIndex(of: 0x7D) {
                out += Array(replacement(String(decoding: u[(i + 2)..<close], as: UTF8.self)).utf8)
                i = close + 1
            } else {
                out.append(u[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The URL without its query, fragment or user info, for outcomes and the audit (a token in
    /// a query string never shows).
    public var redactedURL: String {
        var u = Array(url.utf8)
        if let q = u.firstIndex(where: { $0 == 0x3F || $0 == 0x23 }) { u = Array(u[..<q]) }
        // scheme://userinfo@host/...: drop userinfo
        if let colon = u.firstIndex(of: 0x3A), colon + 2 < u.count, u[colon + 1] == 0x2F, u[colon + 2] == 0x2F {
            let start = colon + 3
            let end = u[start...].firstIndex(of: 0x2F) ?? u.count
            if let at = u[start..<end].lastIndex(of: 0x40) { u.removeSubrange(start...at) }
        }
        return String(decoding: u, as: UTF8.self)
    }
}
