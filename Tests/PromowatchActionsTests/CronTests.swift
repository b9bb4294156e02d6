import XCTest
import PromowatchTestSupport
import Foundation
import PromowatchCore
import LogGenerator
@testable import PromowatchStore

/// `cron`, `history` and `rollback` through the binary, on the embedded store and, when the test
/// command started one, PostgreSQL.
final class CronTests: XCTestCase {
    var stateDir = ""
    override func setUp() { stateDir = NSTemporaryDirectory() + "pw-cron-\(UUID().uuidString)" }
    override func tearDown() { try? FileManager.default.removeItem(atPath: stateDir) }

    func promowatch(_ args: [String], input: String = "", env: [String: String] = [:]) throws -> Binary.Result {
        try Binary.run(args, stdin: Data(input.utf8), environment: ["HOME": stateDir].merging(env) { $1 })
    }

    /// One user applying one code again and again, from two pods (kubectl --prefix --timestamps),
    /// after `history` (below): a code is private, and so blockable for one reuser, only once it
    /// has been watched for an hour with a handful of accounts.
    func reuseLog(_ code: String, minute: Int = 0, user: String = "u-greedy") -> String {
        historyLine(code, user: user) + shop
            + (0..<12).map { k in
                let ts = String(format: "2026-11-20T10:%02d:%02dZ", minute, k * 4)
                return
                    "[pod/checkout-\(k % 2)/checkout] \(ts) {\"msg\":\"ApplyPromotion\",\"coupon\":\"\(code)\",\"user_id\":\"\(user)\",\"status\":\"applied\"}"
            }.joined(separator: "\n") + "\n"
    }

    /// The shop's other redemptions between the code's history and its reuse (pod checkout-0).
    let shop = ShopTraffic.redemptions(prefix: "[pod/checkout-0/checkout] ")

    /// The code's one earlier redemption, by the same account, 90 minutes before the reuse.
    func historyLine(_ code: String, user: String = "u-greedy") -> String {
        "[pod/checkout-0/checkout] 2026-11-20T08:30:00Z {\"msg\":\"ApplyPromotion\",\"coupon\":\"\(code)\",\"user_id\":\"\(user)\",\"status\":\"applied\"}\n"
    }

    func checkIdempotent(_ storeArgs: [String]) throws {
        let log = reuseLog("WELCOME10")
        let first = try promowatch(["cron", "--from", "-", "--format", "json"] + storeArgs, input: log)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("1 new findings, 1 actions recorded, 0 events already seen"), first.stderr)
        let second = try promowatch(["cron", "--from", "-", "--format", "json"] + storeArgs, input: log)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(
            second.stderr.contains("0 new findings, 0 actions recorded, 313 events already seen"), second.stderr)
        let history = try promowatch(["history", "--format", "json"] + storeArgs)
        XCTAssertEqual(history.stdout.components(separatedBy: "\"finding\"").count - 1, 1)
        XCTAssertEqual(history.stdout.components(separatedBy: "\"action\"").count - 1, 1)
        XCTAssertTrue(history.stdout.contains("dry_run: would add WELCOME10"), history.stdout)
        let text = try promowatch(["history", "--format", "text"] + storeArgs)
        XCTAssertTrue(
            text.stdout.hasPrefix("incidents (newest first)"), "the subcommand's --format is its own: \(text.stdout)")
        // the finding's incident is stored once, and the finding names it
        XCTAssertEqual(
            history.stdout.components(separatedBy: "{\"incident\": {\"id\": \"inc-").count - 1, 1, history.stdout)
        XCTAssertTrue(history.stdout.contains("\"root\": \"coupon_reuse\""), history.stdout)
        XCTAssertTrue(history.stdout.contains("\"incident\": \"inc-"), "the finding's incident: \(history.stdout)")
    }

    func testCronTwiceRecordsOnceEmbedded() throws {
        try checkIdempotent(["--state-dir", stateDir])
    }

    func testCronTwiceRecordsOncePostgres() throws {
        try checkIdempotent(["--database-url", try PostgresStore.freshTestSchema("c").scoped])
    }

    /// PostgreSQL unreachable: a clear error without the password, nothing half-written, and the
    /// next run (server reachable) succeeds. (Stopped in the middle of a run: below.)
    func testPostgresUnreachableIsAClearErrorAndTheNextRunSucceeds() throws {
        let (url, scoped, _) = try PostgresStore.freshTestSchema("d")
        let nowhere = NSTemporaryDirectory() + "pw-no-server-\(UUID().uuidString)"
        let unreachable = scoped.replacingOccurrences(of: "host=", with: "host=\(nowhere)&ignored=")
        let down = try promowatch(["cron", "--from", "-", "--database-url", unreachable], input: reuseLog("DOWN1"))
        XCTAssertNotEqual(down.status, 0)
        XCTAssertTrue(down.stderr.contains("cannot connect to PostgreSQL"), down.stderr)
        XCTAssertFalse(down.stderr.contains("pw-test-secret"), "no password in errors")
        let store = try PostgresStore(conninfo: scoped)
        try store.migrate()
        XCTAssertEqual(try store.findings(limit: 10).count, 0, "nothing half-written")
        let up = try promowatch(["cron", "--from", "-", "--database-url", scoped], input: reuseLog("DOWN1"))
        XCTAssertEqual(up.status, 0, up.stderr)
        XCTAssertEqual(try store.findings(limit: 10).count, 1)
    }

    /// A generated day with its incidents, read by `cron` every two hours (one process each, the
    /// history carried by the stored detector snapshot) records the same findings as one
    /// `analyze` over the whole day, the leaked codes that need a warm-up and first-seen
    /// accounts included; the hour-of-day baseline rows are stored.
    func checkSlicedDay(_ storeArgs: [String], store: StateStore) throws {
        var sg = ScenarioGenerator(config: ScenarioConfig())
        var records: [Record] = []
        sg.generate { records.append($0) }
        let renderer = Renderer(format: .json, framing: .prefixTimestamps)
        var rng = SplitMix64(seed: 5)
        var slices = [[UInt8]](repeating: [], count: 12)
        var whole: [UInt8] = []
        for r in records {
            let k = min(11, Int((r.time - records[0].time) / (7200 * 1_000_000_000)))
            var line: [UInt8] = []
            renderer.render(r, rng: &rng, into: &line)
            slices[k] += line
            whole += line
        }
        let dir = stateDir + "-slices"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(whole).write(to: URL(fileURLWithPath: dir + "/day.log"))
        for (i, slice) in slices.enumerated() {
            let path = dir + "/slice-\(i).log"
            try Data(slice).write(to: URL(fileURLWithPath: path))
            let r = try promowatch(["cron", "--from", path, "--format", "json"] + storeArgs)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertFalse(r.stderr.contains("starting without history"), r.stderr)
        }
        func fingerprints(_ json: String) -> Set<String> {
            Set(
                json.split(separator: "\n").compactMap { line -> String? in
                    guard let r = line.range(of: "\"fingerprint\": \"") else { return nil }
                    return String(line[r.upperBound...].prefix { $0 != "\"" })
                })
        }
        let analyzed = try promowatch(["analyze", "--format", "json", dir + "/day.log"])
        let expected = fingerprints(analyzed.stdout)
        XCTAssertGreaterThanOrEqual(expected.count, 10)
        XCTAssertTrue(expected.contains { $0.hasPrefix("coupon_abuse|") }, "the day has a leaked code")
        let recorded = fingerprints(
            try promowatch(["history", "--format", "json", "--limit", "1000"] + storeArgs).stdout)
        XCTAssertEqual(recorded, expected)
        let rows = try store.baselines(limit: 100_000)
        XCTAssertTrue(
            rows.contains { $0.scope == "provider_failures" && $0.name == "stripe" && $0.traffic > 0 },
            "\(rows.prefix(5))")
        XCTAssertTrue(rows.contains { $0.scope == "coupon_redemptions" && $0.count > 0 })
        XCTAssertNotNil(try store.detectorState("cron"))
    }

    func testADayInTwoHourRunsEqualsOneAnalyzeEmbedded() throws {
        try checkSlicedDay(["--state-dir", stateDir], store: try EmbeddedStore(directory: stateDir))
    }

    func testADayInTwoHourRunsEqualsOneAnalyzePostgres() throws {
        let (url, scoped, _) = try PostgresStore.freshTestSchema("s")
        let store = try PostgresStore(conninfo: scoped)
        try store.migrate()
        try checkSlicedDay(["--database-url", scoped], store: store)
    }

    func testOverlappingRunExitsCleanly() throws {
        let held = try EmbeddedStore(directory: stateDir)
        XCTAssertTrue(try held.tryLock("promowatch-cron"))
        let r = try promowatch(["cron", "--from", "-", "--state-dir", stateDir], input: reuseLog("X1"))
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("another run holds the lock"), r.stdout)
        try held.unlock("promowatch-cron")
    }

    func testPodLogsThroughTheAPIFromTheCheckpoint() throws {
        func lines(_ code: String, minute: Int, count: Int) -> [String] {
            (0..<count).map { k in
                String(format: "2026-11-20T10:%02d:%02d.%09dZ ", minute, k * 4, 5_000 + k)
                    + "{\"msg\":\"ApplyPromotion\",\"coupon\":\"\(code)\",\"user_id\":\"u-\(code)\",\"status\":\"applied\"}"
            }
        }
        let pods: [[String: Any]] =
            (1...2).map { i in
                [
                    "metadata": ["name": "checkout-\(i)", "namespace": "microservices", "labels": ["app": "checkout"]],
                    "spec": ["containers": [["name": "checkout"]]],
                ]
            } + [
                [
                    "metadata": ["name": "other", "namespace": "microservices", "labels": ["app": "cart"]],
                    "spec": ["containers": [["name": "cart"]]],
                ]
            ]
        let s = try FakeAPIServer(
            configMap: ["BLACKLISTED_COUPONS": ""],
            extraState: [
                "pods": pods,
                "logs": [
                    "microservices/checkout-1/checkout": lines("REUSEA", minute: 0, count: 10),
                    "microservices/checkout-2/checkout": lines("REUSEB", minute: 1, count: 3),
                    "microservices/other/cart": lines("NOTMINE", minute: 0, count: 10),
                ],
            ])
        let env = ["KUBECONFIG": try RemediationEndToEndTests.kubeconfig(s)]
        let first = try promowatch(["cron", "--state-dir", stateDir, "--format", "json"], env: env)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("REUSEA"), first.stdout)
        XCTAssertFalse(first.stdout.contains("NOTMINE"), "only pods matching the selector")
        XCTAssertTrue(first.stderr.contains("1 new findings"), first.stderr)
        let cps = try EmbeddedStore(directory: stateDir).checkpoints()
        XCTAssertEqual(Set(cps.keys), ["pod/checkout-1/checkout", "pod/checkout-2/checkout"])
        // more lines for checkout-2 (now enough for its own finding); checkout-1 unchanged
        try s.control(["logs": ["microservices/checkout-2/checkout": lines("REUSEB", minute: 1, count: 12)]])
        let second = try promowatch(["cron", "--state-dir", stateDir, "--format", "json"], env: env)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stdout.contains("REUSEB"), second.stdout)
        XCTAssertTrue(second.stderr.contains("1 new findings"), second.stderr)
        // the API was asked from one second before each checkpoint, in whole seconds
        let logCalls = (try s.control()["requests"] as! [[String: Any]]).compactMap { $0["query"] as? String }.filter {
            $0.contains("sinceTime")
        }
        XCTAssertTrue(logCalls.contains { $0.contains("sinceTime=2026-11-20T10%3A00%3A35Z") }, "\(logCalls)")
        XCTAssertTrue(logCalls.allSatisfy { $0.contains("timestamps=true") })
    }

    /// Three codes each reused by one user, in the kill and server-stop tests.
    func threeCodesLog() throws -> (codes: [String], file: String) {
        let codes = ["KILLA", "KILLB", "KILLC"]
        // every code's history first, so each pod's lines stay in time order
        let history = codes.map { historyLine($0, user: "u-\($0)") }.joined()
        let log =
            history + shop
            + codes.enumerated().map { i, code in
                reuseLog(code, minute: i * 2, user: "u-\(code)").replacingOccurrences(
                    of: historyLine(code, user: "u-\(code)") + shop, with: "")
            }.joined()
        let logFile = NSTemporaryDirectory() + "pw-kill-\(UUID().uuidString).log"
        try log.write(toFile: logFile, atomically: true, encoding: .utf8)
        return (codes, logFile)
    }

    /// After the interrupted run and its rerun: each code blacklisted once, one applied audit row
    /// each, nothing pending, checkpoints not ahead of the input; a third run changes nothing.
    func checkExactlyOnce(
        _ codes: [String], _ s: FakeAPIServer, _ store: StateStore, _ args: [String], _ env: [String: String],
        _ label: String
    ) throws {
        let list = (try s.data()["BLACKLISTED_COUPONS"] ?? "").split(separator: ",").map(String.init)
        XCTAssertEqual(list.sorted(), (["OLD"] + codes).sorted(), "\(label): each code exactly once")
        let actions = try store.actions(limit: 100).filter { $0.kind == "blacklist_coupon" }
        XCTAssertEqual(
            actions.map(\.target).sorted(), codes,
            "\(label): one audit row per action: \(actions.map { "\($0.target) \($0.outcome)" })")
        XCTAssertTrue(actions.allSatisfy { $0.outcome.hasPrefix("applied") }, "\(label): \(actions.map(\.outcome))")
        let newest = Int64(1_795_168_800 + 4 * 60 + 44) * 1_000_000_000  // 10:04:44, the last line
        XCTAssertTrue(try store.checkpoints().values.allSatisfy { $0 <= newest }, "\(label): checkpoints never ahead")
        let again = try promowatch(args, env: env)
        XCTAssertTrue(again.stderr.contains("0 new findings, 0 actions recorded"), again.stderr)
    }

    /// kill -9 at random points, then a rerun: every action recorded exactly once, applied once,
    /// nothing left pending, checkpoints never ahead of the input. `storeFor(round)` gives the
    /// store arguments and a handle on that store.
    func killLoop(rounds: Int, _ storeFor: (Int) throws -> (args: [String], store: () throws -> StateStore)) throws {
        let (codes, logFile) = try threeCodesLog()
        defer { try? FileManager.default.removeItem(atPath: logFile) }
        var generator = SeededRandom.forTest("killLoop")
        for round in 0..<rounds {
            let (storeArgs, store) = try storeFor(round)
            let s = try FakeAPIServer(configMap: ["BLACKLISTED_COUPONS": "OLD"])
            try s.control(["slow_ms": 120])
            let env = ["KUBECONFIG": try RemediationEndToEndTests.kubeconfig(s), "HOME": stateDir]
            let args = ["cron", "--from", logFile, "--apply", "--format", "json"] + storeArgs
            // a run killed at a random moment
            let p = try Binary.start(args, environment: env)
            Thread.sleep(forTimeInterval: Double.random(in: 0.05...1.6, using: &generator))
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            // the rerun finishes the job
            let r = try promowatch(args, env: env)
            XCTAssertEqual(r.status, 0, "round \(round): \(r.stderr)")
            try checkExactlyOnce(codes, s, try store(), args, env, "round \(round)")
        }
    }

    /// Every change leaves a Kubernetes Event on the object it changed: the real `kubectl describe
    /// configmap` (run against the test API server) shows what promowatch did, why and the audit
    /// id to roll it back.
    func testKubectlDescribeShowsWhoChangedTheConfigMapAndWhy() throws {
        let (codes, logFile) = try threeCodesLog()
        defer { try? FileManager.default.removeItem(atPath: logFile) }
        let s = try FakeAPIServer(configMap: ["BLACKLISTED_COUPONS": "OLD"])
        let kubeconfig = try RemediationEndToEndTests.kubeconfig(s)
        let r = try promowatch(
            ["cron", "--from", logFile, "--apply", "--format", "json", "--state-dir", stateDir],
            env: ["KUBECONFIG": kubeconfig])
        XCTAssertEqual(r.status, 0, r.stderr)
        let ids = try EmbeddedStore(directory: stateDir).actions(limit: 10).filter { $0.kind == "blacklist_coupon" }
            .map(\.id)
        XCTAssertEqual(ids.count, codes.count)
        let (status, out, err) = try KubectlOracleTests.kubectl([
            "--kubeconfig", kubeconfig, "-n", "microservices", "describe", "configmap", "checkout-config",
        ])
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(out.contains("Events:"), out)
        for (code, id) in zip(codes, ids.sorted()) {
            XCTAssertTrue(out.contains("PromowatchBlacklistCoupon"), out)
            XCTAssertTrue(out.contains("blacklist_coupon \(code)"), "\(code) in: \(out)")
            XCTAssertTrue(out.contains("audit #\(id)"), "#\(id) in: \(out)")
        }
    }

    func testKilledRunsNeitherLoseNorRepeatActionsEmbedded() throws {
        try killLoop(rounds: 5) { round in
            let dir = stateDir + "-\(round)"
            return (["--state-dir", dir], { try EmbeddedStore(directory: dir) })
        }
    }

    func testKilledRunsNeitherLoseNorRepeatActionsPostgres() throws {
        try killLoop(rounds: 5) { _ in
            let scoped = try PostgresStore.freshTestSchema("k").scoped
            return (["--database-url", scoped], { try PostgresStore(conninfo: scoped) })
        }
    }

    /// PostgreSQL stops while `cron` is acting: a clear error (no password, no crash), nothing
    /// committed for the run; once the server is back the next run finishes the job, each action
    /// exactly once. Runs its own server (started and stopped by the test).
    func testPostgresStoppedMidRunThenTheNextRunSucceeds() throws {
        let (url, pgdir) = try startOwnPostgres()
        defer { try? pgServer(["stop", pgdir]) }
        let (codes, logFile) = try threeCodesLog()
        defer { try? FileManager.default.removeItem(atPath: logFile) }
        let s = try FakeAPIServer(configMap: ["BLACKLISTED_COUPONS": "OLD"])
        try s.control(["slow_ms": 400])
        let env = ["KUBECONFIG": try RemediationEndToEndTests.kubeconfig(s), "HOME": stateDir]
        let args = ["cron", "--from", logFile, "--apply", "--format", "json", "--database-url", url]
        let errFile = NSTemporaryDirectory() + "pw-stopped-\(UUID().uuidString).err"
        FileManager.default.createFile(atPath: errFile, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errFile) }
        let p = try Binary.start(
            args, environment: env, stderr: try FileHandle(forWritingTo: URL(fileURLWithPath: errFile)))
        // the moment the first ConfigMap write arrives, the database goes away
        let deadline = Date().addingTimeInterval(30)
        func patched() throws -> Bool {
            (try s.control()["requests"] as? [[String: Any]] ?? []).contains { $0["verb"] as? String == "PATCH" }
        }
        while try !patched() && Date() < deadline && p.isRunning { Thread.sleep(forTimeInterval: 0.02) }
        try pgServer(["halt", pgdir])
        p.waitUntilExit()
        let err = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
        XCTAssertEqual(p.terminationReason, .exit, "an error, not a crash: \(err)")
        XCTAssertNotEqual(p.terminationStatus, 0, err)
        XCTAssertTrue(err.contains("PostgreSQL"), err)
        XCTAssertFalse(err.contains("pw-test-secret"), "no password in errors")
        try pgServer(["resume", pgdir])
        let store = try PostgresStore(conninfo: url)
        XCTAssertEqual(try store.findings(limit: 10).count, 0, "the interrupted run committed nothing")
        XCTAssertEqual(try store.checkpoints(), [:])
        let r = try promowatch(args, env: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        try checkExactlyOnce(codes, s, store, args, env, "after the restart")
    }

    /// libpq's own settings: the PG* environment variables fill what the URI leaves out, sslmode
    /// is accepted (the test server listens on a Unix socket, where TLS does not apply), and a
    /// wrong PGPASSWORD is a clear error that does not show it.
    func testPGEnvironmentVariablesAndSSLMode() throws {
        let (_, scopedURL, schema) = try PostgresStore.freshTestSchema("e")
        let dir = try XCTUnwrap(ProcessInfo.processInfo.environment["PROMOWATCH_TEST_PGDIR"])
        let pg = [
            "PGHOST": dir, "PGUSER": "promowatch", "PGDATABASE": "promowatch", "PGPASSWORD": "pw-test-secret",
            "PGOPTIONS": "-csearch_path=\(schema)",
        ]
        for conninfo in ["postgresql://?sslmode=disable", "sslmode=prefer", "postgresql://?sslmode=require"] {
            let r = try promowatch(
                ["cron", "--from", "-"], input: reuseLog("ENVCODE"),
                env: pg.merging(["PROMOWATCH_DATABASE_URL": conninfo]) { $1 })
            XCTAssertEqual(r.status, 0, "\(conninfo): \(r.stderr)")
        }
        let scoped = try PostgresStore(conninfo: scopedURL)
        XCTAssertEqual(
            try scoped.findings(limit: 10).map(\.subject), ["coupon=ENVCODE user=u-greedy"],
            "recorded once, in the schema PGOPTIONS chose")
        let bad = try promowatch(
            ["history"],
            env: pg.merging(["PROMOWATCH_DATABASE_URL": "sslmode=disable", "PGPASSWORD": "wrong-env-secret-9"]) { $1 })
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("password authentication failed"), bad.stderr)
        XCTAssertFalse(bad.stderr.contains("wrong-env-secret-9"), bad.stderr)
    }

    /// A provider switched off by one run stays held off in the next: a later outage of the other
    /// provider must not switch it back on.
    func testProviderHoldSpansRuns() throws {
        let s = try FakeAPIServer(configMap: ["ENABLE_STRIPE": "true", "ENABLE_PAYPAL": "true"])
        let env = ["KUBECONFIG": try RemediationEndToEndTests.kubeconfig(s)]
        // five minutes of failures beside a healthy provider: long enough to confirm a switch
        func outage(_ failing: String, _ healthy: String, minute: Int) -> String {
            (0..<120).map { k -> String in
                let ts = String(format: "2026-11-20T11:%02d:%02dZ", minute + k / 24, (k % 24) * 2)
                let provider = k % 2 == 0 ? failing : healthy
                let msg =
                    k % 2 == 0
                    ? "payment authorization failed\",\"error_code\":\"gateway_unavailable" : "payment captured"
                return "{\"ts\":\"\(ts)\",\"msg\":\"\(msg)\",\"provider\":\"\(provider)\",\"amount\":20}"
            }.joined(separator: "\n") + "\n"
        }
        let first = try promowatch(
            ["cron", "--from", "-", "--apply", "--state-dir", stateDir, "--format", "json"],
            input: outage("stripe", "paypal", minute: 0), env: env)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(try s.data(), ["ENABLE_STRIPE": "false", "ENABLE_PAYPAL": "true"], first.stdout)
        // 20 minutes later (inside the 60-minute hold) paypal fails; stripe must stay off
        let second = try promowatch(
            ["cron", "--from", "-", "--apply", "--state-dir", stateDir, "--format", "json"],
            input: outage("paypal", "stripe", minute: 20), env: env)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(try s.data(), ["ENABLE_STRIPE": "false", "ENABLE_PAYPAL": "true"], second.stdout)
        XCTAssertTrue(second.stdout.contains("skipped:"), second.stdout)
    }

    /// One circuit breaker across cron runs: switched off in one run, enabled on trial in the
    /// next, failing again within the verify time in a third: held off twice as long, however
    /// many runs it takes. (Each run used to rebuild an open breaker with the default hold and
    /// forgot a trial, so the backoff restarted with every run.)
    func testBreakerBackoffSpansRuns() throws {
        let s = try FakeAPIServer(configMap: ["ENABLE_STRIPE": "true", "ENABLE_PAYPAL": "true"])
        let env = ["KUBECONFIG": try RemediationEndToEndTests.kubeconfig(s)]
        func line(_ h: Int, _ m: Int, _ sec: Int, _ provider: String, failed: Bool) -> String {
            let ts = String(format: "2026-11-20T%02d:%02d:%02dZ", h, m, sec)
            let msg =
                failed ? "payment authorization failed\",\"error_code\":\"gateway_unavailable" : "payment captured"
            return "{\"ts\":\"\(ts)\",\"msg\":\"\(msg)\",\"provider\":\"\(provider)\",\"amount\":20}"
        }
        // five minutes of stripe failing beside a healthy paypal, from h:m (switched after four)
        func outage(_ h: Int, _ m: Int) -> String {
            (0..<120).map { k in
                line(h, m + k / 24, (k % 24) * 2, k % 2 == 0 ? "stripe" : "paypal", failed: k % 2 == 0)
            }.joined(separator: "\n") + "\n"
        }
        func quiet(_ h: Int, _ m: Int) -> String {
            (0..<6).map { line(h, m, $0 * 10, "paypal", failed: false) }.joined(separator: "\n") + "\n"
        }
        func cron(_ input: String) throws -> [String: String] {
            let r = try promowatch(
                ["cron", "--from", "-", "--apply", "--state-dir", stateDir, "--format", "json"], input: input, env: env)
            XCTAssertEqual(r.status, 0, r.stderr)
            return try s.data()
        }
        XCTAssertEqual(try cron(outage(11, 0))["ENABLE_STRIPE"], "false", "switched off, held 60 min")
        XCTAssertEqual(try cron(quiet(12, 6))["ENABLE_STRIPE"], "true", "the next run: on trial after the hold")
        XCTAssertEqual(try cron(outage(12, 7))["ENABLE_STRIPE"], "false", "failed its trial: off again")
        XCTAssertEqual(try cron(quiet(13, 30))["ENABLE_STRIPE"], "false", "80 min later: held twice as long")
        XCTAssertEqual(try cron(quiet(14, 15))["ENABLE_STRIPE"], "true", "after 120 min: the next trial")
    }

    /// An incident open at the end of one cron run continues in the next under its id: the
    /// database saturating five minutes after a provider outage is the same checkout incident,
    /// not a new one per run.
    func testAnIncidentSpansCronRuns() throws {
        let outage =
            (0..<72).map { k -> String in
                let ts = String(format: "2026-11-20T11:%02d:%02dZ", k / 24, (k % 24) * 2)
                return k % 2 == 0
                    ? "{\"ts\":\"\(ts)\",\"msg\":\"payment authorization failed\",\"error_code\":\"gateway_unavailable\",\"provider\":\"stripe\"}"
                    : "{\"ts\":\"\(ts)\",\"msg\":\"payment captured\",\"provider\":\"paypal\",\"amount\":20}"
            }.joined(separator: "\n") + "\n"
        let args = ["cron", "--from", "-", "--state-dir", stateDir, "--format", "json"]
        let first = try promowatch(args, input: outage)
        XCTAssertEqual(first.status, 0, first.stderr)
        let opened = try XCTUnwrap(
            first.stdout.split(separator: "\n").first { $0.contains("\"state\": \"opened\"") })
        let id = try XCTUnwrap(
            opened.range(of: "inc-[0-9a-f]+", options: .regularExpression).map { String(opened[$0]) })
        let saturated =
            (0..<3).map {
                "{\"ts\":\"2026-11-20T11:08:0\($0)Z\",\"level\":\"error\",\"msg\":\"pq: sorry, too many clients already\"}"
            }.joined(separator: "\n") + "\n"
        let second = try promowatch(args, input: saturated)
        XCTAssertEqual(second.status, 0, second.stderr)
        let joined = try XCTUnwrap(second.stdout.split(separator: "\n").first { $0.contains("\"db_saturation\"") })
        let continued = "\"incident\": {\"id\": \"\(id)\", \"state\": \"updated\", "
        XCTAssertTrue(joined.contains(continued + "\"root\": \"payment_provider_failure\"}"), String(joined))
        let history = try promowatch(["history", "--state-dir", stateDir, "--format", "json"])
        XCTAssertEqual(history.stdout.components(separatedBy: "\"id\": \"inc-").count - 1, 1, history.stdout)
    }

    func checkApplyAuditAndRollback(_ storeArgs: [String], _ store: StateStore) throws {
        let s = try FakeAPIServer(configMap: ["BLACKLISTED_COUPONS": "OLD"])
        let kc = try RemediationEndToEndTests.kubeconfig(s)
        let env = ["KUBECONFIG": kc]
        let r = try promowatch(
            ["cron", "--from", "-", "--apply", "--format", "json"] + storeArgs, input: reuseLog("GREEDY1"), env: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try s.data()["BLACKLISTED_COUPONS"], "OLD,GREEDY1")
        let action = try XCTUnwrap(try store.actions(limit: 5).first)
        XCTAssertEqual(action.before, "OLD")
        XCTAssertEqual(action.after, "OLD,GREEDY1")
        XCTAssertFalse(action.dryRun)
        XCTAssertTrue(action.actor.hasPrefix("cron@"), action.actor)
        // dry run first, then restore
        let dry = try promowatch(["rollback", String(action.id)] + storeArgs, env: env)
        XCTAssertTrue(dry.stdout.contains("dry run: would restore BLACKLISTED_COUPONS to OLD"), dry.stdout + dry.stderr)
        XCTAssertEqual(try s.data()["BLACKLISTED_COUPONS"], "OLD,GREEDY1")
        let ok = try promowatch(["rollback", String(action.id), "--apply"] + storeArgs, env: env)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertEqual(try s.data()["BLACKLISTED_COUPONS"], "OLD")
        XCTAssertTrue(
            try store.actions(limit: 5).contains { $0.kind == "rollback" && $0.actor.hasPrefix("rollback@") },
            "the rollback is audited")
        // the key no longer holds the audited value: refuse
        let again = try promowatch(["rollback", String(action.id), "--apply"] + storeArgs, env: env)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("changed since action #\(action.id)"), again.stderr)
        XCTAssertEqual(try s.data()["BLACKLISTED_COUPONS"], "OLD")
    }

    func testApplyAuditAndRollbackEmbedded() throws {
        try checkApplyAuditAndRollback(["--state-dir", stateDir], try EmbeddedStore(directory: stateDir))
    }

    func testApplyAuditAndRollbackPostgres() throws {
        let scoped = try PostgresStore.freshTestSchema("r").scoped
        let store = try PostgresStore(conninfo: scoped)
        try store.migrate()
        try checkApplyAuditAndRollback(["--database-url", scoped], store)
    }
}

extension PostgresStore {
    /// Test helper: a fresh schema on the server scripts/test.sh started (skips without one);
    /// `scoped` is the URL that works in it (search_path through libpq's options).
    static func freshTestSchema(_ prefix: String) throws -> (url: String, scoped: String, schema: String) {
        let url = try TestDependency.databaseURL()
        let schema = prefix + "_" + UUID().uuidString.prefix(8).lowercased()
        try PostgresStore(conninfo: url).exec("CREATE SCHEMA \(schema)")
        return (url, url + "&options=-csearch_path%3D\(schema)", schema)
    }
}
