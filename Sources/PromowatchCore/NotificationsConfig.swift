/// Where incidents are announced (`notifications:`): Alertmanager, a Slack incoming webhook and a
/// generic webhook, each with its own minimum severity. URLs that carry secrets (Slack's) come
/// from the environment or a file.
public struct NotificationsConfig: Sendable, Equatable {
    public struct Receiver: Sendable, Equatable {
        public var url: HookConfig.Value
        public var minSeverity = Severity.p1
        public init(url: HookConfig.Value, minSeverity: Severity = .p1) {
            self.url = url
            self.minSeverity = minSeverity
        }
    }
    /// Alertmanager's base URL (`http://alertmanager:9093`); alerts go to `/api/v2/alerts`.
    public var alertmanager: Receiver?
    public var slack: Receiver?
    public var webhook: Receiver?
    /// Notifications waiting to be sent; beyond it they are dropped (and counted), so a receiver
    /// that is down never slows detection.
    public var queueSize = 256
    /// Attempts after the first on a 5xx or a connection error, with doubling waits.
    public var retries = 4
    /// Seconds between re-sending active incidents to Alertmanager (which resolves an alert it
    /// has not heard of for its resolve_timeout).
    public var resendSeconds = 60

    public var isEmpty: Bool { alertmanager == nil && slack == nil && webhook == nil }
    public init() {}
}
