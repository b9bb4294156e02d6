/// Everything that decides whether and how to act on a finding (`decision:` in
/// `config/promowatch.yaml`), with the built-in defaults. Detection never reads it.
public struct DecisionConfig: Sendable, Equatable {
    /// Coupon codes that must never be blacklisted (compared upper-case).
    public var allowlist: [String] = []
    /// Known campaign codes: their volume spikes are expected, never coupon abuse.
    public var campaigns: [String] = []
    /// Least severe finding that may propose an action.
    public var minSeverity = Severity.p1
    /// Blast radius: a code is blacklisted only when the abuse explains at least this share of
    /// its redemptions in the window; below it, blocking would break the code for more
    /// legitimate customers than abusers, so the finding names the abusers and acts on nothing.
    public var abuseDominanceShare = 0.8
    /// A code more than this many accounts redeemed before the window is public: the reuse or
    /// stacking of a few is never a reason to block it for everyone.
    public var publicCodeAccounts = 3
    /// Hours of account history before "new accounts" alone may block a code: customers come back
    /// over days, so on a cold start most of them look new and a campaign looks like a leak.
    public var minAccountHistoryHours = 24
    public var maxPerRun = 5
    public var maxPerHour = 10
    /// Minutes before the same target can be acted on again.
    public var cooldownMinutes = 30
    /// Minutes a provider switched off (or failing) stays off limits: never a fallback, never
    /// switched back automatically.
    public var providerHoldMinutes = 60
    /// Minutes after an action during which its effect is verified: a provider switched to that
    /// fails too means the switch did not help (the first provider is enabled again and people
    /// are called); a provider re-enabled on trial that fails again is switched off for twice
    /// its previous hold.
    public var verifyMinutes = 10
    /// The longest hold a provider that keeps failing its trials gets (backoff doubles it).
    public var maxProviderHoldMinutes = 480
    /// Payment attempts a minute each provider (lower-case name) can take, where the shop knows
    /// it (its contract's rate limit): a switch that would push the fallback over it is not made.
    /// Unknown providers are not limited.
    public var providerCapacityPerMinute: [String: Double] = [:]
    /// Quiet minutes after which an incident is resolved (findings within it join the incident).
    public var incidentGapMinutes = 15
    /// Per action kind: `enforce` (act, or a dry run without `--apply`), `shadow` (record in the
    /// audit what would have been done, never act), `off` (never proposed).
    public var modes: [ProposedAction.Kind: ActionMode] = [
        .blacklistCoupon: .enforce, .disableProvider: .enforce, .enableProvider: .enforce,
        // the runbook's other operations are off until the shop enables them
        .terminateIdleConnections: .off, .restartCulprit: .off, .scaleDeployment: .off,
        .rolloutUndo: .off, .runbookHook: .off,
    ]

    public enum ActionMode: String, Sendable, CaseIterable {
        case off, shadow, enforce
    }

    public func mode(_ kind: ProposedAction.Kind) -> ActionMode { modes[kind] ?? .enforce }

    public init() {}
}
