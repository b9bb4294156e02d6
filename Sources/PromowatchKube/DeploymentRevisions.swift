import Foundation
import PromowatchCore

/// A deployment and its revisions (the ReplicaSets it owns, numbered by their
/// `deployment.kubernetes.io/revision` annotation), read the way `kubectl rollout undo` reads
/// them: the previous revision is the second highest number.
public struct DeploymentRevisions {
    public struct Revision {
        public var number: Int
        /// Its pod template without the `pod-template-hash` label (what an undo sets).
        public var template: [String: Any]
        public var createdAt: Int64?
        /// The images of its containers, comma-separated.
        public var images: String
    }

    public var name: String
    public var resourceVersion: String
    /// The deployment's pod template now.
    public var template: [String: Any]
    /// Oldest first.
    public var revisions: [Revision]

    public var current: Revision? { revisions.last }
    public var previous: Revision? { revisions.count >= 2 ? revisions[revisions.count - 2] : nil }

    public static func read(_ client: KubeClient, namespace: String, name: String) throws -> DeploymentRevisions {
        let d = try client.getDeployment(namespace: namespace, name: name)
        let meta = d["metadata"] as? [String: Any] ?? [:]
        let spec = d["spec"] as? [String: Any] ?? [:]
        let labels = (spec["selector"] as? [String: Any])?["matchLabels"] as? [String: String] ?? [:]
        guard !labels.isEmpty else {
            throw KubeError(code: 0, reason: "BadResponse", message: "deployment \(name) has no matchLabels selector")
        }
        let selector = labels.keys.sorted().map { "\($0)=\(labels[$0]!)" }.joined(separator: ",")
        let uid = meta["uid"] as? String
        var revisions: [Revision] = []
        for rs in try client.listReplicaSets(namespace: namespace, selector: selector) {
            let m = rs["metadata"] as? [String: Any] ?? [:]
            // only the deployment's own ReplicaSets (its controller reference)
            let owned = (m["ownerReferences"] as? [[String: Any]] ?? []).contains {
                $0["kind"] as? String == "Deployment" && $0["name"] as? String == name
                    && (uid == nil || $0["uid"] as? String == uid)
            }
            guard owned,
                let number = ((m["annotations"] as? [String: String])?["deployment.kubernetes.io/revision"]).flatMap({
                    Int($0)
                }),
                var template = (rs["spec"] as? [String: Any])?["template"] as? [String: Any]
            else { continue }
            if var tm = template["metadata"] as? [String: Any], var l = tm["labels"] as? [String: Any] {
                l["pod-template-hash"] = nil
                tm["labels"] = l
                template["metadata"] = tm
            }
            revisions.append(
                Revision(
                    number: number, template: template,
                    createdAt: (m["creationTimestamp"] as? String).flatMap(EventTime.parseRFC3339),
                    images: DeploymentRevisions.images(template)))
        }
        return DeploymentRevisions(
            name: name, resourceVersion: meta["resourceVersion"] as? String ?? "",
            template: spec["template"] as? [String: Any] ?? [:],
            revisions: revisions.sorted { $0.number < $1.number })
    }

    static func images(_ template: [String: Any]) -> String {
        ((template["spec"] as? [String: Any])?["containers"] as? [[String: Any]] ?? []).compactMap {
            $0["image"] as? String
        }.joined(separator: ",")
    }

    /// Canonical JSON text (sorted keys) of a template, for the audit and comparisons.
    public static func json(_ template: [String: Any]) -> String {
        (try? JSONSerialization.data(withJSONObject: template, options: [.sortedKeys])).map {
            String(decoding: $0, as: UTF8.self)
        } ?? "{}"
    }

    /// The JSON patch that sets the pod template, conditional on the resourceVersion read (a
    /// patched resourceVersion is a precondition: 409 if the deployment changed since).
    public static func templatePatch(_ template: [String: Any], resourceVersion: String) -> String {
        "[{\"op\":\"replace\",\"path\":\"/metadata/resourceVersion\",\"value\":\(JSONString.quoted(resourceVersion))},"
            + "{\"op\":\"replace\",\"path\":\"/spec/template\",\"value\":\(json(template))}]"
    }
}
