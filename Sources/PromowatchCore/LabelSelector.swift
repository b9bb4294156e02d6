/// Kubernetes label selectors of equality parts only (`app=checkout,tier=web`), validated so that
/// nothing but label keys and values reaches an API query.
public enum LabelSelector {
    /// Whether every comma-separated part is `key=value` with a valid label key and value.
    public static func isValid(_ selector: String) -> Bool {
        let parts = selector.split(separator: ",", omittingEmptySubsequences: false)
        guard !parts.isEmpty else { return false }
        for part in parts {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, isKey(kv[0]), isValue(kv[1]) else { return false }
        }
        return true
    }

    /// A label value: empty, or up to 63 of `[A-Za-z0-9._-]` beginning and ending alphanumeric.
    public static func isValue<S: StringProtocol>(_ v: S) -> Bool {
        v.isEmpty || isName(v)
    }

    /// A label key: an optional DNS-subdomain prefix and `/`, then a name.
    public static func isKey<S: StringProtocol>(_ k: S) -> Bool {
        let halves = k.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        if halves.count == 2 {
            let prefix = halves[0]
            guard !prefix.isEmpty, prefix.utf8.count <= 253,
                prefix.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({
                    let u = Array($0.utf8)
                    return !u.isEmpty && u.count <= 63 && u.allSatisfy { ASCII.isLowerAlnum($0) || $0 == 0x2D }
                        && u.first != 0x2D && u.last != 0x2D
                })
            else { return false }
            return isName(halves[1])
        }
        return isName(k)
    }

    static func isName<S: StringProtocol>(_ n: S) -> Bool {
        let u = Array(n.utf8)
        guard let first = u.first, let last = u.last, u.count <= 63 else { return false }
        return ASCII.isAlnum(first) && ASCII.isAlnum(last)
            && u.allSatisfy { ASCII.isAlnum($0) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E }
    }
}
