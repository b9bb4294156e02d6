import Foundation
import PromowatchTestSupport
import XCTest

/// `analyze --report` rendered by headless Chromium (Debian's `chromium`): no script errors,
/// every chart present and drawn, incident windows shaded, nothing from a log interpreted as
/// markup, and a PDF on A4.
final class ReportTests: XCTestCase {
    func chromium(_ args: [String]) throws -> (out: String, err: String, status: Int32) {
        try TestDependency.require(tool: "chromium")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["timeout", "90", "chromium", "--headless", "--no-sandbox", "--disable-gpu"] + args
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        final class Box: @unchecked Sendable { var out = Data(), err = Data() }
        let box = Box()
        let g = DispatchGroup()
        DispatchQueue.global().async(group: g) { box.out = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: g) { box.err = err.fileHandleForReading.readDataToEndOfFile() }
        g.wait()
        p.waitUntilExit()
        return (String(decoding: box.out, as: UTF8.self), String(decoding: box.err, as: UTF8.self), p.terminationStatus)
    }

    func testTheReportRendersInChromiumWithEveryChartAndPrintsOnA4() throws {
        let dir = NSTemporaryDirectory() + "pw-report-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // a generated day with incidents, and a hostile code in it
        let day = dir + "/day.log"
        let gen = try Binary.run(
            [
                "--adversarial", "--seed", "42", "--format", "json,logfmt", "--framing", "plain,prefixTimestamps", "-o",
                day,
            ],
            product: "loggen")
        XCTAssertEqual(gen.status, 0, gen.stderr)
        let hostile =
            (0..<25).map { k in
                "{\"ts\":\"2026-11-20T15:0\(k / 10):\(k % 6)\(k % 10)Z\",\"msg\":\"ApplyPromotion\",\"coupon\":\"<script>alert(1)</script>\",\"user_id\":\"x\(k)\",\"status\":\"applied\",\"discount\":90,\"subtotal\":90}"
            }.joined(separator: "\n") + "\n"
        try hostile.write(toFile: dir + "/hostile.log", atomically: true, encoding: .utf8)
        let report = dir + "/report.html"
        let r = try Binary.run(["analyze", "--report", report, "--format", "json", day, dir + "/hostile.log"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try String(contentsOfFile: report, encoding: .utf8)
        XCTAssertFalse(html.lowercased().contains("<script"), "no script, and a code cannot add one")
        XCTAssertTrue(html.contains("&lt;SCRIPT&gt;"), "the code is shown escaped")
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "nothing is fetched")

        let dom = try chromium(["--enable-logging=stderr", "--v=0", "--dump-dom", "file://" + report])
        XCTAssertEqual(dom.status, 0, dom.err)
        XCTAssertFalse(dom.err.contains("Uncaught") || dom.err.contains("SyntaxError"), dom.err)
        for id in ["timeline", "chart-traffic", "chart-coupons", "chart-payments", "chart-latency"] {
            let start = try XCTUnwrap(dom.out.range(of: "id=\"\(id)\""), "\(id) missing")
            let figure = dom.out[start.lowerBound...].prefix { _ in true }
            let end = figure.range(of: "</figure>")!
            let part = figure[..<end.lowerBound]
            XCTAssertTrue(part.contains("<svg"), "\(id) has no chart")
            if id == "timeline" {
                XCTAssertTrue(part.contains("<rect"), "no incident on the timeline")
            } else {
                let points = part.components(separatedBy: "points=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
                XCTAssertTrue(points.contains { $0.split(separator: " ").count > 100 }, "\(id) is empty")
                XCTAssertTrue(part.contains("incident-window"), "\(id) shades no incident")
            }
        }
        let pdf = dir + "/report.pdf"
        let printed = try chromium(["--no-pdf-header-footer", "--print-to-pdf=" + pdf, "file://" + report])
        XCTAssertEqual(printed.status, 0, printed.err)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: pdf))
        XCTAssertTrue(bytes.starts(with: Data("%PDF".utf8)))
        let text = String(decoding: bytes, as: UTF8.self)
        let box = try XCTUnwrap(text.range(of: "MediaBox [0 0 "), "no page size")
        let size = text[box.upperBound...].prefix { $0 != "]" }.split(separator: " ").compactMap { Double($0) }
        XCTAssertEqual(size.count, 2)
        XCTAssertEqual(size.first ?? 0, 595.3, accuracy: 1, "A4 width in points")
        XCTAssertEqual(size.last ?? 0, 841.9, accuracy: 1, "A4 height in points")
    }
}
