import PromowatchCore

/// Decides whether a proposed action may be carried out now: caps per run and per hour, a
/// cooldown per target, a switched-off provider held off, and only codes that can be written
/// safely. State is in memory; `cron` and the shared watch rebuild it from the store's audit
/// (`remember`), so the limits span runs and leaders.
public final class Guardrails {
    public let config: DecisionConfig
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

    public init(config: DecisionConfig) {
        self.config = config
    }

    static let minute: Int64 = 60_000_000_000

    public func decide(_ f: Finding, now: Int64) -> Decision {
        guard let a = f.action else { return .skip("no action proposed") }
        let target: String
        switch a.kind {
        case .blacklistCoupon:
            guard let code = CouponCode.sanitized(a.target) else {
                return .skip("coupon code is not [A-Z0-9_-]{1,64}; not written")
            }
            target = "coupon:" + code
        case .disableProvider:
            let p = a.target.lowercased()
            target = "provider:" + p
            if let since = heldOff[p], now - since < Int64(config.providerHoldMinutes) * Guardrails.minute {
                return .skip("provider \(p) is held off since an earlier switch")
            }
        }
        if let last = lastAction[target], now - last < Int64(config.cooldownMinutes) * Guardrails.minute {
            return .skip("cooldown: \(target) acted on \((now - last) / Guardrails.minute) min ago")
        }
        if actedThisRun >= config.maxPerRun { return .skip("cap: \(config.maxPerRun) actions per run reached") }
        let hourAgo = now - 60 * Guardrails.minute
        if recent.filter({ $0 > hourAgo }).count >= config.maxPerHour {
            return .skip("cap: \(config.maxPerHour) actions per hour reached")
        }
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
        let key = Guardrails.key(kind, target)
        lastAction[key] = max(lastAction[key] ?? Int64.min, time)
        if kind == .disableProvider {
            let p = target.lowercased()
            heldOff[p] = max(heldOff[p] ?? Int64.min, time)
        }
    }

    /// Records an action that was carried out (or would have been, in a dry run).
    public func record(_ f: Finding, now: Int64) {
        guard let a = f.action else { return }
        actedThisRun += 1
        recent.append(now)
        recent.removeAll { $0 <= now - 60 * Guardrails.minute }
        lastAction[Guardrails.key(a.kind, a.target)] = now
        if a.kind == .disableProvider { heldOff[a.target.lowercased()] = now }
    }

    private static func key(_ kind: ProposedAction.Kind, _ target: String) -> String {
        switch kind {
        case .blacklistCoupon: return "coupon:" + (CouponCode.sanitized(target) ?? target)
        case .disableProvider: return "provider:" + target.lowercased()
        }
    }
}
