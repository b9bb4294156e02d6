import Foundation
import PromowatchTestSupport
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `watch --metrics-listen` scraped by a real Prometheus server (Debian's `prometheus`, started on
/// loopback by the test and stopped by it, or by `timeout` if the test dies) while an incident
/// streams in; PromQL answers for a business metric, a findings counter and the provider label
/// that a log line cannot choose.
final class MetricsTests: XCTestCase {
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    func query(_ port: Int, _ promql: String) -> [[String: Any]] {
        var c = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/query")!
        c.queryItems = [URLQueryItem(name: "query", value: promql)]
        guard let d = try? Data(contentsOf: c.url!),
            let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any],
            let data = o["data"] as? [String: Any]
        else { return [] }
        return data["result"] as? [[String: Any]] ?? []
    }

    func value(_ r: [[String: Any]]) -> String? { (r.first?["value"] as? [Any])?.last as? String }

    func testPrometheusScrapesBusinessMetricsAndFindings() throws {
        try TestDependency.require(tool: "prometheus")
        let dir = NSTemporaryDirectory() + "pw-prom-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // watch, fed through a pipe that stays open while Prometheus scrapes
        let input = Pipe()
        let errors = Pipe()
        let watch = try Binary.start(
            ["watch", "--metrics-listen", "127.0.0.1:0", "--format", "json"], environment: ["HOME": dir],
            stdin: input, stdout: FileHandle.nullDevice, stderr: errors)
        defer {
            if watch.isRunning { kill(watch.processIdentifier, SIGTERM) }
        }
        var said = Data()
        var port = 0
        let deadline = Date().addingTimeInterval(20)
        while port == 0 && Date() < deadline {
            said.append(errors.fileHandleForReading.availableData)
            let text = String(decoding: said, as: UTF8.self)
            if let r = text.range(of: "metrics on port ") {
                port = Int(text[r.upperBound...].prefix { $0.isNumber }) ?? 0
            }
        }
        XCTAssertNotEqual(port, 0, String(decoding: said, as: UTF8.self))

        // Prometheus on loopback, scraping every second
        let promPort = try MetricsTests.freePort()
        try """
        global: {scrape_interval: 1s, evaluation_interval: 1s}
        scrape_configs:
          - job_name: promowatch
            static_configs: [{targets: ["127.0.0.1:\(port)"]}]
        """.write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)
        let prom = Process()
        prom.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        prom.arguments = [
            "timeout", "120", "prometheus", "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/data",
            "--web.listen-address=127.0.0.1:\(promPort)",
        ]
        prom.standardOutput = FileHandle.nullDevice
        prom.standardError = FileHandle.nullDevice
        try prom.run()
        defer {
            if prom.isRunning { prom.terminate() }
            prom.waitUntilExit()
        }

        // the incident: 40 redemptions of 2.5 each, stripe failing, a database saturating, and a
        // provider name chosen by a log line (it must not become a label value)
        let now = Date().timeIntervalSince1970
        func ts(_ k: Int) -> String {
            let f = ISO8601DateFormatter()
            return f.string(from: Date(timeIntervalSince1970: now - 30 + Double(k) / 10))
        }
        var lines: [String] = []
        for k in 0..<40 {
            lines.append(
                "{\"ts\":\"\(ts(k))\",\"msg\":\"ApplyPromotion\",\"coupon\":\"SPRING\",\"user_id\":\"u\(k)\",\"status\":\"applied\",\"discount\":2.5,\"subtotal\":40}"
            )
        }
        for k in 0..<7 {
            let failed = k < 2
            lines.append(
                "{\"ts\":\"\(ts(40 + k))\",\"msg\":\"\(failed ? "payment failed" : "payment succeeded")\",\"provider\":\"stripe\"\(failed ? ",\"error_code\":\"timeout\"" : "")}"
            )
        }
        lines.append("{\"ts\":\"\(ts(50))\",\"msg\":\"payment succeeded\",\"provider\":\"evil\\\"} 1\\npromowatch_x\"}")
        for k in 0..<3 {
            lines.append(
                "{\"ts\":\"\(ts(60 + k))\",\"msg\":\"query failed\",\"error\":\"pq: sorry, too many clients already\"}")
        }
        input.fileHandleForWriting.write(Data((lines.joined(separator: "\n") + "\n").utf8))

        // PromQL, until the scrapes have it
        var applied: String?
        var findings: String?
        let until = Date().addingTimeInterval(45)
        while Date() < until {
            applied = value(query(promPort, "promowatch_events_total{kind=\"promotion_applied\"}"))
            findings = value(query(promPort, "sum(promowatch_findings_total{category=\"db_saturation\"})"))
            if applied == "40" && findings == "1" { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        XCTAssertEqual(applied, "40")
        XCTAssertEqual(findings, "1")
        XCTAssertEqual(value(query(promPort, "promowatch_promotion_discount_total")), "100")
        XCTAssertEqual(value(query(promPort, "promowatch_payment_provider_failures_total{provider=\"stripe\"}")), "2")
        XCTAssertEqual(value(query(promPort, "promowatch_payment_attempts_total{provider=\"other\"}")), "1")
        let providers = Set(
            query(promPort, "promowatch_payment_attempts_total").compactMap {
                ($0["metric"] as? [String: String])?["provider"]
            })
        XCTAssertEqual(providers, ["stripe", "other"], "a provider named by a log line is no label value")
        XCTAssertEqual(value(query(promPort, "up{job=\"promowatch\"}")), "1", "the exposition parsed")

        try input.fileHandleForWriting.close()
        watch.waitUntilExit()
        XCTAssertEqual(watch.terminationStatus, 0)
    }

    /// `cron --metrics-textfile`: node-exporter's textfile format, checked by Prometheus' own
    /// `promtool check metrics`.
    func testCronWritesATextfileThatPromtoolAccepts() throws {
        try TestDependency.require(tool: "promtool")
        let dir = NSTemporaryDirectory() + "pw-textfile-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log =
            (0..<3).map {
                "{\"ts\":\"2026-11-20T10:00:0\($0)Z\",\"msg\":\"query failed\",\"error\":\"pq: sorry, too many clients already\"}"
            }.joined(separator: "\n") + "\n"
        let r = try Binary.run(
            ["cron", "--from", "-", "--state-dir", dir + "/state", "--metrics-textfile", dir + "/promowatch.prom"],
            stdin: Data(log.utf8), environment: ["HOME": dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = try String(contentsOfFile: dir + "/promowatch.prom", encoding: .utf8)
        XCTAssertTrue(text.contains("promowatch_events_total{kind=\"db_saturation\"} 3\n"), text)
        XCTAssertTrue(text.contains("promowatch_findings_total{category=\"db_saturation\",severity=\"P1\"} 1\n"), text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/promowatch.prom.tmp"))
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["promtool", "check", "metrics"]
        let inPipe = Pipe()
        let outPipe = Pipe()
        check.standardInput = inPipe
        check.standardOutput = outPipe
        check.standardError = outPipe
        try check.run()
        inPipe.fileHandleForWriting.write(Data(text.utf8))
        try inPipe.fileHandleForWriting.close()
        check.waitUntilExit()
        let said = String(decoding: outPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(check.terminationStatus, 0, said)
    }
}

/// `analyze`'s progress line: drawn on a terminal (a pseudo-terminal made by `script`), never on a
/// pipe or with `--format json`.
final class ProgressLineTests: XCTestCase {
    func terminal(_ args: [String]) throws -> String {
        try TestDependency.require(tool: "script")
        let cmd = ([Binary.url().path] + args).map { "'\($0)'" }.joined(separator: " ")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["script", "-qfec", cmd, "/dev/null"]
        p.currentDirectoryURL = Repository.root
        let out = Pipe()
        p.standardOutput = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let d = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        return String(decoding: d, as: UTF8.self)
    }

    func testDrawnOnATerminalOnly() throws {
        let fixture = Repository.path("fixtures/checkout-sample.log.gz")
        let size = try XCTUnwrap(
            (try FileManager.default.attributesOfItem(atPath: fixture)[.size] as? NSNumber)?.intValue)
        let shown = try terminal(["analyze", "--format", "text", fixture])
        XCTAssertTrue(shown.contains(String(format: " of %.1f MB (", Double(size) / 1e6)), shown)
        XCTAssertTrue(shown.contains("MB/s"), shown)
        XCTAssertTrue(shown.contains("findings so far"), shown)
        XCTAssertTrue(shown.contains("\r\u{1B}[K"), "the line is cleared before the findings")
        XCTAssertFalse(
            try terminal(["analyze", "--format", "json", fixture]).contains("MB/s"), "not with --format json")
        let piped = try Binary.run(["analyze", "--format", "text", fixture])
        XCTAssertFalse(piped.stderr.contains("MB/s"), "not when stderr is no terminal")
    }
}
