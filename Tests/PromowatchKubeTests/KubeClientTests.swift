import Foundation
import PromowatchKube
import PromowatchTestSupport
import XCTest

/// The API client against the in-repo test API server (Tests/KubeTestServer): no Kubernetes API
/// server can run on this machine, so resourceVersion conflicts, Status errors and RBAC denials
/// come from that server, with the bodies a real one sends.
final class KubeClientTests: XCTestCase {
    func testGetPatchAndStatusErrors() throws {
        let s = try FakeAPIServer(configMap: ["BLACKLISTED_COUPONS": "OLD"])
        let c = try KubeClient(auth: s.auth())
        let cm = try c.getConfigMap(namespace: "microservices", name: "checkout-config")
        XCTAssertEqual(cm.data["BLACKLISTED_COUPONS"], "OLD")
        XCTAssertEqual(cm.resourceVersion, "100")
        XCTAssertThrowsError(try c.getConfigMap(namespace: "microservices", name: "nope")) { e in
            XCTAssertEqual((e as? KubeError)?.code, 404)
            XCTAssertEqual((e as? KubeError)?.reason, "NotFound")
        }
        XCTAssertThrowsError(
            try c.patchConfigMap(
                namespace: "microservices", name: "checkout-config",
                mergePatch: #"{"metadata":{"resourceVersion":"99"},"data":{"A":"1"}}"#)
        ) { e in
            XCTAssertEqual((e as? KubeError)?.reason, "Conflict")
            XCTAssertTrue((e as? KubeError)?.message.contains("the object has been modified") ?? false)
        }
        let bad = try KubeClient(auth: s.auth(token: "wrong"))
        XCTAssertThrowsError(try bad.getConfigMap(namespace: "microservices", name: "checkout-config")) { e in
            XCTAssertEqual((e as? KubeError)?.code, 401)
        }
        // a server whose certificate is not signed by the configured CA is refused
        let untrusted = try KubeClient(auth: KubeAuth(server: s.url, token: s.token, caPEM: nil))
        XCTAssertThrowsError(try untrusted.getConfigMap(namespace: "microservices", name: "checkout-config"))
    }

    func testRBACDenialNamesTheVerbAndResource() throws {
        let s = try FakeAPIServer(configMap: ["K": "v"], forbid: ["list:pods"])
        let c = try KubeClient(auth: s.auth())
        XCTAssertThrowsError(try c.listPods(namespace: "microservices", selector: "app=checkout")) { e in
            let k = e as? KubeError
            XCTAssertEqual(k?.code, 403)
            XCTAssertEqual(k?.reason, "Forbidden")
            XCTAssertTrue(k?.message.contains(#"cannot list resource "pods""#) ?? false, k?.message ?? "")
        }
        XCTAssertEqual(
            try c.getConfigMap(namespace: "microservices", name: "checkout-config").data, ["K": "v"],
            "other verbs still work")
    }

    func testPodsBySelectorAndLogsSinceATime() throws {
        let pod: [String: Any] = [
            "metadata": ["name": "checkout-1", "namespace": "microservices", "labels": ["app": "checkout"]],
            "spec": ["containers": [["name": "checkout"]]],
        ]
        let other: [String: Any] = [
            "metadata": ["name": "search-1", "namespace": "microservices", "labels": ["app": "search"]],
            "spec": ["containers": [["name": "search"]]],
        ]
        let s = try FakeAPIServer(
            configMap: [:],
            extraState: [
                "pods": [pod, other],
                "logs": [
                    "microservices/checkout-1/checkout": ["2026-11-20T10:00:00Z first", "2026-11-20T10:05:00Z second"]
                ],
            ])
        let c = try KubeClient(auth: s.auth())
        let pods = try c.listPods(namespace: "microservices", selector: "app=checkout")
        XCTAssertEqual(pods.map(\.name), ["checkout-1"])
        XCTAssertEqual(pods.first?.containers, ["checkout"])
        let all = String(
            decoding: try c.podLog(
                namespace: "microservices", pod: "checkout-1", container: "checkout", sinceTime: nil), as: UTF8.self)
        XCTAssertEqual(all.split(separator: "\n").count, 2)
        let since = String(
            decoding: try c.podLog(
                namespace: "microservices", pod: "checkout-1", container: "checkout",
                sinceTime: "2026-11-20T10:01:00Z"), as: UTF8.self)
        XCTAssertTrue(since.contains("second") && !since.contains("first"), since)
    }

    func testAuthFromServiceAccountDirectoryAndKubeconfig() throws {
        let s = try FakeAPIServer(configMap: ["K": "v"])
        // in-cluster: token (re-read each request), ca.crt, namespace
        let sa = s.dir + "/sa"
        try FileManager.default.createDirectory(atPath: sa, withIntermediateDirectories: true)
        try "stale".write(toFile: sa + "/token", atomically: true, encoding: .utf8)
        try s.caPEM.write(toFile: sa + "/ca.crt", atomically: true, encoding: .utf8)
        try "microservices\n".write(toFile: sa + "/namespace", atomically: true, encoding: .utf8)
        let inCluster = try XCTUnwrap(
            KubeAuth.inCluster(
                directory: sa,
                environment: ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": String(s.port)]))
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
        XCTAssertEqual(
            try KubeClient(auth: fromConfig).getConfigMap(namespace: "microservices", name: "checkout-config").data,
            ["K": "v"])
        XCTAssertEqual(
            try KubeAuth.discover(environment: ["KUBECONFIG": s.dir + "/kubeconfig", "HOME": "/nonexistent"]).server,
            s.url)
        // kubeconfig with a client certificate and key instead of a token
        try FakeAPIServer.shell(
            [
                "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr",
                "-subj", "/CN=promowatch",
            ], cwd: s.dir)
        try FakeAPIServer.shell(
            [
                "openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "client.pem", "-days", "1",
            ], cwd: s.dir)
        func b64(_ f: String) throws -> String {
            try Data(contentsOf: URL(fileURLWithPath: s.dir + "/" + f)).base64EncodedString()
        }
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
        XCTAssertEqual(
            try KubeClient(auth: certAuth).getConfigMap(namespace: "microservices", name: "checkout-config").data,
            ["K": "v"])
    }
}
