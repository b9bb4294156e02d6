import Foundation
import PromowatchTestSupport
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Incidents announced by `watch`: to a real Alertmanager (Debian's `prometheus-alertmanager`,
/// started on loopback by the test, its webhook receiver pointing back at the test), to a Slack
/// incoming webhook and a generic webhook (a local receiver). The alert is active in Alertmanager's
/// API and reaches its receiver, then resolves; Slack's Block Kit stays within its limits and a
/// coupon code cannot format or mention anything; a flaky webhook gets every notice through
/// retries; a receiver that stays down costs drops, counted in the metrics, never detection.
final class NotificationTests: XCTestCase {
    let dir = NSTemporaryDirectory() + "pw-notify-\(UUID().uuidString)"
    var processes: [Process] = []

    override func setUpWithError() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() {
        local = nil
        for p in processes where p.isRunning { p.terminate() }
        for p in processes { p.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    var local: LocalReceiver?

    /// The local receiver (`/down` always 500, `/flaky` 503 to its first two requests).
    func startReceiver() throws -> Int {
        let r = try LocalReceiver(directory: dir)
        local = r
        return r.port
    }

    func requests(_ path: String) -> [[String: Any]] { local?.requests(path) ?? [] }

    func body(_ r: [String: Any]) -> Any? {
        try? JSONSerialization.jsonObject(with: Data((r["body"] as? String ?? "").utf8))
    }

    func wait(_ seconds: Double, _ ok: () -> Bool) -> Bool {
        let until = Date().addingTimeInterval(seconds)
        while Date() < until {
            if ok() { return true }
            Thread.sleep(forTimeInterval: 0.25)
        }
        return ok()
    }

    let hostile = "EVIL<!here>&*bold*_it_`code`\n<@U123>"

    /// A saturated database and stacked discounts on a hostile code, ten minutes ago.
    func incidentLines() throws -> String {
        let t0 = Date().timeIntervalSince1970 - 1800
        func ts(_ s: Double) -> String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t0 + s)) }
        let code = String(
            decoding: try JSONSerialization.data(withJSONObject: [hostile]), as: UTF8.self
        ).dropFirst().dropLast()
        var lines: [String] = []
        for k in 0..<3 {
            lines.append(
                "{\"ts\":\"\(ts(Double(k)))\",\"msg\":\"query failed\",\"error\":\"pq: sorry, too many clients already\"}"
            )
        }
        for k in 0..<4 {
            lines.append(
                "{\"ts\":\"\(ts(Double(10 + k)))\",\"msg\":\"ApplyPromotion\",\"coupon\":\(code),\"user_id\":\"u\(k)\",\"status\":\"applied\",\"discount\":30,\"subtotal\":30}"
            )
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// 29 minutes later: past the longest window that still held the causes (15 minutes: an
    /// incident stays open while its cause holds) and the incident gap, so both resolve.
    func laterLine() -> String {
        let t = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Date().timeIntervalSince1970 - 60))
        return "{\"ts\":\"\(t)\",\"msg\":\"request\",\"latency_ms\":40}\n"
    }

    func testIncidentsReachAlertmanagerSlackAndAWebhookAndResolve() throws {
        try TestDependency.require(tool: "prometheus-alertmanager")
        let rport = try startReceiver()
        let aport = try MetricsTests.freePort()
        try """
        route: {receiver: back, group_by: [incident], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
        receivers:
          - name: back
            webhook_configs: [{url: "http://127.0.0.1:\(rport)/alertmanager", send_resolved: true}]
        """.write(toFile: dir + "/alertmanager.yml", atomically: true, encoding: .utf8)
        let am = Process()
        am.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        am.arguments = [
            "timeout", "120", "prometheus-alertmanager", "--config.file=\(dir)/alertmanager.yml",
            "--storage.path=\(dir)/am", "--web.listen-address=127.0.0.1:\(aport)", "--cluster.listen-address=",
        ]
        am.standardOutput = FileHandle.nullDevice
        am.standardError = FileHandle.nullDevice
        try am.run()
        processes.append(am)
        XCTAssertTrue(
            wait(20) { (try? Data(contentsOf: URL(string: "http://127.0.0.1:\(aport)/-/ready")!)) != nil },
            "Alertmanager did not start")

        try """
        decision:
          incident_gap_minutes: 1
        notifications:
          alertmanager: {url: "http://127.0.0.1:\(aport)", min_severity: P1}
          slack: {url: {env: SLACK_WEBHOOK_URL}, min_severity: P1}
          webhook: {url: {env: INCIDENT_WEBHOOK_URL}, min_severity: P2}
          retries: 3
        """.write(toFile: dir + "/watch.yaml", atomically: true, encoding: .utf8)
        let input = Pipe()
        let watch = try Binary.start(
            ["watch", "--config", dir + "/watch.yaml", "--format", "json"],
            environment: [
                "HOME": dir, "SLACK_WEBHOOK_URL": "http://127.0.0.1:\(rport)/slack?token=slack-secret-1",
                "INCIDENT_WEBHOOK_URL": "http://127.0.0.1:\(rport)/flaky",
            ], stdin: input, stdout: FileHandle.nullDevice, stderr: FileHandle.nullDevice)
        processes.append(watch)
        input.fileHandleForWriting.write(Data(try incidentLines().utf8))

        // active in Alertmanager's API, with the stable labels, and delivered to its receiver
        func alerts() -> [[String: Any]] {
            guard let d = try? Data(contentsOf: URL(string: "http://127.0.0.1:\(aport)/api/v2/alerts")!) else {
                return []
            }
            return (try? JSONSerialization.jsonObject(with: d) as? [[String: Any]]) ?? []
        }
        XCTAssertTrue(wait(30) { alerts().count == 2 }, "\(alerts())")
        let db = try XCTUnwrap(
            alerts().first { ($0["labels"] as? [String: String])?["category"] == "db_saturation" })
        let labels = try XCTUnwrap(db["labels"] as? [String: String])
        XCTAssertEqual(labels["alertname"], "promowatch_db_saturation")
        XCTAssertEqual(labels["severity"], "P1")
        XCTAssertEqual(labels["subject"], "checkout")
        XCTAssertEqual((db["status"] as? [String: Any])?["state"] as? String, "active")
        XCTAssertTrue(
            wait(20) {
                requests("/alertmanager").contains {
                    ((body($0) as? [String: Any])?["status"] as? String) == "firing"
                }
            }, "Alertmanager's receiver got the alert")

        // the end: both incidents resolve, Alertmanager tells its receiver
        input.fileHandleForWriting.write(Data(laterLine().utf8))
        XCTAssertTrue(
            wait(30) {
                requests("/alertmanager").contains {
                    ((body($0) as? [String: Any])?["status"] as? String) == "resolved"
                }
            }, "resolved in Alertmanager: \(requests("/alertmanager").map { $0["body"] ?? "" })")
        try input.fileHandleForWriting.close()
        watch.waitUntilExit()

        // Slack: opened and resolved for each incident, Block Kit within limits, the code inert
        let slack = requests("/slack").compactMap { body($0) as? [String: Any] }
        XCTAssertEqual(slack.count, 4, "\(slack)")
        for m in slack {
            XCTAssertFalse((m["text"] as? String ?? "").contains("EVIL"), "the mrkdwn fallback holds only our words")
            let blocks = try XCTUnwrap(m["blocks"] as? [[String: Any]])
            for b in blocks {
                var texts: [[String: Any]] = []
                if let t = b["text"] as? [String: Any] { texts.append(t) }
                texts += b["fields"] as? [[String: Any]] ?? []
                texts += b["elements"] as? [[String: Any]] ?? []
                XCTAssertLessThanOrEqual((b["fields"] as? [Any])?.count ?? 0, 10)
                for t in texts {
                    XCTAssertEqual(t["type"] as? String, "plain_text", "nothing from a log is mrkdwn")
                    let limit = b["type"] as? String == "header" ? 150 : (b["fields"] != nil ? 2000 : 3000)
                    XCTAssertLessThanOrEqual((t["text"] as? String ?? "").count, limit)
                }
            }
        }
        XCTAssertTrue(
            slack.contains { m in
                (m["blocks"] as? [[String: Any]] ?? []).contains {
                    (($0["text"] as? [String: Any])?["text"] as? String ?? "").contains("<!HERE>")
                }
            }, "the code is shown as it is, as plain text")

        // the flaky webhook: two 503s, then every notice through (2 opened + 2 resolved)
        let flaky = requests("/flaky")
        XCTAssertEqual(flaky.filter { $0["status"] as? Int == 503 }.count, 2)
        XCTAssertEqual(flaky.filter { $0["status"] as? Int == 200 }.count, 4, "\(flaky.count) requests")
        for r in flaky where r["status"] as? Int == 200 {
            let b = try XCTUnwrap(body(r) as? [String: Any])
            XCTAssertNotNil(b["incident"] as? [String: Any])
        }
    }

    func testAReceiverThatStaysDownCostsDropsNotDetection() throws {
        let rport = try startReceiver()
        try """
        notifications:
          slack: {url: {env: SLACK_WEBHOOK_URL}}
          retries: 1
        """.write(toFile: dir + "/down.yaml", atomically: true, encoding: .utf8)
        let input = Pipe()
        let errors = Pipe()
        let output = Pipe()
        let watch = try Binary.start(
            ["watch", "--config", dir + "/down.yaml", "--format", "json", "--metrics-listen", "127.0.0.1:0"],
            environment: ["HOME": dir, "SLACK_WEBHOOK_URL": "http://127.0.0.1:\(rport)/down"], stdin: input,
            stdout: output, stderr: errors)
        processes.append(watch)
        var said = Data()
        var port = 0
        XCTAssertTrue(
            wait(20) {
                said.append(errors.fileHandleForReading.availableData)
                let t = String(decoding: said, as: UTF8.self)
                if let r = t.range(of: "metrics on port ") {
                    port = Int(t[r.upperBound...].prefix { $0.isNumber }) ?? 0
                }
                return port != 0
            })
        input.fileHandleForWriting.write(Data(try incidentLines().utf8))
        var metrics = ""
        XCTAssertTrue(
            wait(30) {
                metrics =
                    (try? String(contentsOf: URL(string: "http://127.0.0.1:\(port)/metrics")!, encoding: .utf8)) ?? ""
                return metrics.contains("promowatch_notification_drops_total 2\n")
            }, metrics)
        XCTAssertTrue(
            metrics.contains("promowatch_findings_total{category=\"db_saturation\",severity=\"P1\"} 1"), metrics)
        XCTAssertEqual(requests("/down").count, 4, "two notices, each tried twice")
        try input.fileHandleForWriting.close()
        watch.waitUntilExit()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(out.contains("\"category\": \"db_saturation\""), "detection went on")
        XCTAssertFalse(String(decoding: said, as: UTF8.self).contains("/down"), "the URL is a secret")
    }

    /// Alertmanager resolves an alert it stops hearing of: active incidents are re-sent every
    /// `notifications.resend_seconds` (here to the local receiver standing in for it).
    func testActiveIncidentsAreResentWhileActive() throws {
        let port = try startReceiver()
        try """
        notifications:
          alertmanager: {url: "http://127.0.0.1:\(port)"}
          resend_seconds: 5
        """.write(toFile: dir + "/resend.yaml", atomically: true, encoding: .utf8)
        let input = Pipe()
        let watch = try Binary.start(
            ["watch", "--config", dir + "/resend.yaml", "--format", "json"], environment: ["HOME": dir], stdin: input,
            stdout: FileHandle.nullDevice, stderr: FileHandle.nullDevice)
        processes.append(watch)
        input.fileHandleForWriting.write(Data(try incidentLines().utf8))
        // two openings, then both incidents again in one re-send, still without an end
        XCTAssertTrue(wait(20) { requests("/api/v2/alerts").count >= 3 }, "\(requests("/api/v2/alerts").count) posts")
        let resent = try XCTUnwrap(requests("/api/v2/alerts").last.flatMap { body($0) as? [[String: Any]] })
        XCTAssertEqual(resent.count, 2)
        XCTAssertTrue(resent.allSatisfy { $0["endsAt"] == nil && $0["startsAt"] != nil })
        try input.fileHandleForWriting.close()
        watch.waitUntilExit()
    }

    /// Each receiver has its own minimum severity: P1 incidents reach a webhook that takes P2 and
    /// worse, never a Slack channel that takes P0 only.
    func testEachReceiverHasItsOwnMinimumSeverity() throws {
        let port = try startReceiver()
        try """
        notifications:
          slack: {url: "http://127.0.0.1:\(port)/slack", min_severity: P0}
          webhook: {url: "http://127.0.0.1:\(port)/hook", min_severity: P2}
        """.write(toFile: dir + "/levels.yaml", atomically: true, encoding: .utf8)
        let r = try Binary.run(
            ["watch", "--config", dir + "/levels.yaml", "--format", "json"], stdin: Data(try incidentLines().utf8),
            environment: ["HOME": dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(requests("/hook").count, 2, "both P1 incidents, opened")
        XCTAssertEqual(requests("/slack").count, 0)
    }
}
