import XCTest
import Foundation
import PromowatchCore
import PromowatchKube
@testable import PromowatchActions

/// A fake API server for one test: HTTPS with a CA made for the test, bearer token, real Status
/// bodies (Tests/KubeTestServer/fake_apiserver.py). It binds 127.0.0.1 and stops by itself.
final class FakeAPIServer {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let dir: String
    let process = Process()
    var port = 0
    let token = "test-token-\(UUID().uuidString.prefix(8))"
    var caPEM: String { (try? String(contentsOfFile: dir + "/ca.pem", encoding: .utf8)) ?? "" }
    var url: String { "https://127.0.0.1:\(port)" }

    static func shell(_ args: [String], cwd: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        try p.run(); p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("\(args.first ?? "") failed") }
    }

    init(configMap data: [String: String], forbid: [String] = [], extraState: [String: Any] = [:]) throws {
        dir = NSTemporaryDirectory() + "pw-kube-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // a CA and a server certificate for 127.0.0.1, made for this test
        try FakeAPIServer.shell(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                                 "-days", "1", "-subj", "/CN=promowatch-test-ca"], cwd: dir)
        try FakeAPIServer.shell(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
                                 "-subj", "/CN=127.0.0.1"], cwd: dir)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: dir + "/san.ext", atomically: true, encoding: .utf8)
        try FakeAPIServer.shell(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                                 "-out", "server.pem", "-days", "1", "-extfile", "san.ext"], cwd: dir)
        var state = extraState
        state["configmaps"] = ["microservices/checkout-config": ["apiVersion": "v1", "kind": "ConfigMap",
            "metadata": ["name": "checkout-config", "namespace": "microservices", "resourceVersion": "100"], "data": data]]
        state["deployments"] = ["microservices/checkout": ["apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": ["name": "checkout", "namespace": "microservices", "resourceVersion": "5"], "spec": ["template": ["metadata": [:]]]]]
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: dir + "/state.json"))
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", FakeAPIServer.root.appendingPathComponent("Tests/KubeTestServer/fake_apiserver.py").path,
                             "--cert", dir + "/server.pem", "--key", dir + "/server.key", "--token", token,
                             "--state", dir + "/state.json", "--lifetime", "90", "--client-ca", dir + "/ca.pem"] + (forbid.isEmpty ? [] : ["--forbid"] + forbid)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { throw XCTSkip("fake API server did not start") }
            line.append(d)
        }
        port = Int(String(decoding: line, as: UTF8.self).split(separator: " ")[1].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    func auth(token: String? = nil) -> KubeAuth { KubeAuth(server: url, token: token ?? self.token, caPEM: caPEM) }

    /// POST /_control: change behaviour, and read back the stored objects.
    @discardableResult
    func control(_ body: [String: Any] = [:]) throws -> [String: Any] {
        let c = try KubeClient(auth: auth())
        let r = try c.call(.POST, "/_control", body: String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
        return try JSONSerialization.jsonObject(with: r.body) as! [String: Any]
    }

    func data() throws -> [String: String] {
        let cms = try control()["configmaps"] as! [String: Any]
        return (cms["microservices/checkout-config"] as! [String: Any])["data"] as! [String: String]
    }
}

final class KubeServerTests: XCTestCase {
    func finding(_ kind: ProposedAction.Kind, _ target: String, _ cat: Category = .couponAbuse, t: Int64 = 0) -> Finding {
        Finding(time: t, category: cat, severity: .p0, subject: Subject(coupon: target), windowStart: 0, windowEnd: t,
                evidence: Evidence(observed: 1, expected: 0, score: 9), action: ProposedAction(kind: kind, target: target), summary: "")
    }

    func testGetPatchAndStatusErrors() throws {
        let s = try FakeAPIServer(configMap: ["BLACKLISTED_COUPONS": "OLD"])
        let c = try KubeClient(auth: s.auth())
        let cm = try c.getConfigMap(namespace: "microservices", name: "checkout-config")
        XCTAssertEqual(cm.data["BLACKLISTED_COUPONS"], "OLD")
        XCTAssertEqual(cm.resourceVersion, "100")
        XCTAssertThrowsError(try c.getConfigMap(namespace: "microservices", name: "nope")) { e in
            XCTAssertEqual((e as? KubeError)?.code, 404); XCTAssertEqual((e as? KubeError)?.reason, "NotFound")
        }
        XCTAssertThrowsError(try c.patchConfigMap(namespace: "microservices", name: "checkout-config", mergePatch: #"{"metadata":{"resourceVersion":"99"},"data":{"A":"1"}}"#)) { e in
            XCTAssertEqual((e as? KubeError)?.reason, "Conflict")
            XCTAssertTrue((e as? KubeError)?.message.contains("the object has been modified") ?? false)
        }
        let bad = try KubeClient(auth: s.auth(token: "wrong"))
        XCTAssertThrowsError(try bad.getConfigMap(namespace: "microservices", name: "checkout-config")) { e in XCTAssertEqual((e as? KubeError)?.code, 401) }
        // a server whose certificate is not signed by the configured CA is refused
        let untrusted = try KubeClient(auth: KubeAuth(server: s.url, token: s.token, caPEM: nil))
        XCTAssertThrowsError(try untrusted.getConfigMap(namespace: "microservices", name: "checkout-config"))
    }

    func testConflictThenSuccessAndDryRuns() throws {
        let s = try FakeAPIServer(configMap: ["BLACKLISTED_COUPONS": "OLD1,old2", "OTHER": "keep"])
        try s.control(["conflict_once": true])
        var fs = [finding(.blacklistCoupon, "leak-1")]
        Remediator(config: ActionsConfig(), allowlist: [], mode: .apply, client: try KubeClient(auth: s.auth())).handle(&fs)
        XCTAssertEqual(fs[0].action?.applied, true)
        XCTAssertEqual(fs[0].action?.outcome, "applied: BLACKLISTED_COUPONS=OLD1,old2,LEAK-1")
        XCTAssertEqual(try s.data(), ["BLACKLISTED_COUPONS": "OLD1,old2,LEAK-1", "OTHER": "keep"])
        // dry run and server dry run change nothing
        var d = [finding(.blacklistCoupon, "LEAK2")]
        Remediator(config: ActionsConfig(), allowlist: [], mode: .dryRun, client: try KubeClient(auth: s.auth())).handle(&d)
        XCTAssertEqual(d[0].action?.outcome?.hasPrefix("dry_run: would set BLACKLISTED_COUPONS=OLD1,old2,LEAK-1,LEAK2"), true, d[0].action?.outcome ?? "")
        var sd = [finding(.blacklistCoupon, "LEAK3")]
        Remediator(config: ActionsConfig(), allowlist: [], mode: .serverDryRun, client: try KubeClient(auth: s.auth())).handle(&sd)
        XCTAssertEqual(sd[0].action?.outcome?.hasPrefix("dry_run: server accepted"), true)
        XCTAssertEqual(try s.data()["BLACKLISTED_COUPONS"], "OLD1,old2,LEAK-1")
        let dry = (try s.control()["requests"] as! [[String: Any]]).filter { ($0["query"] as? String) == "dryRun=All" }
        XCTAssertEqual(dry.count, 1, "server dry run sends dryRun=All")
    }

    func testForbiddenNamesTheRuleAndMaliciousCodesAreNeverWritten() throws {
        let s = try FakeAPIServer(configMap: ["BLACKLISTED_COUPONS": "OLD"], forbid: ["patch:configmaps"])
        var fs = [finding(.blacklistCoupon, "LEAK"), finding(.blacklistCoupon, "X,Y", t: 1), finding(.blacklistCoupon, "A\"B", t: 2),
                  finding(.blacklistCoupon, String(repeating: "Z", count: 200), t: 3), finding(.blacklistCoupon, "NEW\nLINE", t: 4)]
        Remediator(config: ActionsConfig(), allowlist: [], mode: .apply, client: try KubeClient(auth: s.auth())).handle(&fs)
        let o = fs[0].action?.outcome ?? ""
        XCTAssertTrue(o.hasPrefix("failed: Forbidden (403)"), o)
        XCTAssertTrue(o.contains(#"cannot patch resource "configmaps""#), o)
        XCTAssertTrue(o.contains("role.yaml"), o)
        for f in fs.dropFirst() { XCTAssertEqual(f.action?.outcome, "skipped: coupon code is not [A-Z0-9_-]{1,64}; not written") }
        XCTAssertEqual(try s.data(), ["BLACKLISTED_COUPONS": "OLD"])
        let patches = (try s.control()["requests"] as! [[String: Any]]).filter { ($0["verb"] as? String) == "PATCH" }
        XCTAssertEqual(patches.count, 1, "only the valid code was ever sent")
    }

    func testProviderSwitchNeverLeavesNoProvider() throws {
        let s = try FakeAPIServer(configMap: ["ENABLE_STRIPE": "true", "ENABLE_PAYPAL": "false"])
        let r = Remediator(config: ActionsConfig(), allowlist: [], mode: .apply, client: try KubeClient(auth: s.auth()))
        var fs = [finding(.disableProvider, "stripe", .paymentProviderFailure)]
        r.handle(&fs)
        XCTAssertEqual(try s.data(), ["ENABLE_STRIPE": "false", "ENABLE_PAYPAL": "true"])
        // paypal failing too, later in the same run: stripe is held off, so switching paypal off
        // would leave nothing; stripe is never switched back automatically
        var again = [finding(.disableProvider, "paypal", .paymentProviderFailure, t: 40 * 60_000_000_000)]
        r.handle(&again)
        XCTAssertEqual(again[0].action?.applied, false)
        XCTAssertTrue(again[0].action?.outcome?.hasPrefix("skipped:") ?? false, again[0].action?.outcome ?? "")
        XCTAssertEqual(try s.data(), ["ENABLE_STRIPE": "false", "ENABLE_PAYPAL": "true"])
    }

    /// A day-long batch: a morning blip of stripe's is no reason to leave an evening paypal outage
    /// unmitigated (health is a function of time, never of the whole batch), and a provider whose
    /// own failures show only later in the batch is still healthy now.
    func testFallbackHealthIsJudgedAtTheFindingsTime() throws {
        let hour: Int64 = 3_600_000_000_000
        func outage(_ provider: String, at t: Int64, action: Bool) -> Finding {
            Finding(time: t, category: .paymentProviderFailure, severity: .p1, subject: Subject(provider: provider), windowStart: t, windowEnd: t,
                    evidence: Evidence(observed: 9, expected: 1, score: 9),
                    action: action ? ProposedAction(kind: .disableProvider, target: provider) : nil, summary: "")
        }
        let s = try FakeAPIServer(configMap: ["ENABLE_STRIPE": "true", "ENABLE_PAYPAL": "true"])
        let r = Remediator(config: ActionsConfig(), allowlist: [], mode: .apply, client: try KubeClient(auth: s.auth()))
        // 08:00 a stripe blip (no action proposed), 20:00 paypal down: switch to stripe
        var fs = [outage("stripe", at: 8 * hour, action: false), outage("paypal", at: 20 * hour, action: true)]
        r.handle(&fs)
        XCTAssertEqual(fs[1].action?.applied, true, fs[1].action?.outcome ?? "")
        XCTAssertEqual(try s.data(), ["ENABLE_STRIPE": "true", "ENABLE_PAYPAL": "false"])
        // stripe failing within the hour before: no switch to it
        let t = try FakeAPIServer(configMap: ["ENABLE_STRIPE": "false", "ENABLE_PAYPAL": "true"])
        var gs = [outage("stripe", at: 20 * hour - hour / 4, action: false), outage("paypal", at: 20 * hour, action: true)]
        Remediator(config: ActionsConfig(), allowlist: [], mode: .apply, client: try KubeClient(auth: t.auth())).handle(&gs)
        XCTAssertEqual(gs[1].action?.applied, false)
        XCTAssertEqual(try t.data(), ["ENABLE_STRIPE": "false", "ENABLE_PAYPAL": "true"])
    }

    func testRestartAfterAChangeLikeRolloutRestart() throws {
        let s = try FakeAPIServer(configMap: ["BLACKLISTED_COUPONS": ""])
        var c = ActionsConfig()
        c.restart = ["checkout"]
        var fs = [finding(.blacklistCoupon, "LEAK", t: 1_795_162_500 * 1_000_000_000)]
        Remediator(config: c, allowlist: [], mode: .apply, client: try KubeClient(auth: s.auth())).handle(&fs)
        XCTAssertEqual(fs[0].action?.outcome, "applied: BLACKLISTED_COUPONS=LEAK; restarted checkout")
        let dep = (try s.control()["deployments"] as! [String: Any])["microservices/checkout"] as! [String: Any]
        let annotations = ((((dep["spec"] as! [String: Any])["template"] as! [String: Any])["metadata"] as! [String: Any])["annotations"] as! [String: String])
        XCTAssertEqual(annotations["kubectl.kubernetes.io/restartedAt"], "2026-11-20T08:15:00Z")
    }

    func testServerErrorsAreReportedNotFatal() throws {
        let s = try FakeAPIServer(configMap: [:])
        try s.control(["fail_next": 1, "fail_code": 503])
        var fs = [finding(.blacklistCoupon, "LEAK")]
        Remediator(config: ActionsConfig(), allowlist: [], mode: .apply, client: try KubeClient(auth: s.auth())).handle(&fs)
        XCTAssertTrue(fs[0].action?.outcome?.hasPrefix("failed: ServiceUnavailable (503)") ?? false, fs[0].action?.outcome ?? "")
    }

    func testAuthFromServiceAccountDirectoryAndKubeconfig() throws {
        let s = try FakeAPIServer(configMap: ["K": "v"])
        // in-cluster: token (re-read each request), ca.crt, namespace
        let sa = s.dir + "/sa"
        try FileManager.default.createDirectory(atPath: sa, withIntermediateDirectories: true)
        try "stale".write(toFile: sa + "/token", atomically: true, encoding: .utf8)
        try s.caPEM.write(toFile: sa + "/ca.crt", atomically: true, encoding: .utf8)
        try "microservices\n".write(toFile: sa + "/namespace", atomically: true, encoding: .utf8)
        let inCluster = try XCTUnwrap(KubeAuth.inCluster(directory: sa, environment: ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": String(s.port)]))
        XCTAssertEqual(inCluster.namespace, "microservices")
        let c = try KubeClient(auth: inCluster)
        XCTAssertThrowsError(try c.getConfigMap(namespace: "microservices", name: "checkout-config"), "stale token")
        try s.token.write(toFile: sa + "/token", atomically: true, encoding: .utf8)  // rotated
        XCTAssertEqual(try c.getConfigMap(namespace: "microservices", name: "checkout-config").data, ["K": "v"])
        // kubeconfig: current-context, CA data, token
        let kc = """
        apiVersion: v1
        kind: Config
        current-context: test
        contexts:
        - name: other
          context: {cluster: nowhere, user: nobody}
        - name: test
          context: {cluster: fake, user: promowatch, namespace: microservices}
        clusters:
        - name: fake
          cluster:
            server: \(s.url)
            certificate-authority-data: \(Data(s.caPEM.utf8).base64EncodedString())
        users:
        - name: promowatch
          user:
            token: \(s.token)
        """
        try kc.write(toFile: s.dir + "/kubeconfig", atomically: true, encoding: .utf8)
        let fromConfig = try KubeAuth.kubeconfig(paths: [s.dir + "/missing", s.dir + "/kubeconfig"])
        XCTAssertEqual(fromConfig.namespace, "microservices")
        XCTAssertEqual(try KubeClient(auth: fromConfig).getConfigMap(namespace: "microservices", name: "checkout-config").data, ["K": "v"])
        XCTAssertEqual(try KubeAuth.discover(environment: ["KUBECONFIG": s.dir + "/kubeconfig", "HOME": "/nonexistent"]).server, s.url)
        // kubeconfig with a client certificate and key instead of a token
        try FakeAPIServer.shell(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr",
                                 "-subj", "/CN=promowatch"], cwd: s.dir)
        try FakeAPIServer.shell(["openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                                 "-out", "client.pem", "-days", "1"], cwd: s.dir)
        func b64(_ f: String) throws -> String { try Data(contentsOf: URL(fileURLWithPath: s.dir + "/" + f)).base64EncodedString() }
        let certConfig = """
        apiVersion: v1
        kind: Config
        current-context: c
        contexts: [{name: c, context: {cluster: fake, user: cert}}]
        clusters: [{name: fake, cluster: {server: "\(s.url)", certificate-authority-data: \(try b64("ca.pem"))}}]
        users: [{name: cert, user: {client-certificate-data: \(try b64("client.pem")), client-key-data: \(try b64("client.key"))}}]
        """
        try certConfig.write(toFile: s.dir + "/kubeconfig-cert", atomically: true, encoding: .utf8)
        let certAuth = try KubeAuth.kubeconfig(paths: [s.dir + "/kubeconfig-cert"])
        XCTAssertNil(certAuth.currentToken())
        XCTAssertEqual(try KubeClient(auth: certAuth).getConfigMap(namespace: "microservices", name: "checkout-config").data, ["K": "v"])
    }
}
