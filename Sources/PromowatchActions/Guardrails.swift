import PromowatchCore

/// Decides whether a finding's proposed action may be carried out, the way a careful SRE would:
/// severity high enough, never an allowlisted coupon, never on card testing, caps per run and per
/// hour, a cooldown per target, and a switched-off provider held off. State is in memory here;
/// `cron` keeps it in the store.
public final class Guardrails {
    public let config: ActionsConfig
    public let allowlist: Set<String>
    private var actedThisRun = 0
    /// Event times (ns) of the actions taken, for the hourly cap.
    private var recent: [Int64] = []
    /// Target -> time of the last action on it.
    private var lastAction: [String: Int64] = [:]
    /// Provider -> time it was switched off.
    private var heldOff: [String: Int64] = [:]

    public enum Decision: Equatable, Sendable {
        case act
        case skip(String)
    }

    public init(config: ActionsConfig, allowlist: [String]) {
        self.config = config
        self.allowlist = Set(allowlist.compactMap { CouponCode.sanitized($0) ?? $0.uppercased() })
    }

    static let minute: Int64 = 60_000_000_000

    public func decide(_ f: Finding, now: Int64) -> Decision {
        guard let a = f.action else { return .skip("no action proposed") }
        if f.category == .cardTesting { return .skip("card testing never switches providers") }
        if f.severity > config.minSeverity { return .skip("severity \(f.severity.name) below the minimum \(config.minSeverity.name)") }
        let target: String
        switch a.kind {
        case .blacklistCoupon:
            guard let code = CouponCode.sanitized(a.target) else { return .skip("coupon code is not [A-Z0-9_-]{1,64}; not written") }
            if allowlist.contains(code) { return .skip("coupon \(code) is allowlisted") }
            target = "coupon:" + code
        case .disableProvider:
            target = "provider:" + a.target.lowercased()
            if let since = heldOff[a.target.lowercased()], now - since < Int64(config.providerHoldMinutes) * Guardrails.minute {
                return .skip("provider \(a.target.lowercased()) is held off since an earlier switch")
            }
        }
        if let last = lastAction[target], now - last < Int64(config.cooldownMinutes) * Guardrails.minute {
            return .skip("cooldown: \(target) acted on \((now - last) / Guardrails.minute) min ago")
        }
        if actedThisRun >= config.maxPerRun { return .skip("cap: \(config.maxPerRun) actions per run reached") }
        let hourAgo = now - 60 * Guardrails.minute
        if recent.filter({ $0 > hourAgo }).count >= config.maxPerHour { return .skip("cap: \(config.maxPerHour) actions per hour reached") }
        return .act
    }

    /// Providers switched off less than the hold time before `now`: never a fallback, never
    /// switched back automatically.
    public func heldOffProviders(now: Int64) -> Set<String> {
        Set(heldOff.filter { now - $0.value < Int64(config.providerHoldMinutes) * Guardrails.minute }.keys)
    }

    /// An action applied by an earlier run (from the store's audit): counts toward the hourly cap,
    /// the cooldown of its target and a provider's hold, not toward this run's cap.
    public func remember(kind: ProposedAction.Kind, target: String, at time: Int64) {
        recent.append(time)
        switch kind {
        case .blacklistCoupon:
            let key = "coupon:" + (CouponCode.sanitized(target) ?? target)
            lastAction[key] = max(lastAction[key] ?? Int64.min, time)
        case .disableProvider:
            let p = target.lowercased()
            lastAction["provider:" + p] = max(lastAction["provider:" + p] ?? Int64.min, time)
            heldOff[p] = max(heldOff[p] ?? Int64.min, time)
        }
    }

    /// Records an action that was carried out (or would have been, in a dry run).
    public func record(_ f: Finding, now: Int64) {
        guard let a = f.action else { return }
        actedThisRun += 1
        recent.append(now)
        recent.removeAll { $0 <= now - 60 * Guardrails.minute }
        switch a.kind {
        case .blacklistCoupon: lastAction["coupon:" + (CouponCode.sanitized(a.target) ?? a.target)] = now
        case .disableProvider:
            lastAction["provider:" + a.target.lowercased()] = now
            heldOff[a.target.lowercased()] = now
        }
    }
}
