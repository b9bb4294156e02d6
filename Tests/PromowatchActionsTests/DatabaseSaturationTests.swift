import Foundation
import PromowatchActions
import PromowatchCore
import PromowatchDiagnostics
import PromowatchPostgres
import PromowatchStore
import PromowatchTestSupport
import XCTest

/// Runbook scenario 3 against a real PostgreSQL of the test's own (max_connections 60): one
/// service leaks idle connections, others hold active and idle-in-transaction ones. The finding
/// names the culprit; a dry run lists exactly its idle connections over the age; `--apply`
/// terminates exactly those (never an active, idle-in-transaction or superuser connection, nor
/// another service's) and the audit lists them; a role without `pg_signal_backend` terminates
/// nothing.
final class DatabaseSaturationTests: XCTestCase {
    var dir = ""
    var held: [PGConnection] = []
    var sleepers: [Process] = []
    var stateDir = NSTemporaryDirectory() + "pw-dbsat-\(UUID().uuidString)"

    override func tearDown() {
        for p in sleepers where p.isRunning { kill(p.processIdentifier, SIGTERM) }
        for p in sleepers { p.waitUntilExit() }
        held = []
        if !dir.isEmpty { _ = try? pgServer(["stop", dir]) }
        try? FileManager.default.removeItem(atPath: stateDir)
    }

    func conninfo(_ user: String, _ password: String?, app: String) -> String {
        "host=\(dir) dbname=postgres user=\(user)" + (password.map { " password=\($0)" } ?? "")
            + " application_name=\(app)"
    }

    /// Roles, then connections: leaky-svc 6 idle, 1 idle in transaction, 2 active, 1 idle as the
    /// superuser; orders-svc 2 idle. Returns the superuser connection.
    func setUpServer() throws -> PGConnection {
        dir = try startOwnPostgres().dir
        let su = try PGConnection(conninfo: "host=\(dir) dbname=postgres user=postgres")
        for sql in [
            "CREATE ROLE app_leaky LOGIN PASSWORD 'leaky-pw'", "CREATE ROLE app_orders LOGIN PASSWORD 'orders-pw'",
            "CREATE ROLE diag LOGIN PASSWORD 'diag-pw'", "GRANT pg_monitor, pg_signal_backend TO diag",
            "CREATE ROLE weak LOGIN PASSWORD 'weak-pw'", "GRANT pg_monitor TO weak",
        ] {
            try su.exec(sql)
        }
        for _ in 0..<6 { held.append(try PGConnection(conninfo: conninfo("app_leaky", "leaky-pw", app: "leaky-svc"))) }
        for _ in 0..<2 {
            held.append(try PGConnection(conninfo: conninfo("app_orders", "orders-pw", app: "orders-svc")))
        }
        let tx = try PGConnection(conninfo: conninfo("app_leaky", "leaky-pw", app: "leaky-svc"))
        try tx.exec("BEGIN")
        try tx.exec("SELECT 1")
        held.append(tx)
        held.append(try PGConnection(conninfo: conninfo("postgres", nil, app: "leaky-svc")))
        for _ in 0..<2 {
            let p = Process()
            p.executableURL = URL(
                fileURLWithPath: ProcessInfo.processInfo.environment["PROMOWATCH_TEST_PGBIN"].map {
                    $0 + "/psql"
                } ?? "/usr/bin/psql")
            p.arguments = ["-h", dir, "-U", "app_leaky", "-d", "postgres", "-qAt", "-c", "SELECT pg_sleep(60)"]
            p.environment = ["PGPASSWORD": "leaky-pw", "PGAPPNAME": "leaky-svc"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            sleepers.append(p)
        }
        // both sleepers active, and every idle connection older than the 2 s age
        let deadline = Date().addingTimeInterval(20)
        while try active(su) < 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertEqual(try active(su), 2)
        Thread.sleep(forTimeInterval: 2.5)
        return su
    }

    func active(_ su: PGConnection) throws -> Int {
        Int(
            try su.exec(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'leaky-svc' AND state = 'active'"
            ).first?[0] ?? "") ?? 0
    }

    /// Client connections now, as `state/user/application` per pid.
    func connections(_ su: PGConnection) throws -> [Int: String] {
        var out: [Int: String] = [:]
        for r in try su.exec(
            """
            SELECT pid, coalesce(state, ''), usename, application_name FROM pg_stat_activity
            WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
            """)
        {
            out[Int(r[0]!)!] = "\(r[1]!)/\(r[2]!)/\(r[3]!)"
        }
        return out
    }

    func config(role: String, password: String) throws -> String {
        let path = stateDir + "-\(role).yaml"
        try """
        diagnostics:
          postgres: "host=\(dir) dbname=postgres user=\(role) password=\(password)"
        actions:
          idle_connection_seconds: 2
          culprit_selectors:
            leaky-svc: "app=leaky-svc"
        decision:
          modes:
            terminate_idle_connections: enforce
            restart_culprit: enforce
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Three "too many clients" lines a minute ago, as the checkout logs them.
    func saturationLog() throws -> String {
        let t = Int64(Date().timeIntervalSince1970 - 60) * EventTime.nanosPerSecond
        let lines = (0..<3).map { k in
            "{\"ts\":\"\(EventTime.rfc3339(t + Int64(k) * EventTime.nanosPerSecond))\",\"level\":\"error\","
                + "\"msg\":\"query failed\",\"error\":\"pq: sorry, too many clients already\"}"
        }
        let path = stateDir + "-saturation.log"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func fakeServer() throws -> FakeAPIServer {
        func pod(_ name: String, _ app: String) -> [String: Any] {
            [
                "metadata": ["name": name, "namespace": "microservices", "labels": ["app": app]],
                "spec": ["containers": [["name": app]]],
            ]
        }
        return try FakeAPIServer(
            configMap: ["BLACKLISTED_COUPONS": ""],
            extraState: [
                "pods": [
                    pod("leaky-svc-7d9f-a", "leaky-svc"), pod("leaky-svc-7d9f-b", "leaky-svc"),
                    pod("checkout-1", "checkout"),
                ]
            ])
    }

    func lines(_ out: String) -> [[String: Any]] {
        out.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func pids(_ outcome: String) -> Set<Int> {
        Set(
            outcome.components(separatedBy: "pid ").dropFirst().compactMap {
                Int($0.prefix { $0.isNumber })
            })
    }

    func testTheCulpritIsNamedAndOnlyItsIdleConnectionsOverTheAgeAreTerminated() throws {
        let su = try setUpServer()
        let before = try connections(su)
        let idleLeaky = Set(before.filter { $0.value == "idle/app_leaky/leaky-svc" }.keys)
        XCTAssertEqual(idleLeaky.count, 6)
        let log = try saturationLog()
        let cfg = try config(role: "diag", password: "diag-pw")
        let s = try fakeServer()
        let env = ["KUBECONFIG": try RemediationEndToEndTests.kubeconfig(s), "HOME": stateDir]

        // dry run: the finding names the culprit, the action lists exactly the idle ones over the age
        let dry = try Binary.run(["analyze", "--config", cfg, "--format", "json", log], environment: env)
        XCTAssertEqual(dry.status, 0, dry.stderr)
        let out = lines(dry.stdout)
        let finding = try XCTUnwrap(out.first { $0["category"] as? String == "db_saturation" }, dry.stdout)
        let db = try XCTUnwrap((finding["diagnosis"] as? [String: Any])?["database"] as? [String: Any], dry.stdout)
        XCTAssertEqual(db["culprit"] as? String, "leaky-svc")
        XCTAssertEqual(db["max_connections"] as? Int, 60)
        XCTAssertEqual(db["client_connections"] as? Int, 13)  // with the test's own superuser connection
        let apps = try XCTUnwrap(db["applications"] as? [[String: Any]])
        let leaky = try XCTUnwrap(apps.first { $0["name"] as? String == "leaky-svc" })
        XCTAssertEqual(leaky["total"] as? Int, 10)
        XCTAssertEqual(leaky["active"] as? Int, 2)
        XCTAssertEqual(leaky["idle_in_transaction"] as? Int, 1)
        XCTAssertEqual(leaky["idle_over_age"] as? Int, 6)  // the superuser's idle one is not terminable
        let action = try XCTUnwrap(finding["action"] as? [String: Any], dry.stdout)
        XCTAssertEqual(action["kind"] as? String, "terminate_idle_connections")
        XCTAssertEqual(action["target"] as? String, "leaky-svc")
        let outcome = try XCTUnwrap(action["outcome"] as? String)
        XCTAssertTrue(outcome.hasPrefix("dry_run: would terminate 6 connection(s)"), outcome)
        XCTAssertEqual(pids(outcome), idleLeaky)
        XCTAssertTrue((finding["summary"] as? String ?? "").contains("culprit leaky-svc"), dry.stdout)
        let step = try XCTUnwrap(out.compactMap { $0["step"] as? [String: Any] }.first, dry.stdout)
        XCTAssertEqual(step["kind"] as? String, "restart_culprit")
        XCTAssertEqual(try connections(su), before, "a dry run changed nothing")

        // --apply: exactly those terminated, the culprit's pods deleted, the audit names the pids
        let applied = try Binary.run(
            ["cron", "--from", log, "--apply", "--config", cfg, "--format", "json", "--state-dir", stateDir],
            environment: env)
        XCTAssertEqual(applied.status, 0, applied.stderr)
        Thread.sleep(forTimeInterval: 0.3)  // a terminated backend leaves pg_stat_activity as it exits
        let after = try connections(su)
        XCTAssertEqual(Set(after.keys), Set(before.keys).subtracting(idleLeaky), "\(before) -> \(after)")
        let pods = try s.control()["pods"] as! [[String: Any]]
        XCTAssertEqual(pods.compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }, ["checkout-1"])
        let history = try Binary.run(
            ["history", "--state-dir", stateDir, "--format", "json"], environment: ["HOME": stateDir])
        XCTAssertEqual(history.status, 0, history.stderr)
        let audit = lines(history.stdout).compactMap { $0["action"] as? [String: Any] }
        let terminated = try XCTUnwrap(
            audit.first { $0["kind"] as? String == "terminate_idle_connections" }, history.stdout)
        let text = try XCTUnwrap(terminated["outcome"] as? String)
        XCTAssertTrue(text.hasPrefix("applied: terminated 6 connection(s)"), text)
        XCTAssertEqual(pids(text), idleLeaky)
        XCTAssertTrue(text.contains("leaky-svc (app_leaky)"), text)
        XCTAssertNotNil(audit.first { $0["kind"] as? String == "restart_culprit" }, history.stdout)
    }

    func testARoleWithoutSignalPrivilegeGetsAClearErrorAndTerminatesNothing() throws {
        let su = try setUpServer()
        let weak = try PGConnection(conninfo: conninfo("weak", "weak-pw", app: "promowatch"))
        let before = try connections(su)
        // it can read (pg_monitor) ...
        let d = try DatabaseDiagnostics(connection: weak).read(idleAgeSeconds: 2)
        XCTAssertEqual(d.culprit, "leaky-svc")
        XCTAssertEqual(d.terminable, 6)
        // ... but not terminate: a clear error, and nothing ended
        XCTAssertThrowsError(
            try IdleConnectionTerminator(connection: weak).terminate(application: "leaky-svc", olderThan: 2)
        ) { e in
            XCTAssertTrue("\(e)".contains("lacks pg_signal_backend (GRANT pg_signal_backend TO weak)"), "\(e)")
        }
        let s = try fakeServer()
        let r = try Binary.run(
            [
                "cron", "--from", try saturationLog(), "--apply", "--config",
                try config(role: "weak", password: "weak-pw"),
                "--format", "json", "--state-dir", stateDir,
            ], environment: ["KUBECONFIG": try RemediationEndToEndTests.kubeconfig(s), "HOME": stateDir])
        XCTAssertEqual(r.status, 0, r.stderr)
        let finding = try XCTUnwrap(lines(r.stdout).first { $0["category"] as? String == "db_saturation" }, r.stdout)
        let outcome = (finding["action"] as? [String: Any])?["outcome"] as? String ?? ""
        XCTAssertTrue(outcome.hasPrefix("failed: the diagnostics role weak lacks pg_signal_backend"), outcome)
        XCTAssertEqual(try connections(su), before)
        XCTAssertFalse(r.stdout.contains("weak-pw") || r.stderr.contains("weak-pw"), "no password in output")
    }

    /// An archived saturation is not diagnosed from today's database, and proposes nothing.
    func testAnOldFindingIsNotDiagnosedFromThePresent() throws {
        _ = try setUpServer()
        let path = stateDir + "-old.log"
        try
            "{\"ts\":\"2026-01-05T03:00:10Z\",\"msg\":\"query failed\",\"error\":\"FATAL: sorry, too many clients already\"}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let r = try Binary.run(
            ["analyze", "--config", try config(role: "diag", password: "diag-pw"), "--format", "json", path],
            environment: ["HOME": stateDir])
        let finding = try XCTUnwrap(lines(r.stdout).first { $0["category"] as? String == "db_saturation" }, r.stdout)
        let why = (finding["diagnosis"] as? [String: Any])?["unavailable"] as? String ?? ""
        XCTAssertTrue(why.contains("the database now says nothing about then"), r.stdout)
        XCTAssertTrue(finding["action"] is NSNull, r.stdout)
    }
}
