import Foundation
import LogGenerator
import PromowatchCore
import PromowatchPostgres
import PromowatchTestSupport
import XCTest

/// A labelled stretch of a shop drawn from a fresh seed (`RunbookDay`, printed; replay with
/// `PROMOWATCH_TEST_SEED`): an ordinary rollout, a database saturation by one service's leaked
/// connections soon after it, a bad rollout followed by latency. Read by `cron --apply` with every
/// runbook action enabled, against a real PostgreSQL holding the leak and the test API server
/// holding the rollouts: each incident found, diagnosed and acted on as labelled, no action a
/// label calls wrong, the ordinary rollout never undone.
final class RunbookDayTests: XCTestCase {
    var dir = ""
    var held: [PGConnection] = []
    var sleepers: [Process] = []
    let work = NSTemporaryDirectory() + "pw-runbook-day-\(UUID().uuidString)"

    override func tearDown() {
        for p in sleepers where p.isRunning { kill(p.processIdentifier, SIGTERM) }
        for p in sleepers { p.waitUntilExit() }
        held = []
        if !dir.isEmpty { _ = try? pgServer(["stop", dir]) }
        try? FileManager.default.removeItem(atPath: work)
    }

    func testALabelledDayIsFoundDiagnosedAndActedOnAsLabelled() throws {
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        var random = SeededRandom.forTest("runbookDay")
        let end = Int64(Date().timeIntervalSince1970 - 60) * EventTime.nanosPerSecond
        var day = RunbookDay(seed: random.next(), end: end)
        print("runbook day parameters: \(day.parameters)")

        // the log, payloads and framings mixed line by line
        let renderers = [
            Renderer(format: .json, framing: .plain), Renderer(format: .logfmt, framing: .prefixTimestamps),
            Renderer(format: .kratos, framing: .cri), Renderer(format: .json, framing: .docker),
        ]
        var bytes: [UInt8] = []
        var pick = SplitMix64(seed: day.seed)
        day.generate { r in _ = renderers[pick.int(renderers.count)].render(r, rng: &pick, into: &bytes) }
        let log = work + "/day.log"
        try Data(bytes).write(to: URL(fileURLWithPath: log))

        // the database: the leaking service's idle and busy connections, and another service's
        dir = try startOwnPostgres().dir
        let su = try PGConnection(conninfo: "host=\(dir) dbname=postgres user=postgres")
        for sql in [
            "CREATE ROLE app_leaky LOGIN PASSWORD 'l-pw'", "CREATE ROLE app_checkout LOGIN PASSWORD 'c-pw'",
            "CREATE ROLE diag LOGIN PASSWORD 'd-pw'", "GRANT pg_monitor, pg_signal_backend TO diag",
        ] {
            try su.exec(sql)
        }
        let leaky = day.leakingApplication
        func connect(_ user: String, _ pw: String, _ app: String) throws -> PGConnection {
            try PGConnection(
                conninfo: "host=\(dir) dbname=postgres user=\(user) password=\(pw) application_name=\(app)")
        }
        for _ in 0..<8 { held.append(try connect("app_leaky", "l-pw", leaky)) }
        for _ in 0..<3 { held.append(try connect("app_checkout", "c-pw", "checkout")) }
        for _ in 0..<2 {
            let p = Process()
            p.executableURL = URL(
                fileURLWithPath: (ProcessInfo.processInfo.environment["PROMOWATCH_TEST_PGBIN"] ?? "/usr/bin") + "/psql")
            p.arguments = ["-h", dir, "-U", "app_leaky", "-d", "postgres", "-qAt", "-c", "SELECT pg_sleep(60)"]
            p.environment = ["PGPASSWORD": "l-pw", "PGAPPNAME": leaky]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            sleepers.append(p)
        }
        Thread.sleep(forTimeInterval: 2.5)
        func clients() throws -> [Int: String] {
            var out: [Int: String] = [:]
            for r in try su.exec(
                "SELECT pid, coalesce(state, ''), application_name FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
            ) { out[Int(r[0]!)!] = "\(r[1]!)/\(r[2]!)" }
            return out
        }
        let before = try clients()
        let leakedIdle = Set(before.filter { $0.value == "idle/\(leaky)" }.keys)
        XCTAssertEqual(leakedIdle.count, 8)

        // the cluster: the checkout's three revisions, running the bad one, and its pods
        func template(_ image: String, hash: String?) -> [String: Any] {
            var labels = ["app": "checkout"]
            if let h = hash { labels["pod-template-hash"] = h }
            return ["metadata": ["labels": labels], "spec": ["containers": [["name": "checkout", "image": image]]]]
        }
        let rs: [[String: Any]] = day.rollouts.map { r in
            [
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": [
                    "name": "checkout-r\(r.revision)", "namespace": "microservices", "uid": "rs-\(r.revision)",
                    "labels": ["app": "checkout", "pod-template-hash": "h\(r.revision)"],
                    "annotations": ["deployment.kubernetes.io/revision": String(r.revision)],
                    "creationTimestamp": EventTime.rfc3339(r.at),
                    "ownerReferences": [
                        [
                            "apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout", "uid": "dep-1",
                            "controller": true,
                        ]
                    ],
                ],
                "spec": ["template": template(r.image, hash: "h\(r.revision)")],
            ]
        }
        let current = try XCTUnwrap(day.rollouts.last)
        let server = try FakeAPIServer(
            configMap: ["BLACKLISTED_COUPONS": ""],
            extraState: [
                "replicasets": rs,
                "pods": ["a", "b"].map {
                    [
                        "metadata": [
                            "name": "checkout-\($0)", "namespace": "microservices", "labels": ["app": "checkout"],
                        ],
                        "spec": ["containers": [["name": "checkout"]]],
                        "status": ["phase": "Running", "conditions": [["type": "Ready", "status": "True"]]],
                    ]
                },
                "deployments": [
                    "microservices/checkout": [
                        "apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": [
                            "name": "checkout", "namespace": "microservices", "uid": "dep-1", "resourceVersion": "9",
                        ],
                        "spec": [
                            "replicas": 2, "selector": ["matchLabels": ["app": "checkout"]],
                            "template": template(current.image, hash: nil),
                        ],
                    ]
                ],
            ])

        let config = work + "/runbook.yaml"
        try """
        diagnostics:
          postgres: "host=\(dir) dbname=postgres user=diag password=d-pw"
          max_age_seconds: 14400
        actions:
          idle_connection_seconds: 2
        decision:
          modes:
            terminate_idle_connections: enforce
            scale_deployment: enforce
            rollout_undo: enforce
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let r = try Binary.run(
            ["cron", "--from", log, "--apply", "--config", config, "--format", "json", "--state-dir", work + "/state"],
            environment: ["KUBECONFIG": try RemediationEndToEndTests.kubeconfig(server), "HOME": work])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let findings = out.filter { $0["category"] != nil }
        // every action taken or proposed, with the time of its finding
        var actions: [(time: Int64, what: String, outcome: String)] = []
        for f in findings {
            guard let a = f["action"] as? [String: Any], let t = (f["time"] as? String).flatMap(EventTime.parseRFC3339)
            else { continue }
            actions.append((t, "\(a["kind"]!):\(a["target"]!)", a["outcome"] as? String ?? ""))
        }
        func matches(_ what: String, _ pattern: String) -> Bool {
            pattern.hasSuffix(":*") ? what.hasPrefix(String(pattern.dropLast())) : what == pattern
        }
        for l in day.labels {
            if let c = l.category {
                let hit = findings.first {
                    guard $0["category"] as? String == c.rawValue,
                        let t = ($0["time"] as? String).flatMap(EventTime.parseRFC3339)
                    else { return false }
                    return t >= l.start && t <= l.start + Int64(l.findWithinSeconds) * EventTime.nanosPerSecond
                }
                XCTAssertNotNil(hit, "\(l.name) not found in time: \(r.stdout)")
            }
            if let right = l.rightAction {
                XCTAssertTrue(
                    actions.contains { $0.what == right && $0.outcome.hasPrefix("applied") },
                    "\(l.name): \(right) not applied: \(actions)")
            }
            for a in actions where a.time >= l.start && a.time < l.end {
                for w in l.wrongActions { XCTAssertFalse(matches(a.what, w), "\(l.name): wrong action \(a.what)") }
            }
        }
        // nothing acted outside the labels' right actions
        let rights = Set(day.labels.compactMap(\.rightAction))
        for a in actions where a.outcome.hasPrefix("applied") {
            XCTAssertTrue(rights.contains(a.what), "an action no label calls for: \(a.what)")
        }
        // the database: exactly the leak's idle connections ended; the deployment: revision 2's template
        let saturation = try XCTUnwrap(findings.first { $0["category"] as? String == "db_saturation" })
        XCTAssertEqual(
            ((saturation["diagnosis"] as? [String: Any])?["database"] as? [String: Any])?["culprit"] as? String, leaky)
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(Set(try clients().keys), Set(before.keys).subtracting(leakedIdle))
        let deployed =
            (((try server.control()["deployments"] as! [String: Any])["microservices/checkout"] as! [String: Any])[
                "spec"]
            as! [String: Any])["template"] as! [String: Any]
        let containers = (deployed["spec"] as! [String: Any])["containers"] as! [[String: Any]]
        XCTAssertEqual(
            containers.first?["image"] as? String, day.rollouts[1].image, "back to the ordinary revision, no further")
    }
}
