import XCTest
import PromowatchTestSupport
import Foundation

/// `kubectl logs -l app=checkout` without `-f` prints one pod after another, and an archive holds a
/// file per pod: event time goes back at every pod. Past `input.batch_minute_entries` a batch
/// folds its oldest minutes as it reads, so before, the events of the second and third pod came
/// after their minutes were folded (`late_events`), and the findings depended on the order of the
/// pods (a day split by pod: four findings at other times than the three of the day in time
/// order). Such input is now read again, one span of event time at a time.
final class TimeSliceCLITests: XCTestCase {
    struct Run {
        var findings: [String]
        var summary: [String: Any]
    }

    func analyze(_ args: [String], stdin: Data? = nil, stdinFile: String? = nil) throws -> Run {
        let r = try Binary.run(["analyze", "--format", "json"] + args, stdin: stdin, stdinFile: stdinFile)
        XCTAssertEqual(r.status, 0, r.stderr)
        var findings: [String] = []
        var summary: [String: Any] = [:]
        for line in r.stdout.split(separator: "\n") {
            var o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            if let s = o["summary"] as? [String: Any], s["events"] != nil {
                summary = s
            } else if o["category"] != nil {
                o["explanation"] = nil  // a minute's example lines are its first: they follow line order
                o["diagnosis"] = nil  // says how old the finding is by the clock ("16572 min old")
                findings.append(
                    String(
                        decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self))
            }
        }
        return Run(findings: findings, summary: summary)
    }

    func testPodsOneAfterAnotherFindWhatTheDayInTimeOrderFinds() throws {
        let dir = NSTemporaryDirectory() + "pw-slices-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let day = dir + "/day.log"
        let gen = try Binary.run(
            ["--seed", "42", "--bytes", "20M", "--format", "json,logfmt", "--framing", "prefixTimestamps", "-o", day],
            product: "loggen")
        XCTAssertEqual(gen.status, 0, gen.stderr)
        // the day's lines by pod (`[pod/<pod>/<container>] ` starts each)
        var pods: [String: [Substring]] = [:]
        for line in try String(contentsOfFile: day, encoding: .utf8).split(separator: "\n") {
            pods[String(line.prefix { $0 != " " }), default: []].append(line)
        }
        XCTAssertEqual(pods.count, 3)
        let names = pods.keys.sorted()
        var files: [String] = []
        for (i, name) in names.enumerated() {
            files.append(dir + "/pod\(i).log")
            try (pods[name]!.joined(separator: "\n") + "\n").write(toFile: files[i], atomically: true, encoding: .utf8)
        }
        let concatenated = dir + "/pods.log"
        let joined = names.reversed().map { pods[$0]!.joined(separator: "\n") + "\n" }.joined()
        try joined.write(toFile: concatenated, atomically: true, encoding: .utf8)
        // a bound a ninth of what the 48 minutes hold
        let config = dir + "/small.yaml"
        try "input:\n  batch_minute_entries: 8000\n".write(toFile: config, atomically: true, encoding: .utf8)

        let ordered = try analyze(["--config", config, day])
        XCTAssertEqual(ordered.summary["late_events"] as? Int, 0)
        XCTAssertNil(ordered.summary["time_slices"], "input in time order is read once")
        XCTAssertGreaterThanOrEqual(ordered.findings.count, 3)

        for args in [[concatenated], Array(files.reversed()), [files[1], files[0], files[2]]] {
            let r = try analyze(["--config", config] + args)
            XCTAssertEqual(r.findings, ordered.findings, "\(args)")
            XCTAssertEqual(r.summary["late_events"] as? Int, 0)
            XCTAssertGreaterThanOrEqual(r.summary["time_slices"] as? Int ?? 0, 3)
            XCTAssertEqual(r.summary["events"] as? [String: Int], ordered.summary["events"] as? [String: Int])
            XCTAssertEqual(r.summary["lines"] as? Int, ordered.summary["lines"] as? Int, "every line counted once")
        }

        // standard input, redirected from the file or through a pipe (`kubectl logs -l ... |
        // promowatch analyze`, copied as it is read), is read again as the file is
        for run in [
            try analyze(["--config", config], stdinFile: concatenated),
            try analyze(["--config", config], stdin: Data(joined.utf8)),
        ] {
            XCTAssertEqual(run.findings, ordered.findings)
            XCTAssertEqual(run.summary["late_events"] as? Int, 0)
            XCTAssertGreaterThanOrEqual(run.summary["time_slices"] as? Int ?? 0, 3)
            XCTAssertEqual(run.summary["lines"] as? Int, ordered.summary["lines"] as? Int, "every line counted once")
        }

        // without the copy (not allowed, or the pipe gave more than it may hold), what came late
        // stays counted, and said
        for (limit, message) in [(0, ""), (1, "longer than input.stdin_copy_megabytes")] {
            let noCopy = dir + "/copy\(limit).yaml"
            try "input:\n  batch_minute_entries: 8000\n  stdin_copy_megabytes: \(limit)\n".write(
                toFile: noCopy, atomically: true, encoding: .utf8)
            let r = try Binary.run(["analyze", "--format", "json", "--config", noCopy], stdin: Data(joined.utf8))
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(message.isEmpty || r.stderr.contains(message), r.stderr)
            XCTAssertEqual(r.stderr.isEmpty, message.isEmpty, r.stderr)
            let piped = try analyze(["--config", noCopy], stdin: Data(joined.utf8))
            XCTAssertGreaterThan(piped.summary["late_events"] as? Int ?? 0, 1000)
            XCTAssertNil(piped.summary["time_slices"])
            XCTAssertNotEqual(piped.findings, ordered.findings, "the case the second reading is for")
        }
    }
}
