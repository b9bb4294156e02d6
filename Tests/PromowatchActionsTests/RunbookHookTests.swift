import Foundation
import PromowatchCore
import PromowatchTestSupport
import XCTest

/// Runbook hooks against a local HTTP receiver (127.0.0.1, stops by itself): the call is made
/// only with `--apply` and the mode enforced, its body is JSON whatever a coupon code holds, its
/// secret header comes from the environment and never shows, a 5xx is a failed outcome, and the
/// audit records each call.
final class RunbookHookTests: XCTestCase {
    let dir = NSTemporaryDirectory() + "pw-hook-\(UUID().uuidString)"
    var local: LocalReceiver?

    override func setUpWithError() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() {
        local = nil
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Starts a receiver answering `status`; returns its port.
    func startReceiver(status: Int) throws -> Int {
        let r = try LocalReceiver(directory: dir, status: status)
        local = r
        return r.port
    }

    func requests() -> [[String: Any]] { local?.requests() ?? [] }

    /// A code a user typed to break out of a JSON string, stacked on orders (discount >= subtotal).
    let hostile = "EVIL\"},\"admin\":true,\"x\":{\"y\":\"<b>\\n*`@here`*"

    func stackingLog() throws -> String {
        let t0 = Int64(Date().timeIntervalSince1970 - 300) * EventTime.nanosPerSecond
        let code = String(
            decoding: try JSONSerialization.data(withJSONObject: [hostile], options: [.fragmentsAllowed]), as: UTF8.self
        )
        .dropFirst().dropLast()
        let lines = (0..<4).map { k in
            "{\"ts\":\"\(EventTime.rfc3339(t0 + Int64(k) * 10 * EventTime.nanosPerSecond))\",\"msg\":\"ApplyPromotion\","
                + "\"coupon\":\(code),\"user_id\":\"u-\(k)\",\"status\":\"applied\",\"discount\":50,\"subtotal\":50}"
        }
        let path = dir + "/stacking.log"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func config(port: Int, mode: String) throws -> String {
        try "file-secret-42\n".write(toFile: dir + "/api-key", atomically: true, encoding: .utf8)
        let path = dir + "/hooks-\(mode).yaml"
        try """
        decision:
          modes:
            runbook_hook: \(mode)
        hooks:
          - name: deactivate-promotion
            categories: [discount_stacking, coupon_abuse]
            min_severity: P1
            url: "http://127.0.0.1:\(port)/api/promotions/deactivate?token=query-secret-77"
            method: POST
            headers:
              Authorization: {env: PROMO_ADMIN_TOKEN, prefix: "Bearer "}
              X-Api-Key: {file: "\(dir)/api-key"}
            body: '{"code": ${coupon}, "severity": ${severity}, "finding": ${fingerprint}, "note": "from promowatch"}'
            timeout_seconds: 5
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func run(_ args: [String]) throws -> (Binary.Result, [[String: Any]]) {
        let r = try Binary.run(args, environment: ["HOME": dir, "PROMO_ADMIN_TOKEN": "s3cr3t-admin-token"])
        return (
            r,
            r.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        )
    }

    func testTheHookIsCalledWithAnEscapedBodyAndItsSecretNeverShows() throws {
        let port = try startReceiver(status: 204)
        let log = try stackingLog()
        // a dry run sends nothing and says what it would send
        let (dry, dryOut) = try run([
            "analyze", "--config", try config(port: port, mode: "enforce"), "--format", "json", log,
        ])
        XCTAssertEqual(dry.status, 0, dry.stderr)
        let dryStep = try XCTUnwrap(dryOut.compactMap { $0["step"] as? [String: Any] }.first, dry.stdout)
        XCTAssertEqual(dryStep["kind"] as? String, "runbook_hook")
        XCTAssertTrue(
            (dryStep["outcome"] as? String ?? "").hasPrefix(
                "dry_run: would POST http://127.0.0.1:\(port)/api/promotions/deactivate ("), "\(dryStep)")
        XCTAssertTrue(requests().isEmpty)

        let (r, out) = try run(
            [
                "cron", "--from", log, "--apply", "--config", try config(port: port, mode: "enforce"), "--format",
                "json",
                "--state-dir", dir + "/state",
            ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let calls = requests()
        XCTAssertEqual(calls.count, 1, "one call for one finding")
        let call = try XCTUnwrap(calls.first)
        XCTAssertEqual(call["authorization"] as? String, "Bearer s3cr3t-admin-token")
        XCTAssertEqual(call["api_key"] as? String, "file-secret-42", "from the file, without its newline")
        XCTAssertEqual(call["path"] as? String, "/api/promotions/deactivate?token=query-secret-77")
        let body = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data((call["body"] as! String).utf8)) as? [String: Any])
        XCTAssertEqual(Set(body.keys), ["code", "severity", "finding", "note"], "nothing injected")
        XCTAssertEqual(body["code"] as? String, ASCII.uppercased(hostile))
        XCTAssertEqual(body["severity"] as? String, "P1")
        let step = try XCTUnwrap(out.compactMap { $0["step"] as? [String: Any] }.first, r.stdout)
        XCTAssertTrue((step["outcome"] as? String ?? "").hasPrefix("applied: POST "), "\(step)")
        XCTAssertTrue((step["outcome"] as? String ?? "").hasSuffix("-> 204"), "\(step)")
        for text in [dry.stdout, dry.stderr, r.stdout, r.stderr] {
            XCTAssertFalse(
                text.contains("s3cr3t-admin-token") || text.contains("query-secret-77")
                    || text.contains("file-secret-42"),
                text)
        }
        // the audit keeps the call
        let (h, history) = try run(["history", "--state-dir", dir + "/state", "--format", "json"])
        XCTAssertEqual(h.status, 0, h.stderr)
        XCTAssertNotNil(
            history.compactMap { $0["action"] as? [String: Any] }.first {
                $0["kind"] as? String == "runbook_hook" && ($0["outcome"] as? String ?? "").hasPrefix("applied")
            }, h.stdout)
        XCTAssertFalse(h.stdout.contains("query-secret-77"))
    }

    func testAFailingReceiverIsAFailedOutcomeAndShadowOrOffSendsNothing() throws {
        let port = try startReceiver(status: 503)
        let log = try stackingLog()
        let (_, out) = try run(
            ["analyze", "--apply", "--config", try config(port: port, mode: "enforce"), "--format", "json", log])
        let step = try XCTUnwrap(out.compactMap { $0["step"] as? [String: Any] }.first)
        XCTAssertTrue((step["outcome"] as? String ?? "").hasPrefix("failed: POST "), "\(step)")
        XCTAssertTrue((step["outcome"] as? String ?? "").hasSuffix("-> 503"), "\(step)")
        XCTAssertEqual(requests().count, 1)

        let (_, shadow) = try run(
            ["analyze", "--apply", "--config", try config(port: port, mode: "shadow"), "--format", "json", log])
        let s = try XCTUnwrap(shadow.compactMap { $0["step"] as? [String: Any] }.first)
        XCTAssertTrue((s["outcome"] as? String ?? "").hasPrefix("dry_run: shadow: would POST"), "\(s)")
        let (_, off) = try run([
            "analyze", "--apply", "--config", try config(port: port, mode: "off"), "--format", "json", log,
        ])
        XCTAssertTrue(off.compactMap { $0["step"] as? [String: Any] }.isEmpty)
        XCTAssertEqual(requests().count, 1, "shadow and off sent nothing")
    }
}
