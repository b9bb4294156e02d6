/// How actions reach the cluster (`actions:` in `config/promowatch.yaml`), with the built-in defaults.
public struct ActionsConfig: Sendable, Equatable {
    public var namespace = "microservices"
    public var configMap = "checkout-config"
    public var blacklistKey = "BLACKLISTED_COUPONS"
    /// Provider name (lower-case) -> ConfigMap key holding its on/off flag.
    public var providerKeys: [String: String] = ["stripe": "ENABLE_STRIPE", "paypal": "ENABLE_PAYPAL"]
    /// Deployments to restart (like `kubectl rollout restart`) after a change, for services that
    /// read the flags from environment variables.
    public var restart: [String] = []
    /// Conditional writes retried after a 409 conflict.
    public var conflictRetries = 5
    /// `terminate_idle_connections` ends client connections idle for longer than this (the
    /// runbook's query uses 5 minutes).
    public var idleConnectionSeconds = 300
    /// `restart_culprit`: the label selector of each application name's pods (`leaky-svc:
    /// app=leaky-svc`). An application without an entry is never restarted: the name comes from
    /// the database's clients, so it never becomes a selector by itself.
    public var culpritSelectors: [String: String] = [:]
    /// `scale_deployment`: the deployment scaled out on high latency or timeouts, by how many
    /// replicas a step, and never beyond `maxReplicas` (never scaled down automatically).
    public var scaleDeployment = "checkout"
    public var scaleStep = 1
    public var maxReplicas = 10
    /// Runbook hooks (`hooks:`), run for matching findings when `decision.modes.runbook_hook`
    /// allows.
    public var hooks: [HookConfig] = []

    public init() {}
}

/// What promowatch may read, beside logs, to diagnose a finding (`diagnostics:`).
public struct DiagnosticsConfig: Sendable, Equatable {
    /// The checkout's PostgreSQL (a libpq URI or keyword string), for `db_saturation`; also
    /// `$PROMOWATCH_DIAGNOSTICS_DATABASE_URL`. A role with `pg_monitor` (and `pg_signal_backend`
    /// for `terminate_idle_connections`); see docs/runbook.md.
    public var postgres: String?
    /// A finding older than this (against the clock) is not diagnosed: the present says nothing
    /// about an incident in an archive.
    public var maxAgeSeconds = 600
    /// The checkout's pods, read on latency findings (restarts, crash loops, readiness).
    public var podSelector = "app=checkout"
    /// Deployments whose rollouts are named in a P0 or P1 finding that begins within
    /// `rolloutWindowMinutes` after them (and that `rollout_undo` may undo).
    public var watchedDeployments = ["checkout"]
    public var rolloutWindowMinutes = 30

    public init() {}
}
