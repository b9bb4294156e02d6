/// What promowatch read from the systems behind a finding, beside what the logs said: the
/// diagnosis the runbook's first steps would make by hand.
public struct Diagnosis: Sendable, Hashable {
    /// The checkout's PostgreSQL, read through the diagnostics connection.
    public var database: DatabaseDiagnosis?
    /// The checkout's pods, read through the Kubernetes API.
    public var pods: PodsDiagnosis?
    /// A rollout of a watched deployment shortly before the finding began.
    public var rollout: Rollout?
    /// What could not be read, and why (no diagnostics connection, the finding is too old to
    /// diagnose from the present, a read failed).
    public var unavailable: [String] = []

    public init(database: DatabaseDiagnosis? = nil, pods: PodsDiagnosis? = nil, unavailable: [String] = []) {
        self.database = database
        self.pods = pods
        self.unavailable = unavailable
    }

    public static func unavailable(_ why: String) -> Diagnosis { Diagnosis(unavailable: [why]) }
}

/// Connection use of a PostgreSQL server at one moment (`max_connections`, `pg_stat_activity`).
/// Application names come from clients: render them escaped.
public struct DatabaseDiagnosis: Sendable, Hashable {
    /// Client connections of one application name.
    public struct Application: Sendable, Hashable {
        public var name: String
        public var total: Int
        public var active: Int
        public var idle: Int
        public var idleInTransaction: Int
        /// Idle for longer than `idleAgeSeconds`: what `terminate_idle_connections` would end.
        public var idleOverAge: Int
        public init(name: String, total: Int, active: Int, idle: Int, idleInTransaction: Int, idleOverAge: Int) {
            self.name = name
            self.total = total
            self.active = active
            self.idle = idle
            self.idleInTransaction = idleInTransaction
            self.idleOverAge = idleOverAge
        }
    }

    public var maxConnections: Int
    /// Client backends (no background workers, no replication connections).
    public var clientConnections: Int
    /// By connections, most first.
    public var applications: [Application]
    /// The application holding more than half of the client connections, if one does.
    public var culprit: String?
    public var idleAgeSeconds: Int
    /// Wall-clock time of the read (ns since the epoch).
    public var readAt: Int64

    public init(
        maxConnections: Int, clientConnections: Int, applications: [Application], culprit: String?,
        idleAgeSeconds: Int, readAt: Int64
    ) {
        self.maxConnections = maxConnections
        self.clientConnections = clientConnections
        self.applications = applications
        self.culprit = culprit
        self.idleAgeSeconds = idleAgeSeconds
        self.readAt = readAt
    }

    /// The application whose connections are more than half of the client connections (a leak
    /// shows as one service holding most slots), else nil.
    public static func dominant(_ apps: [Application], of total: Int) -> String? {
        guard let top = apps.max(by: { ($0.total, $1.name) < ($1.total, $0.name) }), total > 0 else { return nil }
        return 2 * top.total > total ? top.name : nil
    }

    /// Idle connections over the age that termination would end: the culprit's, or everyone's.
    public var terminable: Int {
        if let c = culprit { return applications.first { $0.name == c }?.idleOverAge ?? 0 }
        return applications.reduce(0) { $0 + $1.idleOverAge }
    }
}

/// The checkout's pods at one moment: readiness, restarts, and the states that say more
/// replicas would not help (a crash loop, containers killed for memory).
public struct PodsDiagnosis: Sendable, Hashable {
    public struct Pod: Sendable, Hashable {
        public var name: String
        public var phase: String
        public var ready: Bool
        /// Restarts of its containers in all, and those that ended within the finding's window.
        public var restarts: Int
        public var restartsInWindow: Int
        /// A container waiting for this reason (`CrashLoopBackOff`, `ImagePullBackOff`, ...).
        public var waiting: String?
        /// Why a container last ended (`OOMKilled`, `Error`, ...), if it did.
        public var lastTerminated: String?
        public init(
            name: String, phase: String, ready: Bool, restarts: Int, restartsInWindow: Int, waiting: String?,
            lastTerminated: String?
        ) {
            self.name = name
            self.phase = phase
            self.ready = ready
            self.restarts = restarts
            self.restartsInWindow = restartsInWindow
            self.waiting = waiting
            self.lastTerminated = lastTerminated
        }
    }
    public var selector: String
    public var pods: [Pod]
    public init(selector: String, pods: [Pod]) {
        self.selector = selector
        self.pods = pods
    }

    public var ready: Int { pods.filter(\.ready).count }
    public var crashLooping: [String] { pods.filter { $0.waiting == "CrashLoopBackOff" }.map(\.name) }
    /// Pods whose containers were killed for memory within the window.
    public var oomKilled: [String] {
        pods.filter { $0.lastTerminated == "OOMKilled" && $0.restartsInWindow > 0 }.map(\.name)
    }

    /// One line: `3 pods (2 ready), 4 restarts in the window; CrashLoopBackOff: checkout-b`.
    public var line: String {
        var s =
            "\(pods.count) pods (\(ready) ready), \(pods.reduce(0) { $0 + $1.restartsInWindow }) restarts in the window"
        if !crashLooping.isEmpty { s += "; CrashLoopBackOff: " + crashLooping.joined(separator: ", ") }
        if !oomKilled.isEmpty { s += "; OOMKilled: " + oomKilled.joined(separator: ", ") }
        return s
    }
}

/// Latency over the latency window ending at a time, as detection judges it: whether a scale-out
/// helped (verify after acting).
public struct LatencyReading: Sendable, Hashable {
    public var p99Ms: Double
    public var requests: Int
    public var timeouts: Int
    /// Whether the latency detector would still call this window slow or timing out.
    public var degraded: Bool
    public init(p99Ms: Double, requests: Int, timeouts: Int, degraded: Bool) {
        self.p99Ms = p99Ms
        self.requests = requests
        self.timeouts = timeouts
        self.degraded = degraded
    }
}

/// A deployment's newest revision (a new ReplicaSet) and the one before it.
public struct Rollout: Sendable, Hashable {
    public var deployment: String
    public var revision: Int
    /// The images of its pod template, comma-separated.
    public var image: String
    /// When the revision's ReplicaSet was created (ns since the epoch).
    public var createdAt: Int64
    public var previousRevision: Int?
    public var previousImage: String?
    /// Whether it is still the deployment's newest revision (a later rollout replaced it: undoing
    /// now would undo that one instead).
    public var isCurrent = true
    public init(
        deployment: String, revision: Int, image: String, createdAt: Int64, previousRevision: Int?,
        previousImage: String?, isCurrent: Bool = true
    ) {
        self.isCurrent = isCurrent
        self.deployment = deployment
        self.revision = revision
        self.image = image
        self.createdAt = createdAt
        self.previousRevision = previousRevision
        self.previousImage = previousImage
    }
}
