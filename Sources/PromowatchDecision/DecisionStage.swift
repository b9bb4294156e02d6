import PromowatchCore

/// Turns findings into proposed actions, the way a careful on-call engineer would: detection says
/// what it saw and which remedy would address it (`Finding.remedy`); this stage decides whether
/// that remedy is safe to propose. Stateless: one finding at a time, so batch, watch and cron
/// decide alike. What may then actually run (caps, cooldowns, holds) is `Guardrails`'.
///
/// Rules, in order:
/// 1. A known campaign's volume is expected: its coupon-abuse finding is dropped.
/// 2. Blast radius: a coupon is blocked only when the abuse explains most of its use
///    (`abuse_dominance_share`) and, for reuse and stacking, the code is not public (more than
///    `public_code_accounts` accounts redeemed it before). Otherwise the finding says why it is
///    not blocked, and abuse and reuse findings are P2 (the code keeps working for the rest).
///    A code is blocked for its redeemers being new accounts, or for a private code's redeemers
///    being new, only after `min_account_history_hours` of account history (a cold start makes
///    every customer look new).
/// 3. A provider is switched off only once its outage is confirmed with a healthy fallback, and
///    never when the fallback would carry more than its configured capacity.
/// 4. Idle database connections are terminated only as the diagnosis read from the database
///    says: the culprit's when one application holds most slots, and only idle ones over the age.
/// 5. Nothing less severe than `min_severity` proposes an action; an allowlisted code never does;
///    an action kind whose mode is `off` never does (`shadow`: the remediator records, never acts).
public struct DecisionStage: Sendable {
    public let config: DecisionConfig
    let allowlist: Set<String>
    let campaigns: Set<String>

    /// The deployment `scale_deployment` raises (`actions.scale_deployment`).
    let scaleTarget: String

    public init(config: DecisionConfig, scaleDeployment: String = "checkout") {
        self.config = config
        self.scaleTarget = scaleDeployment
        allowlist = Set(config.allowlist.map(ASCII.uppercased))
        campaigns = Set(config.campaigns.map(ASCII.uppercased))
    }

    /// Every finding reviewed, in order; dropped ones (a known campaign's spike) left out.
    public func review(_ findings: [Finding]) -> [Finding] {
        findings.compactMap(review)
    }

    /// One finding with its proposed action (or the reason there is none); nil if dropped.
    public func review(_ finding: Finding) -> Finding? {
        var f = finding
        // a build gone bad: undoing the rollout beats any other remedy for what the checkout's
        // own code can cause (slowness, timeouts, failed compensations)
        if let r = f.diagnosis?.rollout, f.category == .latency || f.category == .compensationFailure,
            f.severity <= .p1, config.mode(.rolloutUndo) != .off
        {
            guard r.previousRevision != nil else {
                no(&f, "not undone: \(r.deployment) has no earlier revision to go back to")
                return f
            }
            guard r.isCurrent else {
                no(&f, "not undone: \(r.deployment) was rolled out again since revision \(r.revision)")
                return f
            }
            propose(&f, ProposedAction(kind: .rolloutUndo, target: r.deployment))
            return f
        }
        guard let remedy = f.remedy else { return f }
        switch remedy {
        case .blockCoupon(let code, let blast):
            if f.category == .couponAbuse && campaigns.contains(ASCII.uppercased(code)) { return nil }
            if let blast, let reason = notBlocked(f.category, code: code, blast) {
                // a campaign-like use of a code is P2 whatever its volume
                if f.category == .couponAbuse || f.category == .couponReuse, f.severity < .p2 { f.severity = .p2 }
                no(&f, "not blocked: " + reason)
                return f
            }
            propose(&f, ProposedAction(kind: .blacklistCoupon, target: code))
        case .switchProvider(let name, let confirmed, let load):
            if let load, let fallback = load.fallback,
                let capacity = config.providerCapacityPerMinute[fallback.lowercased()],
                load.movedPerMinute + load.fallbackPerMinute > capacity
            {
                no(
                    &f,
                    "not switched: \(fallback) would carry \(NumberText.short(load.movedPerMinute + load.fallbackPerMinute))/min, "
                        + "over its capacity of \(NumberText.short(capacity))/min (decision.provider_capacity_per_minute)"
                )
                return f
            }
            guard confirmed else {
                let healthy = f.evidence.counts.first { $0.0 == "healthy_fallbacks" }?.1 ?? 0
                no(
                    &f,
                    healthy > 0
                        ? "not switched yet: a switch waits until the outage is confirmed with a healthy fallback all along"
                        : "not switched: no other provider is healthy now")
                return f
            }
            propose(&f, ProposedAction(kind: .disableProvider, target: name))
        case .relieveDatabase:
            // never act blind: what to terminate comes from the database itself, read now
            if config.mode(.terminateIdleConnections) == .off {
                no(&f, "not proposed: terminate_idle_connections is off (decision.modes)")
                return f
            }
            guard let d = f.diagnosis?.database else {
                let why = f.diagnosis?.unavailable.joined(separator: "; ") ?? ""
                no(
                    &f,
                    "not proposed: the database was not diagnosed (\(why.isEmpty ? "no diagnostics connection" : why))")
                return f
            }
            guard d.terminable > 0 else {
                no(
                    &f,
                    "not proposed: no idle connection\(d.culprit.map { " of " + $0 } ?? "") older than "
                        + "\(d.idleAgeSeconds) s to terminate")
                return f
            }
            propose(&f, ProposedAction(kind: .terminateIdleConnections, target: d.culprit ?? "*"))
        case .scaleOut:
            guard config.mode(.scaleDeployment) != .off else {
                no(&f, "not scaled: scale_deployment is off (decision.modes)")
                return f
            }
            // never blind: an archived incident (no diagnosis) is not scaled for today
            guard let pods = f.diagnosis?.pods else {
                let why = f.diagnosis?.unavailable.joined(separator: "; ") ?? ""
                no(&f, "not scaled: the pods were not diagnosed (\(why.isEmpty ? "no Kubernetes API" : why))")
                return f
            }
            // more copies of a build that crashes or runs out of memory add crashes, not capacity
            if !pods.crashLooping.isEmpty || !pods.oomKilled.isEmpty {
                no(&f, "not scaled: the pods are failing (\(pods.line)): more replicas would not help")
                return f
            }
            propose(&f, ProposedAction(kind: .scaleDeployment, target: scaleTarget))
        }
        return f
    }

    /// Records the rule that said no, in the finding's summary and `whyNoAction`.
    private func no(_ f: inout Finding, _ reason: String) {
        f.summary += "; " + reason
        f.whyNoAction = reason
    }

    private func propose(_ f: inout Finding, _ action: ProposedAction) {
        if f.severity > config.minSeverity {
            no(&f, "not proposed: \(f.severity.name) is below decision.min_severity \(config.minSeverity.name)")
            return
        }
        if action.kind == .blacklistCoupon && allowlist.contains(ASCII.uppercased(action.target)) {
            no(&f, "not blocked: \(action.target) is allowlisted (decision.allowlist)")
            return
        }
        if config.mode(action.kind) == .off {
            no(&f, "not proposed: \(action.kind.rawValue) is off (decision.modes)")
            return
        }
        f.action = action
    }

    /// Why a code of a handful of accounts is not yet shown private (nil: it is).
    private func privacyUnknown(_ code: String, _ b: BlastRadius) -> String? {
        if b.codeWatchedMinutes < BlastRadius.privateAfterMinutes {
            return "\(code) was first seen \(b.codeWatchedMinutes) min before: too soon to know whether it is public"
        }
        if b.privacyShown { return nil }
        return "\(code) had \(Int(b.pastAccounts.rounded())) account(s) in \(b.codeWatchedMinutes) min, but the shop "
            + "redeemed too little meanwhile to tell a private code from a public one (its share may be "
            + "\(NumberText.percent(b.shopShareBound)))"
    }

    /// Why blocking `code` would do more harm than good, or nil when it would not.
    func notBlocked(_ category: Category, code: String, _ b: BlastRadius) -> String? {
        let dominant = b.abuseShare >= config.abuseDominanceShare
        let isPublic = b.pastAccounts > Double(config.publicCodeAccounts)
        let accounts = Int(b.pastAccounts.rounded())
        switch category {
        case .couponAbuse:
            // a code a few accounts used before, now redeemed by customers the shop knows as well
            // as its others: a campaign launched after a preview, not a leak
            if b.basis == .privateCode && !b.redeemersAreNew {
                return "a code of \(accounts) account(s) before, but its redeemers are as established as the shop's "
                    + "(\(NumberText.percent(b.newShare)) new vs \(NumberText.percent(b.shopNewShare))): a launch, needs a look"
            }
            // new to the shop needs the shop's memory: with less than `min_account_history_hours` of
            // it, yesterday's customers look new, whether the code was a campaign's or a private one
            if dominant && (b.basis == .newAccounts || b.basis == .privateCode)
                && b.accountHistoryMinutes < config.minAccountHistoryHours * 60
            {
                return
                    "only \(b.accountHistoryMinutes / 60) h of account history, too little to tell new accounts from "
                    + "returning ones: a campaign or a leak, needs a look"
            }
            if dominant { return nil }
            return "abuse explains \(NumberText.percent(b.abuseShare)) of its redemptions, "
                + "\(NumberText.short(b.legitPerMinute))/min look legitimate (a campaign or a popular code needs a look)"
        case .couponReuse:
            if dominant && !isPublic { return privacyUnknown(code, b) }
            return isPublic
                ? "\(code) is public (\(accounts) accounts redeemed it before)"
                : "\(b.otherRedemptions) other redemptions of \(code) in the window"
        case .discountStacking:
            if dominant && !isPublic { return privacyUnknown(code, b) }
            return isPublic
                ? "\(code) is public (\(accounts) accounts redeemed it before), the stacking needs a fix"
                : "\(b.otherRedemptions) ordinary redemptions of it in the window"
        default:
            return dominant ? nil : "abuse explains \(NumberText.percent(b.abuseShare)) of its uses"
        }
    }
}
