import Foundation
import PromowatchKube
import XCTest

/// A fake API server for one test: HTTPS with a CA made for the test, bearer token, real Status
/// bodies (Tests/KubeTestServer/fake_apiserver.py). It binds 127.0.0.1 and stops by itself.
public final class FakeAPIServer {
    public static var root: URL { Repository.root }
    public let dir: String
    let process = Process()
    public private(set) var port = 0
    public let token = "test-token-\(UUID().uuidString.prefix(8))"
    public var caPEM: String { (try? String(contentsOfFile: dir + "/ca.pem", encoding: .utf8)) ?? "" }
    public var url: String { "https://127.0.0.1:\(port)" }

    public static func shell(_ args: [String], cwd: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw TestDependency.Missing(what: "\(args.joined(separator: " ")) failed")
        }
    }

    public init(configMap data: [String: String], forbid: [String] = [], extraState: [String: Any] = [:]) throws {
        try TestDependency.require(tool: "openssl")
        try TestDependency.require(tool: "python3")
        dir = NSTemporaryDirectory() + "pw-kube-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // a CA and a server certificate for 127.0.0.1, made for this test
        try FakeAPIServer.shell(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                "-days", "1", "-subj", "/CN=promowatch-test-ca",
            ], cwd: dir)
        try FakeAPIServer.shell(
            [
                "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
                "-subj", "/CN=127.0.0.1",
            ], cwd: dir)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(
            toFile: dir + "/san.ext", atomically: true, encoding: .utf8)
        try FakeAPIServer.shell(
            [
                "openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.pem", "-days", "1", "-extfile", "san.ext",
            ], cwd: dir)
        var state = extraState
        state["configmaps"] = [
            "microservices/checkout-config": [
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": ["name": "checkout-config", "namespace": "microservices", "resourceVersion": "100"],
                "data": data,
            ]
        ]
        state["deployments"] =
            state["deployments"] ?? [
                "microservices/checkout": [
                    "apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": ["name": "checkout", "namespace": "microservices", "resourceVersion": "5"],
                    "spec": ["template": ["metadata": [:]]],
                ]
            ]
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: dir + "/state.json"))
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "python3", FakeAPIServer.root.appendingPathComponent("Tests/KubeTestServer/fake_apiserver.py").path,
                "--cert", dir + "/server.pem", "--key", dir + "/server.key", "--token", token,
                "--state", dir + "/state.json", "--lifetime", "90", "--client-ca", dir + "/ca.pem",
            ] + (forbid.isEmpty ? [] : ["--forbid"] + forbid)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { throw TestDependency.Missing(what: "the fake API server did not start") }
            line.append(d)
        }
        port =
            Int(
                String(decoding: line, as: UTF8.self).split(separator: " ")[1].trimmingCharacters(
                    in: .whitespacesAndNewlines)) ?? 0
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    public func auth(token: String? = nil) -> KubeAuth {
        KubeAuth(server: url, token: token ?? self.token, caPEM: caPEM)
    }

    /// POST /_control: change behaviour, and read back the stored objects.
    @discardableResult
    public func control(_ body: [String: Any] = [:]) throws -> [String: Any] {
        let c = try KubeClient(auth: auth())
        let r = try c.call(
            .POST, "/_control", body: String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
        return try JSONSerialization.jsonObject(with: r.body) as! [String: Any]
    }

    public func data() throws -> [String: String] {
        let cms = try control()["configmaps"] as! [String: Any]
        return (cms["microservices/checkout-config"] as! [String: Any])["data"] as! [String: String]
    }
}
