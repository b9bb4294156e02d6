import PromowatchCore

/// Why an edit is not made.
public enum EditRefusal: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidCoupon
    case alreadyBlacklisted
    case unknownProvider(String)
    case noHealthyFallback
    case alreadyDisabled
    case alreadyEnabled

    public var description: String {
        switch self {
        case .invalidCoupon: return "coupon code is not [A-Z0-9_-]{1,64}; not written"
        case .alreadyBlacklisted: return "already blacklisted"
        case .unknownProvider(let p): return "no flag configured for provider '\(p)'"
        case .noHealthyFallback:
            return "no healthy provider to fall back to; the last enabled provider is never disabled"
        case .alreadyDisabled: return "already disabled"
        case .alreadyEnabled: return "already enabled"
        }
    }
}

/// The ConfigMap changes the runbook makes, computed from the current data (no I/O).
public enum ConfigMapEdits {
    /// `BLACKLISTED_COUPONS` with `code` added: every existing entry kept as written and in order,
    /// the code appended unless already present (compared ignoring case and surrounding spaces).
    public static func blacklist(_ current: String?, add raw: String) throws -> String {
        guard let code = CouponCode.sanitized(raw) else { throw EditRefusal.invalidCoupon }
        let existing = current ?? ""
        let entries = existing.split(separator: ",", omittingEmptySubsequences: false)
            .map { ASCII.uppercased($0.trimmingSpaces) }
        if entries.contains(code) { throw EditRefusal.alreadyBlacklisted }
        if existing.trimmingSpaces.isEmpty { return code }
        return existing.hasSuffix(",") ? existing + code : existing + "," + code
    }

    /// Whether a flag value means "on" (`true`, `1`, `yes`, `on`, any case).
    public static func enabled(_ v: String?) -> Bool {
        guard let v else { return false }
        return ["true", "1", "yes", "on"].contains(v.trimmingSpaces.lowercased())
    }

    /// The flag changes that switch `failing` off in favour of a healthy fallback: the failing
    /// provider's flag `false`, the fallback's `true`. A provider that is already enabled is the
    /// preferred fallback. Refused when no other configured provider is healthy, so the last
    /// enabled provider is never disabled.
    public static func disableProvider(
        _ failing: String, data: [String: String], config: ActionsConfig,
        unhealthy: Set<String> = []
    ) throws -> [String: String] {
        let p = failing.lowercased()
        guard let key = config.providerKeys[p] else { throw EditRefusal.unknownProvider(p) }
        let others = config.providerKeys.keys.filter { $0 != p && !unhealthy.contains($0) }.sorted()
        guard let fallback = others.first(where: { enabled(data[config.providerKeys[$0]!]) }) ?? others.first else {
            throw EditRefusal.noHealthyFallback
        }
        if !enabled(data[key]) && enabled(data[config.providerKeys[fallback]!]) { throw EditRefusal.alreadyDisabled }
        var changes: [String: String] = [:]
        if data[key] != "false" { changes[key] = "false" }
        let fk = config.providerKeys[fallback]!
        if !enabled(data[fk]) { changes[fk] = "true" }
        return changes
    }

    /// The flag of `provider` set to true (a circuit breaker's trial or revert).
    public static func enableProvider(_ provider: String, data: [String: String], config: ActionsConfig) throws
        -> [String: String]
    {
        let p = provider.lowercased()
        guard let key = config.providerKeys[p] else { throw EditRefusal.unknownProvider(p) }
        if enabled(data[key]) { throw EditRefusal.alreadyEnabled }
        return [key: "true"]
    }

    /// A JSON merge patch setting `changes` in `data`, conditional on `resourceVersion`: the API
    /// server rejects it with 409 Conflict if the ConfigMap changed since it was read.
    public static func mergePatch(_ changes: [String: String], resourceVersion: String?) -> String {
        mergePatch(setting: changes.mapValues { Optional($0) }, resourceVersion: resourceVersion)
    }

    /// As above; a nil value removes the key (JSON merge patch `null`), as a rollback of a key
    /// that did not exist before does.
    public static func mergePatch(setting changes: [String: String?], resourceVersion: String?) -> String {
        var o = "{"
        if let rv = resourceVersion { o += "\"metadata\":{\"resourceVersion\":\(JSONString.quoted(rv))}," }
        o += "\"data\":{"
        o += changes.keys.sorted().map { k in
            JSONString.quoted(k) + ":" + (changes[k]!.map(JSONString.quoted) ?? "null")
        }
        .joined(separator: ",")
        return o + "}}"
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
