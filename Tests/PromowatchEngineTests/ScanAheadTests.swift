import XCTest
import PromowatchCore
import PromowatchInput
@testable import PromowatchEngine
import LogGenerator

/// A batch's reading and line scanning on a second thread (`ScanAhead`) gives what one thread
/// gives: findings (with explanations and examples) and summaries compared whole, on files read
/// through `run(path:)` in small blocks (many block boundaries, lines split across reads), plain
/// and gzip, over every framing, an adversarial day, a truncated gzip and hostile edges.
final class ScanAheadTests: TemporaryDirectoryTestCase {
    /// The system's gzip (real zlib output), `level` 1-9.
    func gzipped(_ path: String, level: Int = 6) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-k", "-f", "-\(level)", path]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        return path + ".gz"
    }

    struct Outcome: Equatable {
        var findings: String
        var summary: String
        var errors: [String]
        var applied: Int
    }

    func analyze(_ paths: [String], scanThread: Bool, blockSize: Int, maxLine: Int = 1 << 20, detect: Bool = true)
        -> Outcome
    {
        var o = Analyzer.Options()
        o.scanThread = scanThread
        o.blockSize = blockSize
        o.maxLineLength = maxLine
        let a = Analyzer(options: o)
        if detect { a.enableDetection(DetectionConfig()) }
        var errors: [String] = []
        for p in paths {
            do { try a.run(path: p) } catch { errors.append(String(describing: error)) }
        }
        a.finish()
        let found = detect ? String(describing: a.detector!.decided()) : ""
        let summary = a.summary()
        return Outcome(
            findings: found, summary: String(describing: summary), errors: errors,
            applied: summary.events.promotionApplied)
    }

    func same(
        _ paths: [String], _ what: String, blockSizes: [Int] = [1 << 12, 1 << 16, 1 << 20], maxLine: Int = 1 << 20,
        finds: Bool = true, file: StaticString = #filePath, line: UInt = #line
    ) {
        let one = analyze(paths, scanThread: false, blockSize: 1 << 20, maxLine: maxLine)
        if finds { XCTAssertTrue(one.findings.contains("Finding("), "\(what): nothing found", file: file, line: line) }
        for size in blockSizes {
            let two = analyze(paths, scanThread: true, blockSize: size, maxLine: maxLine)
            XCTAssertTrue(
                one.findings == two.findings, "findings differ: \(what), blocks of \(size)", file: file, line: line)
            XCTAssertTrue(
                one.summary == two.summary, "summaries differ: \(what), blocks of \(size)", file: file, line: line)
            XCTAssertEqual(one.errors, two.errors, "\(what), blocks of \(size)", file: file, line: line)
        }
    }

    func testTheScenarioDayIsReadAlikeInEveryFraming() throws {
        let day = ScenarioTests.day
        for (format, framing, podOrder) in [
            (PayloadFormat.json, Framing.prefixTimestamps, false), (.logfmt, .cri, false), (.kratos, .docker, true),
        ] {
            let path = write(
                "day-\(framing).log", ScenarioTests.render(day, format: format, framing: framing, podOrder: podOrder))
            same([path], "\(format) \(framing)", blockSizes: [1 << 13, 1 << 20])
            if framing == .cri { same([try gzipped(path)], "\(format) \(framing), gzip", blockSizes: [1 << 14]) }
        }
    }

    func testAnAdversarialDayAndSeveralInputsInARow() throws {
        let out = TestInputs.adversarialDay
        // two files cut in the middle of a line: each input's last line is whole in itself
        let cut = out.count / 2 + 17
        let a = write("a.log", Array(out[..<cut]))
        let b = write("b.log", Array(out[cut...]))
        same([a, b], "adversarial day in two files", blockSizes: [1 << 13, 1 << 20])
    }

    /// A truncated gzip fails after the blocks before the cut, on both paths alike: the same
    /// events counted, the same error, the same cut-off line, and the next input still read.
    func testATruncatedGzipFailsAlikeAndTheNextInputIsRead() throws {
        let day = ScenarioTests.day
        let path = write("t.log", ScenarioTests.render(day, format: .json, framing: .prefixTimestamps, podOrder: false))
        let gz = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try gzipped(path, level: 1))))
        let cutGz = write("cut.log.gz", Array(gz[..<(gz.count * 2 / 3)]))
        let tail = write(
            "tail.log", Array(#"{"ts":"2026-11-20T23:00:00Z","msg":"ApplyPromotion","coupon":"AFTER"}"#.utf8))
        same([cutGz, tail], "truncated gzip", blockSizes: [1 << 12, 1 << 18])
        let two = analyze([cutGz, tail], scanThread: true, blockSize: 1 << 12)
        XCTAssertEqual(two.errors.count, 1)
        XCTAssertTrue(two.summary.contains("AFTER"), "the input after the failing one is read")
        let whole = analyze([path], scanThread: true, blockSize: 1 << 12, detect: false)
        XCTAssertGreaterThan(two.applied, whole.applied / 3, "the blocks before the cut count")
        XCTAssertLessThan(two.applied, whole.applied + 1)
    }

    /// Edges of a block: lines over the limit, longer than a block, a last line without a newline,
    /// CRLF, a hole of NULs, kubectl's own error lines, a UTF-16 file refused before any of it.
    func testHostileEdgesAreCountedAlike() {
        var bytes: [UInt8] = []
        for i in 0..<300 {
            bytes += Array(
                #"{"ts":"2026-11-20T08:\#(String(format: "%02d", i % 60)):00Z","msg":"ApplyPromotion","coupon":"C\#(i % 7)","user_id":"u\#(i)"}"#
                    .utf8)
            bytes += i % 3 == 0 ? [0x0D, 0x0A] : [0x0A]
            if i % 50 == 0 { bytes += [UInt8](repeating: 0x41, count: 5000) + [0x0A] }  // over the 2 KiB limit
            if i % 70 == 0 { bytes += [UInt8](repeating: 0, count: 1000) }
            if i % 90 == 0 {
                bytes += Array("Error from server (BadRequest): container \"c\" is waiting to start\n".utf8)
            }
        }
        bytes += Array(#"{"ts":"2026-11-20T09:00:00Z","msg":"ApplyPromotion","coupon":"LAST"}"#.utf8)
        let path = write("edges.log", bytes)
        var le: [UInt8] = [0xFF, 0xFE]
        for u in "msg=ApplyPromotion coupon=U16\n".utf16 { le += [UInt8(u & 0xFF), UInt8(u >> 8)] }
        let utf16 = write("utf16.log", le)
        same([utf16, path], "hostile edges", blockSizes: [1 << 12, 1 << 13], maxLine: 1 << 11, finds: false)
        let two = analyze([utf16, path], scanThread: true, blockSize: 1 << 12, maxLine: 1 << 11, detect: false)
        XCTAssertEqual(two.errors.count, 1)
        XCTAssertTrue(two.summary.contains("oversizedLines: 6"), two.summary)
    }

    /// A block of more lines than its index holds (`ScanAhead.Block.maxLines`): the parsing
    /// thread indexes the rest, and every line and event is counted as on one thread.
    func testABlockOfMoreLinesThanItsIndex() {
        var bytes: [UInt8] = []
        for i in 0..<100_000 {
            if i % 9_000 == 8_999 {
                bytes += Array(#"{"ts":"2026-11-20T08:00:00Z","msg":"ApplyPromotion","coupon":"MANY\#(i)"}"#.utf8)
            } else {
                bytes.append(UInt8(ascii: "x"))
            }
            bytes.append(0x0A)
        }
        let path = write("many.log", bytes)
        XCTAssertGreaterThan(100_000, ScanAhead.Block.maxLines)
        same([path], "one-byte lines", blockSizes: [1 << 20], finds: false)
        let two = analyze([path], scanThread: true, blockSize: 1 << 20, detect: false)
        XCTAssertEqual(two.applied, 11)
        XCTAssertTrue(two.summary.contains("lines: 100000,"), two.summary)
    }

    /// The scanning thread ends with its input: nothing of it outlives `run`.
    func testTheThreadEndsWithItsInput() throws {
        let path = write("small.log", Array("msg=ApplyPromotion coupon=X\n".utf8))
        weak var marker: AnyObject?
        do {
            var o = Analyzer.Options()
            o.scanThread = true
            let a = Analyzer(options: o)
            try a.run(path: path)
            try a.run(path: path)
            a.finish()
            XCTAssertEqual(a.summary().events.promotionApplied, 2)
            marker = a.aheadMarkerIfMade
            XCTAssertNotNil(marker, "the batch read ahead")
        }
        XCTAssertNil(marker, "the analyzer and its scanning thread are gone")
    }
}
