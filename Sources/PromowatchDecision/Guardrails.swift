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
    /// Provider -> when it was switched off and for how long (ns): the hold grows when the
    /// provider fails its trial (the circuit breaker's backoff).
    private var heldOff: [String: (since: Int64, hold: Int64)] = [:]
    private var defaultHold: Int64 { Int64(config.providerHoldMinutes) * Guardrails.minute }

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
            if let h = heldOff[p], now - h.since < h.hold {
                return .skip("provider \(p) is held off since an earlier switch")
            }
        case .enableProvider:
            return .act  // a circuit breaker's step: undoing our own switch is never capped
        case .terminateIdleConnections, .restartCulprit, .scaleDeployment, .rolloutUndo, .runbookHook:
            target = Guardrails.key(a.kind, a.target)
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
        Set(heldOff.filter { now - $0.value.since < $0.value.hold }.keys)
    }

    /// Holds `provider` off from `since` for `minutes` (a switch, or a failed trial's longer hold).
    public func hold(_ provider: String, since: Int64, minutes: Int) {
        heldOff[provider.lowercased()] = (since, Int64(minutes) * Guardrails.minute)
    }

    /// The provider is back in service (enabled on trial or by a revert): no longer held off.
    public func release(_ provider: String) {
        heldOff[provider.lowercased()] = nil
    }

    /// An action applied by an earlier run (from the store's audit): counts toward the hourly cap,
    /// the cooldown of its target and a provider's hold, not toward this run's cap.
    public func remember(kind: ProposedAction.Kind, target: String, at time: Int64) {
        // a breaker's step (a trial, a revert) only ends a hold: like in the run that took it, it
        // counts toward no cap and starts no cooldown, or a trial would shield its provider from
        // being switched off again when it fails
        if kind == .enableProvider {
            if let h = heldOff[target.lowercased()], time >= h.since { heldOff[target.lowercased()] = nil }
            return
        }
        recent.append(time)
        let key = Guardrails.key(kind, target)
        lastAction[key] = max(lastAction[key] ?? Int64.min, time)
        let p = target.lowercased()
        if kind == .disableProvider, time > heldOff[p]?.since ?? Int64.min { heldOff[p] = (time, defaultHold) }
    }

    /// Records an action that was carried out (or would have been, in a dry run).
    public func record(_ f: Finding, now: Int64) {
        guard let a = f.action else { return }
        actedThisRun += 1
        recent.append(now)
        recent.removeAll { $0 <= now - 60 * Guardrails.minute }
        lastAction[Guardrails.key(a.kind, a.target)] = now
        if a.kind == .disableProvider { heldOff[a.target.lowercased()] = (now, defaultHold) }
    }

    private static func key(_ kind: ProposedAction.Kind, _ target: String) -> String {
        switch kind {
        case .blacklistCoupon: return "coupon:" + (CouponCode.sanitized(target) ?? target)
        case .disableProvider, .enableProvider: return "provider:" + target.lowercased()
        case .terminateIdleConnections: return "database:" + target
        case .restartCulprit: return "pods:" + target
        case .scaleDeployment, .rolloutUndo: return "deployment:" + target
        case .runbookHook: return "hook:" + target
        }
    }
}
