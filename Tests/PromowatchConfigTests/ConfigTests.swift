import XCTest
import Foundation
import PromowatchCore
@testable import PromowatchConfig

final class ConfigTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testShippedFileEqualsTheBuiltInDefaultsAndDocumentsEveryKey() throws {
        let text = try String(
            contentsOf: ConfigTests.root.appendingPathComponent("config/promowatch.yaml"), encoding: .utf8)
        XCTAssertEqual(try ConfigLoader.load(yaml: text, file: "promowatch.yaml"), DetectionConfig())
        // every key appears in the file, under its section, with a comment block somewhere above
        for (key, _) in ConfigLoader.settings {
            let parts = key.split(separator: ".")
            let name = String(parts.last!)
            XCTAssertTrue(
                text.contains("\n  \(name):") || text.contains("\n\(name):"), "config/promowatch.yaml lacks \(key)")
        }
        XCTAssertTrue(text.contains("\naliases:"))
    }

    func testEmptyFileIsDefaults() throws {
        XCTAssertEqual(try ConfigLoader.load(yaml: "", file: "x"), DetectionConfig())
        XCTAssertEqual(try ConfigLoader.load(yaml: "# nothing\n", file: "x"), DetectionConfig())
    }

    func testOverridesApply() throws {
        let c = try ConfigLoader.load(
            yaml: """
                general:
                  min_score: 6.5
                coupon_abuse:
                  min_redemptions: 40
                decision:
                  min_severity: P0
                  allowlist: [VIP25, welcome10]
                  campaigns:
                    - WINTER30
                aliases:
                  coupon: [voucher]
                  latency_ms: [elapsed_ms]
                """, file: "x")
        XCTAssertEqual(c.general.minScore, 6.5)
        XCTAssertEqual(c.decision.minSeverity, .p0)
        XCTAssertEqual(c.couponAbuse.minRedemptions, 40)
        XCTAssertEqual(c.couponAbuse.windowMinutes, 5, "untouched keys keep their default")
        XCTAssertEqual(c.decision.allowlist, ["VIP25", "welcome10"])
        XCTAssertEqual(c.decision.campaigns, ["WINTER30"])
        XCTAssertEqual(c.aliases["coupon"], ["voucher"])
        XCTAssertEqual(c.aliases["latency_ms"], ["elapsed_ms"])
        let a = try ConfigLoader.load(
            yaml: "actions:\n  namespace: shop\n  provider_keys: {Adyen: ENABLE_ADYEN}\ndecision:\n  max_per_run: 2\n",
            file: "x")
        XCTAssertEqual(a.actions.namespace, "shop")
        XCTAssertEqual(a.actions.providerKeys, ["adyen": "ENABLE_ADYEN"])
        XCTAssertEqual(a.decision.maxPerRun, 2)
        let m = try ConfigLoader.load(yaml: "decision:\n  modes:\n    blacklist_coupon: shadow\n", file: "x")
        XCTAssertEqual(m.decision.mode(.blacklistCoupon), .shadow)
        XCTAssertEqual(m.decision.mode(.disableProvider), .enforce, "unnamed kinds keep enforce")
        XCTAssertEqual(a.actions.configMap, "checkout-config")
    }

    func testTheRunbookActionsAreOffUntilEnabledAndTakeTheirSettings() throws {
        let d = DetectionConfig()
        XCTAssertEqual(d.decision.mode(.terminateIdleConnections), .off)
        XCTAssertEqual(d.decision.mode(.restartCulprit), .off)
        XCTAssertNil(d.diagnostics.postgres)
        let c = try ConfigLoader.load(
            yaml: """
                diagnostics:
                  postgres: "host=/run/pg dbname=checkout user=diag"
                  max_age_seconds: 120
                actions:
                  idle_connection_seconds: 30
                  culprit_selectors:
                    leaky-svc: "app.kubernetes.io/name=leaky,tier=backend"
                decision:
                  modes:
                    terminate_idle_connections: shadow
                """, file: "site.yaml")
        XCTAssertEqual(c.diagnostics.postgres, "host=/run/pg dbname=checkout user=diag")
        XCTAssertEqual(c.diagnostics.maxAgeSeconds, 120)
        XCTAssertEqual(c.actions.idleConnectionSeconds, 30)
        XCTAssertEqual(c.actions.culpritSelectors, ["leaky-svc": "app.kubernetes.io/name=leaky,tier=backend"])
        XCTAssertEqual(c.decision.mode(.terminateIdleConnections), .shadow)
        XCTAssertEqual(c.decision.mode(.restartCulprit), .off)
    }

    func testHooksAreCheckedWhenLoaded() throws {
        let ok = try ConfigLoader.load(
            yaml: """
                hooks:
                  - name: deactivate
                    categories: [coupon_abuse]
                    url: https://admin.example/api/deactivate
                    headers:
                      Authorization: {env: ADMIN_TOKEN, prefix: "Bearer "}
                      X-Team: sre
                    body: '{"code": ${coupon}, "why": ${summary}}'
                """, file: "h.yaml")
        let h = try XCTUnwrap(ok.actions.hooks.first)
        XCTAssertEqual(h.categories, [.couponAbuse])
        XCTAssertEqual(h.method, "POST")
        XCTAssertEqual(h.minSeverity, .p1)
        XCTAssertEqual(h.headers.first?.value, .env("ADMIN_TOKEN", prefix: "Bearer "))
        func error(_ hook: String) -> String? {
            do {
                _ = try ConfigLoader.load(
                    yaml: "hooks:\n  - " + hook.replacingOccurrences(of: "\n", with: "\n    "), file: "h.yaml")
                return nil
            } catch { return "\(error)" }
        }
        let base = "name: a\ncategories: [latency]\nurl: http://127.0.0.1:1/x"
        XCTAssertNil(error(base))
        XCTAssertNotNil(
            error(base + "\nbody: '{\"code\": \"${coupon}\"}'"), "a quoted placeholder is not JSON once filled")
        XCTAssertNotNil(error(base + "\nbody: '{\"code\": ${nonsense}}'"), "an unknown placeholder")
        XCTAssertNotNil(error("name: a\ncategories: [latency]\nurl: file:///etc/passwd"))
        XCTAssertNotNil(error("name: a\ncategories: [lateness]\nurl: http://x"))
        XCTAssertNotNil(error(base + "\nmethod: TRACE"))
        XCTAssertNotNil(error(base + "\nheaders: {Authorization: {vault: x}}"))
        XCTAssertNotNil(error(base + "\ncolor: red"))
        // placeholders fill with quoted JSON: nothing from a log leaves its string
        var f = Finding(
            time: 0, category: .couponAbuse, severity: .p0, subject: Subject(coupon: "A\"},\"x\":{\""), windowStart: 0,
            windowEnd: 0, evidence: Evidence(observed: 1, expected: 1, score: 1), summary: "line\nbreak")
        f.incident = nil
        let body = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(h.render(f).utf8)) as? [String: Any])
        XCTAssertEqual(body["code"] as? String, "A\"},\"x\":{\"")
        XCTAssertEqual(Set(body.keys), ["code", "why"])
        XCTAssertEqual(
            HookConfig(name: "a", categories: [], url: "https://u:pw@admin.example/x?token=t#f").redactedURL,
            "https://admin.example/x")
    }

    func testUnknownKeysAndBadValuesNameTheKey() {
        func error(_ yaml: String) -> ConfigError? {
            do {
                _ = try ConfigLoader.load(yaml: yaml, file: "site.yaml")
                return nil
            } catch { return error as? ConfigError }
        }
        XCTAssertEqual(error("coupon_abuse:\n  min_redemption: 3\n")?.key, "coupon_abuse.min_redemption")
        XCTAssertEqual(
            error("coupon_abuse:\n  min_redemption: 3\n")?.description,
            "site.yaml: 'coupon_abuse.min_redemption': unknown key")
        XCTAssertEqual(error("nonsense: 1\n")?.key, "nonsense")
        XCTAssertEqual(error("general:\n  min_score: high\n")?.key, "general.min_score")
        XCTAssertTrue(error("general:\n  min_score: high\n")!.description.contains("'high'"))
        XCTAssertEqual(error("latency:\n  window_minutes: 0\n")?.key, "latency.window_minutes")
        XCTAssertEqual(error("latency:\n  window_minutes: 2.5\n")?.key, "latency.window_minutes")
        XCTAssertEqual(error("decision:\n  min_severity: P9\n")?.key, "decision.min_severity")
        XCTAssertEqual(error("decision:\n  allowlist: VIP25\n")?.key, "decision.allowlist")
        XCTAssertEqual(
            error("decision:\n  modes:\n    blacklist_coupon: maybe\n")?.key, "decision.modes.blacklist_coupon")
        XCTAssertNotNil(error("decision:\n  modes:\n    restart_pods: off\n"))
        // keys that moved to the decision section say where they went
        XCTAssertEqual(error("allowlist: [VIP25]\n")?.message, "moved: set decision.allowlist instead")
        XCTAssertEqual(
            error("general:\n  min_action_severity: P0\n")?.message, "moved: set decision.min_severity instead")
        XCTAssertEqual(error("actions:\n  max_per_run: 1\n")?.message, "moved: set decision.max_per_run instead")
        XCTAssertEqual(error("aliases:\n  voucher: [v]\n")?.key, "aliases.voucher")
        XCTAssertEqual(error("coupon_abuse: 3\n")?.key, "coupon_abuse")
        XCTAssertEqual(error("actions:\n  provider_keys: [a]\n")?.key, "actions.provider_keys")
        XCTAssertEqual(error("actions:\n  dry_run: false\n")?.key, "actions.dry_run")
        // a restart selector reaches the API: only label keys and values, nothing else
        XCTAssertEqual(
            error("actions:\n  culprit_selectors:\n    leaky: \"app=x&watch=true\"\n")?.key, "actions.culprit_selectors"
        )
        XCTAssertNotNil(error("actions:\n  culprit_selectors:\n    leaky: \"app in (a,b)\"\n"))
        XCTAssertNotNil(error("actions:\n  culprit_selectors:\n    leaky: \"\"\n"))
        XCTAssertFalse(
            error("diagnostics:\n  postgres: [\"postgresql://u:s3cret@db/x\"]\n")!.description.contains("s3cret"),
            "a connection string is never quoted in an error")
        XCTAssertNotNil(error("general: [\n"), "invalid YAML")
        XCTAssertEqual(error("- a\n- b\n")?.message, "expected a mapping at the top level")
    }
}
