import XCTest
import PromowatchTestSupport
import Foundation
import PromowatchCore
import LogGenerator
@testable import PromowatchStore

/// `watch --shared` through the binary against the real PostgreSQL the test command starts: two
/// instances, each reading one pod's half of a generated day, find what one instance reading all
/// of it finds; and a leader killed mid-way is replaced without losing what it had merged.
final class SharedWatchTests: XCTestCase {
    var url = ""
    var scoped = ""
    var dir = ""

    override func setUpWithError() throws {
        (url, scoped, _) = try PostgresStore.freshTestSchema("w")
        try PostgresStore(conninfo: scoped).migrate()
        dir = NSTemporaryDirectory() + "pw-shared-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A generated day with every incident, after a day of account history (without it the leak is
    /// a P2 that needs a look), two pods; lines of pod 0 and of pod 1.
    static let day: (whole: [UInt8], halves: [[UInt8]]) = {
        var cfg = ScenarioConfig()
        cfg.pods = 2
        cfg.priorHours = 24
        var sg = ScenarioGenerator(config: cfg)
        let renderer = Renderer(format: .json, framing: .prefixTimestamps)
        var rng = SplitMix64(seed: 11)
        var whole: [UInt8] = []
        var halves: [[UInt8]] = [[], []]
        sg.generate { r in
            var line: [UInt8] = []
            renderer.render(r, rng: &rng, into: &line)
            whole += line
            halves[r.pod % 2] += line
        }
        return (whole, halves)
    }()

    final class Instance {
        let process: Process
        let input = Pipe()
        let out: String, err: String
        init(_ args: [String], dir: String, name: String) throws {
            signal(SIGPIPE, SIG_IGN)  // an instance that died fails the test below, not the runner
            out = dir + "/\(name).out"
            err = dir + "/\(name).err"
            FileManager.default.createFile(atPath: out, contents: nil)
            FileManager.default.createFile(atPath: err, contents: nil)
            process = try Binary.start(
                args + ["--instance", name], environment: ["HOME": dir], stdin: input,
                stdout: try FileHandle(forWritingTo: URL(fileURLWithPath: out)),
                stderr: try FileHandle(forWritingTo: URL(fileURLWithPath: err)))
        }
        // a dead instance fails the test below, not here
        func write(_ bytes: ArraySlice<UInt8>) { try? input.fileHandleForWriting.write(contentsOf: Data(bytes)) }
        func close() throws { try input.fileHandleForWriting.close() }
        var stdout: String { (try? String(contentsOfFile: out, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOfFile: err, encoding: .utf8)) ?? "" }
    }

    func fingerprints(_ text: String) -> Set<String> {
        Set(
            text.split(separator: "\n").compactMap { line -> String? in
                guard let r = line.range(of: "\"fingerprint\": \"") else { return nil }
                return String(line[r.upperBound...].prefix { $0 != "\"" })
            })
    }

    /// What one instance reading everything finds, judging whole minutes: the leader sees the
    /// members' minutes as they publish them, never a minute's first seconds alone, so a single
    /// replay evaluated every 5 s of event time finds some incidents seconds earlier.
    func single() throws -> Set<String> {
        try Data(SharedWatchTests.day.whole).write(to: URL(fileURLWithPath: dir + "/day.log"))
        return fingerprints(
            try Binary.run(["watch", "--format", "json", "--evaluate-every", "60", dir + "/day.log"]).stdout)
    }

    func waitFor(_ what: String, timeout: Double = 60, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try !condition() {
            guard Date() < deadline else { return XCTFail("timed out waiting for \(what)") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Feeds both halves in step, in `chunks` pieces with pauses, so partials flow while the
    /// leader evaluates.
    func feed(_ instances: [Instance], chunks: Int, pause: Double, only: Range<Int>? = nil) {
        for k in only ?? 0..<chunks {
            for (i, inst) in instances.enumerated() {
                let half = SharedWatchTests.day.halves[i]
                inst.write(half[(half.count * k / chunks)..<(half.count * (k + 1) / chunks)])
            }
            Thread.sleep(forTimeInterval: pause)
        }
    }

    func testTwoInstancesOverHalvesFindWhatOneFinds() throws {
        let expected = try single()
        XCTAssertGreaterThanOrEqual(expected.count, 10)
        let args = [
            "watch", "--shared", "--group", "g1", "--database-url", scoped, "--format", "json", "--metrics-listen",
            "127.0.0.1:0",
        ]
        let a = try Instance(args, dir: dir, name: "node-a")
        let b = try Instance(args, dir: dir, name: "node-b")
        let store = try PostgresStore(conninfo: scoped)
        try waitFor("both instances to register") { try store.members(group: "g1").count == 2 }
        feed([a, b], chunks: 12, pause: 0.15)
        // every instance serves its metrics; the leader's count the group's findings
        func metrics(_ i: Instance) -> String {
            guard let r = i.stderr.range(of: "metrics on port "),
                let port = Int(i.stderr[r.upperBound...].prefix { $0.isNumber }),
                let text = try? String(contentsOf: URL(string: "http://127.0.0.1:\(port)/metrics")!, encoding: .utf8)
            else { return "" }
            return text
        }
        try waitFor("the leader's metrics to count findings") {
            [a, b].contains { metrics($0).contains("promowatch_findings_total{category=") }
        }
        for i in [a, b] { XCTAssertTrue(metrics(i).contains("promowatch_events_total{kind=\"request\"}"), i.stderr) }
        try a.close()
        try b.close()
        a.process.waitUntilExit()
        b.process.waitUntilExit()
        XCTAssertEqual(a.process.terminationStatus, 0, a.stderr)
        XCTAssertEqual(b.process.terminationStatus, 0, b.stderr)
        XCTAssertEqual([a, b].filter { $0.stderr.contains("leads group g1") }.count, 1, "one leader")
        let printed = fingerprints(a.stdout + b.stdout)
        XCTAssertEqual(printed.subtracting(expected), [], "found only by the shared instances")
        XCTAssertEqual(expected.subtracting(printed), [], "missed by the shared instances")
        // recorded once in the store; every partial merged and removed with the final snapshot
        XCTAssertEqual(Set(try store.findings(limit: 1000).map(\.fingerprint)), printed)
        XCTAssertEqual(try store.exec("SELECT count(*) FROM shared_partials").first?[0], "0")
        XCTAssertNotNil(try store.detectorState("shared:g1"))
        XCTAssertTrue(try store.members(group: "g1").allSatisfy(\.done))
        // the leader's proposed actions are audited (dry run here), with who acted
        let actions = try store.actions(limit: 100)
        XCTAssertTrue(actions.contains { $0.kind == "blacklist_coupon" && $0.dryRun }, "\(actions.map(\.target))")
        XCTAssertTrue(actions.allSatisfy { $0.actor.hasPrefix("watch --shared node-") }, "\(actions.map(\.actor))")
    }

    /// The leader is killed (kill -9) after publishing all of its half; the other instance takes
    /// the lock, continues from the partials the dead leader had taken but not yet saved, and the
    /// store ends with every finding of one instance reading everything.
    func testAKilledLeaderIsReplacedWithoutLosingWhatItMerged() throws {
        let expected = try single()
        let args = ["watch", "--shared", "--group", "g2", "--database-url", scoped, "--format", "json"]
        let a = try Instance(args, dir: dir, name: "node-a")
        try waitFor("the first instance to lead") { a.stderr.contains("leads group g2") }
        let b = try Instance(args, dir: dir, name: "node-b")
        let store = try PostgresStore(conninfo: scoped)
        try waitFor("both instances to register") { try store.members(group: "g2").count == 2 }
        feed([a, b], chunks: 6, pause: 0.15)
        try a.close()
        try waitFor("the leader to publish its end") {
            try store.members(group: "g2").first { $0.instance == "node-a" }?.done == true
        }
        kill(a.process.processIdentifier, SIGKILL)
        a.process.waitUntilExit()
        try b.close()
        b.process.waitUntilExit()
        XCTAssertEqual(b.process.terminationStatus, 0, b.stderr)
        XCTAssertTrue(b.stderr.contains("leads group g2"), b.stderr)
        let recorded = Set(try store.findings(limit: 1000).map(\.fingerprint))
        XCTAssertEqual(recorded.subtracting(expected), [], "found only after the takeover")
        XCTAssertEqual(expected.subtracting(recorded), [], "lost in the takeover")
    }

    /// PostgreSQL stops for a few seconds while both instances read: they keep their partials,
    /// give up and retake the leadership, reconnect, and the store ends with every finding of one
    /// instance reading everything. Runs its own server.
    func testPostgreSQLAwayAndBackLosesNothing() throws {
        let expected = try single()
        let (own, pgdir) = try startOwnPostgres()
        defer { try? pgServer(["stop", pgdir]) }
        let store = try PostgresStore(conninfo: own)
        try store.migrate()
        let args = ["watch", "--shared", "--group", "g3", "--database-url", own, "--format", "json"]
        let a = try Instance(args, dir: dir, name: "node-a")
        let b = try Instance(args, dir: dir, name: "node-b")
        try waitFor("both instances to register") { try store.members(group: "g3").count == 2 }
        feed([a, b], chunks: 12, pause: 0.15, only: 0..<6)
        try pgServer(["halt", pgdir])
        feed([a, b], chunks: 12, pause: 0.4, only: 6..<9)  // read while the server is away
        try pgServer(["resume", pgdir])
        feed([a, b], chunks: 12, pause: 0.15, only: 9..<12)
        try a.close()
        try b.close()
        a.process.waitUntilExit()
        b.process.waitUntilExit()
        XCTAssertEqual(a.process.terminationStatus, 0, a.stderr)
        XCTAssertEqual(b.process.terminationStatus, 0, b.stderr)
        XCTAssertTrue(a.stderr.contains("retrying") && a.stderr.contains("PostgreSQL is back"), a.stderr)
        let back = try PostgresStore(conninfo: own)
        let recorded = Set(try back.findings(limit: 1000).map(\.fingerprint))
        XCTAssertEqual(recorded.subtracting(expected), [], "found only around the outage")
        XCTAssertEqual(expected.subtracting(recorded), [], "lost in the outage")
    }

    func testSharedNeedsPostgreSQL() throws {
        let r = try Binary.run(
            ["watch", "--shared", "--state-dir", dir + "/state"], stdin: Data(), environment: ["HOME": dir])
        XCTAssertEqual(r.status, 1, "a runtime failure, not a usage error")
        XCTAssertEqual(
            r.stderr, "promowatch: --shared needs PostgreSQL: give --database-url or set PROMOWATCH_DATABASE_URL\n",
            "one line, no usage text")
    }
}
