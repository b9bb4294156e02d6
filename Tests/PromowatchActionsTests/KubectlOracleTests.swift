import XCTest
import PromowatchTestSupport
import Foundation
import Yams
import PromowatchCore
@testable import PromowatchActions

/// `kubectl` as an oracle: the ConfigMap promowatch would end up with equals what
/// `kubectl patch --local` makes of the same merge patch; and the shipped manifests render.
final class KubectlOracleTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func kubectl(_ args: [String]) throws -> (Int32, String, String) { try KubectlOracleTests.kubectl(args) }

    static func kubectl(_ args: [String], environment: [String: String]? = nil) throws -> (Int32, String, String) {
        guard
            let path = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            throw TestDependency.missing("kubectl is not installed (it comes with this project's machine image)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        if let environment { p.environment = environment }
        p.currentDirectoryURL = KubectlOracleTests.root
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func configMap(_ data: [String: String], rv: String = "7") -> String {
        let d = data.keys.sorted().map { "\(JSONString.quoted($0)):\(JSONString.quoted(data[$0]!))" }.joined(
            separator: ",")
        return
            #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"checkout-config","namespace":"microservices","resourceVersion":"\#(rv)"},"data":{\#(d)}}"#
    }

    func applyWithKubectl(_ cm: String, _ patch: String) throws -> [String: String] {
        let file = NSTemporaryDirectory() + "pw-cm-\(UUID().uuidString).json"
        try cm.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (status, out, err) = try kubectl([
            "patch", "--local", "-f", file, "--type", "merge", "-p", patch, "-o", "json",
        ])
        XCTAssertEqual(status, 0, err)
        let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        return obj["data"] as? [String: String] ?? [:]
    }

    func testOurEditsEqualKubectlPatch() throws {
        let c = ActionsConfig()
        let cases: [([String: String], String)] = [
            (
                [
                    "BLACKLISTED_COUPONS": "OLD1,old2", "ENABLE_STRIPE": "true", "ENABLE_PAYPAL": "false",
                    "OTHER": "x y",
                ], "LEAK1"
            ),
            (["ENABLE_STRIPE": "true", "ENABLE_PAYPAL": "true"], "NEW-CODE_2"),
            (["BLACKLISTED_COUPONS": "", "NOTE": "quote \" and \\ and\nnewline"], "X9"),
            (["BLACKLISTED_COUPONS": "A, B ,C,", "ENABLE_STRIPE": "1", "ENABLE_PAYPAL": "no"], "d"),
        ]
        for (data, code) in cases {
            // blacklist
            var ours = data
            let list = try ConfigMapEdits.blacklist(data[c.blacklistKey], add: code)
            ours[c.blacklistKey] = list
            let patch = ConfigMapEdits.mergePatch([c.blacklistKey: list], resourceVersion: "7")
            XCTAssertEqual(try applyWithKubectl(configMap(data), patch), ours, "blacklist \(code) on \(data)")
            // provider switch
            if let changes = try? ConfigMapEdits.disableProvider("stripe", data: data, config: c) {
                var switched = data
                for (k, v) in changes { switched[k] = v }
                XCTAssertEqual(
                    try applyWithKubectl(configMap(data), ConfigMapEdits.mergePatch(changes, resourceVersion: "7")),
                    switched)
                XCTAssertFalse(ConfigMapEdits.enabled(switched[c.providerKeys["stripe"]!]))
                XCTAssertTrue(ConfigMapEdits.enabled(switched[c.providerKeys["paypal"]!]), "a provider stays enabled")
            }
        }
    }

    func testManifestsRenderAndTheRoleGrantsNothingMore() throws {
        let (status, out, err) = try kubectl(["kustomize", "config/kubernetes"])
        XCTAssertEqual(status, 0, err)
        let docs = try Yams.load_all(yaml: out).compactMap { $0 as? [String: Any] }
        let kinds = Set(docs.compactMap { $0["kind"] as? String })
        XCTAssertEqual(kinds, ["ServiceAccount", "Role", "RoleBinding", "CronJob", "Deployment", "ConfigMap"])
        let base: Set<String> = [
            "/configmaps/checkout-config/get", "/configmaps/checkout-config/patch", "/pods/*/list",
            "/pods/log/*/get", "/events/*/create",
            "apps/deployments/checkout/patch",
        ]
        XCTAssertEqual(try granted(docs), base)
        // the runbook actions' component adds exactly what those actions need, nothing when unused
        let (status2, out2, err2) = try kubectl(["kustomize", "config/overlays/runbook-actions"])
        XCTAssertEqual(status2, 0, err2)
        XCTAssertEqual(
            try granted(try Yams.load_all(yaml: out2).compactMap { $0 as? [String: Any] }),
            base.union([
                "/pods/*/delete", "apps/deployments/scale/checkout/get", "apps/deployments/scale/checkout/patch",
                "apps/deployments/checkout/get", "apps/replicasets/*/list",
            ]))
        let cron = try XCTUnwrap(docs.first { $0["kind"] as? String == "CronJob" })
        XCTAssertEqual((cron["spec"] as? [String: Any])?["concurrencyPolicy"] as? String, "Forbid")
        for kind in ["CronJob", "Deployment"] {
            let yaml = try Yams.dump(object: docs.first { $0["kind"] as? String == kind }!)
            XCTAssertTrue(yaml.contains("serviceAccountName: promowatch"), kind)
        }
    }

    /// The Role's grants as `group/resource/names/verb`, with no wildcard anywhere.
    func granted(_ docs: [[String: Any]]) throws -> Set<String> {
        let role = try XCTUnwrap(docs.first { $0["kind"] as? String == "Role" })
        let rules = try XCTUnwrap(role["rules"] as? [[String: Any]])
        var granted: Set<String> = []
        for r in rules {
            let groups = r["apiGroups"] as? [String] ?? []
            let resources = r["resources"] as? [String] ?? []
            let verbs = r["verbs"] as? [String] ?? []
            let names = (r["resourceNames"] as? [String])?.joined(separator: "|") ?? "*"
            XCTAssertFalse(verbs.contains("*") || resources.contains("*") || groups.contains("*"), "no wildcards")
            for g in groups { for res in resources { for v in verbs { granted.insert("\(g)/\(res)/\(names)/\(v)") } } }
        }
        return granted
    }
}
