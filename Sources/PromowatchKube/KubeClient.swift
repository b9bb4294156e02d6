@_exported import NIOHTTP1
import AsyncHTTPClient
import Foundation
import PromowatchCore
import NIOCore
import NIOHTTP1
import NIOSSL

/// The few Kubernetes API calls promowatch makes, synchronously (a CLI), with errors decoded from
/// the API's `Status` body.
public final class KubeClient {
    public let auth: KubeAuth
    private let http: HTTPClient
    public var timeout: TimeAmount = .seconds(10)

    public init(auth: KubeAuth) throws {
        self.auth = auth
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = auth.caPEM {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(ca.utf8)))
        }
        if let cert = auth.clientCertPEM, let key = auth.clientKeyPEM {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(cert.utf8)).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem))
        }
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        config.timeout = .init(connect: .seconds(5), read: .seconds(30))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    deinit { try? http.syncShutdown() }

    public struct Response {
        public var status: Int
        public var body: Data
    }

    public func call(_ method: HTTPMethod, _ path: String, body: String? = nil, contentType: String? = nil) throws
        -> Response
    {
        let url = auth.server.hasSuffix("/") ? String(auth.server.dropLast()) + path : auth.server + path
        var req: HTTPClient.Request
        do { req = try HTTPClient.Request(url: url, method: method) } catch {
            throw KubeError(code: 0, reason: "BadURL", message: "\(url): \(error)")
        }
        req.headers.add(name: "Accept", value: "application/json")
        if let t = auth.currentToken() { req.headers.add(name: "Authorization", value: "Bearer " + t) }
        if let b = body {
            req.body = .string(b)
            req.headers.add(name: "Content-Type", value: contentType ?? "application/json")
        }
        let resp: HTTPClient.Response
        do {
            resp = try http.execute(request: req, deadline: .now() + timeout).wait()
        } catch {
            throw KubeError(code: 0, reason: "Unreachable", message: "\(auth.server): \(error)")
        }
        let data = resp.body.map { Data($0.readableBytesView) } ?? Data()
        let code = Int(resp.status.code)
        guard (200..<300).contains(code) else { throw KubeClient.decodeStatus(code, data) }
        return Response(status: code, body: data)
    }

    /// An error from a `Status` body (`reason`, `message`), or from the HTTP status alone.
    static func decodeStatus(_ code: Int, _ data: Data) -> KubeError {
        if let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any], obj["kind"] as? String == "Status"
        {
            return KubeError(
                code: (obj["code"] as? Int) ?? code, reason: obj["reason"] as? String ?? "Unknown",
                message: obj["message"] as? String ?? "")
        }
        return KubeError(
            code: code, reason: HTTPResponseStatus(statusCode: code).reasonPhrase,
            message: String(decoding: data.prefix(300), as: UTF8.self))
    }

    /// Query values: RFC 3986 unreserved characters kept, everything else percent-encoded.
    static func query(_ s: String) -> String {
        s.addingPercentEncoding(
            withAllowedCharacters: CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?&=#")))
            ?? s
    }

    public struct ConfigMap: Sendable {
        public var data: [String: String]
        public var resourceVersion: String

        public init(data: [String: String], resourceVersion: String) {
            self.data = data
            self.resourceVersion = resourceVersion
        }

        /// From a response body; a body that is no ConfigMap is a `BadResponse` error.
        init(decoding r: Response) throws {
            guard let obj = try? JSONSerialization.jsonObject(with: r.body) as? [String: Any],
                let meta = obj["metadata"] as? [String: Any], let rv = meta["resourceVersion"] as? String
            else {
                throw KubeError(code: r.status, reason: "BadResponse", message: "not a ConfigMap")
            }
            data = obj["data"] as? [String: String] ?? [:]
            resourceVersion = rv
        }
    }

    public func getConfigMap(namespace: String, name: String) throws -> ConfigMap {
        try ConfigMap(
            decoding: call(
                .GET, "/api/v1/namespaces/\(KubeClient.escape(namespace))/configmaps/\(KubeClient.escape(name))"))
    }

    /// JSON merge patch; `dryRun` asks the server to validate without storing (`dryRun=All`).
    @discardableResult
    public func patchConfigMap(namespace: String, name: String, mergePatch: String, dryRun: Bool = false) throws
        -> ConfigMap
    {
        let r = try call(
            .PATCH,
            "/api/v1/namespaces/\(KubeClient.escape(namespace))/configmaps/\(KubeClient.escape(name))"
                + (dryRun ? "?dryRun=All" : ""),
            body: mergePatch, contentType: "application/merge-patch+json")
        return try ConfigMap(decoding: r)
    }

    public struct Pod: Sendable, Equatable {
        public var name: String
        public var containers: [String]
        public var phase = ""
        /// The Ready condition is True.
        public var ready = false
        public struct ContainerStatus: Sendable, Equatable {
            public var restartCount = 0
            /// `state.waiting.reason` (`CrashLoopBackOff`, ...).
            public var waiting: String?
            /// `lastState.terminated.reason` (`OOMKilled`, ...) and when it ended (RFC 3339).
            public var lastTerminated: String?
            public var lastFinishedAt: String?
        }
        public var statuses: [ContainerStatus] = []

        public init(name: String, containers: [String]) {
            self.name = name
            self.containers = containers
        }
    }

    /// Pods matching a label selector (`app=checkout`), with their status.
    public func listPods(namespace: String, selector: String) throws -> [Pod] {
        let q = KubeClient.query(selector)
        let r = try call(.GET, "/api/v1/namespaces/\(KubeClient.escape(namespace))/pods?labelSelector=\(q)")
        guard let obj = try? JSONSerialization.jsonObject(with: r.body) as? [String: Any],
            let items = obj["items"] as? [[String: Any]]
        else {
            throw KubeError(code: r.status, reason: "BadResponse", message: "not a PodList")
        }
        return items.compactMap { item in
            guard let name = (item["metadata"] as? [String: Any])?["name"] as? String else { return nil }
            let containers = ((item["spec"] as? [String: Any])?["containers"] as? [[String: Any]] ?? []).compactMap {
                $0["name"] as? String
            }
            var pod = Pod(name: name, containers: containers)
            let status = item["status"] as? [String: Any] ?? [:]
            pod.phase = status["phase"] as? String ?? ""
            pod.ready = (status["conditions"] as? [[String: Any]] ?? []).contains {
                $0["type"] as? String == "Ready" && $0["status"] as? String == "True"
            }
            pod.statuses = (status["containerStatuses"] as? [[String: Any]] ?? []).map { c in
                var cs = Pod.ContainerStatus()
                cs.restartCount = c["restartCount"] as? Int ?? 0
                cs.waiting = ((c["state"] as? [String: Any])?["waiting"] as? [String: Any])?["reason"] as? String
                let last = (c["lastState"] as? [String: Any])?["terminated"] as? [String: Any]
                cs.lastTerminated = last?["reason"] as? String
                cs.lastFinishedAt = last?["finishedAt"] as? String
                return cs
            }
            return pod
        }
    }

    /// A deployment's scale subresource: replicas and the resourceVersion to write against.
    public struct Scale: Sendable, Equatable {
        public var replicas: Int
        public var resourceVersion: String
    }

    static func scalePath(_ namespace: String, _ name: String) -> String {
        "/apis/apps/v1/namespaces/\(KubeClient.escape(namespace))/deployments/\(KubeClient.escape(name))/scale"
    }

    public func getScale(namespace: String, deployment: String) throws -> Scale {
        let r = try call(.GET, KubeClient.scalePath(namespace, deployment))
        guard let obj = try? JSONSerialization.jsonObject(with: r.body) as? [String: Any],
            let rv = (obj["metadata"] as? [String: Any])?["resourceVersion"] as? String
        else { throw KubeError(code: r.status, reason: "BadResponse", message: "not a Scale") }
        return Scale(replicas: (obj["spec"] as? [String: Any])?["replicas"] as? Int ?? 0, resourceVersion: rv)
    }

    /// Sets replicas conditionally: a merge patch carrying the resourceVersion read (409 if it moved).
    public func setScale(namespace: String, deployment: String, replicas: Int, resourceVersion: String, dryRun: Bool)
        throws
    {
        let body =
            "{\"metadata\":{\"resourceVersion\":\(JSONString.quoted(resourceVersion))},\"spec\":{\"replicas\":\(replicas)}}"
        _ = try call(
            .PATCH, KubeClient.scalePath(namespace, deployment) + (dryRun ? "?dryRun=All" : ""), body: body,
            contentType: "application/merge-patch+json")
    }

    /// A deployment as the API returns it (JSON object), for what `rollout undo` reads.
    public func getDeployment(namespace: String, name: String) throws -> [String: Any] {
        let r = try call(
            .GET, "/apis/apps/v1/namespaces/\(KubeClient.escape(namespace))/deployments/\(KubeClient.escape(name))")
        guard let obj = try? JSONSerialization.jsonObject(with: r.body) as? [String: Any], obj["metadata"] != nil else {
            throw KubeError(code: r.status, reason: "BadResponse", message: "not a Deployment")
        }
        return obj
    }

    /// ReplicaSets matching a label selector (a deployment's revisions), as JSON objects.
    public func listReplicaSets(namespace: String, selector: String) throws -> [[String: Any]] {
        let r = try call(
            .GET,
            "/apis/apps/v1/namespaces/\(KubeClient.escape(namespace))/replicasets?labelSelector=\(KubeClient.query(selector))"
        )
        guard let obj = try? JSONSerialization.jsonObject(with: r.body) as? [String: Any],
            let items = obj["items"] as? [[String: Any]]
        else { throw KubeError(code: r.status, reason: "BadResponse", message: "not a ReplicaSetList") }
        return items
    }

    /// A JSON patch (RFC 6902) of a deployment, as `kubectl rollout undo` sends one.
    public func patchDeployment(namespace: String, name: String, jsonPatch: String, dryRun: Bool = false) throws {
        _ = try call(
            .PATCH,
            "/apis/apps/v1/namespaces/\(KubeClient.escape(namespace))/deployments/\(KubeClient.escape(name))"
                + (dryRun ? "?dryRun=All" : ""),
            body: jsonPatch, contentType: "application/json-patch+json")
    }

    /// The object an Event is about.
    public struct ObjectReference: Sendable, Equatable {
        public var apiVersion: String
        public var kind: String
        public var name: String
        public var uid: String?
        public init(apiVersion: String, kind: String, name: String, uid: String? = nil) {
            self.apiVersion = apiVersion
            self.kind = kind
            self.name = name
            self.uid = uid
        }
    }

    /// Records a core/v1 Event about `object` (what `kubectl describe` lists under Events).
    public func createEvent(
        namespace: String, about object: ObjectReference, reason: String, message: String, type: String = "Normal",
        at time: String, instance: String
    ) throws {
        var involved =
            "{\"apiVersion\": \(JSONString.quoted(object.apiVersion)), \"kind\": \(JSONString.quoted(object.kind)), "
            + "\"name\": \(JSONString.quoted(object.name)), \"namespace\": \(JSONString.quoted(namespace))"
        if let u = object.uid { involved += ", \"uid\": \(JSONString.quoted(u))" }
        involved += "}"
        let body =
            "{\"apiVersion\": \"v1\", \"kind\": \"Event\", \"metadata\": {\"generateName\": \(JSONString.quoted(object.name + ".")), "
            + "\"namespace\": \(JSONString.quoted(namespace))}, \"involvedObject\": \(involved), "
            + "\"reason\": \(JSONString.quoted(reason)), \"message\": \(JSONString.quoted(message)), \"type\": \(JSONString.quoted(type)), "
            + "\"source\": {\"component\": \"promowatch\"}, \"reportingComponent\": \"promowatch\", "
            + "\"reportingInstance\": \(JSONString.quoted(instance)), \"firstTimestamp\": \(JSONString.quoted(time)), "
            + "\"lastTimestamp\": \(JSONString.quoted(time)), \"count\": 1}"
        _ = try call(.POST, "/api/v1/namespaces/\(KubeClient.escape(namespace))/events", body: body)
    }

    /// Deletes one pod (its controller starts a new one), like `kubectl delete pod`.
    public func deletePod(namespace: String, name: String, dryRun: Bool = false) throws {
        _ = try call(
            .DELETE,
            "/api/v1/namespaces/\(KubeClient.escape(namespace))/pods/\(KubeClient.escape(name))"
                + (dryRun ? "?dryRun=All" : ""))
    }

    /// A container's log with RFC3339Nano timestamps, from `sinceTime` (whole seconds, as the API takes them).
    public func podLog(namespace: String, pod: String, container: String, sinceTime: String?) throws -> Data {
        var path =
            "/api/v1/namespaces/\(KubeClient.escape(namespace))/pods/\(KubeClient.escape(pod))/log?timestamps=true&container=\(KubeClient.escape(container))"
        if let s = sinceTime { path += "&sinceTime=" + KubeClient.query(s) }
        return try call(.GET, path).body
    }

    /// Restarts a deployment like `kubectl rollout restart`: a new restartedAt annotation on its pod template.
    public func restartDeployment(namespace: String, name: String, at time: String, dryRun: Bool = false) throws {
        let patch =
            #"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"\#(time)"}}}}}"#
        _ = try call(
            .PATCH,
            "/apis/apps/v1/namespaces/\(KubeClient.escape(namespace))/deployments/\(KubeClient.escape(name))"
                + (dryRun ? "?dryRun=All" : ""),
            body: patch, contentType: "application/strategic-merge-patch+json")
    }
}
