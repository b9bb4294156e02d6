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

    public init() {}
}
