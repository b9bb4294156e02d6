/// Versioned schema migrations, applied in order; each runs once (recorded in schema_migrations).
enum Schema {
    static let migrations: [(version: Int, sql: String)] = [
        (
            1,
            """
            CREATE TABLE IF NOT EXISTS runs (
                id BIGSERIAL PRIMARY KEY,
                started_at BIGINT NOT NULL,
                finished_at BIGINT,
                status TEXT NOT NULL DEFAULT 'running');
            CREATE TABLE IF NOT EXISTS findings (
                fingerprint TEXT PRIMARY KEY,
                time BIGINT NOT NULL,
                category TEXT NOT NULL,
                severity TEXT NOT NULL,
                subject TEXT NOT NULL,
                summary TEXT NOT NULL,
                run_id BIGINT NOT NULL REFERENCES runs(id));
            CREATE TABLE IF NOT EXISTS actions (
                id BIGSERIAL PRIMARY KEY,
                time BIGINT NOT NULL,
                kind TEXT NOT NULL,
                target TEXT NOT NULL,
                key TEXT NOT NULL,
                before_value TEXT,
                after_value TEXT,
                dry_run BOOLEAN NOT NULL,
                outcome TEXT NOT NULL,
                finding_fingerprint TEXT NOT NULL,
                run_id BIGINT NOT NULL REFERENCES runs(id));
            CREATE TABLE IF NOT EXISTS checkpoints (
                source TEXT PRIMARY KEY,
                last_time BIGINT NOT NULL);
            """
        ),
        (
            2,
            """
            CREATE TABLE IF NOT EXISTS baselines (
                scope TEXT NOT NULL,
                name TEXT NOT NULL,
                minute_of_day INT NOT NULL,
                count DOUBLE PRECISION NOT NULL,
                traffic DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (scope, name, minute_of_day));
            CREATE INDEX IF NOT EXISTS actions_time ON actions(time);
            CREATE INDEX IF NOT EXISTS findings_time ON findings(time);
            """
        ),
        (
            3,
            """
            ALTER TABLE runs ADD COLUMN IF NOT EXISTS actor TEXT NOT NULL DEFAULT '';
            CREATE TABLE IF NOT EXISTS detector_state (
                name TEXT PRIMARY KEY,
                state BYTEA NOT NULL,
                run_id BIGINT,
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
            CREATE TABLE IF NOT EXISTS shared_members (
                grp TEXT NOT NULL,
                instance TEXT NOT NULL,
                watermark BIGINT NOT NULL,
                heartbeat TIMESTAMPTZ NOT NULL DEFAULT now(),
                last_data TIMESTAMPTZ NOT NULL DEFAULT now(),
                done BOOLEAN NOT NULL DEFAULT false,
                PRIMARY KEY (grp, instance));
            CREATE TABLE IF NOT EXISTS shared_partials (
                id BIGSERIAL PRIMARY KEY,
                grp TEXT NOT NULL,
                instance TEXT NOT NULL,
                payload BYTEA NOT NULL,
                consumed BOOLEAN NOT NULL DEFAULT false);
            CREATE INDEX IF NOT EXISTS shared_partials_grp ON shared_partials(grp, id);
            """
        ),
        (
            4,
            """
            ALTER TABLE findings ADD COLUMN IF NOT EXISTS incident TEXT NOT NULL DEFAULT '';
            CREATE TABLE IF NOT EXISTS incidents (
                id TEXT PRIMARY KEY,
                root TEXT NOT NULL,
                severity TEXT NOT NULL,
                opened BIGINT NOT NULL,
                updated BIGINT NOT NULL,
                resolved BIGINT,
                findings INT NOT NULL,
                run_id BIGINT NOT NULL REFERENCES runs(id));
            CREATE INDEX IF NOT EXISTS incidents_updated ON incidents(updated);
            """
        ),
        (5, "ALTER TABLE incidents ADD COLUMN IF NOT EXISTS cause_key TEXT NOT NULL DEFAULT '';"),
    ]

    static var latest: Int { migrations.map(\.version).max() ?? 0 }
}
