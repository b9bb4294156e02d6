import PromowatchCore
import PromowatchPostgres

/// The runbook's query for database saturation, made safe to run unattended: terminates client
/// connections idle for longer than an age, of one application when one is named, and never an
/// active or idle-in-transaction connection, a superuser's, a replication connection or its own.
/// The conditions are checked again in the statement that terminates (a connection that became
/// active since the dry run is left alone).
public final class IdleConnectionTerminator {
    let connection: PGConnection

    public init(connection: PGConnection) {
        self.connection = connection
    }

    /// A client connection that is (or was) terminated.
    public struct Connection: Sendable, Equatable {
        public var pid: Int
        public var application: String
        public var user: String
        public var idleSeconds: Int
    }

    /// The role cannot signal other roles' backends: nothing was terminated.
    public struct MissingPrivilege: Error, CustomStringConvertible {
        public var role: String
        public var description: String {
            "the diagnostics role \(role) lacks pg_signal_backend (GRANT pg_signal_backend TO \(role)): nothing terminated"
        }
    }

    static let selection = """
        FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
        WHERE a.backend_type = 'client backend' AND a.state = 'idle' AND NOT r.rolsuper
          AND a.pid <> pg_backend_pid()
          AND a.state_change < now() - make_interval(secs => $1::int)
          AND ($2::text IS NULL OR a.application_name = $2::text)
        """
    static let columns =
        "a.pid, coalesce(a.application_name, ''), coalesce(a.usename, ''), extract(epoch FROM now() - a.state_change)::bigint"

    /// What `terminate` would end now (`application` nil: every application's).
    public func candidates(application: String?, olderThan seconds: Int) throws -> [Connection] {
        try connection.exec(
            "SELECT \(IdleConnectionTerminator.columns) \(IdleConnectionTerminator.selection) ORDER BY a.pid",
            [String(seconds), application]
        ).map(IdleConnectionTerminator.row)
    }

    /// Terminates them; the role must have `pg_signal_backend` (checked first, so a role
    /// without it ends nothing rather than some).
    public func terminate(application: String?, olderThan seconds: Int) throws -> [Connection] {
        let priv = try connection.exec(
            """
            SELECT current_user, r.rolsuper OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER')
            FROM pg_roles r WHERE r.rolname = current_user
            """)
        guard let p = priv.first, p[1] == "t" else {
            throw MissingPrivilege(role: priv.first?[0].flatMap { $0 } ?? "?")
        }
        return try connection.exec(
            """
            SELECT * FROM (SELECT \(IdleConnectionTerminator.columns), pg_terminate_backend(a.pid)
            \(IdleConnectionTerminator.selection)) t WHERE t.pg_terminate_backend ORDER BY 1
            """,
            [String(seconds), application]
        ).map(IdleConnectionTerminator.row)
    }

    static func row(_ r: [String?]) -> Connection {
        Connection(
            pid: Int(r[0] ?? "") ?? 0, application: r[1] ?? "", user: r[2] ?? "", idleSeconds: Int(r[3] ?? "") ?? 0)
    }

    /// For the outcome and the audit: `pid 4711 leaky-svc (app) idle 412 s, ...`.
    public static func list(_ cs: [Connection]) -> String {
        cs.map {
            "pid \($0.pid) \($0.application.isEmpty ? "(unnamed)" : $0.application) (\($0.user)) idle \($0.idleSeconds) s"
        }
        .joined(separator: ", ")
    }
}
