import Foundation
import PromowatchCore
@_exported import PromowatchPostgres

/// State in PostgreSQL through libpq. Every statement is parameterized (`PQexecParams`): values
/// such as coupon codes never become SQL text.
public final class PostgresStore: SharedStore {
    private let db: PGConnection

    /// `conninfo`: a libpq URI or keyword string; the standard `PG*` variables fill the rest.
    public init(conninfo: String) throws {
        do { db = try PGConnection(conninfo: conninfo) } catch let e as PGError { throw PostgresStore.storeError(e) }
    }

    typealias Param = PGConnection.Param

    /// The store's view of a database error: lost connection, constraint, or failed.
    static func storeError(_ e: PGError) -> StoreError {
        switch e.kind {
        case .connectionLost: return .connectionLost(e.message)
        case .constraint: return .constraint(e.message)
        case .permissionDenied, .failed: return .failed(e.message)
        }
    }

    /// Runs one statement with text parameters; returns rows of optional text values.
    @discardableResult
    func exec(_ sql: String, _ params: [String?] = []) throws -> [[String?]] {
        try exec(sql, params: params.map { .text($0) })
    }

    @discardableResult
    func exec(_ sql: String, params: [Param]) throws -> [[String?]] {
        do { return try db.exec(sql, params: params) } catch let e as PGError { throw PostgresStore.storeError(e) }
    }

    /// A fixed, parameterless script of several statements (migrations only).
    func execScript(_ sql: String) throws {
        do { try db.execScript(sql) } catch let e as PGError { throw PostgresStore.storeError(e) }
    }

    private func transaction<T>(_ body: () throws -> T) throws -> T {
        try exec("BEGIN")
        do {
            let v = try body()
            try exec("COMMIT")
            return v
        } catch {
            _ = try? exec("ROLLBACK")
            throw error
        }
    }

    /// Two instances starting at once: a transaction-scoped advisory lock serializes migrations.
    public func migrate() throws {
        try transaction {
            try exec("SELECT pg_advisory_xact_lock(7365001)")
            try exec(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            let done = Set(try exec("SELECT version FROM schema_migrations").compactMap { $0[0].flatMap { Int($0) } })
            for m in Schema.migrations where !done.contains(m.version) {
                try execScript(m.sql)
                try exec("INSERT INTO schema_migrations (version) VALUES ($1)", [String(m.version)])
            }
        }
    }

    public func schemaVersion() throws -> Int {
        Int(try exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").first?[0] ?? "0") ?? 0
    }

    public func beginRun(startedAt: Int64, actor: String) throws -> Int64 {
        Int64(
            try exec("INSERT INTO runs (started_at, actor) VALUES ($1, $2) RETURNING id", [String(startedAt), actor])
                .first?[0] ?? "") ?? 0
    }

    public func finishRun(_ id: Int64, finishedAt: Int64, status: String) throws {
        try exec(
            "UPDATE runs SET finished_at = $1, status = $2 WHERE id = $3", [String(finishedAt), status, String(id)])
    }

    @discardableResult
    public func commit(_ c: RunCommit) throws -> Int {
        try transaction {
            var inserted = 0
            for f in c.findings {
                let rows = try exec(
                    """
                    INSERT INTO findings (fingerprint, time, category, severity, subject, summary, run_id, incident)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (fingerprint) DO NOTHING RETURNING 1
                    """,
                    [
                        f.fingerprint, String(f.time), f.category.rawValue, f.severity.name, f.subject.storageText,
                        f.summary, String(c.runID), f.incident?.id ?? "",
                    ])
                inserted += rows.count
            }
            for i in c.incidents {
                try exec(
                    """
                    INSERT INTO incidents (id, root, severity, opened, updated, resolved, findings, run_id, cause_key)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                    ON CONFLICT (id) DO UPDATE SET root = EXCLUDED.root, severity = EXCLUDED.severity,
                        updated = GREATEST(incidents.updated, EXCLUDED.updated), resolved = EXCLUDED.resolved,
                        findings = EXCLUDED.findings, run_id = EXCLUDED.run_id, cause_key = EXCLUDED.cause_key
                    """,
                    [
                        i.id, i.root, i.severity, String(i.opened), String(i.updated), i.resolved.map { String($0) },
                        String(i.findings), String(c.runID), i.causeKey,
                    ])
            }
            for a in c.actions {
                try exec(
                    """
                    INSERT INTO actions (time, kind, target, key, before_value, after_value, dry_run, outcome, finding_fingerprint, run_id)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                    """,
                    [
                        String(a.time), a.kind, a.target, a.key, a.before, a.after, a.dryRun ? "true" : "false",
                        a.outcome,
                        a.findingFingerprint, String(c.runID),
                    ])
            }
            for a in c.completions {
                try exec(
                    """
                    UPDATE actions SET key = $2, before_value = $3, after_value = $4, dry_run = $5, outcome = $6, run_id = $7
                    WHERE id = $1
                    """,
                    [String(a.id), a.key, a.before, a.after, a.dryRun ? "true" : "false", a.outcome, String(c.runID)])
            }
            if let (name, bytes) = c.detectorState {
                try exec(
                    """
                    INSERT INTO detector_state (name, state, run_id, updated_at) VALUES ($1, $2, $3, now())
                    ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state, run_id = EXCLUDED.run_id, updated_at = now()
                    """, params: [.text(name), .bytes(bytes), .text(String(c.runID))])
            }
            if !c.baselines.isEmpty {
                // one statement: the rows travel as one JSON parameter, never as SQL text
                let json =
                    "["
                    + c.baselines.map {
                        "{\"scope\":\(JSONString.quoted($0.scope)),\"name\":\(JSONString.quoted($0.name)),\"minute_of_day\":\($0.minuteOfDay),\"count\":\($0.count),\"traffic\":\($0.traffic)}"
                    }.joined(separator: ",") + "]"
                try exec(
                    """
                    INSERT INTO baselines (scope, name, minute_of_day, count, traffic)
                    SELECT scope, name, minute_of_day, count, traffic
                    FROM json_to_recordset($1::json) AS x(scope TEXT, name TEXT, minute_of_day INT, count DOUBLE PRECISION, traffic DOUBLE PRECISION)
                    ON CONFLICT (scope, name, minute_of_day) DO UPDATE SET count = EXCLUDED.count, traffic = EXCLUDED.traffic
                    """, [json])
            }
            if let group = c.consumedPartialsOf {
                try exec("DELETE FROM shared_partials WHERE grp = $1 AND consumed", [group])
                // instances gone for a day (names with a process id pile up otherwise)
                try exec("DELETE FROM shared_members WHERE grp = $1 AND heartbeat < now() - interval '1 day'", [group])
            }
            for (source, t) in c.checkpoints {
                try exec(
                    """
                    INSERT INTO checkpoints (source, last_time) VALUES ($1, $2)
                    ON CONFLICT (source) DO UPDATE SET last_time = GREATEST(checkpoints.last_time, EXCLUDED.last_time)
                    """, [source, String(t)])
            }
            return inserted
        }
    }

    public func findings(limit: Int) throws -> [StoredFinding] {
        try exec(
            "SELECT fingerprint, time, category, severity, subject, summary, run_id, incident FROM findings ORDER BY time DESC, fingerprint LIMIT $1",
            [String(limit)]
        ).map {
            StoredFinding(
                fingerprint: $0[0] ?? "", time: Int64($0[1] ?? "") ?? 0, category: $0[2] ?? "", severity: $0[3] ?? "",
                subject: $0[4] ?? "", summary: $0[5] ?? "", runID: Int64($0[6] ?? "") ?? 0, incident: $0[7] ?? "")
        }
    }

    public func incidents(limit: Int) throws -> [IncidentRecord] {
        try exec(
            "SELECT id, root, severity, opened, updated, resolved, findings, run_id, cause_key FROM incidents ORDER BY updated DESC, id LIMIT $1",
            [String(limit)]
        ).map {
            IncidentRecord(
                id: $0[0] ?? "", root: $0[1] ?? "", severity: $0[2] ?? "", opened: Int64($0[3] ?? "") ?? 0,
                updated: Int64($0[4] ?? "") ?? 0, resolved: $0[5].flatMap { Int64($0) },
                findings: Int($0[6] ?? "") ?? 0,
                runID: Int64($0[7] ?? "") ?? 0, causeKey: $0[8] ?? "")
        }
    }

    public func hasFinding(_ fingerprint: String) throws -> Bool {
        !(try exec("SELECT 1 FROM findings WHERE fingerprint = $1", [fingerprint])).isEmpty
    }

    public func recordIntent(_ a: ActionRecord) throws -> Int64 {
        Int64(
            try exec(
                """
                INSERT INTO actions (time, kind, target, key, before_value, after_value, dry_run, outcome, finding_fingerprint, run_id)
                VALUES ($1, $2, $3, '', NULL, NULL, false, 'pending', $4, $5) RETURNING id
                """, [String(a.time), a.kind, a.target, a.findingFingerprint, String(a.runID)]
            ).first?[0] ?? "") ?? 0
    }

    public func pendingIntent(fingerprint: String, kind: String, target: String) throws -> ActionRecord? {
        try exec(
            "SELECT \(PostgresStore.actionColumns) FROM actions WHERE outcome = 'pending' AND finding_fingerprint = $1 AND kind = $2 AND target = $3 ORDER BY id LIMIT 1",
            [fingerprint, kind, target]
        ).first.map(action)
    }

    private static let actionColumns = """
        id, time, kind, target, key, before_value, after_value, dry_run, outcome, finding_fingerprint, run_id,
        COALESCE((SELECT actor FROM runs WHERE runs.id = actions.run_id), '')
        """

    private func action(_ r: [String?]) -> ActionRecord {
        var a = ActionRecord(
            time: Int64(r[1] ?? "") ?? 0, kind: r[2] ?? "", target: r[3] ?? "", key: r[4] ?? "", before: r[5],
            after: r[6],
            dryRun: r[7] == "t", outcome: r[8] ?? "", findingFingerprint: r[9] ?? "", runID: Int64(r[10] ?? "") ?? 0)
        a.id = Int64(r[0] ?? "") ?? 0
        a.actor = r[11] ?? ""
        return a
    }

    public func actions(limit: Int) throws -> [ActionRecord] {
        try exec("SELECT \(PostgresStore.actionColumns) FROM actions ORDER BY id DESC LIMIT $1", [String(limit)]).map(
            action)
    }

    public func action(id: Int64) throws -> ActionRecord? {
        try exec("SELECT \(PostgresStore.actionColumns) FROM actions WHERE id = $1", [String(id)]).first.map(action)
    }

    public func checkpoints() throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        for r in try exec("SELECT source, last_time FROM checkpoints") {
            if let s = r[0], let t = r[1].flatMap({ Int64($0) }) { out[s] = t }
        }
        return out
    }

    public func detectorState(_ name: String) throws -> [UInt8]? {
        try exec("SELECT state FROM detector_state WHERE name = $1", [name]).first?[0].flatMap(PostgresStore.bytea)
    }

    public func baselines(limit: Int) throws -> [BaselineRow] {
        try exec(
            "SELECT scope, name, minute_of_day, count, traffic FROM baselines ORDER BY scope, name, minute_of_day LIMIT $1",
            [String(limit)]
        ).map {
            BaselineRow(
                scope: $0[0] ?? "", name: $0[1] ?? "", minuteOfDay: Int($0[2] ?? "") ?? 0,
                count: Double($0[3] ?? "") ?? 0, traffic: Double($0[4] ?? "") ?? 0)
        }
    }

    public func publish(group: String, instance: String, partials: [[UInt8]], watermark: Int64, done: Bool) throws {
        try transaction {
            for p in partials {
                try exec(
                    "INSERT INTO shared_partials (grp, instance, payload) VALUES ($1, $2, $3)",
                    params: [.text(group), .text(instance), .bytes(p)])
            }
            try exec(
                """
                INSERT INTO shared_members (grp, instance, watermark, done) VALUES ($1, $2, $3, $4)
                ON CONFLICT (grp, instance) DO UPDATE SET
                    last_data = CASE WHEN EXCLUDED.watermark > shared_members.watermark OR EXCLUDED.done <> shared_members.done
                                     THEN now() ELSE shared_members.last_data END,
                    watermark = GREATEST(shared_members.watermark, EXCLUDED.watermark), heartbeat = now(), done = EXCLUDED.done
                """, [group, instance, String(watermark), done ? "true" : "false"])
        }
    }

    public func takePartials(group: String, includingTaken: Bool) throws -> [[UInt8]] {
        let rows = try exec(
            """
            UPDATE shared_partials SET consumed = true WHERE grp = $1 AND (NOT consumed OR $2) RETURNING id, payload
            """, [group, includingTaken ? "true" : "false"])
        return rows.compactMap { r -> (Int64, [UInt8])? in
            guard let id = r[0].flatMap({ Int64($0) }), let p = r[1].flatMap(PostgresStore.bytea) else { return nil }
            return (id, p)
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    public func members(group: String) throws -> [SharedMember] {
        try exec(
            """
            SELECT instance, watermark, EXTRACT(EPOCH FROM now() - heartbeat), EXTRACT(EPOCH FROM now() - last_data), done
            FROM shared_members WHERE grp = $1 ORDER BY instance
            """, [group]
        ).map {
            SharedMember(
                instance: $0[0] ?? "", watermark: Int64($0[1] ?? "") ?? Int64.min,
                heartbeatAge: Double($0[2] ?? "") ?? .infinity,
                dataAge: Double($0[3] ?? "") ?? .infinity, done: $0[4] == "t")
        }
    }

    public func reconnect() throws {
        do { try db.reset() } catch let e as PGError { throw PostgresStore.storeError(e) }
    }

    /// BYTEA in text results: `\x` and hex digits.
    static func bytea(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count >= 2, u[0] == 0x5C, u[1] == 0x78, u.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x57
            case 0x41...0x46: return c - 0x37
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(u.count / 2 - 1)
        var i = 2
        while i < u.count {
            guard let hi = nibble(u[i]), let lo = nibble(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    /// A session-level advisory lock (released by `unlock` or when the connection ends, e.g. a crash).
    public func tryLock(_ name: String) throws -> Bool {
        try exec("SELECT pg_try_advisory_lock(hashtext($1))", [name]).first?[0] == "t"
    }

    public func unlock(_ name: String) throws {
        try exec("SELECT pg_advisory_unlock(hashtext($1))", [name])
    }
}
