/// What promowatch read from the systems behind a finding, beside what the logs said: the
/// diagnosis the runbook's first steps would make by hand.
public struct Diagnosis: Sendable, Hashable {
    /// The checkout's PostgreSQL, read through the diagnostics connection.
    public var database: DatabaseDiagnosis?
    /// What could not be read, and why (no diagnostics connection, the finding is too old to
    /// diagnose from the present, a read failed).
    public var unavailable: [String] = []

    public init(database: DatabaseDiagnosis? = nil, unavailable: [String] = []) {
        self.database = database
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
