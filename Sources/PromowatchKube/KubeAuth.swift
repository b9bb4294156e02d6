import Foundation
import PromowatchCore
import Yams

/// Where the API is and how promowatch proves who it is: in-cluster service account, kubeconfig,
/// or a plain URL (`kubectl proxy`).
public struct KubeAuth: Sendable {
    public var server: String
    /// Bearer token, or a file it is read from before every request (rotated service-account tokens).
    public var token: String?
    public var tokenFile: String?
    /// PEM of the CA that signs the server's certificate (nil: plain HTTP, as through kubectl proxy).
    public var caPEM: String?
    public var clientCertPEM: String?
    public var clientKeyPEM: String?
    public var namespace: String?

    public init(
        server: String, token: String? = nil, tokenFile: String? = nil, caPEM: String? = nil,
        clientCertPEM: String? = nil, clientKeyPEM: String? = nil, namespace: String? = nil
    ) {
        self.server = server
        self.token = token
        self.tokenFile = tokenFile
        self.caPEM = caPEM
        self.clientCertPEM = clientCertPEM
        self.clientKeyPEM = clientKeyPEM
        self.namespace = namespace
    }

    /// The current bearer token (re-read from `tokenFile` each time).
    public func currentToken() -> String? {
        if let f = tokenFile, let t = try? String(contentsOfFile: f, encoding: .utf8) {
            return t.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return token
    }

    public static let serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// In-cluster: `KUBERNETES_SERVICE_HOST`/`PORT` and the mounted service account.
    public static func inCluster(
        directory: String = serviceAccountDir, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> KubeAuth? {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"],
            FileManager.default.fileExists(atPath: directory + "/token")
        else { return nil }
        let h = host.contains(":") ? "[\(host)]" : host
        return KubeAuth(
            server: "https://\(h):\(port)", tokenFile: directory + "/token",
            caPEM: try? String(contentsOfFile: directory + "/ca.crt", encoding: .utf8),
            namespace: (try? String(contentsOfFile: directory + "/namespace", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// From a kubeconfig: its current context's (or `context`'s, like kubectl's `--context`)
    /// cluster, user and namespace. `paths` is `$KUBECONFIG` split on `:` (the first file naming
    /// the current context wins) or `~/.kube/config`.
    public static func kubeconfig(paths: [String], context: String? = nil) throws -> KubeAuth {
        var docs: [[String: Any]] = []
        for p in paths where FileManager.default.fileExists(atPath: p) {
            let text = try String(contentsOfFile: p, encoding: .utf8)
            if let d = try Yams.load(yaml: text) as? [String: Any] { docs.append(d) }
        }
        guard !docs.isEmpty else {
            throw ConfigError(message: "no kubeconfig found at \(paths.joined(separator: ":"))")
        }
        guard
            let current = context
                ?? docs.compactMap({ $0["current-context"] as? String }).first(where: { !$0.isEmpty })
        else {
            throw ConfigError(message: "kubeconfig has no current-context (give --context)")
        }
        func named(_ list: String, _ name: String) -> [String: Any]? {
            for d in docs {
                for e in d[list] as? [[String: Any]] ?? [] where e["name"] as? String == name { return e }
            }
            return nil
        }
        guard named("contexts", current) != nil else {
            throw ConfigError(message: "kubeconfig has no context '\(current)'")
        }
        guard let ctx = named("contexts", current)?["context"] as? [String: Any],
            let clusterName = ctx["cluster"] as? String,
            let cluster = named("clusters", clusterName)?["cluster"] as? [String: Any],
            let server = cluster["server"] as? String
        else {
            throw ConfigError(message: "kubeconfig context '\(current)' has no usable cluster")
        }
        let user = (ctx["user"] as? String).flatMap { named("users", $0)?["user"] as? [String: Any] } ?? [:]
        func data(_ m: [String: Any], _ key: String, _ fileKey: String) throws -> String? {
            if let b64 = m[key] as? String {
                guard let d = Data(base64Encoded: b64.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                    throw ConfigError(message: "kubeconfig \(key) is not base64")
                }
                return String(decoding: d, as: UTF8.self)
            }
            if let f = m[fileKey] as? String { return try String(contentsOfFile: f, encoding: .utf8) }
            return nil
        }
        return KubeAuth(
            server: server, token: user["token"] as? String, tokenFile: user["tokenFile"] as? String,
            caPEM: try data(cluster, "certificate-authority-data", "certificate-authority"),
            clientCertPEM: try data(user, "client-certificate-data", "client-certificate"),
            clientKeyPEM: try data(user, "client-key-data", "client-key"),
            namespace: ctx["namespace"] as? String)
    }

    /// The usual order: in-cluster, else `$KUBECONFIG` / `~/.kube/config`; a named `context`
    /// always comes from the kubeconfig.
    public static func discover(
        environment: [String: String] = ProcessInfo.processInfo.environment, context: String? = nil
    ) throws -> KubeAuth {
        if context == nil, let a = inCluster(environment: environment) { return a }
        let paths =
            environment["KUBECONFIG"].map { $0.split(separator: ":").map(String.init) }
            ?? [(environment["HOME"] ?? NSHomeDirectory()) + "/.kube/config"]
        return try kubeconfig(paths: paths, context: context)
    }
}
