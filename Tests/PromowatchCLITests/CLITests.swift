import XCTest
import PromowatchTestSupport
import Foundation

/// The built `promowatch` binary, run like a user would (PromowatchTestSupport's runner).
enum CLI {
    static let root = Repository.root
    static var binary: URL { Binary.url() }
    typealias Result = Binary.Result

    static func run(_ args: [String], stdin: Data? = nil, environment: [String: String]? = nil) throws -> Result {
        try Binary.run(args, stdin: stdin, environment: environment)
    }
}

/// End-to-end tests of `analyze`'s counting.
final class CLITests: XCTestCase {
    typealias Result = CLI.Result
    static var root: URL { CLI.root }
    static var binary: URL { CLI.binary }
    func run(_ args: [String], stdin: Data? = nil) throws -> Result { try CLI.run(args, stdin: stdin) }

    func summary(_ r: Result) throws -> [String: Any] {
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let obj = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
        return try XCTUnwrap(obj?["summary"] as? [String: Any], r.stdout)
    }

    func testAnalyzeFixtureMatchesTruth() throws {
        let r = try run(["analyze", "--format", "json", "fixtures/checkout-sample.log.gz"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let s = try summary(r)
        let truth =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: CLITests.root.appendingPathComponent("fixtures/checkout-sample.truth.json")))
            as! [String: Any]
        XCTAssertEqual(s["events"] as? [String: Int], truth["events"] as? [String: Int])
        XCTAssertEqual(s["lines"] as? Int, truth["lines"] as? Int)
        XCTAssertEqual(s["bytes"] as? Int, truth["bytes"] as? Int)
    }

    /// The README's first command (scripts/example.sh) runs on fixtures/shop-incidents.log.gz:
    /// what a newcomer sees first is each labelled incident, found in time, with its dry-run
    /// action, and nothing else.
    func testTheFirstRunShowsTheIncidentsAndTheirActions() throws {
        let r = try run(["analyze", "--format", "json", "fixtures/shop-incidents.log.gz"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let findings = r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["category"] != nil }
        let labels =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: CLITests.root.appendingPathComponent("fixtures/shop-incidents.labels.json")))
            as! [[String: Any]]
        XCTAssertEqual(labels.count, 2)
        for l in labels {
            let cat = l["category"] as! String
            let start = l["start"] as! String
            XCTAssertTrue(
                findings.contains { $0["category"] as? String == cat && ($0["time"] as? String ?? "") >= start },
                "\(l["name"]!) not found")
        }
        let actions = findings.compactMap { $0["action"] as? [String: Any] }.map {
            "\($0["kind"]!):\($0["target"]!)"
        }
        XCTAssertEqual(actions.sorted(), ["blacklist_coupon:STAFF50-ANNA", "disable_provider:stripe"])
        let abuse = try XCTUnwrap(findings.first { $0["category"] as? String == "coupon_abuse" })
        XCTAssertEqual(abuse["severity"] as? String, "P0")
        XCTAssertNotNil(abuse["explanation"], "the first thing shown is explained")
        // and the example script's report is written
        let report = NSTemporaryDirectory() + "pw-first-run-\(UUID().uuidString).html"
        defer { try? FileManager.default.removeItem(atPath: report) }
        XCTAssertEqual(try run(["analyze", "--report", report, "fixtures/shop-incidents.log.gz"]).status, 0)
        XCTAssertTrue(try String(contentsOfFile: report, encoding: .utf8).contains("STAFF50-ANNA"))
    }

    func testStdinAndDashAreTheSame() throws {
        let data = try Data(contentsOf: CLITests.root.appendingPathComponent("fixtures/concatenated.log.gz"))
        let a = try summary(try run(["analyze", "--format", "json"], stdin: data))
        let b = try summary(try run(["analyze", "--format", "json", "-"], stdin: data))
        let c = try summary(try run(["analyze", "--format", "json", "fixtures/concatenated.log.gz"]))
        XCTAssertEqual(a["events"] as? [String: Int], c["events"] as? [String: Int])
        XCTAssertEqual(b["events"] as? [String: Int], c["events"] as? [String: Int])
    }

    func testSeveralFilesAndABadOneGoOnAndExitNonZero() throws {
        let r = try run([
            "analyze", "--format", "json", "fixtures/truncated.log.gz", "/nonexistent.log",
            "fixtures/concatenated.log.gz",
        ])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("fixtures/truncated.log.gz: gzip data is truncated"), r.stderr)
        XCTAssertTrue(r.stderr.contains("offset 25839"), r.stderr)
        XCTAssertTrue(r.stderr.contains("/nonexistent.log: cannot open"), r.stderr)
        let s = try summary(r)
        XCTAssertEqual((s["input_errors"] as? [String])?.count, 2)
        let concatenated = try summary(try run(["analyze", "--format", "json", "fixtures/concatenated.log.gz"]))
        XCTAssertGreaterThan(
            s["lines"] as! Int, concatenated["lines"] as! Int, "lines before the cut were kept, the next file was read")
    }

    func testTextFormatAndVersionAndHelp() throws {
        let t = try run(["analyze", "--format", "text", "fixtures/concatenated.log.gz"])
        XCTAssertTrue(t.stdout.contains("promotion_applied"))
        XCTAssertTrue(t.stdout.contains("payment providers"))
        let v = try run(["--version"])
        XCTAssertTrue(v.stdout.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("0."), v.stdout)
        let h = try run(["analyze", "--help"])
        XCTAssertTrue(h.stdout.contains("Examples:"))
        let bad = try run(["analyze", "--format", "xml"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("format"))
    }

    func testHostileCouponNeverBreaksTheOutput() throws {
        let line = #"{"msg":"ApplyPromotion","coupon":"X\u001b]0;owned\u0007\",\"injected\":1"}"# + "\n"
        let r = try run(["analyze", "--format", "json", "--top", "0"], stdin: Data(line.utf8))
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 1)
        let s = try summary(r)
        XCTAssertEqual(
            ((s["coupons"] as? [[String: Any]])?.first?["coupon"] as? String), "X\u{1b}]0;OWNED\u{07}\",\"INJECTED\":1")
        XCTAssertNil(s["injected"])
        let t = try run(["analyze", "--format", "text"], stdin: Data(line.utf8))
        XCTAssertFalse(t.stdout.contains("\u{1b}"))
    }
}

/// Detection through the binary: config precedence, findings output, watch latency.
final class DetectionCLITests: XCTestCase {

    func testConfigErrorNamesTheKeyAndExitsNonZero() throws {
        let path = NSTemporaryDirectory() + "pw-bad-\(UUID().uuidString).yaml"
        try "coupon_reuse:\n  min_per_usr: 3\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try CLI.run(["analyze", "--config", path, "fixtures/concatenated.log.gz"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(
            r.stderr, "promowatch: \(path): 'coupon_reuse.min_per_usr': unknown key\n", "one line, no usage text")
        // a key of an earlier version says where it moved
        try "allowlist: [VIP25]\n".write(toFile: path, atomically: true, encoding: .utf8)
        let moved = try CLI.run(["analyze", "--config", path, "fixtures/concatenated.log.gz"])
        XCTAssertEqual(moved.stderr, "promowatch: \(path): 'allowlist': moved: set decision.allowlist instead\n")
    }

    /// Exit statuses as `--help` and the README document them: 0 done, 1 a runtime failure in one
    /// line, 3 `--fail-on` met, 64 a usage error with usage text.
    func testExitStatuses() throws {
        XCTAssertEqual(try CLI.run(["analyze", "fixtures/checkout-sample.log.gz"]).status, 0)
        // the fixture's findings are P1
        XCTAssertEqual(try CLI.run(["analyze", "--fail-on", "P1", "fixtures/checkout-sample.log.gz"]).status, 3)
        XCTAssertEqual(
            try CLI.run(["analyze", "--fail-on", "P2", "fixtures/checkout-sample.log.gz"]).status, 3,
            "P1 is worse than P2")
        XCTAssertEqual(try CLI.run(["analyze", "--fail-on", "P0", "fixtures/checkout-sample.log.gz"]).status, 0)
        let missing = try CLI.run([
            "analyze", "--config", "/nonexistent/promowatch.yaml", "fixtures/checkout-sample.log.gz",
        ])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "promowatch: cannot read configuration file /nonexistent/promowatch.yaml\n")
        XCTAssertEqual(missing.stdout, "", "nothing half-done on stdout")
        let usage = try CLI.run(["analyze", "--fail-on", "P9"])
        XCTAssertEqual(usage.status, 64)
        XCTAssertTrue(usage.stderr.contains("Usage: promowatch analyze"), usage.stderr)
        // an unreadable input beats --fail-on: the run itself failed
        XCTAssertEqual(
            try CLI.run(["analyze", "--fail-on", "P1", "fixtures/checkout-sample.log.gz", "/nonexistent.log"]).status, 1
        )
        let help = try CLI.run(["--help"]).stdout
        for line in ["Exit status:", "3   analyze --fail-on SEVERITY", "64  a mistake in the command line"] {
            XCTAssertTrue(help.contains(line), help)
        }
    }

    /// Lines that make a db_saturation finding at once and a stripe outage after ten failures.
    func outageLines(start: Int = 0, count: Int) -> String {
        (start..<(start + count)).map { k in
            #"{"ts":"2026-11-20T10:00:\#(String(format: "%02d", k % 60))Z","msg":"payment authorization failed","provider":"stripe","error_code":"gateway_unavailable","amount":20}"#
        }.joined(separator: "\n") + "\n"
    }

    func testFlagsOverrideFileOverrideDefaults() throws {
        let path = NSTemporaryDirectory() + "pw-cfg-\(UUID().uuidString).yaml"
        try "payment_provider_failure:\n  min_failures: 50\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let input = Data(outageLines(count: 20).utf8)
        let defaults = try CLI.run(["analyze", "--format", "json"], stdin: input)
        XCTAssertTrue(defaults.stdout.contains("\"payment_provider_failure\", \"severity\""), defaults.stdout)
        let file = try CLI.run(["analyze", "--format", "json", "--config", path], stdin: input)
        XCTAssertFalse(
            file.stdout.contains("\"category\": \"payment_provider_failure\""), "the file raised min_failures to 50")
        // PROMOWATCH_CONFIG works like --config
        let env = try CLI.run(["analyze", "--format", "json"], stdin: input, environment: ["PROMOWATCH_CONFIG": path])
        XCTAssertFalse(env.stdout.contains("\"category\": \"payment_provider_failure\""))
        // a flag beats the file: a lower min score does not bring it back (min_failures still 50),
        // but --no-detect removes findings altogether
        let none = try CLI.run(["analyze", "--format", "json", "--no-detect"], stdin: input)
        XCTAssertFalse(none.stdout.contains("\"category\""))
    }

    func testFindingJSONHasTheContractKeys() throws {
        // stripe failing for five minutes beside a healthy paypal: raised at once, switch confirmed
        // after `confirm_minutes` (4) more
        var input = ""
        for minute in 0..<5 {
            input +=
                (0..<20).map { k in
                    #"{"ts":"2026-11-20T10:0\#(minute):\#(String(format: "%02d", k))Z","msg":"payment captured","provider":"paypal","amount":20}"#
                }
                .joined(separator: "\n") + "\n"
            input += outageLines(count: 20).replacingOccurrences(of: "10:00:", with: "10:0\(minute):")
        }
        let r = try CLI.run(["analyze", "--format", "json"], stdin: Data(input.utf8))
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let finding = try XCTUnwrap(lines.first { $0.contains("\"category\"") && $0.contains("\"kind\"") })
        let obj = try JSONSerialization.jsonObject(with: Data(finding.utf8)) as! [String: Any]
        for key in ["time", "category", "severity", "subject", "window", "evidence", "action"] {
            XCTAssertNotNil(obj[key], key)
        }
        XCTAssertEqual((obj["subject"] as? [String: String])?["provider"], "stripe")
        let action = obj["action"] as? [String: Any]
        XCTAssertEqual(action?["kind"] as? String, "disable_provider")
        XCTAssertEqual(action?["applied"] as? Bool, false)
        let ev = obj["evidence"] as! [String: Any]
        for key in ["observed", "expected", "score"] { XCTAssertNotNil(ev[key], key) }
        XCTAssertTrue(lines.last!.hasPrefix("{\"summary\""), "the summary is the last line")
    }

    /// `watch` on a file is a replay: windows are evaluated every 5 s of event time, as a live
    /// stream is on the clock, so the finding comes seconds after the outage's onset (where
    /// `analyze` judges whole minutes), and two replays print the same bytes whatever the speed.
    func testWatchReplayOfAFileIsJudgedAsLive() throws {
        var input = ""
        for m in 0..<30 {
            for k in 0..<20 {
                let ts = "2026-11-20T09:\(String(format: "%02d", 30 + m)):\(String(format: "%02d", k * 3))Z"
                input +=
                    #"{"ts":"\#(ts)","msg":"payment captured","provider":"\#(k % 2 == 0 ? "stripe" : "paypal")","amount":20}"#
                    + "\n"
            }
        }
        input += outageLines(count: 40)
        let path = NSTemporaryDirectory() + "pw-replay-\(UUID().uuidString).log"
        try input.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        func firstTime(_ r: Binary.Result) throws -> String {
            let f = try XCTUnwrap(
                r.jsonLines.first { $0["category"] as? String == "payment_provider_failure" }, r.stdout)
            return try XCTUnwrap(f["time"] as? String)
        }
        let live = try CLI.run(["watch", "--format", "json", path])
        let again = try CLI.run(["watch", "--format", "json", path])
        let batch = try CLI.run(["analyze", "--format", "json", path])
        // the sixth failure is at 10:00:05, the first evaluation after it at 10:00:05 or :10
        XCTAssertLessThanOrEqual(try firstTime(live), "2026-11-20T10:00:10Z")
        XCTAssertEqual(try firstTime(batch), "2026-11-20T10:01:00Z")
        XCTAssertEqual(live.stdout, again.stdout)
    }

    /// The headline use: a live pipe. The finding must come out within a second of the line that
    /// triggers it, with the pipe still open.
    func testWatchEmitsWithinOneSecondOverAPipe() throws {
        for args in [["watch", "--format", "json"], ["--format", "json"]] {
            signal(SIGPIPE, SIG_IGN)  // if promowatch died, fail the test rather than the runner
            let inp = Pipe()
            let out = Pipe()
            // the second: bare `promowatch` = watch when stdin is a pipe
            let p = try Binary.start(args, stdin: inp, stdout: out, stderr: Pipe())
            // ordinary traffic first
            let normal =
                (0..<30).map { k in
                    #"{"ts":"2026-11-20T09:\#(String(format: "%02d", 30 + k / 2)):00Z","msg":"payment captured","provider":"\#(k % 2 == 0 ? "stripe" : "paypal")","amount":20}"#
                }.joined(separator: "\n") + "\n"
            inp.fileHandleForWriting.write(Data(normal.utf8))
            Thread.sleep(forTimeInterval: 0.5)
            let reader = out.fileHandleForReading
            final class Box: @unchecked Sendable {
                var data = Data()
                let lock = NSLock()
            }
            let box = Box()
            reader.readabilityHandler = { h in
                let d = h.availableData
                box.lock.lock()
                box.data.append(d)
                box.lock.unlock()
            }
            let sent = Date()
            inp.fileHandleForWriting.write(Data(outageLines(count: 12).utf8))
            var latency: Double? = nil
            while Date().timeIntervalSince(sent) < 5 {
                box.lock.lock()
                let text = String(decoding: box.data, as: UTF8.self)
                box.lock.unlock()
                if text.contains("\"category\": \"payment_provider_failure\"") {
                    latency = Date().timeIntervalSince(sent)
                    break
                }
                Thread.sleep(forTimeInterval: 0.02)
            }
            reader.readabilityHandler = nil
            try inp.fileHandleForWriting.close()
            p.waitUntilExit()
            let l = try XCTUnwrap(latency, "no finding within 5 s (\(args))")
            XCTAssertLessThan(l, 1.0, "finding after \(l) s (\(args))")
        }
    }
}
