import PromowatchCore
import PromowatchDecision
import PromowatchKube

/// Carries out findings' proposed actions through the Kubernetes API, guarded: dry run unless
/// told to apply, conditional writes on the resourceVersion read (re-read and retry on 409), and
/// every attempt's outcome (`ActionOutcome`) written back into the finding.
public final class Remediator {
    public enum Mode: Sendable { case dryRun, serverDryRun, apply }

    public let config: ActionsConfig
    public let mode: Mode
    public let guardrails: Guardrails
    private let client: KubeClient?

    /// What each attempt changed, for the audit: finding index, ConfigMap key, values before and after.
    public struct Change: Sendable, Equatable {
        public var finding: Int
        public var key: String
        public var before: String?
        public var after: String?
    }
    public private(set) var changes: [Change] = []
    private var current = 0

    /// `client` nil: nothing is read or written; a dry run says what it would do.
    public init(config: ActionsConfig, guardrails: Guardrails, mode: Mode, client: KubeClient?) {
        self.config = config
        self.mode = mode
        self.client = client
        self.guardrails = guardrails
    }

    /// With fresh guardrails under `decision`'s limits.
    public convenience init(
        config: ActionsConfig, decision: DecisionConfig = DecisionConfig(), mode: Mode, client: KubeClient?
    ) {
        self.init(config: config, guardrails: Guardrails(config: decision), mode: mode, client: client)
    }

    private var holdMinutes: Int { guardrails.config.providerHoldMinutes }

    /// Handles each finding's action in time order. A provider is never switched to while it is
    /// unhealthy at that finding's time: it had a provider-failure finding in the hour before
    /// (`providerHoldMinutes`), never because of one later in the batch or long ago (health is a
    /// function of time: a day-long batch must not hold a morning's blip against an evening's
    /// fallback, nor switch to a provider whose own failures only show a minute later).
    public func handle(_ findings: inout [Finding]) {
        for i in findings.indices {
            handle(&findings[i], index: i, failingProviders: failingProviders(at: findings[i].time, in: findings))
        }
    }

    /// Providers with a provider-failure finding in the provider hold (an hour by default) up to `t`.
    public func failingProviders(at t: Int64, in findings: [Finding]) -> Set<String> {
        ProviderHealth.failing(at: t, in: findings, holdMinutes: holdMinutes)
    }

    /// Providers this remediator switched off, and when: unhealthy for the provider hold after.
    private var switchedOff: [String: Int64] = [:]

    /// One finding. `recovering`: a run that crashed after recording its intent may already have
    /// made this change; if the ConfigMap shows it, it is reported as applied, not made again.
    public func handle(_ f: inout Finding, index: Int, failingProviders: Set<String>, recovering: Bool = false) {
        guard var action = f.action else { return }
        current = index
        let hold = Int64(holdMinutes) * 60 * EventTime.nanosPerSecond
        let recent = Set(switchedOff.filter { f.time >= $0.value && f.time - $0.value <= hold }.keys)
        let outcome = attempt(f, &action, unhealthy: failingProviders.union(recent), recovering: recovering)
        action.outcome = outcome
        f.action = action
        if action.kind == .disableProvider { switchedOff[action.target.lowercased()] = f.time }
    }

    private func attempt(_ f: Finding, _ action: inout ProposedAction, unhealthy: Set<String>, recovering: Bool = false)
        -> ActionOutcome
    {
        switch guardrails.decide(f, now: f.time) {
        case .skip(let why): return .skipped(why)
        case .act: break
        }
        // shadow mode: what enforcement would do, in full, never written and never counted
        // against caps, cooldowns or holds (the enforced kinds must not lose to a shadow)
        let shadow = guardrails.config.mode(action.kind) == .shadow
        let would = shadow ? "shadow: would" : "would"
        func record() { if !shadow { guardrails.record(f, now: f.time) } }
        guard let client else {
            record()
            switch action.kind {
            case .blacklistCoupon:
                return .dryRun(
                    "\(would) add \(CouponCode.sanitized(action.target) ?? "?") to \(config.blacklistKey) in \(config.namespace)/\(config.configMap)"
                )
            case .disableProvider:
                return .dryRun(
                    "\(would) set \(config.providerKeys[action.target.lowercased()] ?? "?")=false and enable a healthy fallback in \(config.namespace)/\(config.configMap)"
                )
            }
        }
        var tries = 0
        while true {
            tries += 1
            let cm: KubeClient.ConfigMap
            do { cm = try client.getConfigMap(namespace: config.namespace, name: config.configMap) } catch {
                return .failed("\(error)")
            }
            let changes: [String: String]
            do {
                switch action.kind {
                case .blacklistCoupon:
                    changes = [
                        config.blacklistKey: try ConfigMapEdits.blacklist(
                            cm.data[config.blacklistKey], add: action.target)
                    ]
                case .disableProvider:
                    let avoid = unhealthy.union(guardrails.heldOffProviders(now: f.time)).subtracting([
                        action.target.lowercased()
                    ])
                    changes = try ConfigMapEdits.disableProvider(
                        action.target, data: cm.data, config: config, unhealthy: avoid)
                }
            } catch let r as EditRefusal {
                if recovering && mode == .apply && (r == .alreadyBlacklisted || r == .alreadyDisabled) {
                    // the crashed run made this change before it could record it
                    guardrails.record(f, now: f.time)
                    action.applied = true
                    return .applied("recovered after an interrupted run (the change was already in place)")
                }
                return .skipped("\(r)")
            } catch { return .failed("\(error)") }
            let change = changes.keys.sorted().map { "\($0)=\(changes[$0]!)" }.joined(separator: " ")
            let audit = changes.keys.sorted().map {
                Change(finding: current, key: $0, before: cm.data[$0], after: changes[$0])
            }
            if mode == .dryRun || shadow {
                record()
                return .dryRun("\(would) set \(change) (resourceVersion \(cm.resourceVersion))")
            }
            do {
                try client.patchConfigMap(
                    namespace: config.namespace, name: config.configMap,
                    mergePatch: ConfigMapEdits.mergePatch(changes, resourceVersion: cm.resourceVersion),
                    dryRun: mode == .serverDryRun)
            } catch let e as KubeError {
                if e.isConflict && tries <= config.conflictRetries { continue }  // someone wrote in between: read again
                return .failed("\(e)")
            } catch { return .failed("\(error)") }
            guardrails.record(f, now: f.time)
            if mode == .serverDryRun { return .dryRun("server accepted \(change)") }
            action.applied = true
            self.changes += audit
            var restarted: [String] = []
            for d in config.restart {
                do {
                    try client.restartDeployment(namespace: config.namespace, name: d, at: EventTime.rfc3339(f.time))
                    restarted.append(d)
                } catch {
                    return .applied("\(change); restart of \(d) failed: \(error)")
                }
            }
            return .applied(change + (restarted.isEmpty ? "" : "; restarted \(restarted.joined(separator: ", "))"))
        }
    }
}
