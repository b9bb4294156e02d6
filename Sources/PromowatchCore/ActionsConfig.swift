/// Remediation settings (`actions:` in `config/promowatch.yaml`), with the built-in defaults.
public struct ActionsConfig: Sendable, Equatable {
    public var namespace = "microservices"
    public var configMap = "checkout-config"
    public var blacklistKey = "BLACKLISTED_COUPONS"
    /// Provider name (lower-case) -> ConfigMap key holding its on/off flag.
    public var providerKeys: [String: String] = ["stripe": "ENABLE_STRIPE", "paypal": "ENABLE_PAYPAL"]
    /// Deployments to restart (like `kubectl rollout restart`) after a change, for services that
    /// read the flags from environment variables.
    public var restart: [String] = []
    /// Least severe finding that may act.
    public var minSeverity = Severity.p1
    public var maxPerRun = 5
    public var maxPerHour = 10
    /// Minutes before the same target can be acted on again.
    public var cooldownMinutes = 30
    /// Minutes a provider switched off stays off before anything may touch its flag again.
    public var providerHoldMinutes = 60
    /// Conditional writes retried after a 409 conflict.
    public var conflictRetries = 5

    public init() {}
}
