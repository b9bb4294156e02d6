import PromowatchCore
import PromowatchDecision
import PromowatchKube
import PromowatchPostgres

/// Carries out findings' proposed actions through the Kubernetes API, guarded: dry run unless
/// told to apply, conditional writes on the resourceVersion read (re-read and retry on 409), and
/// every attempt's outcome (`ActionOutcome`) written back into the finding.
public final class Remediator {
    public enum Mode: Sendable { case dryRun, serverDryRun, apply }

    public let config: ActionsConfig
    public let mode: Mode
    public let guardrails: Guardrails
    private let client: KubeClient?
    /// The API client actions use (nil in a dry run without a cluster).
    public var kubeClient: KubeClient? { client }
    /// Why there is no client although actions are to be sent (the API could not be reached):
    /// every action that needs the API fails with it.
    public var unreachable: String?
    /// The checkout's database, for `terminate_idle_connections` (the diagnostics connection);
    /// nil: that action is skipped.
    public var database: IdleConnectionTerminator?
    /// Runbook hooks' HTTP calls (made on first need).
    private lazy var hookClient = HookClient()
    /// The environment hook headers read their secrets from.
    public var environment: [String: String] = [:]
    /// The audit row of the action being handled (`cron`'s write-ahead intent), named in the
    /// Kubernetes Event recorded on the object it changes.
    public var auditID: Int64?
    /// Who acts, for Events (`reportingInstance`).
    public var instance = "promowatch"
    /// The latency window ending at a time, as detection judges it: verify after a scale-out.
    public var latency: ((Int64) -> LatencyReading?)?
    /// Scale-outs whose effect is not verified yet.
    private var pendingScales: [(deployment: String, at: Int64, cause: String)] = []

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
        // only provider-failure findings bear on health: scanning them, not every finding, keeps
        // a flood of other findings (an attacker's thousands of reused codes) linear
        let providerFindings = findings.filter { $0.category == .paymentProviderFailure }
        for i in findings.indices {
            handle(
                &findings[i], index: i, failingProviders: failingProviders(at: findings[i].time, in: providerFindings))
        }
    }

    /// Providers with a provider-failure finding in the provider hold (an hour by default) up to `t`.
    public func failingProviders(at t: Int64, in findings: [Finding]) -> Set<String> {
        ProviderHealth.failing(at: t, in: findings, holdMinutes: holdMinutes)
    }

    /// Providers this remediator switched off, and when: unhealthy for the provider hold after.
    private var switchedOff: [String: Int64] = [:]

    /// A provider flag's circuit breaker: open (switched off, held), half-open (enabled on trial
    /// after the hold), then closed (forgotten) when the trial holds for `verifyMinutes`, or open
    /// again for twice the hold when it fails.
    struct Breaker {
        var openedAt: Int64
        var holdMinutes: Int
        /// The providers that took its traffic.
        var fallbacks: Set<String>
        /// When it was enabled on trial; nil while open.
        var trialAt: Int64?
        /// The finding whose switch opened it.
        var cause: String
    }
    private var breakers: [String: Breaker] = [:]

    /// Actions taken without a finding of their own (breaker trials and reverts), in time order.
    public private(set) var steps: [ActionStep] = []

    private var verify: Int64 { Int64(guardrails.config.verifyMinutes) * 60 * EventTime.nanosPerSecond }

    /// A provider an earlier run switched off (from the audit) and nothing enabled since: its
    /// breaker is open, so the trial after its hold happens in whichever run reaches that time.
    /// `hold` and `trialAt` (half-open: enabled on trial at that time) come from
    /// `BreakerHistory.replay`, so a backoff survives the run that started it.
    public func restoreBreaker(
        _ provider: String, openedAt: Int64, cause: String, holdMinutes hold: Int? = nil, trialAt: Int64? = nil
    ) {
        let p = provider.lowercased()
        guard breakers[p] == nil else { return }
        breakers[p] = Breaker(
            openedAt: openedAt, holdMinutes: hold ?? holdMinutes,
            fallbacks: Set(config.providerKeys.keys.filter { $0 != p }), trialAt: trialAt, cause: cause)
        if trialAt == nil { guardrails.hold(p, since: openedAt, minutes: hold ?? holdMinutes) }
    }

    /// Moves every breaker to event time `t`: a hold that is over enables its provider on trial;
    /// a trial that held for the verification time closes the breaker. Called before each finding
    /// and, by the run loops, as event time passes (`watch`) or at the end (`analyze`, `cron`).
    public func advance(to t: Int64) {
        verifyScales(upTo: t)
        for p in breakers.keys.sorted() {
            guard let b = breakers[p] else { continue }
            let over = b.openedAt + Int64(b.holdMinutes) * 60 * EventTime.nanosPerSecond
            if b.trialAt == nil && over <= t {
                let outcome = step(
                    .enableProvider, p, at: over, cause: b.cause,
                    reason: "held off for \(b.holdMinutes) min: enabled on trial (half-open); failing within "
                        + "\(guardrails.config.verifyMinutes) min switches it off for longer")
                guardrails.release(p)
                switch outcome {
                case .applied, .dryRun: breakers[p]?.trialAt = over
                case .skipped, .failed: breakers[p] = nil  // someone else changed the flag: theirs to run
                }
            } else if let trial = b.trialAt, trial + verify <= t {
                breakers[p] = nil  // the trial held: closed
            }
        }
    }

    /// One finding. `recovering`: a run that crashed after recording its intent may already have
    /// made this change; if the ConfigMap shows it, it is reported as applied, not made again.
    public func handle(_ f: inout Finding, index: Int, failingProviders: Set<String>, recovering: Bool = false) {
        advance(to: f.time)
        current = index
        // a provider failing, or every provider (no subject: nowhere to switch)
        if f.category == .paymentProviderFailure { verifySwitches(&f, failing: f.subject.provider?.lowercased()) }
        runHooks(f)
        guard var action = f.action else { return }
        let hold = Int64(holdMinutes) * 60 * EventTime.nanosPerSecond
        let recent = Set(switchedOff.filter { f.time >= $0.value && f.time - $0.value <= hold }.keys)
        let unhealthy = failingProviders.union(recent)
        let outcome = attempt(f, &action, unhealthy: unhealthy, recovering: recovering)
        action.outcome = outcome
        f.action = action
        if action.kind == .terminateIdleConnections, action.target != "*",
            guardrails.config.mode(.restartCulprit) != .off
        {
            switch outcome {
            case .applied, .dryRun:
                // the runbook's next step: the culprit's pods restart with an empty pool
                _ = step(
                    .restartCulprit, action.target, at: f.time, cause: f.fingerprint,
                    reason: "restart the culprit \(action.target) so its connection pool starts empty")
            case .skipped, .failed: break
            }
        }
        if action.kind == .scaleDeployment, guardrails.config.mode(.scaleDeployment) == .enforce {
            switch outcome {
            case .applied, .dryRun: pendingScales.append((action.target, f.time, f.fingerprint))
            case .skipped, .failed: break
            }
        }
        guard action.kind == .disableProvider else { return }
        let p = action.target.lowercased()
        switchedOff[p] = f.time
        switch outcome {
        case .applied, .dryRun:
            if guardrails.config.mode(.disableProvider) == .shadow { return }  // shadows open no breaker
            // a provider that failed its trial is held off for twice as long (backoff)
            let previous = breakers[p].flatMap { $0.trialAt == nil ? nil : $0.holdMinutes }
            let minutes =
                previous.map { min(2 * $0, max(guardrails.config.maxProviderHoldMinutes, holdMinutes)) } ?? holdMinutes
            guardrails.hold(p, since: f.time, minutes: minutes)
            let fallbacks = Set(config.providerKeys.keys.filter { $0 != p && !unhealthy.contains($0) })
            breakers[p] = Breaker(
                openedAt: f.time, holdMinutes: minutes, fallbacks: fallbacks, trialAt: nil, cause: f.fingerprint)
        case .skipped, .failed:
            break
        }
    }

    /// Verify after acting: provider `p` (nil: every provider) failing within the verification
    /// time of a switch onto it means the switch did not help. The switched-off provider is
    /// enabled again (never both off) and the finding becomes a P0 for people.
    private func verifySwitches(_ f: inout Finding, failing p: String?) {
        for (x, b) in breakers.sorted(by: { $0.key < $1.key })
        where b.trialAt == nil && (p.map { b.fallbacks.contains($0) } ?? true) && f.time >= b.openedAt
            && f.time - b.openedAt <= verify
        {
            let to = p ?? b.fallbacks.sorted().joined(separator: ", ")
            _ = step(
                .enableProvider, x, at: f.time, cause: b.cause,
                reason:
                    "the switch from \(x) to \(to) did not help: \(to) failing too; \(x) enabled again, never both off")
            breakers[x] = nil
            guardrails.release(x)
            f.severity = .p0
            f.summary +=
                "; the switch from \(x) did not help: \(x) enabled again, both providers failing, people needed"
        }
    }

    /// A breaker step: the flag written like any action (dry run, shadow, conflicts), audited.
    private func step(_ kind: ProposedAction.Kind, _ target: String, at time: Int64, cause: String, reason: String)
        -> ActionOutcome
    {
        var action = ProposedAction(kind: kind, target: target)
        let shadow = guardrails.config.mode(kind) != .enforce
        let outcome =
            guardrails.config.mode(kind) == .off
            ? .skipped("\(kind.rawValue) is off (decision.modes)")
            : write(&action, at: time, shadow: shadow, unhealthy: [], recovering: false).outcome
        if case .applied(let detail) = outcome {
            _ = recordEvent(action, detail, finding: cause, at: time)
        }
        action.outcome = outcome
        steps.append(ActionStep(time: time, action: action, reason: reason, cause: cause))
        return outcome
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
        let (outcome, audit) = write(&action, at: f.time, shadow: shadow, unhealthy: unhealthy, recovering: recovering)
        switch outcome {
        case .applied, .dryRun: if !shadow { guardrails.record(f, now: f.time) }
        case .skipped, .failed: break
        }
        changes += audit
        if case .applied(let detail) = outcome {
            return .applied(detail + recordEvent(action, detail, finding: f.fingerprint, at: f.time))
        }
        return outcome
    }

    /// The providers a switch away from `p` at `time` must not fall back to: those failing at that
    /// time and those held off since an earlier switch.
    private func avoidedFallbacks(_ p: String, at time: Int64, unhealthy: Set<String>) -> Set<String> {
        unhealthy.union(guardrails.heldOffProviders(now: time)).subtracting([p])
    }

    /// Computes and (unless a dry run or a shadow) writes one action's ConfigMap change at event
    /// time `time`: a conditional merge patch, read again and retried after a 409.
    private func write(
        _ action: inout ProposedAction, at time: Int64, shadow: Bool, unhealthy: Set<String>, recovering: Bool
    ) -> (outcome: ActionOutcome, audit: [Change]) {
        let would = shadow ? "shadow: would" : "would"
        let place = "\(config.namespace)/\(config.configMap)"
        if client == nil, let why = unreachable, !shadow, mode != .dryRun,
            action.kind != .terminateIdleConnections && action.kind != .runbookHook
        {
            return (.failed(why), [])
        }
        switch action.kind {
        case .terminateIdleConnections: return (terminateIdle(&action, would: would, shadow: shadow), [])
        case .restartCulprit: return (restartCulprit(&action, would: would, shadow: shadow), [])
        case .scaleDeployment: return scaleOut(&action, would: would, shadow: shadow)
        case .rolloutUndo: return rolloutUndo(&action, would: would, shadow: shadow)
        case .runbookHook: return (.skipped("a runbook hook runs as a step of its finding"), [])
        case .blacklistCoupon, .disableProvider, .enableProvider: break
        }
        guard let client else {
            // no cluster to read the ConfigMap from: the refusals that do not depend on its data
            // are the same as with one (a code that cannot be written, a provider without a flag,
            // no other provider left to fall back to)
            let p = action.target.lowercased()
            switch action.kind {
            case .blacklistCoupon:
                guard let code = CouponCode.sanitized(action.target) else {
                    return (.skipped("\(EditRefusal.invalidCoupon)"), [])
                }
                return (.dryRun("\(would) add \(code) to \(config.blacklistKey) in \(place)"), [])
            case .disableProvider:
                do {
                    _ = try ConfigMapEdits.disableProvider(
                        p, data: [:], config: config, unhealthy: avoidedFallbacks(p, at: time, unhealthy: unhealthy))
                } catch let r as EditRefusal { return (.skipped("\(r)"), []) } catch {
                    return (.failed("\(error)"), [])
                }
                return (
                    .dryRun("\(would) set \(config.providerKeys[p]!)=false and enable a healthy fallback in \(place)"),
                    []
                )
            case .enableProvider:
                guard let key = config.providerKeys[p] else {
                    return (.skipped("\(EditRefusal.unknownProvider(p))"), [])
                }
                return (.dryRun("\(would) set \(key)=true in \(place)"), [])
            case .terminateIdleConnections, .restartCulprit, .scaleDeployment, .rolloutUndo, .runbookHook:
                return (.skipped("not a ConfigMap change"), [])
            }
        }
        var tries = 0
        while true {
            tries += 1
            let cm: KubeClient.ConfigMap
            do { cm = try client.getConfigMap(namespace: config.namespace, name: config.configMap) } catch {
                return (.failed("\(error)"), [])
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
                    changes = try ConfigMapEdits.disableProvider(
                        action.target, data: cm.data, config: config,
                        unhealthy: avoidedFallbacks(action.target.lowercased(), at: time, unhealthy: unhealthy))
                case .enableProvider:
                    changes = try ConfigMapEdits.enableProvider(action.target, data: cm.data, config: config)
                case .terminateIdleConnections, .restartCulprit, .scaleDeployment, .rolloutUndo, .runbookHook:
                    return (.skipped("not a ConfigMap change"), [])
                }
            } catch let r as EditRefusal {
                if recovering && mode == .apply && (r == .alreadyBlacklisted || r == .alreadyDisabled) {
                    // the crashed run made this change before it could record it
                    action.applied = true
                    return (.applied("recovered after an interrupted run (the change was already in place)"), [])
                }
                return (.skipped("\(r)"), [])
            } catch { return (.failed("\(error)"), []) }
            let change = changes.keys.sorted().map { "\($0)=\(changes[$0]!)" }.joined(separator: " ")
            let audit = changes.keys.sorted().map {
                Change(finding: current, key: $0, before: cm.data[$0], after: changes[$0])
            }
            if mode == .dryRun || shadow {
                return (.dryRun("\(would) set \(change) (resourceVersion \(cm.resourceVersion))"), [])
            }
            do {
                try client.patchConfigMap(
                    namespace: config.namespace, name: config.configMap,
                    mergePatch: ConfigMapEdits.mergePatch(changes, resourceVersion: cm.resourceVersion),
                    dryRun: mode == .serverDryRun)
            } catch let e as KubeError {
                if e.isConflict && tries <= config.conflictRetries { continue }  // someone wrote in between: read again
                return (.failed("\(e)"), [])
            } catch { return (.failed("\(error)"), []) }
            if mode == .serverDryRun { return (.dryRun("server accepted \(change)"), []) }
            action.applied = true
            var restarted: [String] = []
            for d in config.restart {
                do {
                    try client.restartDeployment(namespace: config.namespace, name: d, at: EventTime.rfc3339(time))
                    restarted.append(d)
                } catch {
                    return (.applied("\(change); restart of \(d) failed: \(error)"), audit)
                }
            }
            return (
                .applied(change + (restarted.isEmpty ? "" : "; restarted \(restarted.joined(separator: ", "))")), audit
            )
        }
    }

    /// `terminate_idle_connections`: the candidates are read again now (the decision saw the
    /// diagnosis; connections change), listed in a dry run or a shadow, terminated with `--apply`.
    private func terminateIdle(_ action: inout ProposedAction, would: String, shadow: Bool) -> ActionOutcome {
        guard let database else {
            return .skipped("no diagnostics connection to the database (diagnostics.postgres)")
        }
        let app = action.target == "*" ? nil : action.target
        let age = config.idleConnectionSeconds
        let scope = "idle over \(age) s" + (app.map { " of " + $0 } ?? "")
        do {
            if mode != .apply || shadow {
                let cs = try database.candidates(application: app, olderThan: age)
                return .dryRun(
                    "\(would) terminate \(cs.count) connection(s) \(scope)"
                        + (cs.isEmpty ? "" : ": " + IdleConnectionTerminator.list(cs)))
            }
            let done = try database.terminate(application: app, olderThan: age)
            action.applied = !done.isEmpty
            if done.isEmpty { return .skipped("no connection \(scope) any more: nothing terminated") }
            return .applied("terminated \(done.count) connection(s) \(scope): " + IdleConnectionTerminator.list(done))
        } catch {
            return .failed("\(error)")
        }
    }

    /// `scale_deployment`: reads the scale subresource and raises replicas by a step, up to the
    /// maximum, with the resourceVersion read (re-read and retried after a 409); never down.
    private func scaleOut(_ action: inout ProposedAction, would: String, shadow: Bool) -> (ActionOutcome, [Change]) {
        let ns = config.namespace
        let d = action.target
        guard let client else {
            return (
                .dryRun(
                    "\(would) add \(config.scaleStep) replica(s) to deployment \(d) in \(ns), up to \(config.maxReplicas)"
                ),
                []
            )
        }
        var tries = 0
        while true {
            tries += 1
            let scale: KubeClient.Scale
            do { scale = try client.getScale(namespace: ns, deployment: d) } catch { return (.failed("\(error)"), []) }
            guard scale.replicas < config.maxReplicas else {
                return (
                    .skipped(
                        "deployment \(d) already has \(scale.replicas) replicas (actions.max_replicas \(config.maxReplicas))"
                    ),
                    []
                )
            }
            let to = min(config.maxReplicas, scale.replicas + config.scaleStep)
            if mode == .dryRun || shadow {
                return (
                    .dryRun(
                        "\(would) scale deployment \(d) from \(scale.replicas) to \(to) replicas "
                            + "(resourceVersion \(scale.resourceVersion))"), []
                )
            }
            do {
                try client.setScale(
                    namespace: ns, deployment: d, replicas: to, resourceVersion: scale.resourceVersion,
                    dryRun: mode == .serverDryRun)
            } catch let e as KubeError {
                if e.isConflict && tries <= config.conflictRetries { continue }
                return (.failed("\(e)"), [])
            } catch { return (.failed("\(error)"), []) }
            if mode == .serverDryRun { return (.dryRun("server accepted scaling \(d) to \(to) replicas"), []) }
            action.applied = true
            return (
                .applied("scaled deployment \(d) from \(scale.replicas) to \(to) replicas"),
                [Change(finding: current, key: "deployments/\(d)/scale", before: "\(scale.replicas)", after: "\(to)")]
            )
        }
    }

    /// A Kubernetes Event on the object an applied action changed (the ConfigMap, the
    /// deployment), so `kubectl describe` shows who changed it and why. Never fails the action:
    /// returns a note for the outcome when the Event could not be recorded.
    private func recordEvent(_ a: ProposedAction, _ detail: String, finding: String, at time: Int64) -> String {
        guard let client else { return "" }
        let object: KubeClient.ObjectReference
        let reason: String
        switch a.kind {
        case .blacklistCoupon:
            (object, reason) = (
                .init(apiVersion: "v1", kind: "ConfigMap", name: config.configMap), "PromowatchBlacklistCoupon"
            )
        case .disableProvider:
            (object, reason) = (
                .init(apiVersion: "v1", kind: "ConfigMap", name: config.configMap), "PromowatchDisableProvider"
            )
        case .enableProvider:
            (object, reason) = (
                .init(apiVersion: "v1", kind: "ConfigMap", name: config.configMap), "PromowatchEnableProvider"
            )
        case .scaleDeployment:
            (object, reason) = (.init(apiVersion: "apps/v1", kind: "Deployment", name: a.target), "PromowatchScaleOut")
        case .rolloutUndo:
            (object, reason) = (
                .init(apiVersion: "apps/v1", kind: "Deployment", name: a.target), "PromowatchRolloutUndo"
            )
        case .terminateIdleConnections, .restartCulprit, .runbookHook:
            return ""
        }
        var message = "\(a.kind.rawValue) \(a.target): \(detail); finding \(finding)"
        if let id = auditID { message += "; audit #\(id) (promowatch rollback \(id))" }
        do {
            try client.createEvent(
                namespace: config.namespace, about: object, reason: reason,
                message: String(message.prefix(1000)), at: EventTime.rfc3339(time), instance: instance)
            return ""
        } catch {
            return "; event not recorded: \(error)"
        }
    }

    /// `rollout_undo`: what `kubectl rollout undo` does: the deployment's pod template set back
    /// to its previous revision's (the ReplicaSet's, without `pod-template-hash`), conditional on
    /// the resourceVersion read (re-read and retried after a 409). Audited with both templates,
    /// so `rollback` can set the newer one again.
    private func rolloutUndo(_ action: inout ProposedAction, would: String, shadow: Bool) -> (ActionOutcome, [Change]) {
        let ns = config.namespace
        let d = action.target
        guard let client else {
            return (.dryRun("\(would) set deployment \(d)'s pod template back to its previous revision's"), [])
        }
        var tries = 0
        while true {
            tries += 1
            let revs: DeploymentRevisions
            do { revs = try DeploymentRevisions.read(client, namespace: ns, name: d) } catch {
                return (.failed("\(error)"), [])
            }
            guard let cur = revs.current, let prev = revs.previous else {
                return (.skipped("deployment \(d) has no earlier revision to go back to"), [])
            }
            let before = DeploymentRevisions.json(revs.template)
            let after = DeploymentRevisions.json(prev.template)
            guard before != after else {
                return (.skipped("deployment \(d) already runs revision \(prev.number)'s template"), [])
            }
            let what =
                "deployment \(d) back from revision \(cur.number) (\(cur.images)) to revision \(prev.number) (\(prev.images))"
            if mode == .dryRun || shadow { return (.dryRun("\(would) roll \(what)"), []) }
            do {
                try client.patchDeployment(
                    namespace: ns, name: d,
                    jsonPatch: DeploymentRevisions.templatePatch(prev.template, resourceVersion: revs.resourceVersion),
                    dryRun: mode == .serverDryRun)
            } catch let e as KubeError {
                if e.isConflict && tries <= config.conflictRetries { continue }
                return (.failed("\(e)"), [])
            } catch { return (.failed("\(error)"), []) }
            if mode == .serverDryRun { return (.dryRun("server accepted rolling \(what)"), []) }
            action.applied = true
            return (
                .applied("rolled \(what)"),
                [Change(finding: current, key: "deployments/\(d)/template", before: before, after: after)]
            )
        }
    }

    /// Runbook hooks for `f` (`hooks:`): each matching hook is a step under the guardrails (mode,
    /// caps, a cooldown per hook and subject), sent only with `--apply`, audited with its outcome.
    private func runHooks(_ f: Finding) {
        let hookMode = guardrails.config.mode(.runbookHook)
        guard hookMode != .off else { return }
        for h in config.hooks where h.categories.contains(f.category) && f.severity <= h.minSeverity {
            var probe = f
            probe.action = ProposedAction(kind: .runbookHook, target: h.name + ":" + f.subject.json)
            var action = ProposedAction(kind: .runbookHook, target: h.name)
            let outcome: ActionOutcome
            switch guardrails.decide(probe, now: f.time) {
            case .skip(let why): outcome = .skipped(why)
            case .act:
                let body = h.render(f)
                let call = "\(h.method) \(h.redactedURL) (\(body.utf8.count) bytes)"
                if hookMode == .shadow || mode != .apply {
                    outcome = .dryRun((hookMode == .shadow ? "shadow: would " : "would ") + call)
                } else {
                    do {
                        let status = try hookClient.call(h, body: body, environment: environment)
                        outcome =
                            (200..<300).contains(status)
                            ? .applied("\(call) -> \(status)") : .failed("\(call) -> \(status)")
                    } catch { outcome = .failed("\(error)") }
                }
                if hookMode == .enforce && (outcome.isApplied || mode != .apply) {
                    guardrails.record(probe, now: f.time)
                }
            }
            action.outcome = outcome
            action.applied = outcome.isApplied
            steps.append(
                ActionStep(
                    time: f.time, action: action, reason: "runbook hook \(h.name) for \(f.category.rawValue)",
                    cause: f.fingerprint))
        }
    }

    /// Verify after acting: `verify_minutes` after a scale-out, the latency window then. Still
    /// degraded: the scale-out did not help and people are needed (an audited step; nothing is
    /// scaled down). Recovered: the step says so.
    private func verifyScales(upTo t: Int64) {
        while let i = pendingScales.firstIndex(where: { $0.at + verify <= t }) {
            let s = pendingScales.remove(at: i)
            let at = s.at + verify
            var action = ProposedAction(kind: .scaleDeployment, target: s.deployment)
            let reason: String
            if let r = latency?(at) {
                let seen = "p99 \(Int(r.p99Ms)) ms over \(r.requests) requests, \(r.timeouts) timeouts"
                reason =
                    r.degraded
                    ? "verify: scaling \(s.deployment) did not help (\(seen) \(guardrails.config.verifyMinutes) min later): "
                        + "people needed; never scaled down automatically"
                    : "verify: latency recovered after scaling \(s.deployment) (\(seen))"
            } else {
                reason = "verify: no requests seen \(guardrails.config.verifyMinutes) min after scaling \(s.deployment)"
            }
            action.outcome = .skipped(reason)
            steps.append(ActionStep(time: at, action: action, reason: reason, cause: s.cause))
        }
    }

    /// `restart_culprit`: deletes the pods of the culprit's configured selector (never a selector
    /// made from the application name itself), like `kubectl delete pods -l`.
    private func restartCulprit(_ action: inout ProposedAction, would: String, shadow: Bool) -> ActionOutcome {
        guard let selector = config.culpritSelectors[action.target] else {
            return .skipped("no selector for \(action.target) in actions.culprit_selectors: not restarted")
        }
        let ns = config.namespace
        guard let client else { return .dryRun("\(would) delete the pods \(selector) in \(ns)") }
        do {
            let pods = try client.listPods(namespace: ns, selector: selector).map(\.name).sorted()
            if mode == .dryRun || shadow {
                return .dryRun("\(would) delete pods \(pods.joined(separator: ", ")) (\(selector)) in \(ns)")
            }
            if pods.isEmpty { return .skipped("no pod matches \(selector) in \(ns)") }
            var deleted: [String] = []
            for p in pods {
                do { try client.deletePod(namespace: ns, name: p, dryRun: mode == .serverDryRun) } catch {
                    return .failed(
                        "deleting pod \(p): \(error)"
                            + (deleted.isEmpty ? "" : " (deleted before: \(deleted.joined(separator: ", ")))"))
                }
                deleted.append(p)
            }
            if mode == .serverDryRun { return .dryRun("server accepted deleting \(deleted.joined(separator: ", "))") }
            action.applied = true
            return .applied("deleted pods \(deleted.joined(separator: ", ")) (\(selector)) in \(ns)")
        } catch {
            return .failed("\(error)")
        }
    }
}

/// A provider's circuit breaker rebuilt from the audit (its applied `disable_provider` and
/// `enable_provider` rows), so `cron` runs continue one breaker: its hold with any backoff, and
/// a trial that began in an earlier run.
public enum BreakerHistory {
    public struct State: Equatable {
        public var openedAt: Int64
        public var holdMinutes: Int
        /// Enabled on trial at this time (half-open); nil while open.
        public var trialAt: Int64?
        public init(openedAt: Int64, holdMinutes: Int, trialAt: Int64?) {
            self.openedAt = openedAt
            self.holdMinutes = holdMinutes
            self.trialAt = trialAt
        }
    }

    /// Replays `rows` (kind and time, any order): a switch-off opens the breaker, for twice the
    /// previous hold when it comes within `verifyMinutes` of a trial (up to `maxHoldMinutes`); an
    /// enable at or after the hold's end is a trial, an earlier one a revert (closed). A trial
    /// that held for `verifyMinutes` before the next switch-off closed the breaker (the restored
    /// breaker closes the same way as event time passes). Nil: closed.
    public static func replay(
        _ rows: [(kind: ProposedAction.Kind, time: Int64)], holdMinutes: Int, maxHoldMinutes: Int, verifyMinutes: Int
    ) -> State? {
        let minute = 60 * EventTime.nanosPerSecond
        let verify = Int64(verifyMinutes) * minute
        var state: State?
        for r in rows.sorted(by: { $0.time < $1.time }) {
            switch r.kind {
            case .disableProvider:
                var hold = holdMinutes
                if let s = state, let trial = s.trialAt, r.time - trial <= verify {
                    hold = min(2 * s.holdMinutes, max(maxHoldMinutes, holdMinutes))
                }
                state = State(openedAt: r.time, holdMinutes: hold, trialAt: nil)
            case .enableProvider:
                guard let s = state, s.trialAt == nil else {
                    state = nil
                    continue
                }
                state =
                    r.time >= s.openedAt + Int64(s.holdMinutes) * minute
                    ? State(
                        openedAt: s.openedAt, holdMinutes: s.holdMinutes, trialAt: r.time) : nil
            case .blacklistCoupon, .terminateIdleConnections, .restartCulprit, .scaleDeployment, .rolloutUndo,
                .runbookHook:
                continue
            }
        }
        return state
    }
}
