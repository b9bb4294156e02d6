import Foundation
import PromowatchCore
import PromowatchTestSupport
import XCTest

/// Runbook scenario 1 (high latency) against the test API server (no real API server can run
/// here): the pods are read into the finding; `scale_deployment` raises replicas through the
/// scale subresource by a step within the cap, conditionally (a 409 is retried), never when the
/// pods crash-loop; a denial names the missing rule; verify after acting says whether latency
/// came down; `rollback` scales back.
final class ScaleDeploymentTests: XCTestCase {
    let dir = NSTemporaryDirectory() + "pw-scale-\(UUID().uuidString)"

    override func setUpWithError() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// 40 minutes ending a minute ago: 120 requests a minute at 40-80 ms, slow (2.5 s) from
    /// minute 20 until `slowUntil`.
    func latencyLog(slowUntil: Int) throws -> String {
        let start = (Int64(Date().timeIntervalSince1970) / 60 - 41) * 60
        var lines: [String] = []
        var g = SeededRandom.forTest("latency")
        for m in 0..<40 {
            for k in 0..<120 {
                let t = (start + Int64(m * 60)) * EventTime.nanosPerSecond + Int64(k) * 500_000_000
                let slow = m >= 20 && m < slowUntil
                let ms = slow ? 2500 + Int.random(in: 0..<400, using: &g) : 40 + Int.random(in: 0..<40, using: &g)
                lines.append(
                    "{\"ts\":\"\(EventTime.rfc3339(t, fractionDigits: 3))\",\"msg\":\"request\",\"latency_ms\":\(ms)}")
            }
        }
        let path = dir + "/latency-\(slowUntil).log"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func config() throws -> String {
        let path = dir + "/scale.yaml"
        try """
        diagnostics:
          max_age_seconds: 3600
        actions:
          scale_step: 2
          max_replicas: 6
        decision:
          modes:
            scale_deployment: enforce
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func server(replicas: Int, waiting: String? = nil, oomKilledAt: Int64? = nil, forbid: [String] = []) throws
        -> FakeAPIServer
    {
        var status: [String: Any] = [
            "phase": "Running", "conditions": [["type": "Ready", "status": waiting == nil ? "True" : "False"]],
        ]
        var container: [String: Any] = ["name": "checkout", "restartCount": waiting == nil ? 0 : 7]
        if let w = waiting { container["state"] = ["waiting": ["reason": w]] }
        if let t = oomKilledAt {
            container["restartCount"] = 2
            container["lastState"] = ["terminated": ["reason": "OOMKilled", "finishedAt": EventTime.rfc3339(t)]]
        }
        status["containerStatuses"] = [container]
        let pods: [[String: Any]] = ["a", "b"].map {
            [
                "metadata": ["name": "checkout-\($0)", "namespace": "microservices", "labels": ["app": "checkout"]],
                "spec": ["containers": [["name": "checkout"]]], "status": status,
            ]
        }
        return try FakeAPIServer(
            configMap: [:], forbid: forbid,
            extraState: [
                "pods": pods,
                "deployments": [
                    "microservices/checkout": [
                        "apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": ["name": "checkout", "namespace": "microservices", "resourceVersion": "5"],
                        "spec": ["replicas": replicas, "template": ["metadata": [:]]],
                    ]
                ],
            ])
    }

    func replicas(_ s: FakeAPIServer) throws -> Int {
        let deps = try s.control()["deployments"] as! [String: Any]
        return ((deps["microservices/checkout"] as! [String: Any])["spec"] as! [String: Any])["replicas"] as! Int
    }

    func run(_ args: [String], _ s: FakeAPIServer) throws -> (Binary.Result, [[String: Any]]) {
        let r = try Binary.run(
            args, environment: ["KUBECONFIG": try RemediationEndToEndTests.kubeconfig(s), "HOME": dir])
        return (r, r.jsonLines)
    }

    func latencyFinding(_ out: [[String: Any]]) throws -> [String: Any] {
        try XCTUnwrap(out.first { $0["category"] as? String == "latency" }, "\(out)")
    }

    func testScaledOutWithinTheCapAndVerifiedAndRolledBack() throws {
        let s = try server(replicas: 3)
        try s.control(["conflict_once": true])  // someone scales in between: read again, retried
        let (r, out) = try run(
            [
                "cron", "--from", try latencyLog(slowUntil: 24), "--apply", "--config", try config(), "--format",
                "json",
                "--state-dir", dir + "/state",
            ], s)
        XCTAssertEqual(r.status, 0, r.stderr)
        let f = try latencyFinding(out)
        let pods = try XCTUnwrap((f["diagnosis"] as? [String: Any])?["pods"] as? [String: Any], "\(f)")
        XCTAssertEqual(pods["ready"] as? Int, 2)
        let action = try XCTUnwrap(f["action"] as? [String: Any])
        XCTAssertEqual(action["kind"] as? String, "scale_deployment")
        XCTAssertEqual(action["outcome"] as? String, "applied: scaled deployment checkout from 3 to 5 replicas")
        XCTAssertEqual(try replicas(s), 5)
        let patches = (try s.control()["requests"] as! [[String: Any]]).filter {
            $0["verb"] as? String == "PATCH" && ($0["path"] as? String ?? "").hasSuffix("/scale")
        }
        XCTAssertEqual(patches.count, 2, "the 409 was retried once")
        // the slowness ended three minutes after the scale-out: verified as recovered
        let verify = out.compactMap { $0["step"] as? [String: Any] }.first
        XCTAssertTrue((verify?["reason"] as? String ?? "").hasPrefix("verify: latency recovered"), "\(out)")

        // rollback scales back, and refuses once someone changed replicas since
        let history = try run(["history", "--state-dir", dir + "/state", "--format", "json"], s).1
        let id = try XCTUnwrap(
            history.compactMap { $0["action"] as? [String: Any] }.first {
                $0["kind"] as? String == "scale_deployment" && $0["dry_run"] as? Bool == false
                    && ($0["outcome"] as? String ?? "").hasPrefix("applied")
            }?["id"] as? Int)
        let back = try run(["rollback", "\(id)", "--apply", "--state-dir", dir + "/state"], s).0
        XCTAssertEqual(back.status, 0, back.stderr)
        XCTAssertEqual(try replicas(s), 3)
        let again = try run(["rollback", "\(id)", "--apply", "--state-dir", dir + "/state"], s).0
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("has 3 replicas, not the 5"), again.stderr)
    }

    func testAScaleOutThatDoesNotHelpCallsPeopleAndTheCapHolds() throws {
        let s = try server(replicas: 6)
        let (r, out) = try run(
            ["analyze", "--apply", "--config", try config(), "--format", "json", try latencyLog(slowUntil: 40)], s)
        XCTAssertEqual(r.status, 0, r.stderr)
        let action = try XCTUnwrap(try latencyFinding(out)["action"] as? [String: Any])
        XCTAssertEqual(
            action["outcome"] as? String, "skipped: deployment checkout already has 6 replicas (actions.max_replicas 6)"
        )
        XCTAssertEqual(try replicas(s), 6)

        let low = try server(replicas: 1)
        let (_, out2) = try run(
            ["analyze", "--apply", "--config", try config(), "--format", "json", try latencyLog(slowUntil: 40)], low)
        XCTAssertEqual(try replicas(low), 3)
        let verify = try XCTUnwrap(out2.compactMap { $0["step"] as? [String: Any] }.first, "\(out2)")
        XCTAssertTrue(
            (verify["reason"] as? String ?? "").hasPrefix("verify: scaling checkout did not help"), "\(verify)")
        XCTAssertEqual(try replicas(low), 3, "never scaled down, never again without a new finding")
    }

    func testCrashLoopingPodsAreNotScaledAndADenialNamesTheRule() throws {
        let crashing = try server(replicas: 2, waiting: "CrashLoopBackOff")
        let (_, out) = try run(
            ["analyze", "--apply", "--config", try config(), "--format", "json", try latencyLog(slowUntil: 40)],
            crashing)
        let f = try latencyFinding(out)
        XCTAssertTrue(f["action"] is NSNull, "\(f)")
        let why = ((f["explanation"] as? [String: Any])?["why_no_action"] as? String) ?? ""
        XCTAssertTrue(why.hasPrefix("not scaled: the pods are failing"), why)
        XCTAssertTrue(why.contains("CrashLoopBackOff: checkout-a, checkout-b"), why)
        XCTAssertEqual(try replicas(crashing), 2)

        // containers killed for memory during the incident: not scaled either; long before it: scaled
        let now = Int64(Date().timeIntervalSince1970) * EventTime.nanosPerSecond
        let oom = try server(replicas: 2, oomKilledAt: now - 15 * 60 * EventTime.nanosPerSecond)
        let (_, outOOM) = try run(
            ["analyze", "--apply", "--config", try config(), "--format", "json", try latencyLog(slowUntil: 40)], oom)
        let fo = try latencyFinding(outOOM)
        XCTAssertTrue(fo["action"] is NSNull, "\(fo)")
        XCTAssertTrue(
            ((fo["explanation"] as? [String: Any])?["why_no_action"] as? String ?? "").contains(
                "OOMKilled: checkout-a, checkout-b"), "\(fo)")
        let oldOOM = try server(replicas: 2, oomKilledAt: now - 6 * 3600 * EventTime.nanosPerSecond)
        let (_, outOld) = try run(
            ["analyze", "--apply", "--config", try config(), "--format", "json", try latencyLog(slowUntil: 40)], oldOOM)
        XCTAssertEqual((try latencyFinding(outOld)["action"] as? [String: Any])?["kind"] as? String, "scale_deployment")

        let denied = try server(replicas: 2, forbid: ["patch:deployments/scale"])
        let (_, out2) = try run(
            ["analyze", "--apply", "--config", try config(), "--format", "json", try latencyLog(slowUntil: 40)], denied)
        let outcome = (try latencyFinding(out2)["action"] as? [String: Any])?["outcome"] as? String ?? ""
        XCTAssertTrue(outcome.hasPrefix("failed:"), outcome)
        XCTAssertTrue(outcome.contains("cannot patch resource \"deployments/scale\" in API group \"apps\""), outcome)
        XCTAssertEqual(try replicas(denied), 2)
    }

    /// kubectl's conventions: `--context` picks the kubeconfig context (the current one here
    /// points at nothing), `-n` the namespace; and `kubectl promowatch` runs it as a plugin.
    func testContextAndNamespaceAsKubectlAndThePlugin() throws {
        let s = try server(replicas: 2)
        let kc = dir + "/two-contexts"
        try """
        apiVersion: v1
        kind: Config
        current-context: nowhere
        contexts:
          - {name: nowhere, context: {cluster: dead, user: pw}}
          - {name: shop, context: {cluster: fake, user: pw}}
        clusters:
          - {name: dead, cluster: {server: "https://127.0.0.1:1"}}
          - {name: fake, cluster: {server: "\(s.url)", certificate-authority-data: \(Data(s.caPEM.utf8).base64EncodedString())}}
        users: [{name: pw, user: {token: \(s.token)}}]
        """.write(toFile: kc, atomically: true, encoding: .utf8)
        let log = try latencyLog(slowUntil: 40)
        let base = ["analyze", "--apply", "--config", try config(), "--format", "json", "--kubeconfig", kc, log]
        func outcome(_ args: [String]) throws -> String {
            let r = try Binary.run(args, environment: ["HOME": dir])
            let out = r.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            let f = try latencyFinding(out)
            return (f["action"] as? [String: Any])?["outcome"] as? String
                ?? (f["explanation"] as? [String: Any])?["why_no_action"] as? String ?? r.stderr
        }
        let nowhere = try outcome(base)
        XCTAssertTrue(
            nowhere.hasPrefix("not scaled: the pods were not diagnosed (reading the pods failed"),
            "the current context points at nothing: \(nowhere)")
        XCTAssertEqual(
            try outcome(base + ["--context", "shop"]), "applied: scaled deployment checkout from 2 to 4 replicas")
        let other = try outcome(base + ["--context", "shop", "-n", "payments"])
        XCTAssertTrue(other.contains("deployments \"checkout\" not found"), other)
        XCTAssertEqual(try replicas(s), 4)
        XCTAssertTrue(try outcome(base + ["--context", "staging"]).contains("kubeconfig has no context 'staging'"))

        // the binary as a kubectl plugin
        try TestDependency.require(tool: "kubectl")
        let bin = dir + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: bin + "/kubectl-promowatch", withDestinationPath: Binary.url().path)
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        func kubectl(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try KubectlOracleTests.kubectl(args, environment: ["PATH": path, "HOME": dir])
        }
        let list = try kubectl(["plugin", "list"])
        XCTAssertTrue(list.stdout.contains(bin + "/kubectl-promowatch"), list.stdout + list.stderr)
        let plugin = try kubectl(["promowatch", "analyze", "--format", "json", log])
        XCTAssertEqual(plugin.status, 0, plugin.stderr)
        XCTAssertTrue(plugin.stdout.contains("\"category\": \"latency\""), plugin.stdout)
    }
}
