import Foundation
import PromowatchCore
import PromowatchTestSupport
import XCTest

/// Bad deploys (the runbook's routine rollback) against the test API server, with the real
/// `kubectl rollout undo` as the oracle: the test server speaks enough of the API (discovery,
/// ReplicaSets, JSON patches) for kubectl to run against it. A latency incident that begins soon
/// after a rollout names the rollout and undoes it exactly as kubectl does; `rollback` sets the
/// newer template again; a rollout long before an incident is left alone.
final class RolloutUndoTests: XCTestCase {
    let dir = NSTemporaryDirectory() + "pw-undo-\(UUID().uuidString)"

    override func setUpWithError() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// The minute of the log's first line (the log ends a minute ago).
    var logStart: Int64 { (Int64(Date().timeIntervalSince1970) / 60 - 41) * 60 }

    /// 40 minutes of requests, slow (2.5 s) from minute 20 on.
    func latencyLog() throws -> String {
        var lines: [String] = []
        for m in 0..<40 {
            for k in 0..<120 {
                let t = (logStart + Int64(m * 60)) * EventTime.nanosPerSecond + Int64(k) * 500_000_000
                let ms = m >= 20 ? 2500 + k : 40 + k % 40
                lines.append(
                    "{\"ts\":\"\(EventTime.rfc3339(t, fractionDigits: 3))\",\"msg\":\"request\",\"latency_ms\":\(ms)}")
            }
        }
        let path = dir + "/latency.log"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func template(_ image: String, hash: String?, env: [[String: String]] = []) -> [String: Any] {
        var labels = ["app": "checkout"]
        if let h = hash { labels["pod-template-hash"] = h }
        var container: [String: Any] = ["name": "checkout", "image": image]
        if !env.isEmpty { container["env"] = env }
        return ["metadata": ["labels": labels], "spec": ["containers": [container]]]
    }

    /// Revision 1 (1.7.3) and revision 2 (1.8.0, created `rolloutMinute` minutes into the log),
    /// plus a ReplicaSet of another deployment with the same labels (not a revision of this one).
    func server(rolloutMinute: Int, laterRolloutMinute: Int? = nil, forbid: [String] = []) throws -> FakeAPIServer {
        func rs(_ name: String, _ rev: String, _ created: Int64, _ tmpl: [String: Any], owner: String = "d-uid-1")
            -> [String: Any]
        {
            [
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": [
                    "name": name, "namespace": "microservices", "uid": "uid-\(name)",
                    "labels": (tmpl["metadata"] as! [String: Any])["labels"]!,
                    "annotations": ["deployment.kubernetes.io/revision": rev],
                    "creationTimestamp": EventTime.rfc3339(created * EventTime.nanosPerSecond),
                    "ownerReferences": [
                        [
                            "apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout", "uid": owner,
                            "controller": true,
                        ]
                    ],
                ],
                "spec": ["replicas": 1, "template": tmpl],
            ]
        }
        var newer = template("shop/checkout:1.8.0", hash: nil, env: [["name": "POOL", "value": "500"]])
        var later: [[String: Any]] = []
        if let m = laterRolloutMinute {
            newer = template("shop/checkout:1.8.1", hash: nil)
            later = [rs("checkout-ddd", "3", logStart + Int64(m * 60), template("shop/checkout:1.8.1", hash: "ddd"))]
        }
        return try FakeAPIServer(
            configMap: [:], forbid: forbid,
            extraState: [
                "deployments": [
                    "microservices/checkout": [
                        "apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": [
                            "name": "checkout", "namespace": "microservices", "uid": "d-uid-1", "resourceVersion": "7",
                            "annotations": ["deployment.kubernetes.io/revision": "2"],
                        ],
                        "spec": ["replicas": 2, "selector": ["matchLabels": ["app": "checkout"]], "template": newer],
                    ]
                ],
                "replicasets": [
                    rs("checkout-aaa", "1", logStart - 86_400, template("shop/checkout:1.7.3", hash: "aaa")),
                    rs(
                        "checkout-bbb", "2", logStart + Int64(rolloutMinute * 60),
                        template("shop/checkout:1.8.0", hash: "bbb", env: [["name": "POOL", "value": "500"]])),
                    rs("impostor-ccc", "3", logStart, template("evil/checkout:6.6.6", hash: "ccc"), owner: "other-uid"),
                ] + later,
            ])
    }

    func config() throws -> String {
        let path = dir + "/undo.yaml"
        try """
        diagnostics:
          max_age_seconds: 3600
          rollout_window_minutes: 30
        decision:
          modes:
            rollout_undo: enforce
            scale_deployment: enforce
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func run(_ args: [String], _ s: FakeAPIServer) throws -> (Binary.Result, [[String: Any]]) {
        let r = try Binary.run(
            args, environment: ["KUBECONFIG": try RemediationEndToEndTests.kubeconfig(s), "HOME": dir])
        return (r, r.jsonLines)
    }

    func deployment(_ s: FakeAPIServer) throws -> [String: Any] {
        (try s.control()["deployments"] as! [String: Any])["microservices/checkout"] as! [String: Any]
    }

    /// A template as the API server keeps it: nulls and empty objects (what Go's encoder writes
    /// for unset fields, e.g. `creationTimestamp: null`, `resources: {}`) dropped.
    func normalized(_ v: Any) -> Any? {
        if let d = v as? [String: Any] {
            var out: [String: Any] = [:]
            for (k, x) in d { if let n = normalized(x) { out[k] = n } }
            return out.isEmpty ? nil : out
        }
        if let a = v as? [Any] { return a.compactMap(normalized) }
        if v is NSNull { return nil }
        return v
    }

    func same(_ a: Any?, _ b: Any?) -> Bool {
        NSDictionary(dictionary: ["v": normalized(a as Any) ?? NSNull()]).isEqual(
            to: ["v": normalized(b as Any) ?? NSNull()])
    }

    func testAnIncidentAfterARolloutIsUndoneExactlyAsKubectlDoesAndRolledBack() throws {
        try TestDependency.require(tool: "kubectl")
        // the oracle: the real kubectl's undo on one server
        let oracle = try server(rolloutMinute: 15)
        let k = try Process.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            arguments: [
                "kubectl", "--kubeconfig", try RemediationEndToEndTests.kubeconfig(oracle), "-n", "microservices",
                "rollout", "undo", "deployment/checkout",
            ])
        k.waitUntilExit()
        XCTAssertEqual(k.terminationStatus, 0)
        let expected = (try deployment(oracle)["spec"] as! [String: Any])["template"]

        // promowatch's on an identical one, after a 409 (someone wrote in between)
        let s = try server(rolloutMinute: 15)
        try s.control(["conflict_once": true])
        let state = dir + "/state"
        let (r, out) = try run(
            [
                "cron", "--from", try latencyLog(), "--apply", "--config", try config(), "--format", "json",
                "--state-dir", state,
            ], s)
        XCTAssertEqual(r.status, 0, r.stderr)
        let f = try XCTUnwrap(out.first { $0["category"] as? String == "latency" }, r.stdout)
        let rollout = try XCTUnwrap((f["diagnosis"] as? [String: Any])?["rollout"] as? [String: Any], "\(f)")
        XCTAssertEqual(rollout["revision"] as? Int, 2)
        XCTAssertEqual(rollout["image"] as? String, "shop/checkout:1.8.0")
        XCTAssertEqual(rollout["previous_revision"] as? Int, 1)
        XCTAssertTrue(
            (f["summary"] as? String ?? "").contains("after the rollout of checkout revision 2 (shop/checkout:1.8.0)"),
            "\(f)")
        let action = try XCTUnwrap(f["action"] as? [String: Any])
        XCTAssertEqual(action["kind"] as? String, "rollout_undo", "undo, not scale, when a rollout explains it")
        XCTAssertEqual(
            action["outcome"] as? String,
            "applied: rolled deployment checkout back from revision 2 (shop/checkout:1.8.0) to revision 1 (shop/checkout:1.7.3)"
        )
        let undone = (try deployment(s)["spec"] as! [String: Any])["template"]
        XCTAssertTrue(same(undone, expected), "promowatch: \(undone ?? "nil")\nkubectl: \(expected ?? "nil")")

        // rollback sets the newer template again
        let history = try run(["history", "--state-dir", state, "--format", "json"], s).1
        let id = try XCTUnwrap(
            history.compactMap { $0["action"] as? [String: Any] }.first {
                $0["kind"] as? String == "rollout_undo" && ($0["outcome"] as? String ?? "").hasPrefix("applied")
            }?["id"] as? Int, "\(history)")
        let back = try run(["rollback", "\(id)", "--apply", "--state-dir", state], s).0
        XCTAssertEqual(back.status, 0, back.stderr)
        XCTAssertTrue(
            same(
                (try deployment(s)["spec"] as! [String: Any])["template"],
                template("shop/checkout:1.8.0", hash: nil, env: [["name": "POOL", "value": "500"]])))
        XCTAssertNotEqual(try run(["rollback", "\(id)", "--apply", "--state-dir", state], s).0.status, 0)
    }

    func testAnOrdinaryRolloutIsNeverUndone() throws {
        // the rollout was a day of minutes before the incident: not its cause, nothing named
        let old = try server(rolloutMinute: -120)
        let (r, out) = try run(
            ["analyze", "--apply", "--config", try config(), "--format", "json", try latencyLog()], old)
        XCTAssertEqual(r.status, 0, r.stderr)
        let f = try XCTUnwrap(out.first { $0["category"] as? String == "latency" }, r.stdout)
        XCTAssertNil((f["diagnosis"] as? [String: Any])?["rollout"], "\(f)")
        XCTAssertEqual((f["action"] as? [String: Any])?["kind"] as? String, "scale_deployment")
        XCTAssertTrue(
            same(
                (try deployment(old)["spec"] as! [String: Any])["template"],
                template("shop/checkout:1.8.0", hash: nil, env: [["name": "POOL", "value": "500"]])))

        // the bad rollout was followed by another one (after the incident began): named, not undone,
        // since undoing now would undo the later one
        let again = try server(rolloutMinute: 15, laterRolloutMinute: 35)
        let (_, out3) = try run(
            ["analyze", "--apply", "--config", try config(), "--format", "json", try latencyLog()], again)
        let g = try XCTUnwrap(out3.first { $0["category"] as? String == "latency" })
        let named = (g["diagnosis"] as? [String: Any])?["rollout"] as? [String: Any]
        XCTAssertEqual(named?["revision"] as? Int, 2, "\(g)")
        XCTAssertEqual(named?["current"] as? Bool, false)
        XCTAssertTrue(g["action"] is NSNull, "\(g)")
        XCTAssertEqual(
            ((g["explanation"] as? [String: Any])?["why_no_action"] as? String),
            "not undone: checkout was rolled out again since revision 2")

        // a rollout in a quiet log: no incident, no undo
        let quiet = try server(rolloutMinute: 15)
        let path = dir + "/quiet.log"
        try (0..<40 * 60).map { k in
            "{\"ts\":\"\(EventTime.rfc3339((logStart + Int64(k)) * EventTime.nanosPerSecond))\",\"msg\":\"request\",\"latency_ms\":45}"
        }.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let (_, out2) = try run(["analyze", "--apply", "--config", try config(), "--format", "json", path], quiet)
        XCTAssertFalse(out2.contains { $0["action"] is [String: Any] }, "\(out2)")
        XCTAssertEqual(
            (try s(quiet)["requests"] as! [[String: Any]]).filter { $0["verb"] as? String == "PATCH" }.count, 0)
    }

    func testADenialNamesTheMissingRule() throws {
        let s = try server(rolloutMinute: 15, forbid: ["patch:deployments"])
        let (_, out) = try run(
            ["analyze", "--apply", "--config", try config(), "--format", "json", try latencyLog()], s)
        let f = try XCTUnwrap(out.first { $0["category"] as? String == "latency" })
        let outcome = (f["action"] as? [String: Any])?["outcome"] as? String ?? ""
        XCTAssertTrue(outcome.hasPrefix("failed:"), outcome)
        XCTAssertTrue(outcome.contains("cannot patch resource \"deployments\" in API group \"apps\""), outcome)
    }

    func s(_ server: FakeAPIServer) throws -> [String: Any] { try server.control() }
}
