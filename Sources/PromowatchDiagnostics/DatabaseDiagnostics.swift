import Foundation
import PromowatchCore
import PromowatchPostgres

/// Reads the checkout's PostgreSQL the way the runbook's first step does by hand:
/// `max_connections` and `pg_stat_activity`'s client connections by application, state and idle
/// age. Needs a role with `pg_monitor` (without it, other roles' connections show no state).
public final class DatabaseDiagnostics {
    public let connection: PGConnection

    public init(connection: PGConnection) {
        self.connection = connection
    }

    /// Connections now; `idleAgeSeconds` is the age over which an idle connection counts as
    /// terminable. Our own connection is not counted.
    public func read(idleAgeSeconds: Int) throws -> DatabaseDiagnosis {
        let max = Int(try connection.exec("SELECT current_setting('max_connections')").first?[0] ?? "") ?? 0
        let rows = try connection.exec(
            """
            SELECT coalesce(a.application_name, ''), count(*),
                   count(*) FILTER (WHERE a.state = 'active'),
                   count(*) FILTER (WHERE a.state = 'idle'),
                   count(*) FILTER (WHERE a.state LIKE 'idle in transaction%'),
                   count(*) FILTER (WHERE a.state = 'idle' AND NOT coalesce(r.rolsuper, true)
                                    AND a.state_change < now() - make_interval(secs => $1::int))
            FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
            WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
            GROUP BY 1 ORDER BY 2 DESC, 1
            """, [String(idleAgeSeconds)])
        let apps = rows.map {
            DatabaseDiagnosis.Application(
                name: $0[0] ?? "", total: Int($0[1] ?? "") ?? 0, active: Int($0[2] ?? "") ?? 0,
                idle: Int($0[3] ?? "") ?? 0, idleInTransaction: Int($0[4] ?? "") ?? 0,
                idleOverAge: Int($0[5] ?? "") ?? 0)
        }
        let total = apps.reduce(0) { $0 + $1.total }
        // an unnamed application cannot be told apart from others: it is never the culprit
        let culprit = DatabaseDiagnosis.dominant(apps.filter { !$0.name.isEmpty }, of: total)
        return DatabaseDiagnosis(
            maxConnections: max, clientConnections: total, applications: apps, culprit: culprit,
            idleAgeSeconds: idleAgeSeconds, readAt: Int64(Date().timeIntervalSince1970 * 1e9))
    }
}
