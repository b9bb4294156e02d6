import XCTest
import PromowatchTestSupport
import Foundation
import PromowatchCore
@testable import PromowatchStore

/// One suite, run against both stores: the embedded default and a real PostgreSQL that the test
/// command (scripts/test.sh) starts. Without it (a bare `swift test`) the PostgreSQL half skips.
/// Each store's test class calls every check below.
struct StoreContract {
    /// A fresh, empty store.
    var makeStore: () throws -> StateStore
    /// A second handle on the same state (another process, in effect).
    var sameStore: () throws -> StateStore

    func finding(_ code: String, t: Int64 = 1_000) -> Finding {
        Finding(
            time: t, category: .couponAbuse, severity: .p0, subject: Subject(coupon: code), windowStart: 0,
            windowEnd: t,
            evidence: Evidence(observed: 1, expected: 0, score: 9), action: nil, summary: "coupon \(code) abused")
    }

    func migrationsAreVersionedIdempotentAndSafeInParallel() throws {
        let s = try makeStore()
        let other = try sameStore()
        final class Errors: @unchecked Sendable {
            var list: [String] = []
            let lock = NSLock()
        }
        let errors = Errors()
        let group = DispatchGroup()
        for st in [s, other] {
            group.enter()
            DispatchQueue.global().async {
                do { try st.migrate() } catch {
                    errors.lock.lock()
                    errors.list.append("\(error)")
                    errors.lock.unlock()
                }
                group.leave()
            }
        }
        group.wait()
        XCTAssertTrue(errors.list.isEmpty, "\(errors.list)")
        try s.migrate()
        XCTAssertEqual(try s.schemaVersion(), Schema.latest)
    }

    func findingsAreRecordedOnceActionsAuditedCheckpointsNeverGoBack() throws {
        let s = try makeStore()
        try s.migrate()
        let run = try s.beginRun(startedAt: 1, actor: "test@host")
        var c = RunCommit(runID: run)
        c.findings = [finding("LEAK"), finding("OTHER", t: 2_000)]
        c.actions = [
            ActionRecord(
                time: 1_000, kind: "blacklist_coupon", target: "LEAK", key: "BLACKLISTED_COUPONS", before: "OLD",
                after: "OLD,LEAK", dryRun: false, outcome: "applied", findingFingerprint: c.findings[0].fingerprint,
                runID: run)
        ]
        c.checkpoints = ["pod/a/checkout": 500, "pod/b/checkout": 900]
        XCTAssertEqual(try s.commit(c), 2)
        // the same evidence again: nothing new
        var again = RunCommit(runID: run)
        again.findings = c.findings
        again.checkpoints = ["pod/a/checkout": 400]  // older: ignored
        XCTAssertEqual(try s.commit(again), 0)
        try s.finishRun(run, finishedAt: 2, status: "ok")
        XCTAssertEqual(try s.findings(limit: 10).map(\.subject), ["coupon=OTHER", "coupon=LEAK"])
        let actions = try s.actions(limit: 10)
        XCTAssertEqual(actions.count, 1)
        XCTAssertEqual(actions[0].before, "OLD")
        XCTAssertEqual(actions[0].after, "OLD,LEAK")
        XCTAssertEqual(actions[0].actor, "test@host", "who acted: the run's actor")
        XCTAssertEqual(try s.action(id: actions[0].id)?.target, "LEAK")
        XCTAssertNil(try s.action(id: 999_999))
        XCTAssertEqual(try s.checkpoints(), ["pod/a/checkout": 500, "pod/b/checkout": 900])
        // incidents: recorded, then updated by id (a later run resolves it)
        let run2 = try s.beginRun(startedAt: 3, actor: "test@host")
        var inc = RunCommit(runID: run2)
        inc.incidents = [
            IncidentRecord(
                id: "inc-1", root: "payment_provider_failure", severity: "P1", opened: 100, updated: 200, resolved: nil,
                findings: 2, runID: run2, causeKey: "coupon:X'); DROP TABLE incidents; --")
        ]
        try s.commit(inc)
        XCTAssertEqual(try s.incidents(limit: 10).map(\.resolved), [nil])
        inc.incidents[0].updated = 300
        inc.incidents[0].resolved = 1_200
        inc.incidents[0].findings = 3
        try s.commit(inc)
        XCTAssertEqual(
            try sameStore().incidents(limit: 10),
            [
                IncidentRecord(
                    id: "inc-1", root: "payment_provider_failure", severity: "P1", opened: 100, updated: 300,
                    resolved: 1_200, findings: 3, runID: run2, causeKey: "coupon:X'); DROP TABLE incidents; --")
            ])
        // another handle sees the same state
        XCTAssertEqual(try sameStore().findings(limit: 10).count, 2)
    }

    func hostileStringsAreStoredVerbatim() throws {
        let s = try makeStore()
        try s.migrate()
        let run = try s.beginRun(startedAt: 1, actor: "test@host")
        let evil = "X'); DROP TABLE findings; --\"\n\\"
        var c = RunCommit(runID: run)
        c.findings = [finding(evil)]
        c.actions = [
            ActionRecord(
                time: 1, kind: "blacklist_coupon", target: evil, key: "K", before: nil, after: evil, dryRun: true,
                outcome: "skipped: invalid", findingFingerprint: "f", runID: run)
        ]
        try s.commit(c)
        XCTAssertEqual(try s.findings(limit: 5).first?.subject, "coupon=" + evil)
        XCTAssertEqual(try s.actions(limit: 5).first?.target, evil)
        XCTAssertNil(try s.actions(limit: 5).first?.before)
    }

    /// Snapshots of every byte value survive, the newest commit wins, and baseline rows (hostile
    /// names included) replace those of the same scope, name and hour.
    func detectorStateAndBaselinesRoundTrip() throws {
        let s = try makeStore()
        try s.migrate()
        XCTAssertNil(try s.detectorState("cron"))
        let run = try s.beginRun(startedAt: 1, actor: "test@host")
        var blob = [UInt8](0...255)
        for i in 0..<100_000 { blob.append(UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 7)) }
        let evil = "X'); DROP TABLE baselines; --\"\n\\ é"
        var c = RunCommit(runID: run)
        c.detectorState = ("cron", blob)
        c.baselines = [
            BaselineRow(scope: "coupon_redemptions", name: evil, minuteOfDay: 180, count: 12, traffic: 3400),
            BaselineRow(scope: "provider_failures", name: "stripe", minuteOfDay: 0, count: 1, traffic: 200),
        ]
        try s.commit(c)
        XCTAssertEqual(try sameStore().detectorState("cron"), blob)
        XCTAssertNil(try s.detectorState("shared:other"))
        var next = RunCommit(runID: run)
        next.detectorState = ("cron", [1, 2, 3])
        next.baselines = [
            BaselineRow(scope: "coupon_redemptions", name: evil, minuteOfDay: 180, count: 20, traffic: 5000)
        ]
        try s.commit(next)
        XCTAssertEqual(try s.detectorState("cron"), [1, 2, 3])
        XCTAssertEqual(
            try s.baselines(limit: 10),
            [
                BaselineRow(scope: "coupon_redemptions", name: evil, minuteOfDay: 180, count: 20, traffic: 5000),
                BaselineRow(scope: "provider_failures", name: "stripe", minuteOfDay: 0, count: 1, traffic: 200),
            ])
    }

    func onlyOneHolderOfTheCronLock() throws {
        let s = try makeStore()
        let other = try sameStore()
        XCTAssertTrue(try s.tryLock("promowatch-cron"))
        XCTAssertFalse(try other.tryLock("promowatch-cron"))
        try s.unlock("promowatch-cron")
        XCTAssertTrue(try other.tryLock("promowatch-cron"))
        try other.unlock("promowatch-cron")
    }
}

final class EmbeddedStoreTests: XCTestCase {
    var dir = ""
    override func setUp() { dir = NSTemporaryDirectory() + "pw-store-\(UUID().uuidString)" }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }
    var contract: StoreContract {
        StoreContract(
            makeStore: { [dir] in try EmbeddedStore(directory: dir) },
            sameStore: { [dir] in try EmbeddedStore(directory: dir) })
    }

    func testMigrations() throws { try contract.migrationsAreVersionedIdempotentAndSafeInParallel() }
    func testFindingsActionsCheckpoints() throws {
        try contract.findingsAreRecordedOnceActionsAuditedCheckpointsNeverGoBack()
    }
    func testHostileStrings() throws { try contract.hostileStringsAreStoredVerbatim() }
    func testCronLock() throws { try contract.onlyOneHolderOfTheCronLock() }
    func testDetectorStateAndBaselines() throws { try contract.detectorStateAndBaselinesRoundTrip() }

    func testWritesAreAtomicFiles() throws {
        let s = try EmbeddedStore(directory: dir)
        try s.migrate()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        XCTAssertTrue(files.contains("state.json"))
        XCTAssertFalse(files.contains { $0.contains(".tmp-") }, "no temporary file left behind")
    }
}

final class PostgresStoreTests: XCTestCase {
    var url: String { ProcessInfo.processInfo.environment["PROMOWATCH_TEST_DATABASE_URL"] ?? "" }
    var schema = ""

    override func setUpWithError() throws {
        _ = try TestDependency.databaseURL()  // without one: skip, or fail in CI
        // a fresh schema per test, through libpq's options (search_path)
        schema = "t_" + UUID().uuidString.prefix(8).lowercased()
        let admin = try PostgresStore(conninfo: url)
        try admin.exec("CREATE SCHEMA \(schema)")
    }

    var scopedURL: String { url + "&options=-csearch_path%3D\(schema)" }
    var contract: StoreContract {
        StoreContract(
            makeStore: { [scopedURL] in try PostgresStore(conninfo: scopedURL) },
            sameStore: { [scopedURL] in try PostgresStore(conninfo: scopedURL) })
    }

    func testMigrations() throws { try contract.migrationsAreVersionedIdempotentAndSafeInParallel() }
    func testFindingsActionsCheckpoints() throws {
        try contract.findingsAreRecordedOnceActionsAuditedCheckpointsNeverGoBack()
    }
    func testHostileStrings() throws { try contract.hostileStringsAreStoredVerbatim() }
    func testCronLock() throws { try contract.onlyOneHolderOfTheCronLock() }
    func testDetectorStateAndBaselines() throws { try contract.detectorStateAndBaselinesRoundTrip() }

    func finding(_ code: String) -> Finding {
        Finding(
            time: 1, category: .couponAbuse, severity: .p0, subject: Subject(coupon: code), windowStart: 0,
            windowEnd: 1,
            evidence: Evidence(observed: 1, expected: 0, score: 9), action: nil, summary: "")
    }

    func testWrongPasswordIsAClearErrorWithoutThePassword() throws {
        let bad = url.replacingOccurrences(of: "pw-test-secret", with: "not-the-secret-123")
        XCTAssertThrowsError(try PostgresStore(conninfo: bad)) { e in
            let text = String(describing: e)
            XCTAssertTrue(text.contains("password authentication failed"), text)
            XCTAssertFalse(text.contains("not-the-secret-123"), text)
            XCTAssertTrue(text.contains("***"), text)
        }
    }

    /// Store errors say what a caller can do: a lost connection is retried (the shared watch), a
    /// refused write is not, and neither is mistaken for the other.
    func testErrorsAreClassified() throws {
        let store = try PostgresStore(conninfo: scopedURL)
        try store.migrate()
        try store.exec("CREATE TABLE t_unique (k int PRIMARY KEY)")
        try store.exec("INSERT INTO t_unique VALUES (1)")
        XCTAssertThrowsError(try store.exec("INSERT INTO t_unique VALUES (1)")) { e in
            guard case .constraint(let m)? = e as? StoreError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("duplicate key"), m)
        }
        XCTAssertThrowsError(try store.exec("SELEC nothing")) { e in
            guard case .failed? = e as? StoreError else { return XCTFail("\(e)") }
        }
        // the server ends this session: the next command finds the connection gone
        let pid = try XCTUnwrap(store.exec("SELECT pg_backend_pid()").first?[0] ?? nil)
        let admin = try PostgresStore(conninfo: url)
        _ = try admin.exec("SELECT pg_terminate_backend(\(pid))")
        XCTAssertThrowsError(try store.exec("SELECT 1")) { e in
            XCTAssertEqual((e as? StoreError)?.isConnectionLost, true, "\(e)")
        }
        XCTAssertThrowsError(try PostgresStore(conninfo: url.replacingOccurrences(of: "pw-test-secret", with: "wrong")))
        { e in
            XCTAssertEqual((e as? StoreError)?.isConnectionLost, true, "cannot connect: \(e)")
        }
    }

    /// A database made by an older promowatch (schema v2, with a run and an action) upgrades in
    /// place: its rows stay and the new columns and tables work.
    func testUpgradeFromSchemaVersion2KeepsData() throws {
        let s = try PostgresStore(conninfo: scopedURL)
        try s.exec(
            "CREATE TABLE schema_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        for m in Schema.migrations where m.version <= 2 {
            try s.execScript(m.sql)
            try s.exec("INSERT INTO schema_migrations (version) VALUES ($1)", [String(m.version)])
        }
        let old = Int64(try s.exec("INSERT INTO runs (started_at) VALUES (1) RETURNING id").first?[0] ?? "") ?? 0
        try s.exec(
            """
            INSERT INTO actions (time, kind, target, key, before_value, after_value, dry_run, outcome, finding_fingerprint, run_id)
            VALUES (1, 'blacklist_coupon', 'OLDCODE', 'BLACKLISTED_COUPONS', '', 'OLDCODE', false, 'applied', 'f', $1)
            """, [String(old)])
        XCTAssertEqual(try s.schemaVersion(), 2)
        try s.migrate()
        XCTAssertEqual(try s.schemaVersion(), Schema.latest)
        XCTAssertEqual(try s.actions(limit: 5).map(\.target), ["OLDCODE"])
        XCTAssertEqual(try s.actions(limit: 5).first?.actor, "")
        let run = try s.beginRun(startedAt: 2, actor: "cron@new")
        var c = RunCommit(runID: run)
        c.detectorState = ("cron", [1, 2, 3])
        try s.commit(c)
        XCTAssertEqual(try s.detectorState("cron"), [1, 2, 3])
    }

    func testACommitIsAllOrNothing() throws {
        let s = try PostgresStore(conninfo: scopedURL)
        try s.migrate()
        var c = RunCommit(runID: 987_654)  // no such run: the actions insert fails on its foreign key
        c.findings = [finding("PARTIAL")]
        c.actions = [
            ActionRecord(
                time: 1, kind: "k", target: "t", key: "K", before: nil, after: nil, dryRun: true, outcome: "o",
                findingFingerprint: "f", runID: 987_654)
        ]
        c.checkpoints = ["pod/a/c": 5]
        XCTAssertThrowsError(try s.commit(c))
        XCTAssertEqual(try s.findings(limit: 5).count, 0, "no partial state")
        XCTAssertEqual(try s.checkpoints(), [:])
    }
}

final class RedactionTests: XCTestCase {
    func testPasswordsNeverShow() {
        XCTAssertEqual(redactPassword("postgresql://u:s3cret@db:5432/x"), "postgresql://u:***@db:5432/x")
        XCTAssertEqual(
            redactPassword("host=db user=u password=s3cret dbname=x"), "host=db user=u password=*** dbname=x")
        XCTAssertEqual(
            redactPassword("postgresql://u@db/x?password=s3cret&sslmode=require"),
            "postgresql://u@db/x?password=***&sslmode=require")
        XCTAssertEqual(redactPassword("postgresql:///x?host=/tmp"), "postgresql:///x?host=/tmp")
    }
}
