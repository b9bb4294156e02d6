import XCTest
import Foundation
@testable import PromowatchInput

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
    .appendingPathComponent("fixtures")

/// Reads every block of a source and returns the lines (without newline).
func allLines(_ source: inout ByteSource, reader: BlockReader = BlockReader()) throws -> [String] {
    var out: [String] = []
    while let b = try reader.next(from: &source) {
        XCTAssertEqual(b.last, 0x0A, "blocks end with a newline")
        out += Array(b.dropLast()).split(separator: 0x0A, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
    }
    return out
}

func tempFile(_ bytes: [UInt8]) -> String {
    let path = NSTemporaryDirectory() + "pw-input-\(UUID().uuidString)"
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
    let inPath = tempFile(bytes)
    defer { try? FileManager.default.removeItem(atPath: inPath) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/gzip")
    p.arguments = ["-c", "-n", inPath]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Array(data)
}

final class InputTests: XCTestCase {
    func testPlainFileLinesCRLFAndLastLineWithoutNewline() throws {
        let path = tempFile(Array("a\r\nb\n\nlast".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var s = try ByteSource.open(path)
        XCTAssertFalse(s.isGzip)
        XCTAssertEqual(try allLines(&s), ["a\r", "b", "", "last"])
    }

    func testSmallBlocksStillYieldWholeLines() throws {
        let text =
            (0..<5000).map { "line number \($0) " + String(repeating: "x", count: $0 % 300) }.joined(separator: "\n")
            + "\n"
        let path = tempFile(Array(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var s = try ByteSource.open(path)
        let lines = try allLines(&s, reader: BlockReader(maxLineLength: 1024, blockSize: 1024))
        XCTAssertEqual(lines.count, 5000)
        XCTAssertEqual(lines[4999], "line number 4999 " + String(repeating: "x", count: 4999 % 300))
    }

    /// `exchange` hands the block's buffer over and goes on in another: the same lines as
    /// reading in one buffer, the bytes past each block carried, every buffer handed over intact
    /// until it is handed back (`ScanAhead` keeps several in flight).
    func testExchangedBuffersKeepTheirBlocksAndTheLinesAreTheSame() throws {
        var text = ""
        for i in 0..<3000 { text += "line \(i) " + String(repeating: "z", count: (i * 37) % 700) + "\n" }
        text += "last without newline"
        let path = tempFile(Array(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var plain = try ByteSource.open(path)
        let expected = try allLines(&plain, reader: BlockReader(maxLineLength: 1024, blockSize: 1024))
        var s = try ByteSource.open(path)
        let reader = BlockReader(maxLineLength: 1024, blockSize: 1024)
        var spare = (0..<2).map { _ in UnsafeMutablePointer<UInt8>.allocate(capacity: reader.bufferSize) }
        var held: [(UnsafeMutablePointer<UInt8>, Int)] = []
        var lines: [String] = []
        func take(_ p: UnsafeMutablePointer<UInt8>, _ n: Int) {
            XCTAssertEqual(p[n - 1], 0x0A)
            lines += Array(UnsafeBufferPointer(start: p, count: n - 1)).split(
                separator: 0x0A, omittingEmptySubsequences: false
            ).map { String(decoding: $0, as: UTF8.self) }
        }
        while let b = try reader.next(from: &s) {
            let n = b.count
            let old = reader.exchange(spare.removeLast())
            XCTAssertEqual(UnsafePointer(old), b.baseAddress, "the block's own buffer")
            held.append((old, n))
            if held.count == 2 {  // read one more block before parsing the oldest
                let (p, n) = held.removeFirst()
                take(p, n)
                spare.append(p)
            }
        }
        for (p, n) in held {
            take(p, n)
            spare.append(p)
        }
        for p in spare { p.deallocate() }
        XCTAssertEqual(lines, expected)
        XCTAssertEqual(lines.last, "last without newline")
    }

    func testOverlongLinesAreSkippedAndCountedWithBoundedBuffer() throws {
        let long = String(repeating: "y", count: 5000)
        let text = "first\n" + long + "\nmiddle\n" + long + long + "\nlast\n" + long
        let path = tempFile(Array(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var s = try ByteSource.open(path)
        let reader = BlockReader(maxLineLength: 1000, blockSize: 512)
        XCTAssertLessThanOrEqual(reader.capacity, 2002)
        let lines = try allLines(&s, reader: reader)
        XCTAssertEqual(lines, ["first", "middle", "last"])
        XCTAssertEqual(reader.oversizedLines, 3)
    }

    func testGzipDetectedByContentNotName() throws {
        var g = try ByteSource.open(fixtures.appendingPathComponent("gzip-without-suffix.log").path)
        XCTAssertTrue(g.isGzip)
        XCTAssertEqual(try allLines(&g).count, 3150)
        var p = try ByteSource.open(fixtures.appendingPathComponent("plain-named.log.gz").path)
        XCTAssertFalse(p.isGzip)
        XCTAssertEqual(try allLines(&p).count, 200)
    }

    func testConcatenatedMembersAreOneStream() throws {
        let a = try gzip(Array("one\ntwo\n".utf8))
        let b = try gzip(Array("three\nfour".utf8))
        let path = tempFile(a + b + [0, 0, 0])  // trailing zero padding is tolerated
        defer { try? FileManager.default.removeItem(atPath: path) }
        var s = try ByteSource.open(path)
        XCTAssertEqual(try allLines(&s), ["one", "two", "three", "four"])
    }

    func testTruncatedGzipKeepsWhatWasReadAndNamesOffset() throws {
        let path = fixtures.appendingPathComponent("truncated.log.gz").path
        var s = try ByteSource.open(path)
        let reader = BlockReader(maxLineLength: 4096, blockSize: 4096)
        var lines = 0
        do {
            while let b = try reader.next(from: &s) { lines += b.filter { $0 == 0x0A }.count }
            XCTFail("expected an error")
        } catch let e as InputError {
            XCTAssertEqual(e.kind, .truncatedGzip)
            XCTAssertEqual(e.input, path)
            XCTAssertEqual(e.offset, 25839)
            XCTAssertTrue(e.description.contains(path) && e.description.contains("25839"), e.description)
        }
        XCTAssertGreaterThan(lines, 1000, "everything before the cut was handed out")
    }

    func testCorruptGzipIsAClearError() throws {
        var s = try ByteSource.open(fixtures.appendingPathComponent("corrupt.log.gz").path)
        XCTAssertThrowsError(try allLines(&s)) { e in
            guard let e = e as? InputError, case .corruptGzip = e.kind else { return XCTFail("\(e)") }
            XCTAssertTrue(e.description.contains("corrupt.log.gz"))
            XCTAssertGreaterThan(e.offset, 0)
        }
        // garbage that is not gzip after a member
        let path = tempFile(try gzip(Array("ok\n".utf8)) + Array("not gzip".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var t = try ByteSource.open(path)
        XCTAssertThrowsError(try allLines(&t)) { e in XCTAssertEqual((e as? InputError)?.kind, .trailingGarbage) }
    }

    func testHeaderOnlyGarbageIsCorrupt() throws {
        let path = tempFile([0x1F, 0x8B, 0x08, 0x00, 0xFF, 0xFF])
        defer { try? FileManager.default.removeItem(atPath: path) }
        var s = try ByteSource.open(path)
        XCTAssertThrowsError(try allLines(&s))
    }

    func testMissingFileIsAClearError() {
        XCTAssertThrowsError(try ByteSource.open("/nonexistent/x.log")) { e in
            XCTAssertEqual(
                (e as? InputError)?.description, "/nonexistent/x.log: cannot open: No such file or directory")
        }
    }

    func testEmptyFile() throws {
        let path = tempFile([])
        defer { try? FileManager.default.removeItem(atPath: path) }
        var s = try ByteSource.open(path)
        XCTAssertEqual(try allLines(&s), [])
    }
}
