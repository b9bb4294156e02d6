import PromowatchCore
import PromowatchKube

/// Reads the checkout's pods through the Kubernetes API (the runbook's `kubectl get pods` and
/// `describe`): phase, readiness, restarts, crash loops and containers killed for memory.
public final class PodDiagnostics {
    public let client: KubeClient
    let namespace: String
    let selector: String

    public init(client: KubeClient, namespace: String, selector: String) {
        self.client = client
        self.namespace = namespace
        self.selector = selector
    }

    public func read() throws -> [KubeClient.Pod] {
        try client.listPods(namespace: namespace, selector: selector)
    }

    /// The pods as they bear on a finding whose window starts at `windowStart` (ns): a container
    /// whose last termination ended in the window restarted in it (a lower bound: the API keeps
    /// only the last termination).
    public static func diagnosis(_ pods: [KubeClient.Pod], selector: String, windowStart: Int64) -> PodsDiagnosis {
        PodsDiagnosis(
            selector: selector,
            pods: pods.sorted { $0.name < $1.name }.map { p in
                let inWindow = p.statuses.filter {
                    guard let end = $0.lastFinishedAt.flatMap(EventTime.parseRFC3339) else { return false }
                    return end >= windowStart
                }.count
                return PodsDiagnosis.Pod(
                    name: p.name, phase: p.phase, ready: p.ready,
                    restarts: p.statuses.reduce(0) { $0 + $1.restartCount },
                    restartsInWindow: inWindow, waiting: p.statuses.compactMap(\.waiting).first,
                    lastTerminated: p.statuses.compactMap(\.lastTerminated).first)
            })
    }
}
