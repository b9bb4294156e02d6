import Foundation
import PromowatchCore
import Yams

/// Loads `config/promowatch.yaml`-shaped YAML over the built-in defaults.
/// Every key is optional; an unknown key or a value of the wrong kind is an error.
public enum ConfigLoader {
    typealias Setter = (inout DetectionConfig, Node, String) throws -> Void

    static func int(_ min: Int, _ set: @escaping (inout DetectionConfig, Int) -> Void) -> Setter {
        { c, n, key in
            guard let s = n.scalar, let v = Int(s.string), v >= min else {
                throw ConfigError(file: "", key: key, message: "expected a whole number >= \(min), got \(describe(n))")
            }
            set(&c, v)
        }
    }
    static func num(_ min: Double, _ max: Double = .infinity, _ set: @escaping (inout DetectionConfig, Double) -> Void)
        -> Setter
    {
        { c, n, key in
            guard let s = n.scalar, let v = Double(s.string), v.isFinite, v >= min, v <= max else {
                throw ConfigError(
                    file: "", key: key, message: "expected a number from \(min) to \(max), got \(describe(n))")
            }
            set(&c, v)
        }
    }
    static func severity(_ set: @escaping (inout DetectionConfig, Severity) -> Void) -> Setter {
        { c, n, key in
            guard let s = n.scalar, let v = Severity(name: s.string) else {
                throw ConfigError(file: "", key: key, message: "expected one of P0, P1, P2, P3, got \(describe(n))")
            }
            set(&c, v)
        }
    }
    static func text(_ set: @escaping (inout DetectionConfig, String) -> Void) -> Setter {
        { c, n, key in
            guard let s = n.scalar, !s.string.isEmpty, s.string.utf8.count <= 253 else {
                throw ConfigError(file: "", key: key, message: "expected a non-empty name, got \(describe(n))")
            }
            set(&c, s.string)
        }
    }
    static func stringMap(_ set: @escaping (inout DetectionConfig, [String: String]) -> Void) -> Setter {
        { c, n, key in
            guard let m = n.mapping else {
                throw ConfigError(file: "", key: key, message: "expected a mapping of name: key, got \(describe(n))")
            }
            var out: [String: String] = [:]
            for (k, v) in m {
                guard let name = k.scalar?.string, let value = v.scalar?.string, !name.isEmpty, !value.isEmpty else {
                    throw ConfigError(
                        file: "", key: key, message: "expected a mapping of name: key, got \(describe(v))")
                }
                out[name.lowercased()] = value
            }
            set(&c, out)
        }
    }
    /// `decision.provider_capacity_per_minute`: provider name to a positive number.
    static let capacities: Setter = { c, n, key in
        guard let m = n.mapping else {
            throw ConfigError(
                key: key, message: "expected a mapping of provider: attempts per minute, got \(describe(n))")
        }
        for (k, v) in m {
            guard let name = k.scalar?.string, !name.isEmpty else {
                throw ConfigError(key: key, message: "expected a provider name, got \(describe(k))")
            }
            guard let text = v.scalar?.string, let x = Double(text), x.isFinite, x > 0 else {
                throw ConfigError(key: key + "." + name, message: "expected a positive number, got \(describe(v))")
            }
            c.decision.providerCapacityPerMinute[name.lowercased()] = x
        }
    }

    /// `decision.modes`: a mapping of action kind to `off`, `shadow` or `enforce`.
    static let modes: Setter = { c, n, key in
        guard let m = n.mapping else {
            throw ConfigError(
                key: key, message: "expected a mapping of action kind: off|shadow|enforce, got \(describe(n))")
        }
        for (k, v) in m {
            guard let name = k.scalar?.string, let kind = ProposedAction.Kind(rawValue: name) else {
                throw ConfigError(
                    key: key,
                    message:
                        "unknown action kind \(describe(k)) (\(ProposedAction.Kind.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            guard let s = v.scalar?.string, let mode = DecisionConfig.ActionMode(rawValue: s) else {
                throw ConfigError(key: key + "." + name, message: "expected off, shadow or enforce, got \(describe(v))")
            }
            c.decision.modes[kind] = mode
        }
    }

    /// A connection string (it may hold a password, so errors never quote it); empty: unset.
    static func secretText(_ set: @escaping (inout DetectionConfig, String?) -> Void) -> Setter {
        { c, n, key in
            guard let s = n.scalar, s.string.utf8.count <= 4096 else {
                throw ConfigError(file: "", key: key, message: "expected a connection string")
            }
            set(&c, s.string.isEmpty ? nil : s.string)
        }
    }

    /// `actions.culprit_selectors`: application name to a label selector of `key=value` pairs
    /// (comma-separated), each part a valid label key and value, so nothing else reaches the API.
    static func labelSelectors(_ set: @escaping (inout DetectionConfig, [String: String]) -> Void) -> Setter {
        { c, n, key in
            guard let m = n.mapping else {
                throw ConfigError(
                    file: "", key: key, message: "expected a mapping of application: selector, got \(describe(n))")
            }
            var out: [String: String] = [:]
            for (k, v) in m {
                guard let name = k.scalar?.string, !name.isEmpty, let sel = v.scalar?.string,
                    LabelSelector.isValid(sel)
                else {
                    throw ConfigError(
                        file: "", key: key,
                        message:
                            "expected application: key=value[,key=value] (label keys and values), got \(describe(v))")
                }
                out[name] = sel
            }
            set(&c, out)
        }
    }

    /// A notification receiver: `{url: http://..., min_severity: P1}`, the URL as text or, for one
    /// that holds a secret, `{env: NAME}` or `{file: PATH}`. Empty or null: none.
    static func receiver(_ set: @escaping (inout DetectionConfig, NotificationsConfig.Receiver?) -> Void) -> Setter {
        { c, n, key in
            if case .scalar(let s) = n, s.string.isEmpty || s.string == "~" || s.string == "null" {
                set(&c, nil)
                return
            }
            guard let m = n.mapping else {
                throw ConfigError(file: "", key: key, message: "expected {url: ..., min_severity: P1}")
            }
            var url: HookConfig.Value?
            var sev = Severity.p1
            for (k, v) in m {
                switch k.scalar?.string {
                case "url":
                    if let s = v.scalar?.string {
                        guard s.hasPrefix("http://") || s.hasPrefix("https://") else {
                            throw ConfigError(file: "", key: key + ".url", message: "expected an http(s) URL")
                        }
                        url = .literal(s)
                    } else if let e = v.mapping?["env"]?.scalar?.string {
                        url = .env(e, prefix: "")
                    } else if let f = v.mapping?["file"]?.scalar?.string {
                        url = .file(f, prefix: "")
                    } else {
                        throw ConfigError(
                            file: "", key: key + ".url", message: "expected a URL, {env: NAME} or {file: PATH}")
                    }
                case "min_severity":
                    guard let s = v.scalar.flatMap({ Severity(name: $0.string) }) else {
                        throw ConfigError(
                            file: "", key: key + ".min_severity", message: "expected one of P0, P1, P2, P3")
                    }
                    sev = s
                default:
                    throw ConfigError(file: "", key: key + "." + (k.scalar?.string ?? "?"), message: "unknown key")
                }
            }
            guard let url else { throw ConfigError(file: "", key: key + ".url", message: "missing") }
            set(&c, NotificationsConfig.Receiver(url: url, minSeverity: sev))
        }
    }

    /// One label selector (`app=checkout`), validated like `actions.culprit_selectors`.
    static func selector(_ set: @escaping (inout DetectionConfig, String) -> Void) -> Setter {
        { c, n, key in
            guard let s = n.scalar?.string, LabelSelector.isValid(s) else {
                throw ConfigError(file: "", key: key, message: "expected key=value[,key=value], got \(describe(n))")
            }
            set(&c, s)
        }
    }

    static func strings(_ set: @escaping (inout DetectionConfig, [String]) -> Void) -> Setter {
        { c, n, key in
            guard let seq = n.sequence else {
                throw ConfigError(file: "", key: key, message: "expected a list of strings, got \(describe(n))")
            }
            var out: [String] = []
            for item in seq {
                guard let s = item.scalar, !s.string.isEmpty else {
                    throw ConfigError(file: "", key: key, message: "expected a list of strings, got \(describe(item))")
                }
                out.append(s.string)
            }
            set(&c, out)
        }
    }

    static func describe(_ n: Node) -> String {
        switch n {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// Every key, `section.key`, with how to set it. `config/promowatch.yaml` lists the same.
    static let settings: [(String, Setter)] = [
        ("general.warmup_minutes", int(0) { $0.general.warmupMinutes = $1 }),
        ("general.min_score", num(0) { $0.general.minScore = $1 }),
        ("general.cooldown_minutes", int(0) { $0.general.cooldownMinutes = $1 }),
        ("coupon_abuse.window_minutes", int(1) { $0.couponAbuse.windowMinutes = $1 }),
        ("coupon_abuse.min_redemptions", int(1) { $0.couponAbuse.minRedemptions = $1 }),
        ("coupon_abuse.min_new_accounts", int(0) { $0.couponAbuse.minNewAccounts = $1 }),
        ("coupon_abuse.new_account_share", num(0, 1) { $0.couponAbuse.newAccountShare = $1 }),
        ("coupon_abuse.abnormal_discount_share", num(0) { $0.couponAbuse.abnormalDiscountShare = $1 }),
        ("coupon_abuse.p0_discount", num(0) { $0.couponAbuse.p0Discount = $1 }),
        ("coupon_reuse.window_minutes", int(1) { $0.couponReuse.windowMinutes = $1 }),
        ("coupon_reuse.min_per_user", int(2) { $0.couponReuse.minPerUser = $1 }),
        ("coupon_reuse.min_per_ip", int(2) { $0.couponReuse.minPerIP = $1 }),
        ("coupon_enumeration.window_minutes", int(1) { $0.couponEnumeration.windowMinutes = $1 }),
        ("coupon_enumeration.min_distinct_codes", int(2) { $0.couponEnumeration.minDistinctCodes = $1 }),
        ("coupon_enumeration.min_rejected_surge", int(1) { $0.couponEnumeration.minRejectedSurge = $1 }),
        ("discount_stacking.window_minutes", int(1) { $0.discountStacking.windowMinutes = $1 }),
        ("discount_stacking.min_events", int(1) { $0.discountStacking.minEvents = $1 }),
        ("discount_stacking.share_jump", num(0, 1) { $0.discountStacking.shareJump = $1 }),
        ("discount_stacking.min_redemptions", int(1) { $0.discountStacking.minRedemptions = $1 }),
        ("payment_provider_failure.window_minutes", int(1) { $0.providerFailure.windowMinutes = $1 }),
        ("payment_provider_failure.min_failures", int(1) { $0.providerFailure.minFailures = $1 }),
        ("payment_provider_failure.min_failure_rate", num(0, 1) { $0.providerFailure.minFailureRate = $1 }),
        ("payment_provider_failure.baseline_failure_rate", num(0, 1) { $0.providerFailure.baselineFailureRate = $1 }),
        ("payment_provider_failure.confirm_minutes", int(0) { $0.providerFailure.confirmMinutes = $1 }),
        ("card_testing.window_minutes", int(1) { $0.cardTesting.windowMinutes = $1 }),
        ("card_testing.min_distinct_cards", int(2) { $0.cardTesting.minDistinctCards = $1 }),
        ("card_testing.min_decline_surge", int(1) { $0.cardTesting.minDeclineSurge = $1 }),
        ("card_testing.small_amount", num(0) { $0.cardTesting.smallAmount = $1 }),
        ("compensation_failure.window_minutes", int(1) { $0.compensationFailure.windowMinutes = $1 }),
        ("compensation_failure.min_failures", int(1) { $0.compensationFailure.minFailures = $1 }),
        ("latency.window_minutes", int(1) { $0.latency.windowMinutes = $1 }),
        ("latency.min_requests", int(1) { $0.latency.minRequests = $1 }),
        ("latency.p99_ms", num(0) { $0.latency.p99Ms = $1 }),
        ("latency.p1_ms", num(0) { $0.latency.p1Ms = $1 }),
        ("latency.min_slow", int(1) { $0.latency.minSlow = $1 }),
        ("latency.min_timeouts", int(1) { $0.latency.minTimeouts = $1 }),
        ("db_saturation.min_events", int(1) { $0.dbSaturation.minEvents = $1 }),
        ("input.earliest_year", int(1970) { $0.input.earliestYear = min($1, 2200) }),
        ("input.max_future_skew_seconds", int(0) { $0.input.maxFutureSkewSeconds = min($1, 100 * 365 * 86_400) }),
        ("input.batch_minute_entries", int(1000) { $0.input.batchMinuteEntries = min($1, 1 << 30) }),
        ("input.stdin_copy_megabytes", int(0) { $0.input.stdinCopyMegabytes = min($1, 1 << 30) }),
        ("actions.namespace", text { $0.actions.namespace = $1 }),
        ("actions.config_map", text { $0.actions.configMap = $1 }),
        ("actions.blacklist_key", text { $0.actions.blacklistKey = $1 }),
        ("actions.provider_keys", stringMap { $0.actions.providerKeys = $1 }),
        ("actions.restart", strings { $0.actions.restart = $1 }),
        ("actions.conflict_retries", int(0) { $0.actions.conflictRetries = $1 }),
        ("actions.idle_connection_seconds", int(1) { $0.actions.idleConnectionSeconds = $1 }),
        ("actions.culprit_selectors", labelSelectors { $0.actions.culpritSelectors = $1 }),
        ("actions.scale_deployment", text { $0.actions.scaleDeployment = $1 }),
        ("actions.scale_step", int(1) { $0.actions.scaleStep = $1 }),
        ("actions.max_replicas", int(1) { $0.actions.maxReplicas = $1 }),
        ("diagnostics.pod_selector", selector { $0.diagnostics.podSelector = $1 }),
        ("diagnostics.watched_deployments", strings { $0.diagnostics.watchedDeployments = $1 }),
        ("diagnostics.rollout_window_minutes", int(0) { $0.diagnostics.rolloutWindowMinutes = $1 }),
        ("notifications.alertmanager", receiver { $0.notifications.alertmanager = $1 }),
        ("notifications.slack", receiver { $0.notifications.slack = $1 }),
        ("notifications.webhook", receiver { $0.notifications.webhook = $1 }),
        ("notifications.queue_size", int(1) { $0.notifications.queueSize = min($1, 100_000) }),
        ("notifications.retries", int(0) { $0.notifications.retries = min($1, 10) }),
        ("notifications.resend_seconds", int(5) { $0.notifications.resendSeconds = $1 }),
        ("diagnostics.postgres", secretText { $0.diagnostics.postgres = $1 }),
        ("diagnostics.max_age_seconds", int(0) { $0.diagnostics.maxAgeSeconds = $1 }),
        ("decision.allowlist", strings { $0.decision.allowlist = $1 }),
        ("decision.campaigns", strings { $0.decision.campaigns = $1 }),
        ("decision.min_severity", severity { $0.decision.minSeverity = $1 }),
        ("decision.abuse_dominance_share", num(0, 1) { $0.decision.abuseDominanceShare = $1 }),
        ("decision.public_code_accounts", int(0) { $0.decision.publicCodeAccounts = $1 }),
        ("decision.min_account_history_hours", int(0) { $0.decision.minAccountHistoryHours = $1 }),
        ("decision.modes", modes),
        ("decision.provider_capacity_per_minute", capacities),
        ("decision.incident_gap_minutes", int(1) { $0.decision.incidentGapMinutes = $1 }),
        ("decision.verify_minutes", int(1) { $0.decision.verifyMinutes = $1 }),
        ("decision.max_provider_hold_minutes", int(0) { $0.decision.maxProviderHoldMinutes = $1 }),
        ("decision.max_per_run", int(0) { $0.decision.maxPerRun = $1 }),
        ("decision.max_per_hour", int(0) { $0.decision.maxPerHour = $1 }),
        ("decision.cooldown_minutes", int(0) { $0.decision.cooldownMinutes = $1 }),
        ("decision.provider_hold_minutes", int(0) { $0.decision.providerHoldMinutes = $1 }),
    ]

    /// Keys of earlier versions that now live in the `decision:` section: named in the error.
    static let moved: [String: String] = [
        "general.min_action_severity": "decision.min_severity", "actions.min_severity": "decision.min_severity",
        "general.abuse_dominance_share": "decision.abuse_dominance_share",
        "actions.max_per_run": "decision.max_per_run",
        "actions.max_per_hour": "decision.max_per_hour", "actions.cooldown_minutes": "decision.cooldown_minutes",
        "actions.provider_hold_minutes": "decision.provider_hold_minutes", "allowlist": "decision.allowlist",
        "campaigns": "decision.campaigns",
    ]

    static func unknown(_ key: String) -> ConfigError {
        if let to = moved[key] { return ConfigError(file: "", key: key, message: "moved: set \(to) instead") }
        return ConfigError(file: "", key: key, message: "unknown key")
    }

    static let aliasFields = [
        "name", "ts", "coupon", "outcome", "discount", "subtotal", "user", "ip", "provider",
        "error_code", "error_text", "amount", "card", "latency_ms", "latency",
    ]

    /// Parses YAML text over `base`. `file` names the source in errors.
    public static func load(yaml: String, file: String, over base: DetectionConfig = DetectionConfig()) throws
        -> DetectionConfig
    {
        var config = base
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            throw ConfigError(file: file, key: "", message: "not valid YAML: \(error)")
        }
        guard let root else { return config }  // empty file: defaults
        guard let top = root.mapping else {
            throw ConfigError(file: file, key: "", message: "expected a mapping at the top level")
        }
        let table = Dictionary(uniqueKeysWithValues: settings)
        let sections = Set(settings.compactMap { $0.0.contains(".") ? String($0.0.split(separator: ".")[0]) : nil })
        do {
            for (k, v) in top {
                guard let key = k.scalar?.string else {
                    throw ConfigError(file: file, key: "", message: "keys must be strings")
                }
                if let set = table[key] {
                    try set(&config, v, key)
                    continue
                }
                if key == "aliases" {
                    try aliases(v, into: &config)
                    continue
                }
                if key == "hooks" {
                    config.actions.hooks = try hooks(v)
                    continue
                }
                guard sections.contains(key) else { throw unknown(key) }
                // an empty section
                if case .scalar(let s) = v, s.string.isEmpty || s.string == "~" || s.string == "null" { continue }
                guard let inner = v.mapping else {
                    throw ConfigError(file: file, key: key, message: "expected a mapping, got \(describe(v))")
                }
                for (ik, iv) in inner {
                    guard let name = ik.scalar?.string else {
                        throw ConfigError(file: file, key: key, message: "keys must be strings")
                    }
                    let full = key + "." + name
                    guard let set = table[full] else { throw unknown(full) }
                    try set(&config, iv, full)
                }
            }
        } catch var e as ConfigError {
            e.file = file
            throw e
        }
        return config
    }

    /// `hooks:`: a list of runbook hooks, each checked here (name, categories, an http(s) URL, a
    /// method, headers from env or file, a body that is JSON once its placeholders are filled).
    static func hooks(_ v: Node) throws -> [HookConfig] {
        if case .scalar(let s) = v, s.string.isEmpty || s.string == "~" || s.string == "null" || s.string == "[]" {
            return []
        }
        guard let seq = v.sequence else {
            throw ConfigError(key: "hooks", message: "expected a list of hooks, got \(describe(v))")
        }
        var out: [HookConfig] = []
        for (i, item) in seq.enumerated() {
            let at = "hooks[\(i)]"
            guard let m = item.mapping else { throw ConfigError(key: at, message: "expected a mapping") }
            var fields: [String: Node] = [:]
            for (k, x) in m {
                guard let name = k.scalar?.string,
                    ["name", "categories", "min_severity", "url", "method", "headers", "body", "timeout_seconds"]
                        .contains(name)
                else { throw ConfigError(key: "\(at).\(k.scalar?.string ?? "?")", message: "unknown key") }
                fields[name] = x
            }
            guard let name = fields["name"]?.scalar?.string, !name.isEmpty,
                name.utf8.allSatisfy({ ASCII.isAlnum($0) || $0 == 0x2D || $0 == 0x5F })
            else { throw ConfigError(key: "\(at).name", message: "expected a name of letters, digits, - and _") }
            guard let url = fields["url"]?.scalar?.string, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigError(key: "\(at).url", message: "expected an http:// or https:// URL")
            }
            var categories: [Category] = []
            for c in fields["categories"]?.sequence ?? [] {
                guard let cat = c.scalar.flatMap({ Category(rawValue: $0.string) }) else {
                    throw ConfigError(key: "\(at).categories", message: "unknown category \(describe(c))")
                }
                categories.append(cat)
            }
            guard !categories.isEmpty else {
                throw ConfigError(key: "\(at).categories", message: "expected a list of finding categories")
            }
            var h = HookConfig(name: name, categories: categories, url: url)
            if let s = fields["min_severity"] {
                guard let sev = s.scalar.flatMap({ Severity(name: $0.string) }) else {
                    throw ConfigError(key: "\(at).min_severity", message: "expected one of P0, P1, P2, P3")
                }
                h.minSeverity = sev
            }
            if let mth = fields["method"] {
                guard let x = mth.scalar?.string.uppercased(), ["POST", "PUT", "PATCH", "DELETE", "GET"].contains(x)
                else {
                    throw ConfigError(key: "\(at).method", message: "expected POST, PUT, PATCH, DELETE or GET")
                }
                h.method = x
            }
            if let t = fields["timeout_seconds"] {
                guard let x = t.scalar.flatMap({ Int($0.string) }), x >= 1, x <= 300 else {
                    throw ConfigError(key: "\(at).timeout_seconds", message: "expected 1 to 300")
                }
                h.timeoutSeconds = x
            }
            if let b = fields["body"] {
                guard let text = b.scalar?.string else {
                    throw ConfigError(key: "\(at).body", message: "expected text")
                }
                h.body = text
            }
            // the body must be JSON whatever the placeholders hold: each is filled with an object,
            // which breaks the JSON if the placeholder sits inside quotes (it is quoted already)
            let probe = HookConfig.substitute(h.body) {
                HookConfig.placeholders.contains($0) ? "{\"p\": 0}" : "\u{1}"
            }
            guard (try? JSONSerialization.jsonObject(with: Data(probe.utf8), options: [.fragmentsAllowed])) != nil
            else {
                throw ConfigError(
                    key: "\(at).body",
                    message:
                        "not JSON once its placeholders are filled (placeholders: \(HookConfig.placeholders.map { "${\($0)}" }.joined(separator: ", ")); unquoted)"
                )
            }
            for (k, x) in fields["headers"]?.mapping ?? Node.Mapping([]) {
                guard let hn = k.scalar?.string, !hn.isEmpty,
                    hn.utf8.allSatisfy({ ASCII.isAlnum($0) || $0 == 0x2D })
                else { throw ConfigError(key: "\(at).headers", message: "expected header names") }
                let value: HookConfig.Value
                if let lit = x.scalar?.string {
                    value = .literal(lit)
                } else if let xm = x.mapping {
                    let prefix = xm["prefix"]?.scalar?.string ?? ""
                    if let env = xm["env"]?.scalar?.string {
                        value = .env(env, prefix: prefix)
                    } else if let file = xm["file"]?.scalar?.string {
                        value = .file(file, prefix: prefix)
                    } else {
                        throw ConfigError(key: "\(at).headers.\(hn)", message: "expected {env: NAME} or {file: PATH}")
                    }
                } else {
                    throw ConfigError(key: "\(at).headers.\(hn)", message: "expected text, {env: NAME} or {file: PATH}")
                }
                if case .literal(let lit) = value, lit.contains("\n") || lit.contains("\r") {
                    throw ConfigError(key: "\(at).headers.\(hn)", message: "a header value is one line")
                }
                h.headers.append(HookConfig.Header(name: hn, value: value))
            }
            out.append(h)
        }
        guard Set(out.map(\.name)).count == out.count else {
            throw ConfigError(key: "hooks", message: "hook names must be unique")
        }
        return out
    }

    static func aliases(_ v: Node, into config: inout DetectionConfig) throws {
        if case .scalar(let s) = v, s.string.isEmpty || s.string == "~" || s.string == "null" || s.string == "{}" {
            return
        }
        guard let m = v.mapping else {
            throw ConfigError(
                file: "", key: "aliases", message: "expected a mapping of field: [keys], got \(describe(v))")
        }
        for (k, list) in m {
            guard let field = k.scalar?.string, aliasFields.contains(field) else {
                throw ConfigError(
                    file: "", key: "aliases.\(k.scalar?.string ?? "?")",
                    message: "unknown field (one of \(aliasFields.joined(separator: ", ")))")
            }
            guard let seq = list.sequence else {
                throw ConfigError(
                    file: "", key: "aliases.\(field)", message: "expected a list of keys, got \(describe(list))")
            }
            var keys: [String] = []
            for item in seq {
                guard let s = item.scalar?.string, !s.isEmpty, s.utf8.count <= 32 else {
                    throw ConfigError(
                        file: "", key: "aliases.\(field)",
                        message: "keys must be non-empty strings of at most 32 bytes, got \(describe(item))")
                }
                keys.append(s)
            }
            config.aliases[field, default: []] += keys
        }
    }
}
