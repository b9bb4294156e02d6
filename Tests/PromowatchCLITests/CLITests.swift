import XCTest
import Foundation

/// End-to-end: runs the built `promowatch` binary like a user would.
final class CLITests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL {
        // the test bundle lives next to the built products
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.lastPathComponent.hasSuffix(".xctest") { dir = dir.deletingLastPathComponent() }
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let u = candidate.appendingPathComponent("promowatch")
            if FileManager.default.isExecutableFile(atPath: u.path) { return u }
        }
        return root.appendingPathComponent(".build/debug/promowatch")
    }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    func run(_ args: [String], stdin: Data? = nil) throws -> Result {
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = args
        p.currentDirectoryURL = CLITests.root
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out; p.standardError = err; p.standardInput = inp
        try p.run()
        if let d = stdin { inp.fileHandleForWriting.write(d) }
        try inp.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func summary(_ r: Result) throws -> [String: Any] {
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let obj = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
        return try XCTUnwrap(obj?["summary"] as? [String: Any], r.stdout)
    }

    func testAnalyzeFixtureMatchesTruth() throws {
        let r = try run(["analyze", "--format", "json", "fixtures/checkout-sample.log.gz"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let s = try summary(r)
        let truth = try JSONSerialization.jsonObject(with: Data(contentsOf: CLITests.root.appendingPathComponent("fixtures/checkout-sample.truth.json"))) as! [String: Any]
        XCTAssertEqual(s["events"] as? [String: Int], truth["events"] as? [String: Int])
        XCTAssertEqual(s["lines"] as? Int, truth["lines"] as? Int)
        XCTAssertEqual(s["bytes"] as? Int, truth["bytes"] as? Int)
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
        let r = try run(["analyze", "--format", "json", "fixtures/truncated.log.gz", "/nonexistent.log", "fixtures/concatenated.log.gz"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("fixtures/truncated.log.gz: gzip data is truncated"), r.stderr)
        XCTAssertTrue(r.stderr.contains("offset 25839"), r.stderr)
        XCTAssertTrue(r.stderr.contains("/nonexistent.log: cannot open"), r.stderr)
        let s = try summary(r)
        XCTAssertEqual((s["input_errors"] as? [String])?.count, 2)
        let concatenated = try summary(try run(["analyze", "--format", "json", "fixtures/concatenated.log.gz"]))
        XCTAssertGreaterThan(s["lines"] as! Int, concatenated["lines"] as! Int, "lines before the cut were kept, the next file was read")
    }

    func testTextFormatAndVersionAndHelp() throws {
        let t = try run(["analyze", "--format", "text", "fixtures/concatenated.log.gz"])
        XCTAssertTrue(t.stdout.contains("promotion_applied"))
        XCTAssertTrue(t.stdout.contains("payment providers"))
        let v = try run(["--version"])
        XCTAssertEqual(v.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0.1.0")
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
        XCTAssertEqual(((s["coupons"] as? [[String: Any]])?.first?["coupon"] as? String), "X\u{1b}]0;OWNED\u{07}\",\"INJECTED\":1")
        XCTAssertNil(s["injected"])
        let t = try run(["analyze", "--format", "text"], stdin: Data(line.utf8))
        XCTAssertFalse(t.stdout.contains("\u{1b}"))
    }
}
